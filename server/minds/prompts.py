"""Prompts: a long prefix every creature shares, and a short part that is its own.

The shared prefix (the system message) holds the rules of the Wood, the answer format and ONE
worked example; it depends on the scenario only, so it is byte-identical for every creature
and every tick and the engine's prefix cache computes it once. The per-creature part (the
user message) is built from an `Observation` and nothing else, so a prompt can never hold a
fact the creature may not know. It carries the three interventions that turn valid output
into sensible trades: the goods the creature must never buy, the roster of goods it is short
of (computed by the world from its state), and the worked example (in the prefix).

Messages render to one text either with a named template ("chatml", as Qwen uses, or
"plain") or with a tokenizer's own chat template (`tokenizer_renderer`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import orjson

from server.world.observe import BoardGossip, BoardTrade, Observation
from server.world.scenario import Scenario
from shared.decision import Decision, Offer, Side

from .spaces import DecisionSpace, make_space

Message = dict[str, str]
"""One chat message: {"role": "system" | "user" | "assistant", "content": text}."""
Renderer = Callable[[Sequence[Message]], str]
"""Turns the chat messages into the one text an engine completes (generation prompt last)."""
TemplateName = Literal["chatml", "plain"]
Intervention = Literal["never_buy", "roster", "example"]
INTERVENTIONS: tuple[Intervention, ...] = ("never_buy", "roster", "example")

RECENT_TRADES = 3
RECENT_GOSSIP = 2
STORY_CHARS = 90


def render_chatml(messages: Sequence[Message]) -> str:
    """ChatML, the template Qwen2.5 uses, with the assistant turn opened."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def render_plain(messages: Sequence[Message]) -> str:
    """No special tokens: for base models and servers that take raw text."""
    return "\n\n".join(m["content"] for m in messages) + "\n\nAnswer: "


TEMPLATES: dict[str, Renderer] = {"chatml": render_chatml, "plain": render_plain}


def template_renderer(name: str) -> Renderer:
    """The renderer of a named template; ValueError naming the choices if unknown."""
    try:
        return TEMPLATES[name]
    except KeyError:
        choices = sorted(TEMPLATES)
        raise ValueError(f"unknown prompt template {name!r}; choose one of {choices}") from None


def tokenizer_renderer(model: str) -> Renderer:
    """The chat template of `model`'s own tokenizer (a local directory or a Hub name)."""
    from transformers import AutoTokenizer  # noqa: PLC0415  (heavy; only engines need it)

    tokenizer: Any = AutoTokenizer.from_pretrained(model)

    def render(messages: Sequence[Message]) -> str:
        text = tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=True
        )
        return str(text)

    return render


class PromptBuilder:
    """Builds every creature's prompt for one scenario and decision space.

    `prefix` (the system message) is the same for all creatures and ticks; `suffix(obs)` (the
    user message) is the creature's own. `render(obs)` is the exact text an engine completes.
    `space` ("free", "guarded", "menu", or a `DecisionSpace`) sets the answer format, each
    creature's limits or menu, and how answers are read. `ablate` leaves interventions out
    (for measuring what each does): "never_buy" (the creature's never-buy line), "roster" (its
    shortage roster), "example" (the worked example; in a menu, its menu and its choice).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        thought: bool = False,
        renderer: Renderer | TemplateName = "chatml",
        space: str | DecisionSpace = "free",
        ablate: Sequence[str] = (),
    ) -> None:
        self.scenario = scenario
        self.goods: tuple[str, ...] = tuple(scenario.goods)
        self.thought = thought
        self.renderer: Renderer = (
            template_renderer(renderer) if isinstance(renderer, str) else renderer
        )
        unknown = sorted(set(ablate) - set(INTERVENTIONS))
        if unknown:
            raise ValueError(
                f"unknown intervention(s) {unknown}; choose from {list(INTERVENTIONS)}"
            )
        self.ablate = frozenset(ablate)
        self.space: DecisionSpace = (
            make_space(space, scenario, thought=thought) if isinstance(space, str) else space
        )
        self.example: Decision | None = None
        """The worked example's answer, when the prefix shows one."""
        self.prefix = self._prefix()

    def suffix(self, obs: Observation) -> str:
        """The creature's own part of the prompt, from its observation alone."""
        return "\n".join([*self._situation(obs), *self.space.prompt_lines(obs)])

    def _situation(self, obs: Observation) -> list[str]:
        lines = [
            f"Tick {obs.tick}: {obs.season}, day {obs.day} of {obs.ticks_per_season}, "
            f"year {obs.year}; winter in {obs.ticks_to_winter} ticks."
            if obs.ticks_to_winter
            else f"Tick {obs.tick}: {obs.season}, day {obs.day} of {obs.ticks_per_season}, "
            f"year {obs.year}.",
            f"You are {obs.name} the {obs.species}. You produce {obs.produces}.",
        ]
        if "never_buy" not in self.ablate:
            lines.append(f"Never buy: {', '.join(obs.never_buy)}.")
        if "roster" not in self.ablate:
            lines.append("Short of: " + (_units(obs.short_of) if obs.short_of else "nothing") + ".")
        lines += [
            f"Pebbles: {_num(obs.pebbles)}. Stores: {_units(obs.stores)}.",
            f"Fed: {_yes(obs.fed)}. Warm: {_yes(obs.warm)}. Mood: {obs.mood:.2f}."
            + (
                f" {obs.fuel_good} burned per tick: {_num(obs.fuel_per_tick)}."
                if obs.fuel_good
                else ""
            ),
            "Prices (reference/last): "
            + ", ".join(
                f"{g} {_num(p)}/{_num(obs.last_prices[g]) if g in obs.last_prices else '-'}"
                for g, p in obs.prices.items()
            )
            + ".",
        ]
        for legend in obs.legends:
            kind = "rumour" if legend.rumour else "legend"
            lines.append(
                f"{legend.title} ({kind}, {legend.ticks_left} ticks left): "
                f"{_cut(legend.story, STORY_CHARS)}"
            )
        if obs.trades:
            lines.append(
                "Trades: " + "; ".join(_trade(t) for t in obs.trades[-RECENT_TRADES:]) + "."
            )
        if obs.gossip:
            lines.append("Gossip: " + " | ".join(_gossip(g) for g in obs.gossip[-RECENT_GOSSIP:]))
        return lines

    def messages(self, obs: Observation) -> list[Message]:
        return [
            {"role": "system", "content": self.prefix},
            {"role": "user", "content": self.suffix(obs)},
        ]

    def render(self, obs: Observation) -> str:
        """The exact text the engine completes for this creature."""
        return self.renderer(self.messages(obs))

    def with_renderer(self, renderer: Renderer | TemplateName) -> PromptBuilder:
        return PromptBuilder(
            self.scenario,
            thought=self.thought,
            renderer=renderer,
            space=self.space,
            ablate=sorted(self.ablate),
        )

    # -- the shared prefix ----------------------------------------------------------------

    def _prefix(self) -> str:
        s = self.scenario
        rules = s.rules
        foods = ", ".join(s.foods)
        lines = [
            "You are a creature of the Wood, a small market where animals trade goods for "
            "pebbles. Each tick you decide what to buy and sell.",
            f"Goods: {', '.join(self.goods)}. Money: pebbles.",
            "Rules:",
            f"- Each tick you eat one unit each of up to {rules.appetite} different foods "
            f"({foods}); you are fed only with {rules.fed_foods} different ones.",
        ]
        if s.fuel is not None:
            lines.append(
                f"- You burn {s.fuel} every tick to stay warm; the need peaks in winter, and "
                f"only one creature makes {s.fuel}."
            )
        rot = [f"{g} {_num(spec.spoil * 100)}%" for g, spec in s.goods.items() if spec.spoil > 0]
        if rot:
            lines.append(f"- Stores rot each tick: {', '.join(rot)}.")
        lines += [
            "- Every good clears once a tick at one price for all: a buy fills only at or "
            "below its price, a sell only at or above its price.",
            "- You cannot pay more pebbles than you have or sell more than you hold.",
            "- Mood rises while you are fed and warm (a little more when you trade) and "
            "sinks while you are not. A creature left with no pebbles and no goods is exiled "
            "for a while.",
            "- Legends are told in the Wood: while one lasts it changes the market. A rumour "
            "may be false; trade on it at your own risk.",
            "- Gossip is heard by everyone; use it to find buyers and sellers.",
            "- Sell the surplus of the good you produce. Never buy the good you produce.",
            "- Buy what you are short of before you run out; bid higher when the need is "
            "urgent. Prices drift with supply and demand: do not just repeat the reference.",
            *self.space.format_lines(),
        ]
        if self.thought:
            lines.append(
                "thought is your private reasoning, one short sentence; no one else sees it."
            )
        if "example" not in self.ablate:
            example_obs, example_decision = self._example()
            answer = _compact(example_decision, thought=self.thought)
            if self.space.name == "menu":
                # The plan that sells its surplus and buys what it is short of, and a line
                # naming Wren: a copied gossip line shows in the bench; a copied letter
                # only picks a sensible plan.
                wants = next(iter(example_obs.short_of), "nothing")
                gossip = f"Wren sells {example_obs.produces}, wants {wants}."
                example_decision = Decision(gossip=gossip, thought=example_decision.thought)
                answer = _menu_answer(example_decision, thought=self.thought)
            self.example = example_decision
            lines += [
                "",
                "Example. For this creature:",
                self.suffix(example_obs),
                "a good answer is:",
                answer,
            ]
        return "\n".join(lines)

    def _example(self) -> tuple[Observation, Decision]:
        """A fictional creature and a sensible decision for it, in this scenario's goods."""
        s = self.scenario
        goods = list(self.goods)
        own = next((g for g in s.foods if g != s.fuel), goods[0])
        short: dict[str, int] = {}
        if s.fuel is not None and s.fuel != own:
            short[s.fuel] = 3
        for food in s.foods:
            if food != own and len(short) < 2:
                short[food] = 2
        stores = dict.fromkeys(goods, 2) | {own: 11} | {g: 3 - q for g, q in short.items()}
        if s.fuel is not None and s.fuel in short:
            stores[s.fuel] = 1
        prices = {g: spec.price for g, spec in s.goods.items()}
        tps = s.rules.ticks_per_season
        obs = Observation(
            tick=tps + 5,
            season="summer",
            day=5,
            year=1,
            ticks_per_season=tps,
            ticks_to_winter=2 * tps - 4,
            creature="example",
            name="Wren",
            species="squirrel",
            produces=own,
            personality="steady",
            pebbles=30.0,
            stores=stores,
            mood=0.62,
            fed=True,
            warm=s.fuel is None or stores.get(s.fuel, 0) > 0,
            fuel_good=s.fuel or "",
            fuel_per_tick=0.4 if s.fuel else 0.0,
            never_buy=(own,),
            short_of=short,
            prices=prices,
            last_prices={own: round(prices[own] * 0.95, 2)},
            spoilage={g: spec.spoil for g, spec in s.goods.items()},
            trades=(),
            gossip=(),
            legends=(),
            exiled=False,
        )
        # Odd quantities and two-decimal prices no real answer needs: a copy shows in the bench.
        offers = [Offer(side=Side.SELL, good=own, qty=7, price=_price(prices[own] * 1.07))]
        for good, qty in list(short.items())[: s.rules.max_offers - 1]:
            offers.append(
                Offer(side=Side.BUY, good=good, qty=qty, price=_price(prices[good] * 1.13))
            )
        needs = " and ".join(short) if short else "nothing"
        decision = Decision(
            offers=offers[: s.rules.max_offers],
            gossip=f"Wren sells {own}; Wren wants {needs}."[: s.rules.gossip_chars],
            thought=f"Sell spare {own}, buy {needs} before winter." if self.thought else None,
        )
        return obs, decision


def _menu_answer(decision: Decision, *, thought: bool) -> str:
    """A menu answer choosing the first plan (the creature's own temperament's), with the
    example's gossip line."""
    answer: dict[str, str] = {}
    if thought:
        answer["thought"] = decision.thought or ""
    answer |= {"choice": "A", "gossip": decision.gossip}
    return orjson.dumps(answer).decode()


def prefix_fraction(builder: PromptBuilder, obs: Observation) -> float:
    """Share of the rendered prompt's characters that come before the creature's own part."""
    text = builder.render(obs)
    return text.rindex(builder.suffix(obs)) / len(text)


def _compact(decision: Decision, *, thought: bool) -> str:
    data = decision.model_dump(mode="json", exclude_none=True)
    if not thought:
        data.pop("thought", None)
    else:
        data = {"thought": data.pop("thought", ""), **data}
    return orjson.dumps(data).decode()


def _price(value: float) -> float:
    return round(value, 2)


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _units(amounts: dict[str, int]) -> str:
    return ", ".join(f"{g} {q}" for g, q in amounts.items())


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _trade(t: BoardTrade) -> str:
    return f"t{t.tick} {t.qty} {t.good} at {_num(t.price)}, {t.seller} to {t.buyer}"


def _gossip(g: BoardGossip) -> str:
    # No quote marks: a small model imitates them, and a quote mark ends its own line.
    return f"{g.creature}: {g.text}"

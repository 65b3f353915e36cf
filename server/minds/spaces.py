"""Decision spaces: how much freedom a model brain gives its model, a dial with three stops.

- `free`: one JSON schema for every creature (`schema.decision_schema`); the prompt's
  interventions keep the model sensible, the repair layer cleans what it writes.
- `guarded`: each creature gets its own schema, built from its observation, so a foolish
  order cannot be written: it sells only goods it holds and at most what it holds, never buys
  the good it produces, never bids more than its purse, and prices come from a short list in
  a band around the reference price (so they also carry few digits). The prompt states the
  same limits. Whatever arrives is guarded again in code (an engine that ignores schemas).
- `menu`: the code proposes a few sensible plans (the scripted minds' reasoning under each
  temperament); the model picks one by its letter (an enum) and writes the gossip.

A space answers three questions for a creature: which schema its answer must follow, what
the prompt says about it, and how the raw text becomes a decision. `interpret` also returns
the offers the model *intended* (salvaged from its raw text before any guard or drop), which
is what `bench decisions` judges.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from server.world.observe import Observation
from server.world.scenario import Scenario
from shared.decision import GOSSIP_CHARS, MAX_QTY, NOOP, THOUGHT_CHARS, Decision, Offer, Side

from .repair import ParseResult, parse_decision
from .schema import answer_object, decision_schema, text_schema
from .scripted import TEMPERAMENTS, ScriptedMind

SpaceName = Literal["free", "guarded", "menu"]
SPACES: tuple[SpaceName, ...] = ("free", "guarded", "menu")

BAND = (0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.35, 1.5)
"""The prices a guarded creature may quote, as multiples of the reference price."""
BAND_LOW, BAND_HIGH = BAND[0], BAND[-1]
GUARDED_GOSSIP_CHARS = 48
"""A shorter gossip line than the free space's: a small model fills free text with chatter
until `max_tokens` cuts its answer off."""
MENU_SIZE = 4
MENU_TEMPERAMENTS = ("steady", "generous", "shrewd", "speculator")
MENU_SELL_BAND = (1.0, 1.5)
"""A plan sells within these multiples of the reference: never below the board (a plan that
dumps its goods cheap drags the board down and every creature's stores with it)."""
MENU_BID_BAND = (0.55, 1.2)
"""A plan bids within these multiples of the reference: a small premium for what it is short
of, never the scripted minds' double."""
MENU_COLD_BID = 1.5
"""The most a plan bids, times the reference, for fuel when the creature is cold."""
LETTERS = "ABCDEFGH"


@dataclass(frozen=True, slots=True)
class Reading:
    """What became of one raw answer in a space."""

    parsed: ParseResult
    intended: tuple[Offer, ...]
    """The offers the model asked for, before any guard or drop (a menu: the chosen plan)."""


class DecisionSpace(Protocol):
    name: SpaceName

    def schema(self, obs: Observation) -> dict[str, Any]:
        """The JSON schema this creature's answer must follow (the same object when shared)."""
        ...

    def prompt_lines(self, obs: Observation) -> list[str]:
        """Lines the creature's own prompt ends with (its limits, or its menu)."""
        ...

    def format_lines(self) -> list[str]:
        """How to answer, for the shared prefix."""
        ...

    def interpret(self, text: str, obs: Observation, *, drop_own_buys: bool = True) -> Reading:
        """The decision in `text`, never raising."""
        ...


def make_space(name: str, scenario: Scenario, *, thought: bool = False) -> DecisionSpace:
    """The space called `name`; ValueError naming the choices if unknown."""
    if name == "free":
        return FreeSpace(scenario, thought=thought)
    if name == "guarded":
        return GuardedSpace(scenario, thought=thought)
    if name == "menu":
        return MenuSpace(scenario, thought=thought)
    raise ValueError(f"unknown decision space {name!r}; choose one of {list(SPACES)}")


def _offer_line(goods: Sequence[str], thought: bool) -> str:
    # Words, not placeholder values: a small model copies whatever sample values it is shown.
    offer = f'{{"side":"buy" or "sell","good":one of {"/".join(goods)},"qty":N,"price":P}}'
    head = '{"thought":TEXT,' if thought else "{"
    return f'{head}"offers":[{offer}, ...],"gossip":TEXT}}'


class FreeSpace:
    """One schema for all; the prompt and the repair layer do the rest."""

    name: SpaceName = "free"

    def __init__(self, scenario: Scenario, *, thought: bool = False) -> None:
        self.goods = tuple(scenario.goods)
        self.rules = scenario.rules
        self.thought = thought
        self._schema = decision_schema(self.goods, thought=thought)

    def schema(self, obs: Observation) -> dict[str, Any]:
        return self._schema

    def prompt_lines(self, obs: Observation) -> list[str]:
        return []

    def format_lines(self) -> list[str]:
        return [
            "Answer with one JSON object and nothing else:",
            _offer_line(self.goods, self.thought),
            f"At most {self.rules.max_offers} offers; N is a whole number of units, P is "
            f"pebbles per unit. TEXT is one public line of at most "
            f"{self.rules.gossip_chars} characters.",
        ]

    def interpret(self, text: str, obs: Observation, *, drop_own_buys: bool = True) -> Reading:
        asked = parse_decision(text, self.goods, produces=obs.produces, drop_own_buys=False)
        if not drop_own_buys or "own_good_buy" not in asked.repairs:
            return Reading(asked, tuple(asked.decision.offers))
        parsed = parse_decision(text, self.goods, produces=obs.produces, drop_own_buys=True)
        return Reading(parsed, tuple(asked.decision.offers))


@dataclass(frozen=True, slots=True)
class Limits:
    """What a guarded creature may offer this tick."""

    sells: dict[str, int]
    """Good -> most units it may sell (what it holds)."""
    buys: dict[str, int]
    """Good -> most units it may bid for at the band's top price within its purse."""
    prices: dict[str, tuple[float, ...]]
    """Good -> the prices it may quote."""


def limits_of(obs: Observation, goods: Sequence[str]) -> Limits:
    """A creature's guarded limits, from its observation alone."""
    prices = {g: band_prices(obs.prices[g]) for g in goods if g in obs.prices}
    sells = {g: min(q, MAX_QTY) for g, q in obs.stores.items() if q > 0 and g in prices}
    buys: dict[str, int] = {}
    for good in goods:
        if good == obs.produces or good in obs.never_buy or good not in prices:
            continue
        qty = min(MAX_QTY, math.floor(obs.pebbles / prices[good][-1]))
        if qty >= 1:
            buys[good] = qty
    return Limits(sells=sells, buys=buys, prices=prices)


def band_prices(reference: float) -> tuple[float, ...]:
    """The prices allowed around `reference`, on a grid of binary fractions of a pebble
    (quarters from 2 pebbles up): a grammar writes a float with all 17 digits, and only
    these come out short (5.25, not 5.4000000000000004)."""
    step = 0.25 if reference >= 2 else 0.125 if reference >= 0.5 else 1 / 64
    out = {max(step, round(reference * m / step) * step) for m in BAND}
    return tuple(sorted(out))


class GuardedSpace:
    """Each creature's own schema: only offers it can sensibly make."""

    name: SpaceName = "guarded"

    def __init__(self, scenario: Scenario, *, thought: bool = False) -> None:
        self.goods = tuple(scenario.goods)
        self.rules = scenario.rules
        self.thought = thought
        self.gossip_chars = min(self.rules.gossip_chars, GOSSIP_CHARS, GUARDED_GOSSIP_CHARS)

    def schema(self, obs: Observation) -> dict[str, Any]:
        limits = limits_of(obs, self.goods)
        shapes: list[dict[str, Any]] = []
        sells = dict(sorted(limits.sells.items(), key=lambda item: item[0] != obs.produces))
        for side, allowed in (("sell", sells), ("buy", limits.buys)):
            for good, most in allowed.items():
                shapes.append(
                    {
                        "type": "object",
                        "properties": {
                            "side": {"const": side},
                            "good": {"const": good},
                            "qty": {"type": "integer", "minimum": 1, "maximum": most},
                            "price": {"enum": list(limits.prices[good])},
                        },
                        "required": ["side", "good", "qty", "price"],
                        "additionalProperties": False,
                    }
                )
        most_offers = min(self.rules.max_offers, len(shapes))
        offers: dict[str, Any] = {"type": "array", "maxItems": most_offers}
        if shapes:
            offers |= {"items": {"anyOf": shapes}, "minItems": 1}
        if _sells_first(obs, limits) and most_offers >= 1:
            # A market of buyers only clears nothing: a creature holding its own produce
            # offers some of it first (how much and at what price is the model's call).
            offers["prefixItems"] = [shapes[0]]
        return _answer_schema("offers", offers, self.gossip_chars, thought=self.thought)

    def prompt_lines(self, obs: Observation) -> list[str]:
        limits = limits_of(obs, self.goods)
        sells = ", ".join(f"{g} (up to {q})" for g, q in limits.sells.items()) or "nothing"
        buys = ", ".join(limits.buys) or "nothing (too few pebbles)"
        lines = [
            f"You may sell: {sells}.",
            f"You may buy: {buys}; pay at most {_num(obs.pebbles)} pebbles in all.",
        ]
        if _sells_first(obs, limits):
            lines.append(f"Your first offer sells some of your {obs.produces}.")
        return lines

    def format_lines(self) -> list[str]:
        return [
            "Answer with one JSON object and nothing else:",
            _offer_line(self.goods, self.thought),
            f"1 to {self.rules.max_offers} offers; N is a whole number of units, P is "
            f"pebbles per unit, between {BAND_LOW:g} and {BAND_HIGH:g} times the reference "
            f"price. Sell only what you hold; buy only what you may. TEXT is one short "
            f"public line of at most {self.gossip_chars} characters, in plain words with no "
            "quote marks.",
        ]

    def interpret(self, text: str, obs: Observation, *, drop_own_buys: bool = True) -> Reading:
        asked = parse_decision(text, self.goods, produces=obs.produces, drop_own_buys=False)
        intended = tuple(asked.decision.offers)
        if asked.status == "noop":
            return Reading(asked, intended)
        kept, repairs = guard(intended, obs, self.goods)
        decision = replace_offers(asked.decision, kept)
        if not kept and intended:
            return Reading(ParseResult(NOOP, (*asked.repairs, *repairs), "guarded_out"), intended)
        return Reading(ParseResult(decision, (*asked.repairs, *repairs)), intended)


def _sells_first(obs: Observation, limits: Limits) -> bool:
    """Whether a guarded creature's first offer must sell its own produce (it holds 2+)."""
    return limits.sells.get(obs.produces, 0) >= 2


def guard(
    offers: Sequence[Offer], obs: Observation, goods: Sequence[str]
) -> tuple[list[Offer], list[str]]:
    """`offers` within the creature's guarded limits, and a repair name per change.

    Own-good and unaffordable buys, sells of goods not held and prices outside the band are
    dropped; a sell of more than is held is cut to what is held.
    """
    limits = limits_of(obs, goods)
    kept: list[Offer] = []
    repairs: list[str] = []
    for offer in offers:
        allowed = limits.sells if offer.side is Side.SELL else limits.buys
        prices = limits.prices.get(offer.good, ())
        if offer.good not in allowed:
            repairs.append(f"dropped_offer:guard_{offer.side}_not_allowed")
            continue
        if not prices or not prices[0] - 1e-9 <= offer.price <= prices[-1] + 1e-9:
            repairs.append("dropped_offer:guard_far_price")
            continue
        if offer.qty > allowed[offer.good]:
            kept.append(offer.model_copy(update={"qty": allowed[offer.good]}))
            repairs.append("guard_qty_cut")
        else:
            kept.append(offer)
    return kept, repairs


def replace_offers(decision: Decision, offers: Sequence[Offer]) -> Decision:
    return decision.model_copy(update={"offers": list(offers)})


# -- the menu -------------------------------------------------------------------------------


def menu_of(obs: Observation, *, seed: int = 0, size: int = MENU_SIZE) -> list[Decision]:
    """A few sensible, distinct plans for this creature, its own temperament's first; empty
    only when it holds nothing and can afford nothing it needs.

    Each plan is what the scripted mind would do under one temperament; then the sell or the
    buys alone, so a creature can choose to only sell or only buy; then one-unit trades.
    """
    mind = ScriptedMind(seed)
    plans: list[Decision] = []
    seen: set[tuple[Offer, ...]] = set()

    def add(offers: Sequence[Offer]) -> None:
        offers = _affordable([_within_band(o, obs) for o in offers], obs.pebbles)
        key = tuple(offers)
        if offers and key not in seen and len(plans) < size:
            seen.add(key)
            plans.append(Decision(offers=list(offers)))

    # Its own temperament first, then the others that trade readily (a hoarder's plan, which
    # keeps its produce back and asks a quarter over the board, only for a hoarder).
    own = obs.personality if obs.personality in TEMPERAMENTS else "steady"
    order = [own, *(p for p in MENU_TEMPERAMENTS if p != own)]
    decided = [mind.decide(replace(obs, personality=p)).offers for p in order]
    for offers in decided:
        add(offers)
    for offers in decided:
        add([o for o in offers if o.side is Side.SELL])
        add([o for o in offers if o.side is Side.BUY])
    # When the scripted minds would all wait, a small trade still on offer: one unit of the
    # largest store, or of the most wanted good the purse affords.
    held = sorted((q, g) for g, q in obs.stores.items() if q > 0 and g in obs.prices)
    if held:
        good = held[-1][1]
        add([Offer(side=Side.SELL, good=good, qty=1, price=round(obs.prices[good] * 1.05, 2))])
    for good in sorted(obs.short_of, key=lambda g: -obs.short_of[g]):
        price = round(obs.prices[good] * 1.1, 2)
        if good != obs.produces and good not in obs.never_buy and price <= obs.pebbles:
            add([Offer(side=Side.BUY, good=good, qty=1, price=price)])
            break
    return plans


def _within_band(offer: Offer, obs: Observation) -> Offer:
    """`offer` at a price inside its side's band around the board's reference price."""
    reference = obs.prices[offer.good]
    low, high = MENU_SELL_BAND if offer.side is Side.SELL else MENU_BID_BAND
    if offer.side is Side.BUY and offer.good == obs.fuel_good and not obs.warm:
        high = MENU_COLD_BID
    low, high = low * reference, high * reference
    if low <= offer.price <= high:
        return offer
    price = round(min(max(offer.price, low), high), 2)
    if offer.side is Side.SELL and price < low:
        price = round(price + 0.01, 2)  # rounding must not put a sell under the board
    return offer.model_copy(update={"price": price})


def _affordable(offers: Sequence[Offer], pebbles: float) -> list[Offer]:
    """`offers` with the bids cut, in order, to what the purse pays at their prices."""
    left = pebbles
    kept: list[Offer] = []
    for offer in offers:
        if offer.side is Side.SELL:
            kept.append(offer)
            continue
        qty = min(offer.qty, math.floor(left / offer.price + 1e-9))
        if qty >= 1:
            kept.append(offer if qty == offer.qty else offer.model_copy(update={"qty": qty}))
            left -= qty * offer.price
    return kept


def plan_text(plan: Decision) -> str:
    return "; ".join(f"{o.side} {o.qty} {o.good} at {_num(o.price)}" for o in plan.offers) or "wait"


class MenuSpace:
    """The code proposes plans; the model picks one by letter and writes the gossip."""

    name: SpaceName = "menu"

    def __init__(self, scenario: Scenario, *, thought: bool = False, seed: int = 0) -> None:
        self.goods = tuple(scenario.goods)
        self.rules = scenario.rules
        self.thought = thought
        self.seed = seed
        self.gossip_chars = min(self.rules.gossip_chars, GOSSIP_CHARS, GUARDED_GOSSIP_CHARS)
        self._menus: dict[int, tuple[Observation, list[Decision]]] = {}

    def plans(self, obs: Observation) -> list[Decision]:
        """This observation's menu (computed once per observation object)."""
        cached = self._menus.get(id(obs))
        if cached is not None and cached[0] is obs:
            return cached[1]
        if len(self._menus) > 1024:
            self._menus.clear()
        plans = menu_of(obs, seed=self.seed) or [Decision()]
        self._menus[id(obs)] = (obs, plans)
        return plans

    def schema(self, obs: Observation) -> dict[str, Any]:
        letters = list(LETTERS[: len(self.plans(obs))])
        return _answer_schema("choice", {"enum": letters}, self.gossip_chars, thought=self.thought)

    def prompt_lines(self, obs: Observation) -> list[str]:
        plans = self.plans(obs)
        return ["Your plans:", *(f"{LETTERS[i]}: {plan_text(p)}" for i, p in enumerate(plans))]

    def format_lines(self) -> list[str]:
        head = '{"thought":TEXT,' if self.thought else "{"
        return [
            "Each tick you are offered a few plans. Pick the one that suits you best now.",
            "Answer with one JSON object and nothing else:",
            f'{head}"choice":LETTER,"gossip":TEXT}}',
            "LETTER is the letter of your plan. TEXT is one short public line of at most "
            f"{self.gossip_chars} characters about your trade, in plain words with no quote "
            "marks.",
        ]

    def interpret(self, text: str, obs: Observation, *, drop_own_buys: bool = True) -> Reading:
        plans = self.plans(obs)
        repairs: list[str] = []
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            repairs.append("menu_salvaged")
            choice = _salvage_choice(text)
            gossip = _salvage_gossip(text)
        else:
            choice = data.get("choice")
            gossip = data.get("gossip", "")
        index = LETTERS.find(choice) if isinstance(choice, str) and len(choice) == 1 else -1
        if not 0 <= index < len(plans):
            return Reading(ParseResult(NOOP, tuple(repairs), "bad_choice"), ())
        plan = plans[index]
        if not isinstance(gossip, str):
            gossip, repairs = "", [*repairs, "bad_gossip"]
        clean = " ".join(gossip.split())[: self.gossip_chars]
        if clean != gossip:
            repairs.append("gossip_cleaned")
        decision = Decision(offers=list(plan.offers), gossip=clean)
        return Reading(ParseResult(decision, tuple(repairs)), tuple(plan.offers))


_CHOICE = re.compile(r'"choice"\s*:\s*"([A-H])"')
_GOSSIP = re.compile(r'"gossip"\s*:\s*"([^"]*)')


def _salvage_choice(text: str) -> str | None:
    found = _CHOICE.search(text)
    return found.group(1) if found else None


def _salvage_gossip(text: str) -> str:
    found = _GOSSIP.search(text)
    return found.group(1) if found else ""


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _answer_schema(
    key: str, shape: dict[str, Any], gossip_chars: int, *, thought: bool
) -> dict[str, Any]:
    """The object every guarded or menu answer is: `key` (its offers, or its choice), a
    gossip line and, when asked for, a private thought first; no other keys. The texts are
    `text_schema` lines, so the whole answer is bounded (`schema.longest_answer`) and its
    request asks for enough tokens to finish it (`schema.budget_for`)."""
    return answer_object(
        {key: shape, "gossip": text_schema(gossip_chars)},
        text_schema(THOUGHT_CHARS) if thought else None,
    )

"""`smallwood bench decisions`: how sensibly a model trades, per decision space and prompt.

Two parts, both over the same seeds, one batched engine call per tick:

- judged: fixed, reproducible observation sets drawn from scripted worlds (`--sample` ticks
  per seed, spread over a whole year so winters and legends are in it). Every answer is
  judged by what the model *asked for* (its intended offers, salvaged from the raw text
  before any guard or drop) against what the creature saw: `valid_share` (strict JSON, no
  repair), `repaired_share`, `noop_share`, `self_buy_share` (buys of its own good, of buys;
  chance 1/goods), `unheld_sell_share` (sells of a good not held or beyond what is held, of
  sells), `far_price_share` (prices outside 0.5-2x the reference, of offers),
  `roster_buy_share` (buys of a good on the creature's shortage roster, of buys) beside its
  chance level (the roster's share of the goods, averaged over those buys), and
  `example_copy_share` (answers repeating the worked example's prices, quantities or gossip).
- closed loop: every creature driven by the model for `--ticks` ticks from the opening:
  `trades_per_tick` beside `baseline_trades_per_tick` (the scripted minds on the same seeds),
  and the mean wealth change per creature beside the scripted creatures'.

Engine figures per variant: per-tick engine time (the batched call), prompt tokens per
prompt, and the prefix-cache hit rate (in-process vLLM: the share of prompt tokens the cache
served). Variants: each `--space`, and for the free space each `--ablate` intervention left
out (one at a time) beside the full prompt.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from server import simulate
from server.minds.brain import Brain, DecisionResult, ScriptedBrain
from server.minds.engine import Engine
from server.minds.model_brain import ModelBrain
from server.minds.prompts import INTERVENTIONS, PromptBuilder, Renderer
from server.minds.spaces import SPACES
from server.world import Observation, Scenario, new_world, observe_all, step
from server.world.events import Event, TradeCleared
from server.world.state import WorldState
from server.world.wealth import wealth_of
from shared.decision import Decision, Offer, Side

FAR_LOW, FAR_HIGH = 0.5, 2.0


@dataclass(slots=True)
class Tally:
    """Counts over judged answers; `figures` turns them into shares."""

    answers: int = 0
    ok: int = 0
    repaired: int = 0
    noop: int = 0
    noop_reasons: Counter[str] = field(default_factory=Counter)
    offers: int = 0
    buys: int = 0
    sells: int = 0
    self_buys: int = 0
    unheld_sells: int = 0
    far_prices: int = 0
    roster_buys: int = 0
    roster_chance: float = 0.0
    copies: int = 0
    engine_ms: list[float] = field(default_factory=list)

    def add(self, result: DecisionResult, obs: Observation, example: Decision | None) -> None:
        self.answers += 1
        if result.status == "ok":
            self.ok += 1
        elif result.status == "repaired":
            self.repaired += 1
        else:
            self.noop += 1
            self.noop_reasons[result.noop_reason] += 1
        intended = result.intended or ()
        for offer in intended:
            self.offers += 1
            ref = obs.prices.get(offer.good)
            if ref and not FAR_LOW * ref <= offer.price <= FAR_HIGH * ref:
                self.far_prices += 1
            if offer.side is Side.BUY:
                self.buys += 1
                self.self_buys += offer.good == obs.produces
                self.roster_buys += offer.good in obs.short_of
                self.roster_chance += len(obs.short_of) / max(1, len(obs.prices))
            else:
                self.sells += 1
                self.unheld_sells += offer.qty > obs.stores.get(offer.good, 0)
        if example is not None and _copies(intended, result, example):
            self.copies += 1

    def figures(self, goods: int) -> dict[str, Any]:
        def share(part: float, whole: int) -> float | None:
            return round(part / whole, 4) if whole else None

        return {
            "answers": self.answers,
            "valid_share": share(self.ok, self.answers),
            "repaired_share": share(self.repaired, self.answers),
            "noop_share": share(self.noop, self.answers),
            "noop_reasons": dict(self.noop_reasons),
            "offers_per_answer": share(self.offers, self.answers),
            "buys": self.buys,
            "sells": self.sells,
            "self_buy_share": share(self.self_buys, self.buys),
            "self_buy_chance": round(1 / goods, 4),
            "unheld_sell_share": share(self.unheld_sells, self.sells),
            "far_price_share": share(self.far_prices, self.offers),
            "roster_buy_share": share(self.roster_buys, self.buys),
            "roster_buy_chance": share(self.roster_chance, self.buys),
            "example_copy_share": share(self.copies, self.answers),
        }


def _copies(intended: Sequence[Offer], result: DecisionResult, example: Decision) -> bool:
    """Whether an answer repeats the worked example: one of its prices (two-decimal values
    no sensible answer needs), or its gossip (which names the example's creature, Wren)."""
    prices = {o.price for o in example.offers}
    if any(o.price in prices for o in intended):
        return True
    return "Wren" in result.decision.gossip or "Wren" in result.raw


@dataclass(frozen=True, slots=True)
class Variant:
    space: str
    ablate: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.space + "".join(f"-{a}" for a in self.ablate)


def variants(
    spaces: Sequence[str], ablate: Sequence[str], *, ablated_only: bool = False
) -> list[Variant]:
    """Each space with the full prompt; the free space also without each listed intervention
    (`ablated_only`: those alone, without any space's full prompt)."""
    out = [] if ablated_only else [Variant(s) for s in spaces]
    if "free" in spaces:
        out += [Variant("free", (a,)) for a in ablate]
    return out


def sample_ticks(scenario: Scenario, count: int) -> list[int]:
    """`count` ticks that reach winter and the legends: the middle of each season of the
    first year (winter first) taken in turn with a few ticks into each scheduled legend."""
    tps = scenario.rules.ticks_per_season
    seasons = [round(tps * (k + 0.5)) for k in (3, 0, 1, 2)]  # winter, spring, summer, autumn
    legends = sorted(legend.tick + 3 for legend in scenario.legends)
    turns: list[int] = []
    for i in range(max(len(seasons), len(legends))):
        turns += seasons[i : i + 1] + legends[i : i + 1]
    picked = list(dict.fromkeys(turns))[:count]
    spread = [1 + (i * 4 * tps) // max(1, count) for i in range(count)]  # more than those
    picked += [t for t in dict.fromkeys(spread) if t not in picked][: count - len(picked)]
    return sorted(picked)


def judged_sets(
    scenario: Scenario, seeds: Sequence[int], count: int
) -> list[tuple[int, int, dict[str, Observation]]]:
    """(seed, tick, observations of every active creature) of the scripted worlds."""
    sets = []
    for seed in seeds:
        state = new_world(scenario, seed)
        brain = ScriptedBrain(seed)
        for tick in sample_ticks(scenario, count):
            while state.tick < tick - 1:
                state = _scripted_step(state, brain)
            obs = {cid: o for cid, o in observe_all(state).items() if not o.exiled}
            sets.append((seed, tick, obs))
    return sets


def _scripted_step(state: WorldState, brain: ScriptedBrain) -> WorldState:
    results = brain.decide_now(observe_all(state))
    state, _ = step(state, {cid: r.action for cid, r in results.items()})
    return state


@dataclass(slots=True)
class LoopFigures:
    trades: int = 0
    ticks: int = 0
    wealth_change: list[float] = field(default_factory=list)


Judge = Callable[[str, int, DecisionResult], None]
"""Called with (part, seed, result) for every model answer: part is "judged" or "loop"."""


async def closed_loop(
    scenario: Scenario,
    seeds: Sequence[int],
    ticks: int,
    brain_for: Callable[[int], Brain],
    judge: Judge | None = None,
) -> LoopFigures:
    """Every creature driven by `brain_for(seed)` for `ticks` ticks per seed."""
    out = LoopFigures()
    for seed in seeds:
        state = new_world(scenario, seed)
        start = {cid: wealth_of(state, c) for cid, c in state.creatures.items()}
        cast = simulate.Cast(brains={}, default=brain_for(seed))

        def listen(
            _: WorldState,
            events: Sequence[Event],
            results: Any,
            seed: int = seed,
        ) -> None:
            out.trades += sum(isinstance(e, TradeCleared) for e in events)
            out.ticks += 1
            if judge is not None:
                for result in results.values():
                    judge("loop", seed, result)

        state = await simulate.run_world(state, cast, ticks, [listen])
        for cid, c in state.creatures.items():
            if cid in start:
                out.wealth_change.append(wealth_of(state, c) - start[cid])
    return out


def _same(brain: Brain) -> Callable[[int], Brain]:
    return lambda _seed: brain


def _loop_dict(prefix: str, loop: LoopFigures) -> dict[str, Any]:
    return {
        f"{prefix}trades_per_tick": round(loop.trades / loop.ticks, 3) if loop.ticks else None,
        f"{prefix}wealth_change": (
            round(statistics.fmean(loop.wealth_change), 2) if loop.wealth_change else None
        ),
    }


async def run(
    scenario: Scenario,
    engine: Engine,
    renderer: Renderer,
    *,
    spaces: Sequence[str] = SPACES,
    ablate: Sequence[str] = (),
    ablated_only: bool = False,
    seeds: Sequence[int] = (1, 2, 3),
    ticks: int = 30,
    sample: int = 10,
    max_tokens: int = 128,
    progress: Callable[[str], None] | None = None,
    traces: IO[bytes] | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """The figures of every variant on `engine` (left open: the caller closes it).

    With `traces`, every model answer is written there as one JSON line: the variant, part
    ("judged" or "loop"), seed, tick, creature, observation, raw text, intended offers,
    the submitted decision, status and repairs. `on_row` gets each variant's figures as soon
    as they are done (a long run keeps what it finished).
    """
    sets = judged_sets(scenario, seeds, sample)
    baseline = await closed_loop(scenario, seeds, ticks, ScriptedBrain) if ticks else LoopFigures()
    example = PromptBuilder(scenario).example
    rows = []
    for variant in variants(spaces, ablate, ablated_only=ablated_only):
        builder = PromptBuilder(
            scenario, renderer=renderer, space=variant.space, ablate=variant.ablate
        )
        brain = ModelBrain(
            engine,
            builder,
            max_tokens=max_tokens,
            own_good_buys=scenario.rules.own_good_buys,
            name=variant.label,
        )
        tally, loop_tally = Tally(), Tally()

        def judge(
            part: str,
            seed: int,
            result: DecisionResult,
            label: str = variant.label,
            tallies: tuple[Tally, Tally] = (tally, loop_tally),
        ) -> None:
            if result.observation is None:
                return
            tallies[part != "judged"].add(result, result.observation, example)
            if traces is not None:
                traces.write(orjson.dumps(_trace(label, part, seed, result)) + b"\n")

        prompt_tokens0, cached0 = _cache(engine)
        prompts = 0
        for seed, _, observations in sets:
            started = time.perf_counter()
            results = await brain.decide(observations, deadline=math.inf)
            tally.engine_ms.append((time.perf_counter() - started) * 1000)
            prompts += len(observations)
            for result in results.values():
                judge("judged", seed, result)
            if progress is not None:
                progress(variant.label)
        prompt_tokens1, cached1 = _cache(engine)
        loop = LoopFigures()
        if ticks:
            loop = await closed_loop(scenario, seeds, ticks, _same(brain), judge)
        tokens = prompt_tokens1 - prompt_tokens0
        row = {
            "variant": variant.label,
            "space": variant.space,
            "ablate": list(variant.ablate),
            **tally.figures(len(scenario.goods)),
            **_loop_dict("", loop),
            **_loop_dict("baseline_", baseline),
            "engine_ms_per_tick_mean": round(statistics.fmean(tally.engine_ms), 1),
            "engine_ms_per_tick_max": round(max(tally.engine_ms), 1),
            "creatures_per_tick": round(prompts / len(sets), 2),
            "prompt_tokens_mean": round(tokens / prompts, 1) if tokens else None,
            "prefix_cache_hit_rate": round((cached1 - cached0) / tokens, 4) if tokens else None,
            "closed_loop_judged": loop_tally.figures(len(scenario.goods)),
        }
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return {
        "benchmark": "decisions",
        "scenario": scenario.name,
        "engine": engine.name,
        "seeds": list(seeds),
        "judged_ticks": sorted({t for _, t, _ in sets}),
        "closed_loop_ticks": ticks,
        "max_tokens": max_tokens,
        "variants": rows,
    }


def _trace(label: str, part: str, seed: int, result: DecisionResult) -> dict[str, Any]:
    obs = result.observation
    return {
        "variant": label,
        "part": part,
        "seed": seed,
        "tick": obs.tick if obs else None,
        "creature": obs.creature if obs else None,
        "observation": asdict(obs) if obs else None,
        "raw": result.raw,
        "intended": [o.model_dump(mode="json") for o in result.intended or ()],
        "decision": result.decision.model_dump(mode="json", exclude_none=True),
        "status": result.status,
        "repairs": list(result.repairs),
        "noop_reason": result.noop_reason,
    }


def _append(path: Path, row: dict[str, Any]) -> None:
    with path.open("ab") as out:
        out.write(orjson.dumps(row) + b"\n")


def _cache(engine: Engine) -> tuple[int, int]:
    return int(getattr(engine, "prompt_tokens", 0)), int(getattr(engine, "cached_tokens", 0))


COLUMNS = (
    "valid_share",
    "repaired_share",
    "noop_share",
    "self_buy_share",
    "unheld_sell_share",
    "far_price_share",
    "roster_buy_share",
    "roster_buy_chance",
    "example_copy_share",
    "trades_per_tick",
    "baseline_trades_per_tick",
    "wealth_change",
    "baseline_wealth_change",
    "engine_ms_per_tick_mean",
    "prompt_tokens_mean",
    "prefix_cache_hit_rate",
)


def render(figures: dict[str, Any]) -> str:
    """A plain table: one row per figure, one column per variant."""
    rows = figures["variants"]
    head = ["figure", *(r["variant"] for r in rows)]
    table = [head] + [[c, *(_cell(r.get(c)) for r in rows)] for c in COLUMNS]
    widths = [max(len(line[i]) for line in table) for i in range(len(head))]
    lines = [
        f"bench decisions: {figures['engine']}, seeds {figures['seeds']}, judged ticks "
        f"{figures['judged_ticks']}, closed loop {figures['closed_loop_ticks']} ticks"
    ]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in table
    ]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


# -- the command line -----------------------------------------------------------------------


def _list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _seeds(text: str) -> list[int]:
    try:
        return [int(t) for t in _list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: seeds are whole numbers, e.g. 1,2,3") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, help="vllm: model directory; openai: the served model's name"
    )
    parser.add_argument("--engine", choices=["vllm", "openai"], default="vllm")
    parser.add_argument("--base-url", help="openai: the server, e.g. http://localhost:8000")
    parser.add_argument(
        "--space",
        type=_list,
        default=list(SPACES),
        help="decision spaces, comma-separated (default free,guarded,menu)",
    )
    parser.add_argument(
        "--ablate",
        type=_list,
        default=[],
        help="free space: also run without each of these, one at a time "
        f"({','.join(INTERVENTIONS)})",
    )
    parser.add_argument(
        "--ablated-only",
        action="store_true",
        help="run only the ablated free variants, not the full prompts (for a long run "
        "that adds them to figures already measured)",
    )
    parser.add_argument("--ticks", type=int, default=30, help="closed-loop ticks per seed (30)")
    parser.add_argument("--sample", type=int, default=10, help="judged ticks per seed (10)")
    parser.add_argument("--seeds", type=_seeds, default=[1, 2, 3], help="(default 1,2,3)")
    parser.add_argument("--max-tokens", type=int, default=128, help="per answer (default 128)")
    parser.add_argument("--scenario", type=Path, help="scenario file (.toml or .json)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--traces", type=Path, help="write every model answer here (JSON lines)")
    parser.add_argument(
        "--rows", type=Path, help="append each variant's figures here as it finishes (JSON lines)"
    )


def run_cli(args: argparse.Namespace) -> int:
    import sys  # noqa: PLC0415

    from server.minds.engines import EngineConfigError, EngineOptions, start_engine  # noqa: PLC0415
    from server.world import ScenarioError, load_scenario  # noqa: PLC0415

    def fail(message: str) -> int:
        print(f"smallwood: {message}", file=sys.stderr)
        return 2

    bad = sorted(set(args.space) - set(SPACES))
    if bad or not args.space:
        return fail(f"--space {bad}: choose from {list(SPACES)}")
    bad = sorted(set(args.ablate) - set(INTERVENTIONS))
    if bad:
        return fail(f"--ablate {bad}: choose from {list(INTERVENTIONS)}")
    if args.ablated_only and not (args.ablate and "free" in args.space):
        return fail("--ablated-only needs --space free and --ablate")
    if args.ticks < 0 or args.sample < 1 or args.max_tokens < 1 or not args.seeds:
        return fail("--ticks >= 0, --sample >= 1, --max-tokens >= 1 and one seed at least")
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        return fail(str(exc))
    if args.engine == "openai" and not args.base_url:
        return fail("--engine openai needs --base-url")

    for option, path in (("--traces", args.traces), ("--rows", args.rows)):
        if path is not None and not path.parent.is_dir():
            return fail(f"{option} {path}: the folder {path.parent} does not exist")

    # vLLM logs to standard output unless told not to configure logging: keep it for figures.
    os.environ.setdefault("VLLM_CONFIGURE_LOGGING", "0")

    async def main() -> dict[str, Any]:
        options = EngineOptions(args.engine, model=args.model, base_url=args.base_url)
        out = args.traces.open("wb") if args.traces else None
        try:
            engine, renderer = start_engine(options)
        except BaseException:
            if out is not None:
                out.close()
            raise
        try:
            return await run(
                scenario,
                engine,
                renderer,
                spaces=args.space,
                ablate=args.ablate,
                ablated_only=args.ablated_only,
                seeds=args.seeds,
                ticks=args.ticks,
                sample=args.sample,
                max_tokens=args.max_tokens,
                traces=out,
                on_row=None if args.rows is None else lambda row: _append(args.rows, row),
            )
        finally:
            await engine.aclose()
            if out is not None:
                out.close()

    try:
        figures = asyncio.run(main())
    except (EngineConfigError, OSError) as exc:
        return fail(f"--model {args.model}: {exc}")
    except ImportError as exc:
        return fail(f"--engine {args.engine} needs its library installed: {exc}")
    print(orjson.dumps(figures).decode() if args.json else render(figures))
    return 0

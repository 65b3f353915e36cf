"""PacedBrain: minds slower than the tick decide every few ticks; the world never waits."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from server.minds.brain import DecisionResult, ScriptedBrain
from server.minds.cadence import (
    WINDOW,
    Adaptive,
    NeverDecides,
    Pace,
    PacedBrain,
    auto_cadence,
    lands_after,
)
from server.minds.model_brain import ModelBrain
from server.minds.plans import observations_by_brain, plan_brains
from server.minds.prompts import PromptBuilder
from server.simulate import Cast, run_world
from server.world import WorldState, load_scenario, new_world, observe_all, state_hash
from server.world.events import Event
from server.world.observe import Observation

GOOD = '{"offers":[{"side":"sell","good":"acorns","qty":1,"price":4}],"gossip":"tick {}"}'


class SlowEngine:
    """Answers each prompt after `delay` seconds with a sell of one acorn; `aborts` on cancel."""

    name = "slow"

    def __init__(self, delay: float, *, aborts: bool = True) -> None:
        self.delay = delay
        self.aborts_on_cancel = aborts
        self.batches: list[int] = []
        self.cancelled = 0

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        self.batches.append(len(prompts))
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return [GOOD.replace("{}", str(len(self.batches)))] * len(prompts)

    async def aclose(self) -> None:
        return None


def model_brain(delay: float, **kw: Any) -> tuple[ModelBrain, SlowEngine]:
    engine = SlowEngine(delay, **kw)
    return ModelBrain(engine, PromptBuilder(load_scenario())), engine


def test_auto_cadence_budgets_a_margin_and_lands_at_the_first_deadline_it_beats() -> None:
    assert auto_cadence(0.01, 1.0, 0.6) == 1  # fits the tick: today's one batch a tick
    assert auto_cadence(0.25, 0.1, 0.06) == 5  # 0.375 s budget: 4 whole ticks and a share
    assert auto_cadence(4.0, 1.0, 0.6) == 7  # SmolLM2 on 2 CPU cores, 1 s tick
    assert lands_after(0.25, 0.1, 0.06, 5) == 2
    assert lands_after(4.0, 1.0, 0.6, 7) == 4
    assert lands_after(0.05, 0.1, 0.06, 5) == 0
    assert lands_after(9.0, 1.0, 0.6, 3) == 2  # never past its cadence


async def test_headless_a_batch_started_at_t_applies_at_t_plus_k_minus_1() -> None:
    brain, engine = model_brain(0.02)
    paced = PacedBrain(brain, 3, realtime=False)
    state = new_world(load_scenario(), 1)
    seen: list[set[str]] = []

    def listen(_: WorldState, __: Sequence[Event], results: Mapping[str, DecisionResult]) -> None:
        seen.append({r.noop_reason or r.status for r in results.values()})

    await run_world(state, Cast({"model": paced, "scripted": paced}, paced), 9, [listen])
    assert seen == [{"thinking"}, {"thinking"}, {"ok"}] * 3
    assert engine.batches == [5, 5, 5]


async def test_headless_the_world_is_the_same_whatever_the_engine_speed() -> None:
    hashes = []
    for delay in (0.0, 0.03):
        brain, _ = model_brain(delay)
        paced = PacedBrain(brain, 4, realtime=False)
        end = await run_world(new_world(load_scenario(), 3), Cast({}, paced), 12)
        hashes.append(state_hash(end))
    assert hashes[0] == hashes[1]


async def test_headless_a_slow_engine_meets_its_scheduled_decisions() -> None:
    """The fast-suite check of issue 13, headless: an engine 2.5 ticks slow, auto cadence."""
    period = 0.1
    brain, engine = model_brain(2.5 * period)
    state = new_world(load_scenario(), 1)
    names = {"model": brain, "scripted": brain}
    paced, (plan,) = await plan_brains(
        names, observations_by_brain(state), {}, period=period, decide_s=0.6 * period,
        realtime=False,
    )  # fmt: skip
    k = plan.cadence
    assert k == auto_cadence(plan.warm_s, period, 0.6 * period) >= 5  # 5 for exactly 0.25 s
    assert plan.every == k  # headless: always applied at T+k-1
    counts = {"due": 0, "applied": 0, "thinking": 0}

    def listen(_: WorldState, __: Sequence[Event], results: Mapping[str, DecisionResult]) -> None:
        for r in results.values():
            if r.noop_reason == "thinking":
                counts["thinking"] += 1
                continue
            counts["due"] += 1
            counts["applied"] += r.status != "noop"

    guarded = paced["model"]
    await run_world(state, Cast(paced, guarded), 30, [listen])
    assert counts["due"] == 30 // k * 5
    assert counts["applied"] >= 0.9 * counts["due"]
    assert counts["thinking"] == 30 * 5 - counts["due"]
    batches = 2 + -(-30 // k)  # two warm-up batches, then one per cadence (the last still out)
    assert len(engine.batches) == batches


async def _tick(
    paced: PacedBrain, obs: Mapping[str, Observation], tick: int, period: float, share: float
) -> dict[str, DecisionResult]:
    """One live tick as the clock gives it: observations of `tick`, a deadline, the rest."""
    began = time.monotonic()
    stamped = {cid: _at(o, tick) for cid, o in obs.items()}
    results = await paced.decide(stamped, deadline=began + share * period)
    await asyncio.sleep(max(0.0, began + period - time.monotonic()))
    return results


def _at(obs: Observation, tick: int) -> Observation:
    from dataclasses import replace

    return replace(obs, tick=tick)


async def test_live_a_batch_applies_at_the_first_tick_it_beats_and_the_next_starts_after() -> None:
    brain, engine = model_brain(0.2)
    paced = PacedBrain(brain, 6)
    obs = observe_all(new_world(load_scenario(), 1))
    reasons = []
    for tick in range(1, 6):
        results = await _tick(paced, obs, tick, 0.3, 0.6)
        reasons.append({r.noop_reason or r.status for r in results.values()})
    # Started at tick 1 (t=0), done at t=0.2: past tick 1's deadline (0.18 s), well before
    # tick 2's (0.48 s); the next batch starts at tick 3 and lands at tick 4.
    assert reasons[:3] == [{"thinking"}, {"ok"}, {"thinking"}]
    assert reasons[3] == {"ok"}
    assert len(engine.batches) >= 3


async def test_live_a_batch_out_past_its_cadence_is_cancelled() -> None:
    brain, engine = model_brain(5.0)
    paced = PacedBrain(brain, 2)
    obs = observe_all(new_world(load_scenario(), 1))
    first = await _tick(paced, obs, 1, 0.05, 0.6)
    second = await _tick(paced, obs, 2, 0.05, 0.6)
    assert {r.noop_reason for r in first.values()} == {"thinking"}
    assert {r.noop_reason for r in second.values()} == {"deadline"}
    await asyncio.sleep(0)
    assert engine.cancelled == 1  # an abortable engine is freed for the next batch
    await paced.aclose()


async def test_standing_orders_repeat_the_last_offers_without_gossip() -> None:
    brain, _ = model_brain(0.0)
    paced = PacedBrain(brain, 3, between="standing", realtime=False)
    obs = observe_all(new_world(load_scenario(), 1))
    got = [await paced.decide({c: _at(o, t) for c, o in obs.items()}, deadline=math.inf)
           for t in range(1, 6)]  # fmt: skip
    assert {r.noop_reason for r in got[0].values()} == {"thinking"}  # nothing to stand on yet
    decided = got[2]["oona"]
    assert not decided.standing and decided.decision.gossip == "tick 1"
    standing = got[3]["oona"]
    assert standing.standing and standing.status == "ok"
    assert standing.decision.offers == decided.decision.offers
    assert standing.decision.gossip == ""


async def test_a_creature_that_arrives_mid_batch_waits_for_the_next() -> None:
    brain, engine = model_brain(0.0)
    paced = PacedBrain(brain, 2, realtime=False)
    obs = observe_all(new_world(load_scenario(), 1))
    some = {c: _at(o, 1) for c, o in obs.items() if c != "hob"}
    await paced.decide(some, deadline=math.inf)
    later = await paced.decide({c: _at(o, 2) for c, o in obs.items()}, deadline=math.inf)
    assert later["hob"].noop_reason == "thinking"
    assert {r.status for c, r in later.items() if c != "hob"} == {"ok"}
    assert engine.batches == [4]


async def test_a_cadence_shorter_than_a_warm_batch_is_refused_with_what_to_set() -> None:
    brain, _ = model_brain(0.2)
    state = new_world(load_scenario(), 1)
    with pytest.raises(NeverDecides, match=r"0\.2\d s per warm batch.*set cadence = \d+ or more"):
        await plan_brains(
            {"qwen": brain},
            {"qwen": observe_all(state)},
            {"qwen": Pace(cadence=1)},
            period=0.1,
            decide_s=0.06,
            realtime=True,
        )


async def test_scripted_brains_are_not_measured_or_paced() -> None:
    scripted = ScriptedBrain(1)
    out, plans = await plan_brains(
        {"scripted": scripted}, {}, {}, period=1.0, decide_s=0.6, realtime=True
    )
    assert out == {"scripted": scripted} and plans == []


def test_a_live_auto_cadence_budgets_for_the_slowest_recent_batch() -> None:
    adaptive = Adaptive(period=0.1, decide_s=0.06, estimate_s=0.1)
    assert adaptive.landed(0.05) == auto_cadence(0.1, 0.1, 0.06)  # the start-up one counts
    assert adaptive.missed(2) == 3  # overran 0.16 s: at least that, with the margin
    assert adaptive.landed(0.5) == 8  # a slow landing: the estimate jumps to it
    assert adaptive.landed(0.1) == 8  # one fast batch does not undo a slow one
    for _ in range(WINDOW):
        cadence = adaptive.landed(0.1)
    assert cadence == auto_cadence(0.1, 0.1, 0.06) == 2  # once the slow ones are old


async def test_live_a_slowing_engine_lengthens_the_cadence_and_decides_again() -> None:
    brain, engine = model_brain(0.03)
    changes: list[int] = []
    adaptive = Adaptive(0.1, 0.06, 0.03, on_change=changes.append)
    paced = PacedBrain(brain, auto_cadence(0.03, 0.1, 0.06), adaptive=adaptive)
    assert paced.cadence == 1
    obs = observe_all(new_world(load_scenario(), 1))
    await brain.warm_up(obs, timeout_s=5)  # as the server does at start: it answers
    engine.delay = 0.35  # the machine got busy: 3.5 ticks a batch
    reasons = []
    for tick in range(1, 31):
        results = await _tick(paced, obs, tick, 0.1, 0.6)
        reasons.append(next(iter(results.values())).noop_reason or "ok")
    # The first batch overran its one tick: waited on twice (the cadence lengthening), then
    # given up (or, on a machine slow enough, landed); the next ones land.
    assert reasons[:2] == ["thinking", "thinking"]
    assert reasons.count("deadline") <= 1
    assert changes[0] > 1  # the metrics gauge is told
    assert paced.cadence >= 5  # budget (k-1) x 0.1 + 0.06 s holds 0.35 s with the margin
    assert "ok" in reasons[-12:]  # and batches land again
    await paced.aclose()


async def test_live_an_auto_batch_a_little_late_is_waited_for_and_applied() -> None:
    brain, engine = model_brain(0.25)
    paced = PacedBrain(brain, 2, adaptive=Adaptive(0.1, 0.06, 0.1))
    obs = observe_all(new_world(load_scenario(), 1))
    reasons = []
    for tick in range(1, 6):
        results = await _tick(paced, obs, tick, 0.1, 0.6)
        reasons.append(next(iter(results.values())).noop_reason or "ok")
    assert "deadline" not in reasons and "ok" in reasons[2:4]  # landed at tick 3 or 4
    assert paced.cadence >= 3
    assert engine.cancelled == 0
    await paced.aclose()

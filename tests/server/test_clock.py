"""The tick loop: on time whatever the brains do, and steered by its operator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from server.clock import Clock
from server.minds.brain import DecisionResult
from server.store import Store
from server.world import load_scenario, new_world, observe_all
from server.world.observe import Observation
from shared.world import WorldDocument

from .conftest import make_clock, parked, until


class SlowBrain:
    name = "slow"

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        await asyncio.sleep(10)
        return {}

    async def aclose(self) -> None:
        return None


class StubbornBrain(SlowBrain):
    """Ignores the first cancellation and goes on thinking for a while."""

    name = "stubborn"

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.3)
        return {}


class BrokenBrain(SlowBrain):
    name = "broken"

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        raise RuntimeError("engine on fire")


class ForgetfulBrain(SlowBrain):
    name = "forgetful"

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        return {}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path)
    yield s
    s.close()


async def run_for(clock: Clock, seconds: float) -> None:
    task = asyncio.create_task(clock.run())
    await asyncio.sleep(seconds)
    clock.stop()
    await asyncio.wait_for(task, 2)


def noops(clock: Clock) -> dict[str, float]:
    return {dict(k)["reason"]: v for k, v in clock.metrics.noops.values.items() if v}


async def test_a_slow_brain_never_delays_the_next_tick(store: Store) -> None:
    clock = make_clock(store, brains={"scripted": SlowBrain()}, period=0.05)
    await run_for(clock, 0.6)
    # A brain that takes 10 s would allow one tick at most in 0.6 s if the clock waited on
    # it; on a loaded machine ticks may overrun, so ask for a few, not the whole grid.
    assert clock.state.tick >= 4
    assert noops(clock) == {"deadline": 5 * clock.state.tick}


async def test_a_brain_still_busy_is_skipped_not_awaited(store: Store) -> None:
    clock = make_clock(store, brains={"scripted": StubbornBrain()}, period=0.05)
    task = asyncio.create_task(clock.run())
    try:
        # Asked again once it was free: a second deadline no-op for its five creatures.
        await until(lambda: noops(clock).get("deadline", 0) >= 10, 10.0)
    finally:
        clock.stop()
        await asyncio.wait_for(task, 10)
    reasons = noops(clock)
    assert reasons["brain_busy"] >= 5 * 2  # ticks went on while it kept thinking
    # Each tick either asked it or skipped it: none waited for it to finish thinking.
    assert reasons["deadline"] + reasons["brain_busy"] == 5 * clock.state.tick


@pytest.mark.parametrize(
    ("brain", "reason"), [(BrokenBrain(), "brain_error"), (ForgetfulBrain(), "missing")]
)
async def test_a_failing_brain_is_a_noop_with_its_reason(
    store: Store, brain: SlowBrain, reason: str
) -> None:
    clock = make_clock(store, brains={"scripted": brain})
    for _ in range(3):
        await clock.tick(deadline=time.monotonic() + 0.02)
    assert clock.state.tick == 3
    assert noops(clock) == {reason: 15}


async def test_ticks_start_on_the_grid(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = make_clock(store, period=0.04)
    starts: list[float] = []
    late: list[float] = []
    real = clock.tick

    async def tick(*, deadline: float) -> None:
        planned = deadline - clock.period * clock.config.decision_share
        starts.append(planned)
        late.append(time.monotonic() - planned)
        await real(deadline=deadline)

    monkeypatch.setattr(clock, "tick", tick)
    await run_for(clock, 0.5)
    # Planned from the first start, never from when the last tick ended: every start lies
    # on the grid (a tick that overran skips whole slots, it does not shift the grid).
    slots = [(b - starts[0]) / 0.04 for b in starts]
    assert len(starts) >= 5
    assert all(abs(n - round(n)) < 1e-6 for n in slots)
    assert sorted(late)[len(late) // 2] < 0.04  # woken about on time, most ticks


class GatedBrain(SlowBrain):
    """Decides (nothing) once the test opens its gate, and says when it was asked."""

    name = "gated"

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.gate = asyncio.Event()

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        self.asked.set()
        await self.gate.wait()
        return {}


async def test_a_clock_paused_mid_tick_parks_once_that_tick_has_landed(store: Store) -> None:
    brain = GatedBrain()
    clock = make_clock(store, brains={"scripted": brain}, period=5.0)
    task = asyncio.create_task(clock.run())
    try:
        await asyncio.wait_for(brain.asked.wait(), 10)
        clock.pause()
        assert clock.paused and clock.ticking and not clock.parked  # the tick is under way
        brain.gate.set()
        held = await parked(clock)
        assert held == clock.hub.seq == 1 and not clock.ticking  # it landed and published
    finally:
        clock.stop()
        await asyncio.wait_for(task, 10)


async def test_pause_resume_and_tick_rate(store: Store) -> None:
    clock = make_clock(store, period=0.03)
    task = asyncio.create_task(clock.run())
    await until(lambda: clock.state.tick > 0)
    held = await parked(clock)
    await asyncio.sleep(0.2)
    assert clock.state.tick == held > 0
    clock.set_period(0.2)
    resumed = time.monotonic()
    clock.resume()
    await asyncio.sleep(0.5)
    moved, elapsed = clock.state.tick - held, time.monotonic() - resumed
    assert 1 <= moved <= elapsed / 0.2 + 1, (moved, elapsed)  # at the new rate, not 0.03 s
    with pytest.raises(ValueError, match="between"):
        clock.set_period(0.0)
    clock.stop()
    await asyncio.wait_for(task, 2)


async def test_creatures_of_an_unknown_brain_run_on_the_fallback(store: Store) -> None:
    state = new_world(load_scenario(), 1)
    first = next(iter(state.creatures.values()))
    # Scenarios now check brain names, so this one comes from a server that lost an engine.
    first.brain = "mystery-engine"
    clock = make_clock(store, state)
    results = await clock._decide(observe_all(state), time.monotonic() + 0.05)
    assert {r.brain for r in results.values()} == {"scripted"}
    assert all(r.status == "ok" for r in results.values())


async def test_noops_count_by_reason_but_record_no_decision_latency(
    store: Store, tmp_path: Path
) -> None:
    clock = make_clock(store, brains={"scripted": SlowBrain()})
    await clock.tick(deadline=time.monotonic() + 0.02)
    assert noops(clock) == {"deadline": 5}
    assert clock.metrics.decision_seconds.count(brain="slow") == 0
    other = Store.open(tmp_path / "other")
    scripted = make_clock(other)
    await scripted.tick(deadline=time.monotonic() + 0.05)
    assert scripted.metrics.decision_seconds.count(brain="scripted") == 5
    other.close()


async def test_the_published_document_says_who_drives_each_creature(store: Store) -> None:
    clock = make_clock(store)
    await clock.tick(deadline=time.monotonic() + 0.05)
    doc = clock.hub.world
    WorldDocument.model_validate(doc)
    assert {c["driver"] for c in doc["creatures"].values()} == {"script"}
    model = make_clock(store, brains={"scripted": ForgetfulBrain()})
    assert {c["driver"] for c in model.document(model.state)["creatures"].values()} == {"model"}
    model.idle, model.config.idle = True, "scripted"  # an idle world runs on the fallback
    assert {c["driver"] for c in model.document(model.state)["creatures"].values()} == {"script"}


async def test_metrics_expose_decisions_by_brain_and_status_through_prometheus_client(
    store: Store,
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    clock = make_clock(store, brains={"scripted": BrokenBrain()})
    await clock.tick(deadline=time.monotonic() + 0.02)
    clock.brains = {"scripted": ForgetfulBrain()}
    await clock.tick(deadline=time.monotonic() + 0.02)
    families = {f.name: f for f in text_string_to_metric_families(clock.metrics.render())}
    decisions = {
        (s.labels["brain"], s.labels["status"]): s.value
        for s in families["smallwood_decisions"].samples
    }
    assert decisions == {("broken", "noop"): 5.0, ("forgetful", "noop"): 5.0}
    noops = {s.labels["reason"]: s.value for s in families["smallwood_noops"].samples}
    assert noops["brain_error"] == 5 and noops["missing"] == 5 and noops["thinking"] == 0
    (error,) = families["smallwood_brain_errors"].samples
    assert error.labels == {"brain": "broken", "error": "RuntimeError"} and error.value == 1
    assert families["smallwood_ticks"].samples[0].value == 2
    assert clock.health_report() == {
        "ok": False,
        "problems": [
            "brain 'broken' failing: RuntimeError: engine on fire "
            "(failed calls in a row: 1, for 0 s)"
        ],
    }

"""ModelBrain under fault-injecting engines: every decide returns by its deadline."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from typing import Any

import pytest

from server.minds.model_brain import ModelBrain
from server.minds.prompts import PromptBuilder
from server.world import load_scenario, new_world, observe_all
from server.world.observe import Observation

SLACK_S = 0.5
"""Past a deadline, what a loaded machine may add (rendering prompts, waking up): the engines
here take 2 s or never answer, so returning at the deadline stays far from waiting."""
GOOD = '{"offers":[{"side":"sell","good":"acorns","qty":2,"price":4.5}],"gossip":"hi"}'


class FakeEngine:
    """Answers every prompt with `answer` after `delay` seconds, or misbehaves as told."""

    def __init__(
        self,
        answer: str | None = GOOD,
        *,
        delay: float = 0.0,
        fail: bool = False,
        hang: bool = False,
        aborts: bool = False,
        answers: Sequence[str | None] | None = None,
    ) -> None:
        self.answer = answer
        self.answers = answers
        self.delay = delay
        self.fail = fail
        self.hang = hang
        self.aborts = aborts
        self.batches: list[list[str]] = []
        self.cancelled = 0
        self.finished = 0
        self.schema: dict[str, Any] = {}

    name = "fake"

    @property
    def aborts_on_cancel(self) -> bool:
        return self.aborts

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        self.batches.append(list(prompts))
        self.schema = schema
        try:
            if self.hang:
                await asyncio.Event().wait()
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.fail:
            raise ConnectionError("engine is down")
        self.finished += 1
        if self.answers is not None:
            return list(self.answers)
        return [self.answer] * len(prompts)

    async def aclose(self) -> None:
        return None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def observations() -> dict[str, Observation]:
    return observe_all(new_world(load_scenario(), 1))


@pytest.fixture(scope="module")
def builder() -> PromptBuilder:
    return PromptBuilder(load_scenario())


def _deadline(seconds: float) -> float:
    return time.monotonic() + seconds


async def test_one_batched_call_for_all_creatures(
    builder: PromptBuilder, observations: dict[str, Observation]
) -> None:
    engine = FakeEngine()
    brain = ModelBrain(engine, builder)
    results = await brain.decide(observations, deadline=_deadline(2))
    assert len(engine.batches) == 1
    assert len(engine.batches[0]) == len(observations)
    assert (
        engine.schema["properties"]["offers"]["items"]["properties"]["good"]["enum"][0] == "acorns"
    )
    assert set(results) == set(observations)
    for cid, result in results.items():
        assert result.prompt == builder.render(observations[cid])
        assert result.raw == GOOD
        assert result.brain == "fake"
        assert [m["role"] for m in result.messages] == ["system", "user"]
    assert results["oona"].status == "ok"
    # Mossback produces acorns but here sells them: kept. Nobody's sell is an own-good buy.
    assert results["mossback"].decision.offers[0].good == "acorns"


async def test_a_slow_engine_gives_deadline_noops_on_time(
    builder: PromptBuilder, observations: dict[str, Observation]
) -> None:
    engine = FakeEngine(delay=2.0)
    brain = ModelBrain(engine, builder)
    started = time.monotonic()
    results = await brain.decide(observations, deadline=_deadline(0.2))
    assert time.monotonic() - started < 0.2 + SLACK_S
    assert {r.status for r in results.values()} == {"noop"}
    assert {r.noop_reason for r in results.values()} == {"deadline"}
    assert all(r.prompt for r in results.values())
    # Not abortable: the late batch still runs, so the next tick is not handed a second one.
    results = await brain.decide(observations, deadline=_deadline(0.2))
    assert {r.noop_reason for r in results.values()} == {"engine_busy"}
    assert len(engine.batches) == 1
    await brain.aclose()


async def test_late_answers_are_discarded(
    builder: PromptBuilder, observations: dict[str, Observation]
) -> None:
    engine = FakeEngine(delay=0.3)
    brain = ModelBrain(engine, builder)
    first = await brain.decide(observations, deadline=_deadline(0.05))
    assert {r.noop_reason for r in first.values()} == {"deadline"}
    await asyncio.sleep(0.4)  # the late batch finishes: its answers go nowhere
    assert engine.finished == 1
    engine.answer = '{"offers":[],"gossip":"second"}'
    engine.delay = 0.0
    second = await brain.decide(observations, deadline=_deadline(1))
    assert len(engine.batches) == 2
    assert {r.decision.gossip for r in second.values()} == {"second"}


async def test_an_abortable_engine_is_cancelled_at_the_deadline(
    builder: PromptBuilder, observations: dict[str, Observation]
) -> None:
    engine = FakeEngine(aborts=True)
    brain = ModelBrain(engine, builder)
    await brain.decide(observations, deadline=_deadline(1))  # it has answered before
    engine.hang = True
    started = time.monotonic()
    results = await brain.decide(observations, deadline=_deadline(0.1))
    assert time.monotonic() - started < 0.1 + SLACK_S
    assert {r.noop_reason for r in results.values()} == {"deadline"}
    await asyncio.sleep(0)
    assert engine.cancelled == 1
    engine.hang = False
    results = await brain.decide(observations, deadline=_deadline(1))
    assert {r.status for r in results.values()} <= {"ok", "repaired"}
    assert len(engine.batches) == 3


async def test_a_hanging_engine_never_holds_the_tick(
    builder: PromptBuilder, observations: dict[str, Observation]
) -> None:
    engine = FakeEngine(hang=True)
    brain = ModelBrain(engine, builder)
    for reason in ("deadline", "engine_busy", "engine_busy"):
        started = time.monotonic()
        results = await brain.decide(observations, deadline=_deadline(0.05))
        assert time.monotonic() - started < 0.05 + SLACK_S
        assert {r.noop_reason for r in results.values()} == {reason}
    await brain.aclose()


async def test_a_failing_engine_backs_off_exponentially(
    builder: PromptBuilder, observations: dict[str, Observation]
) -> None:
    engine = FakeEngine(fail=True)
    clock = FakeClock()
    brain = ModelBrain(engine, builder, clock=clock, backoff_first_s=1.0, backoff_max_s=4.0)
    results = await brain.decide(observations, deadline=_deadline(1))
    assert {r.noop_reason for r in results.values()} == {"engine_error"}
    assert brain.backoff_until == 1.0
    clock.now = 0.5
    results = await brain.decide(observations, deadline=_deadline(1))
    assert {r.noop_reason for r in results.values()} == {"backoff"}
    assert len(engine.batches) == 1  # no call while backing off
    clock.now = 1.0
    await brain.decide(observations, deadline=_deadline(1))
    assert brain.backoff_until == 3.0  # 2 s after the second failure
    clock.now = 3.0
    await brain.decide(observations, deadline=_deadline(1))
    clock.now = 7.0
    await brain.decide(observations, deadline=_deadline(1))
    assert brain.backoff_until == 11.0  # capped at 4 s
    engine.fail = False
    clock.now = 11.0
    results = await brain.decide(observations, deadline=_deadline(1))
    assert {r.status for r in results.values()} <= {"ok", "repaired"}
    assert brain.failures == 0


async def test_an_engine_that_never_answers_is_backed_off_not_asked_every_tick(
    builder: PromptBuilder, observations: dict[str, Observation]
) -> None:
    """Misses from an engine that never answered count as failures (a crash-looping
    container), and so does the third miss in a row of one that did; fewer are only slow
    batches; any answer ends the back-off."""
    engine = FakeEngine(hang=True, aborts=True)
    clock = FakeClock()
    brain = ModelBrain(engine, builder, clock=clock, backoff_first_s=1.0)
    results = await brain.decide(observations, deadline=_deadline(0.05))
    assert {r.noop_reason for r in results.values()} == {"deadline"}
    assert brain.failures == 1 and brain.backoff_until == 1.0  # never answered: a failure
    results = await brain.decide(observations, deadline=_deadline(0.05))
    assert {r.noop_reason for r in results.values()} == {"backoff"}
    assert len(engine.batches) == 1
    clock.now = 1.0
    await brain.decide(observations, deadline=_deadline(0.05))
    assert brain.failures == 2 and brain.backoff_until == 3.0
    clock.now = 3.0
    engine.hang = False
    await brain.decide(observations, deadline=_deadline(1))
    await asyncio.sleep(0)
    assert brain.failures == 0 and brain.backoff_until == -math.inf
    engine.hang = True
    for _ in range(2):
        await brain.decide(observations, deadline=_deadline(0.05))
        assert brain.failures == 0  # slow batches after answers are not failures
    await brain.decide(observations, deadline=_deadline(0.05))
    assert brain.failures == 1  # the third miss in a row is


async def test_garbage_missing_and_refused_answers(
    builder: PromptBuilder, observations: dict[str, Observation]
) -> None:
    answers = [
        "the wood is dark and full of acorns",
        '```json\n{"offers":[{"side":"Buy","good":"Honey","qty":"2","price":9}],"gossip":"x"}\n```',
        None,
        '{"offers":[{"side":"buy","good":"firewood","qty":2,"price":5}],"gossip":"mine',
    ]  # one short: the fifth creature gets nothing
    engine = FakeEngine(answers=answers)
    brain = ModelBrain(engine, builder)
    results = list((await brain.decide(observations, deadline=_deadline(1))).values())
    assert results[0].status == "noop" and results[0].noop_reason == "no_json"
    assert results[1].status == "repaired" and "code_fence" in results[1].repairs
    assert results[2].noop_reason == "no_answer"
    assert results[3].status == "repaired" and "truncated" in results[3].repairs
    assert results[4].noop_reason == "no_answer"


async def test_own_good_buys_are_dropped_or_kept(
    builder: PromptBuilder, observations: dict[str, Observation]
) -> None:
    buy_own = '{"offers":[{"side":"buy","good":"honey","qty":1,"price":9}],"gossip":""}'
    only_oona = {"oona": observations["oona"]}
    dropped = await ModelBrain(FakeEngine(buy_own), builder).decide(
        only_oona, deadline=_deadline(1)
    )
    assert dropped["oona"].decision.offers == []
    assert "own_good_buy" in dropped["oona"].repairs
    kept = await ModelBrain(FakeEngine(buy_own), builder, own_good_buys="keep").decide(
        only_oona, deadline=_deadline(1)
    )
    assert kept["oona"].decision.offers[0].good == "honey"
    assert "own_good_buy" in kept["oona"].repairs


async def test_no_observations_no_call(builder: PromptBuilder) -> None:
    engine = FakeEngine()
    assert await ModelBrain(engine, builder).decide({}, deadline=_deadline(1)) == {}
    assert engine.batches == []


async def test_a_deadline_already_past_makes_no_call(
    builder: PromptBuilder, observations: dict[str, Observation]
) -> None:
    engine = FakeEngine()
    results = await ModelBrain(engine, builder).decide(observations, deadline=time.monotonic() - 1)
    assert {r.noop_reason for r in results.values()} == {"deadline"}
    assert engine.batches == []


async def test_timed_brain_gives_a_deadline_to_a_loop_without_one(
    builder: PromptBuilder, observations: dict[str, Observation]
) -> None:
    from server.minds.brain import TimedBrain

    brain = TimedBrain(ModelBrain(FakeEngine(delay=2.0, aborts=True), builder), 0.1)
    started = time.monotonic()
    results = await brain.decide(observations, deadline=float("inf"))
    assert time.monotonic() - started < 0.1 + SLACK_S
    assert {r.noop_reason for r in results.values()} == {"deadline"}
    assert brain.name == "fake"

"""A brain that raises never silences the market: `FailsafeBrain` turns its errors into no-ops.

Wrap any `Brain` in a `FailsafeBrain` and its `decide` never raises (except for its own
cancellation): when the inner brain raises, the creatures it was deciding for no-op that tick
with reason `brain_error`, while every other brain's creatures trade as usual. A brain that
decides creature by creature (`separable = True`, as the scripted minds do) is then asked
again for each creature alone, so only the creatures whose decision raises no-op.

Every failure is recorded in one shared `BrainHealth`: counted by brain and error type (for
`/metrics`), logged with its traceback the first time, then as one line with a repeat count
at 10, 100, 1,000... repeats, never a traceback per tick. A brain is *failing* from its
first error until its next success; `/healthz` reports it while it lasts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from server.world.observe import Observation

from .brain import Brain, DecisionResult, noop

log = logging.getLogger(__name__)

BRAIN_ERROR = "brain_error"


@dataclass(slots=True)
class Failing:
    """A brain's current run of failures."""

    error: str
    """`Type: message` of the last error."""
    repeats: int
    """Failed calls in a row."""
    since: float
    """When the run began (the health's clock)."""


class BrainHealth:
    """Failures of every guarded brain: counts for metrics, and who is failing now."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.errors: dict[tuple[str, str], int] = {}
        """(brain, error type) -> failed calls, since start."""
        self.failing: dict[str, Failing] = {}
        """Brains whose last call failed."""

    @property
    def ok(self) -> bool:
        return not self.failing

    def total(self) -> int:
        return sum(self.errors.values())

    def problems(self) -> list[str]:
        """One line per failing brain, for `/healthz` and the logs."""
        now = self.clock()
        return [
            f"brain {name!r} failing: {f.error} "
            f"(failed calls in a row: {f.repeats}, for {now - f.since:.0f} s)"
            for name, f in sorted(self.failing.items())
        ]

    def failed(self, brain: str, error: BaseException, creatures: int) -> None:
        key = (brain, type(error).__name__)
        self.errors[key] = self.errors.get(key, 0) + 1
        text = f"{type(error).__name__}: {' '.join(str(error).split())}"  # one line
        current = self.failing.get(brain)
        if current is None or current.error != text:
            log.error(
                "brain %r raised deciding for %d creatures; they no-op (%s) until it recovers",
                brain,
                creatures,
                BRAIN_ERROR,
                exc_info=error,
            )
            self.failing[brain] = Failing(text, 1, self.clock())
            return
        current.repeats += 1
        if _is_power_of_ten(current.repeats):
            log.error("brain %r still failing: %s (%d times)", brain, text, current.repeats)

    def succeeded(self, brain: str) -> None:
        current = self.failing.pop(brain, None)
        if current is not None:
            log.warning("brain %r recovered after %d failed calls", brain, current.repeats)


class FailsafeBrain:
    """A `Brain` that never raises: the inner brain's errors become `brain_error` no-ops."""

    def __init__(self, brain: Brain, health: BrainHealth) -> None:
        self.brain = brain
        self.health = health
        self.name = brain.name

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        try:
            results = await self.brain.decide(observations, deadline=deadline)
        except Exception as error:  # CancelledError is not an Exception: it goes on
            if getattr(self.brain, "separable", False) and len(observations) > 1:
                return await self._one_by_one(observations, deadline)
            self.health.failed(self.name, error, len(observations))
            return {cid: noop(self.name, BRAIN_ERROR) for cid in observations}
        self.health.succeeded(self.name)
        return results

    async def _one_by_one(
        self, observations: Mapping[str, Observation], deadline: float
    ) -> dict[str, DecisionResult]:
        results: dict[str, DecisionResult] = {}
        first: Exception | None = None
        failed = 0
        for cid, obs in observations.items():
            try:
                got = await self.brain.decide({cid: obs}, deadline=deadline)
            except Exception as error:
                first = first or error
                failed += 1
                results[cid] = noop(self.name, BRAIN_ERROR)
                continue
            results.update(got)
        if first is None:
            self.health.succeeded(self.name)
        else:
            self.health.failed(self.name, first, failed)
        return results

    async def aclose(self) -> None:
        await self.brain.aclose()


def guard_all(brains: Mapping[str, Brain], health: BrainHealth) -> dict[str, Brain]:
    """Each brain wrapped once, keeping names that share a brain sharing its guard."""
    guards: dict[int, Brain] = {}
    out: dict[str, Brain] = {}
    for name, brain in brains.items():
        if id(brain) not in guards:
            guards[id(brain)] = (
                brain if isinstance(brain, FailsafeBrain) else FailsafeBrain(brain, health)
            )
        out[name] = guards[id(brain)]
    return out


def _is_power_of_ten(n: int) -> bool:
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1

"""Minds keep their own pace; the world keeps its clock.

A model brain whose batch takes longer than a tick's decision share still decides: its
creatures decide every few ticks instead of every tick. `PacedBrain` wraps a brain with a
*cadence* of k ticks:

- a batch starts from the observations of the tick it starts on (one batch in flight, so one
  batched engine call at a time), and may take up to k ticks: it must land by the decision
  deadline of tick T+k-1;
- in between, its creatures hold: a no-op with reason `thinking`, or, when the brain's
  `between` is `standing`, their last offers again (a result marked `standing`);
- live (`realtime`), a batch is applied at the first tick whose decision deadline it beats,
  and the next batch starts on the tick after; a batch still out at T+k-1's deadline is
  cancelled and its creatures no-op `deadline`;
- headless (`simulate`, not `realtime`), the batch started at tick T is always applied at
  tick T+k-1, waited for if need be: the world is the same whatever the engine's speed.

k = 1 is one batch per tick, answered by that tick's deadline. `auto` picks k from the
brain's warm batch latency, measured at start (`server.minds.plans`), with a margin, and
live it keeps choosing (`Adaptive`): it budgets for the slowest of the last few batches, and
a batch still out at its due tick lengthens the cadence and is waited for (twice at most,
then given up), so a machine or GPU that slows down lengthens the cadence instead of losing
its batches. Headless runs keep k fixed: their world must not depend on the engine's speed.
An explicit k whose budget is shorter than a warm batch is refused: it could never decide.

Bots that ask for a cadence in their join follow the same rule, one creature at a time
(`TurnPace`): a turn every k ticks, due by the deadline of its tick + k - 1, applied on the
next tick to decide once it comes, the creature holding in between; an act that misses its
due tick is kept for the next one instead of dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from server.world.observe import Observation
from shared import protocol

from .brain import Brain, DecisionResult, noop
from .engines import EngineConfigError

log = logging.getLogger(__name__)

THINKING = "thinking"
AUTO_MARGIN = 1.5
"""Auto cadence budgets this many warm batch latencies (a batch varies from one to the next)."""
MAX_CADENCE = protocol.MAX_CADENCE
"""One limit for model brains and the bots that ask for a cadence."""
WINDOW = 8
"""Batches a live auto cadence remembers: it budgets for the slowest of them."""
EXTENSIONS = 2
"""Times a live auto cadence lengthens to wait for a batch still out before giving it up."""

Cadence = int | Literal["auto"]
Between = Literal["hold", "standing"]


@dataclass(frozen=True, slots=True)
class Pace:
    """How a brain keeps its pace: from the scenario's `[brains.NAME]`, or the CLI."""

    cadence: Cadence = "auto"
    between: Between = "hold"


class NeverDecides(EngineConfigError):
    """A brain's configuration gives its batches less time than a warm batch takes."""


def budget_s(cadence: int, period: float, decide_s: float) -> float:
    """Seconds a batch has from its start: k-1 whole ticks and the last tick's share."""
    return (cadence - 1) * period + decide_s


def auto_cadence(latency_s: float, period: float, decide_s: float) -> int:
    """The smallest cadence whose budget holds `AUTO_MARGIN` warm batches."""
    need = latency_s * AUTO_MARGIN - decide_s
    return min(MAX_CADENCE, max(1, math.ceil(need / period) + 1 if need > 0 else 1))


def lands_after(latency_s: float, period: float, decide_s: float, cadence: int) -> int:
    """Live: ticks after its start the first deadline a batch of `latency_s` beats comes."""
    late = latency_s - decide_s
    return min(cadence - 1, max(0, math.ceil(late / period)) if late > 0 else 0)


@dataclass(slots=True)
class Adaptive:
    """A live auto cadence: the latency estimate it is chosen from, kept up to date."""

    period: float
    decide_s: float
    estimate_s: float
    """The slowest of the recent batches (the warm-up's to begin with)."""
    on_change: Callable[[int], None] | None = field(default=None, compare=False)
    """Told the new cadence whenever it changes (the server's metrics gauge)."""
    recent: list[float] = field(default_factory=list)
    """The last `WINDOW` batches' seconds (the start-up estimate counts as the first)."""

    def landed(self, seconds: float) -> int:
        """A batch took `seconds`: the cadence for the slowest of the last `WINDOW`."""
        self.recent = [*(self.recent or [self.estimate_s])[-(WINDOW - 1) :], seconds]
        self.estimate_s = max(self.recent)
        return auto_cadence(self.estimate_s, self.period, self.decide_s)

    def missed(self, cadence: int) -> int:
        """A batch overran `cadence`: it takes at least that budget."""
        floor = budget_s(cadence, self.period, self.decide_s)
        self.recent = [*(self.recent or [self.estimate_s])[-(WINDOW - 1) :], floor]
        self.estimate_s = max(self.estimate_s, floor)
        return max(cadence + 1, auto_cadence(self.estimate_s, self.period, self.decide_s))


class PacedBrain:
    """A `Brain` whose creatures decide every `cadence` ticks, one batch in flight."""

    def __init__(
        self,
        brain: Brain,
        cadence: int,
        *,
        between: Between = "hold",
        realtime: bool = True,
        adaptive: Adaptive | None = None,
    ) -> None:
        """`adaptive` (live only) re-chooses the cadence as batches land or miss."""
        if cadence < 1:
            raise ValueError("a cadence is at least 1 tick")
        self.brain = brain
        self.name = brain.name
        self.cadence = cadence
        self.between = between
        self.realtime = realtime
        self.adaptive = adaptive if realtime else None
        self.batches = 0
        """Batches started."""
        self._task: asyncio.Task[dict[str, DecisionResult]] | None = None
        self._started = 0
        self._ids: frozenset[str] = frozenset()
        self._last: dict[str, DecisionResult] = {}
        self._began = 0.0
        self._landed = 0.0
        self._extensions = 0

    @property
    def thinking(self) -> bool:
        """Whether a batch is out."""
        return self._task is not None

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        if not observations:
            return {}
        tick = next(iter(observations.values())).tick
        if self._task is None:
            self._start(observations, tick)
        task = self._task
        assert task is not None
        due = self._started + self.cadence - 1
        if self.realtime or tick >= due:
            if not task.done():
                timeout = None if math.isinf(deadline) else max(0.0, deadline - time.monotonic())
                await asyncio.wait({task}, timeout=timeout)  # never cancels the batch itself
            if task.done():
                self._task = None
                if task.cancelled():
                    return self._answer({}, observations, "deadline")
                results = task.result()
                if self.adaptive is not None and _answered(results):
                    self._set(self.adaptive.landed(self._landed - self._began))
                return self._answer(results, observations, "missing")
            if tick >= due and self.adaptive is not None and self._extensions < EXTENSIONS:
                # An auto cadence was an estimate: lengthen it and wait for this batch too.
                self._extensions += 1
                log.info(
                    "%s: a batch is still out after %d ticks; waiting on (auto cadence)",
                    self.name,
                    self.cadence,
                )
                self._set(self.adaptive.missed(self.cadence))
            elif tick >= due:
                log.info(
                    "%s: a batch of %d creatures is still out after %d ticks",
                    self.name,
                    len(self._ids),
                    self.cadence,
                )
                task.cancel()
                self._task = None
                if self.adaptive is not None:
                    self._set(self.adaptive.missed(self.cadence))
                return self._answer({}, observations, "deadline")
        return {cid: self._hold(cid) for cid in observations}

    def _start(self, observations: Mapping[str, Observation], tick: int) -> None:
        self.batches += 1
        self._started = tick
        self._extensions = 0
        self._ids = frozenset(observations)
        # The inner brain gets no deadline of its own: this wrapper cancels it when its
        # cadence runs out (a headless run's TimedBrain inside may still give it one).
        task = asyncio.ensure_future(self.brain.decide(dict(observations), deadline=math.inf))
        task.add_done_callback(_retrieve)
        task.add_done_callback(self._mark_landed)
        self._began = time.monotonic()
        self._task = task

    def _mark_landed(self, _: asyncio.Task[dict[str, DecisionResult]]) -> None:
        self._landed = time.monotonic()

    def _set(self, cadence: int) -> None:
        cadence = min(MAX_CADENCE, cadence)
        if cadence == self.cadence:
            return
        log.info("%s: cadence %d -> %d ticks", self.name, self.cadence, cadence)
        self.cadence = cadence
        if self.adaptive is not None and self.adaptive.on_change is not None:
            self.adaptive.on_change(cadence)

    def _answer(
        self,
        results: Mapping[str, DecisionResult],
        observations: Mapping[str, Observation],
        missing: str,
    ) -> dict[str, DecisionResult]:
        out: dict[str, DecisionResult] = {}
        for cid in observations:
            if cid not in self._ids:
                out[cid] = self._hold(cid)  # came in after the batch started: the next one
                continue
            result = results.get(cid) or noop(self.name, missing)
            if result.status != "noop":
                self._last[cid] = result
            out[cid] = result
        return out

    def _hold(self, cid: str) -> DecisionResult:
        last = self._last.get(cid)
        if self.between == "standing" and last is not None:
            decision = last.decision.model_copy(update={"gossip": "", "thought": None})
            return DecisionResult(decision, last.status, self.name, standing=True)
        return noop(self.name, THINKING)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None
        await self.brain.aclose()


@dataclass(slots=True)
class TurnPace:
    """One bot's cadence (its join's `cadence` and `between`), without I/O: the relay asks it
    each tick whether a turn starts, and tells it when the tick's decision window closes.

    The turn of tick T is due by the decision deadline of tick `due` = T + k - 1; its act
    is applied at the first tick that closes after it came (`close`; the relay waits for it
    only on `due`, so ticks before it never wait on a bot), and the window's other ticks hold
    (a `thinking` no-op, or the last act's offers again when `between` is `standing`). The
    next turn comes the tick after `due`: at most one act every k ticks. An act that misses
    `due` is not dropped: the window runs on to the next due tick (`due + k`), once; past
    that the turn is given up and a new one starts the next tick. `auto` (`adaptive`)
    starts at 1 tick and chooses k from the bot's answer times as `Adaptive` does: a miss
    lengthens k before the window runs on, twice at most (`EXTENSIONS`), as for model brains.
    """

    cadence: int
    between: Between = "hold"
    adaptive: Adaptive | None = None
    turn: int | None = None
    """The tick of the turn out, None while no turn is out."""
    due: int = 0
    extended: int = 0
    """Due ticks the turn out has missed so far."""
    next_turn: int = 0
    """The first tick a new turn may start."""
    sent_at: float = 0.0
    pending: DecisionResult | None = None
    """The turn's act, accepted and waiting for the tick it lands on."""
    last: DecisionResult | None = None
    """The last act that landed (for standing orders)."""

    def opens(self, tick: int) -> bool:
        """Whether a turn for `tick` starts now."""
        return self.turn is None and tick >= self.next_turn

    def start(self, tick: int, now: float) -> None:
        self.turn = tick
        self.due = tick + self.cadence - 1
        self.extended = 0
        self.sent_at = now

    @property
    def waiting(self) -> bool:
        """Whether a turn is out and its act has not come."""
        return self.turn is not None and self.pending is None

    def arrived(self, result: DecisionResult) -> None:
        """The turn's act came (its latency counted from the turn)."""
        self.pending = result

    def close(self, tick: int, brain: str, *, applied: bool = True) -> DecisionResult:
        """Tick `tick`'s decision window closed: what the creature does at `tick`.

        `applied=False`: the tick went by without the answer (the clock gave up waiting):
        an act that came stays for the next tick."""
        if self.pending is not None and not applied:
            return noop(brain, "deadline")
        if self.pending is not None:
            result, self.pending = self.pending, None
            self.last = result
            self.turn = None
            self.next_turn = max(tick, self.due) + 1
            if self.adaptive is not None:
                self.cadence = self.adaptive.landed(result.latency_ms / 1000)
            return result
        if self.turn is not None and tick >= self.due:
            if self.extended < (EXTENSIONS if self.adaptive is not None else 1):
                self.extended += 1
                if self.adaptive is not None:
                    self.cadence = min(MAX_CADENCE, self.adaptive.missed(self.cadence))
                self.due += self.cadence
            else:
                self.turn = None
                self.next_turn = tick + 1
            return noop(brain, "no_act")
        if self.between == "standing" and self.last is not None:
            last = self.last
            decision = last.decision.model_copy(update={"gossip": "", "thought": None})
            return DecisionResult(decision, last.status, brain, standing=True)
        return noop(brain, THINKING)


def _answered(results: Mapping[str, DecisionResult]) -> bool:
    """Whether a batch's results came from the engine (not back-off or a busy engine)."""
    return any(r.status != "noop" or r.raw for r in results.values())


def _retrieve(task: asyncio.Task[dict[str, DecisionResult]]) -> None:
    if not task.cancelled():
        task.exception()  # read, so a batch nobody collects is not reported as unread

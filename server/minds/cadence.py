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
brain's warm batch latency, measured at start (`plan_brains`), with a margin, and live it
keeps choosing (`Adaptive`): it budgets for the slowest of the last few batches, and a
batch still out at its due tick lengthens the cadence and is waited for (twice at most,
then given up), so a machine or GPU that slows down lengthens the cadence instead of
losing its batches. Headless
runs keep k fixed: their world must not depend on the engine's speed. An explicit k whose
budget is shorter than a warm batch is refused: such a brain could never decide.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from server.world.observe import Observation, observe_all
from server.world.scenario import Scenario
from server.world.state import WorldState

from .brain import Brain, DecisionResult, TimedBrain, noop
from .engines import EngineConfigError
from .model_brain import ModelBrain

log = logging.getLogger(__name__)

THINKING = "thinking"
AUTO_MARGIN = 1.5
"""Auto cadence budgets this many warm batch latencies (a batch varies from one to the next)."""
MAX_CADENCE = 3600
WINDOW = 8
"""Batches a live auto cadence remembers: it budgets for the slowest of them."""
EXTENSIONS = 2
"""Times a live auto cadence lengthens to wait for a batch still out before giving it up."""
WARMUP_TIMEOUT_S = 600.0

MODEL_NAMES = ("model", "scripted")
"""The scenario brain names a `--brain` engine drives."""

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

    def landed(self, seconds: float) -> int:
        """A batch took `seconds`: the cadence for the slowest of the last `WINDOW`."""
        self.recent = [*self.recent[-(WINDOW - 1) :], seconds]
        self.estimate_s = max(self.recent)
        return auto_cadence(self.estimate_s, self.period, self.decide_s)

    def missed(self, cadence: int) -> int:
        """A batch overran `cadence`: it takes at least that budget."""
        floor = budget_s(cadence, self.period, self.decide_s)
        self.recent = [*self.recent[-(WINDOW - 1) :], floor]
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


def _answered(results: Mapping[str, DecisionResult]) -> bool:
    """Whether a batch's results came from the engine (not back-off or a busy engine)."""
    return any(r.status != "noop" or r.raw for r in results.values())


def _retrieve(task: asyncio.Task[dict[str, DecisionResult]]) -> None:
    if not task.cancelled():
        task.exception()  # read, so a batch nobody collects is not reported as unread


@dataclass(frozen=True, slots=True)
class Plan:
    """One model brain's pace, as measured and chosen at start."""

    names: tuple[str, ...]
    """The scenario brain names it serves (`model`, `scripted`, or `[brains.NAME]`)."""
    engine: str
    creatures: int
    cold_s: float
    warm_s: float
    cadence: int
    auto: bool
    period: float
    decide_s: float | None
    """Seconds of the last tick a batch may use; None: a headless run that waits for it."""
    realtime: bool
    paced: PacedBrain = field(compare=False, repr=False)
    """The brain it paces (its `adaptive`, live and auto, keeps choosing the cadence)."""

    @property
    def every(self) -> int:
        """Ticks between one decision and the next, for a batch as fast as the warm one."""
        if not self.realtime or self.decide_s is None:
            return self.cadence
        return lands_after(self.warm_s, self.period, self.decide_s, self.cadence) + 1

    @property
    def decisions_per_minute(self) -> float:
        return self.creatures * 60.0 / (self.every * self.period)

    def line(self) -> str:
        how = ("auto, adapting" if self.paced.adaptive else "auto") if self.auto else "set"
        return (
            f"{'/'.join(self.names)}: {self.engine}, {self.creatures} creatures, warm batch "
            f"{self.warm_s:.2f} s (cold {self.cold_s:.2f} s), cadence {self.cadence} ticks "
            f"({how}), deciding every {self.every} ticks of {self.period:g} s: "
            f"{self.decisions_per_minute:.1f} decisions/min"
        )


async def plan_brains(
    brains: Mapping[str, Brain],
    observations: Mapping[str, Mapping[str, Observation]],
    paces: Mapping[str, Pace],
    *,
    period: float,
    decide_s: float | None,
    realtime: bool,
    warmup_timeout_s: float = WARMUP_TIMEOUT_S,
) -> tuple[dict[str, Brain], list[Plan]]:
    """Measure every model brain and wrap it in a `PacedBrain` at its cadence.

    `brains` and `observations` are keyed by the scenario's brain names (several names may
    share one brain); `paces` gives a name's cadence (default `auto`). `period` is the tick
    (live, or the one a headless run models); `decide_s` the seconds of a tick a batch may use
    (None: a headless run that waits, so any cadence decides). Other brains pass through.
    Raises `NeverDecides` for a cadence that cannot fit a warm batch, and `EngineConfigError`
    when a warm-up batch fails or takes longer than `warmup_timeout_s`.
    """
    out = dict(brains)
    plans: list[Plan] = []
    seen: set[int] = set()
    for brain in brains.values():
        if id(brain) in seen or not isinstance(brain, ModelBrain):
            continue
        seen.add(id(brain))
        names = tuple(n for n, b in brains.items() if b is brain)
        pace = next((paces[n] for n in names if n in paces), Pace())
        group = {cid: o for n in names for cid, o in observations.get(n, {}).items()}
        cold, warm = await _warm_up(brain, names, group, warmup_timeout_s)
        share = decide_s if decide_s is not None else 0.6 * period
        if pace.cadence == "auto":
            cadence = auto_cadence(warm, period, share)
        else:
            cadence = pace.cadence
            if decide_s is not None and warm > budget_s(cadence, period, decide_s):
                fits = auto_cadence(warm, period, decide_s)
                raise NeverDecides(
                    f"brain {'/'.join(names)} ({brain.name}) takes {warm:.2f} s per warm batch, "
                    f"but cadence {cadence} at a {period:g} s tick gives it "
                    f"{budget_s(cadence, period, decide_s):.2f} s, so it would never decide: "
                    f'set cadence = {fits} or more (or "auto") in [brains.NAME] or with '
                    f"--cadence, or lengthen the tick"
                )
        inner: Brain = brain
        if not realtime and decide_s is not None:
            inner = TimedBrain(brain, budget_s(cadence, period, decide_s))
        adaptive = None
        if realtime and pace.cadence == "auto" and decide_s is not None:
            adaptive = Adaptive(period, decide_s, warm)
        paced = PacedBrain(
            inner, cadence, between=pace.between, realtime=realtime, adaptive=adaptive
        )
        for n in names:
            out[n] = paced
        plan = Plan(
            names, brain.name, len(group), cold, warm, cadence, pace.cadence == "auto",
            period, decide_s, realtime, paced,
        )  # fmt: skip
        log.info("minds: %s", plan.line())
        plans.append(plan)
    return out, plans


async def _warm_up(
    brain: ModelBrain,
    names: tuple[str, ...],
    observations: Mapping[str, Observation],
    timeout_s: float,
) -> tuple[float, float]:
    if not observations:
        return 0.0, 0.0
    try:
        return await brain.warm_up(observations, timeout_s=timeout_s)
    except TimeoutError:
        raise EngineConfigError(
            f"brain {'/'.join(names)} ({brain.name}) gave no answer to a warm-up batch in "
            f"{timeout_s:g} s: check the engine is up and reachable"
        ) from None
    except Exception as error:
        raise EngineConfigError(
            f"brain {'/'.join(names)} ({brain.name}) failed its warm-up batch: "
            f"{type(error).__name__}: {error}"
        ) from error


def scenario_paces(scenario: Scenario, cadence: Cadence | None = None) -> dict[str, Pace]:
    """Each brain name's pace: the scenario's `[brains.NAME]`, and `cadence` (the CLI's
    `--cadence`, when given) for the names a `--brain` engine drives (model, scripted)."""
    paces = {name: Pace(spec.cadence, spec.between) for name, spec in scenario.brains.items()}
    if cadence is not None:
        paces.update(dict.fromkeys(MODEL_NAMES, Pace(cadence)))
    return paces


def observations_by_brain(state: WorldState) -> dict[str, dict[str, Observation]]:
    """The world's observations now, grouped by each creature's brain name."""
    groups: dict[str, dict[str, Observation]] = {}
    for cid, obs in observe_all(state).items():
        groups.setdefault(state.creatures[cid].brain, {})[cid] = obs
    return groups


def parse_cadence(text: str) -> Cadence:
    """An argparse type: `auto` or a whole number of ticks from 1 to `MAX_CADENCE`."""
    if text == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither auto nor a whole number") from None
    if not 1 <= value <= MAX_CADENCE:
        raise argparse.ArgumentTypeError(f"a cadence is 1 to {MAX_CADENCE} ticks, not {value}")
    return value

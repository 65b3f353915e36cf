"""Start-up: measure each model brain, choose its cadence, refuse what can never decide.

`plan_brains` sends every model brain two batches of its creatures' real opening prompts
(the first may be cold), keeps the warm latency, and wraps the brain in a `PacedBrain` at
the cadence it chose or was given; each `Plan` says what it measured and what that gives
(`serve` and `simulate` print `Plan.line()`). The helpers read cadences from the scenario
and the command line.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from server.world.observe import Observation, observe_all
from server.world.scenario import Scenario
from server.world.state import WorldState

from .brain import Brain, TimedBrain
from .cadence import (
    MAX_CADENCE,
    Adaptive,
    Cadence,
    NeverDecides,
    Pace,
    PacedBrain,
    auto_cadence,
    budget_s,
    lands_after,
)
from .engines import EngineConfigError
from .model_brain import ModelBrain

log = logging.getLogger(__name__)

WARMUP_TIMEOUT_S = 600.0
MODEL_NAMES = ("model", "scripted")
"""The scenario brain names a `--brain` engine drives."""


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

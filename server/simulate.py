"""Running a world headless: brains decide, the world steps, recorders listen.

The same loop drives `smallwood simulate` and the benchmarks. Brains are awaited with no
deadline here (a simulation waits for its minds); the live server's clock is where
deadlines bite.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from server.minds.brain import Brain, DecisionResult, ScriptedBrain
from server.world import Observation, Scenario, WorldState, new_world, observe_all, step
from server.world.events import Event

TickListener = Callable[[WorldState, Sequence[Event], Mapping[str, DecisionResult]], None]


@dataclass(slots=True)
class Cast:
    """Which brain decides for which creature; creatures of unknown brains use `default`."""

    brains: Mapping[str, Brain]
    default: Brain

    def brain_for(self, brain_name: str) -> Brain:
        return self.brains.get(brain_name, self.default)


async def gather_decisions(
    state: WorldState, cast: Cast, deadline: float = math.inf
) -> dict[str, DecisionResult]:
    """Every active creature's decision: one `decide` call per brain, all concurrently."""
    observations = observe_all(state)
    groups: dict[int, tuple[Brain, dict[str, Observation]]] = {}
    for cid, obs in observations.items():
        if obs.exiled:
            continue
        brain = cast.brain_for(state.creatures[cid].brain)
        groups.setdefault(id(brain), (brain, {}))[1][cid] = obs
    if len(groups) == 1:
        # One brain decides for everyone (the usual headless run): no task to schedule.
        ((brain, group),) = groups.values()
        return await brain.decide(group, deadline=deadline)
    calls = [brain.decide(group, deadline=deadline) for brain, group in groups.values()]
    results: dict[str, DecisionResult] = {}
    for part in await asyncio.gather(*calls):
        results.update(part)
    return results


def world_at(scenario: Scenario, tick: int, seed: int) -> WorldState:
    """The scripted world just before it decides `tick` (tick 1: the opening)."""
    state = new_world(scenario, seed)
    brain = ScriptedBrain(seed)
    while state.tick < tick - 1:
        results = brain.decide_now(observe_all(state))
        state, _ = step(state, {cid: r.action for cid, r in results.items()})
    return state


async def run_world(
    state: WorldState,
    cast: Cast,
    ticks: int,
    listeners: Sequence[TickListener] = (),
) -> WorldState:
    for _ in range(ticks):
        results = await gather_decisions(state, cast)
        actions = {cid: r.action for cid, r in results.items()}
        state, events = step(state, actions)
        for listen in listeners:
            listen(state, events, results)
    return state

"""Hidden facts stay hidden: whether a rumour is true, and creatures' private thoughts, never
reach an observation or the world document (and so no prompt, bot turn or viewer)."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from server.minds.scripted import ScriptedMind
from server.minds.translate import to_action
from server.world import (
    Scenario,
    TriggerLegend,
    WorldState,
    new_world,
    observe_all,
    step,
    world_document,
)
from server.world.events import RumourResolved
from server.world.observe import Observation
from shared.decision import Decision

from .conftest import all_keys, run_scripted, scripted_actions

RUMOURS_TOLD = {
    tick: (TriggerLegend(key),)
    for tick, key in [
        (3, "great_acorn_mania"),
        (10, "hollow_log_company"),
        (15, "run_on_the_hoard"),
        (40, "run_on_the_hoard"),
        (45, "great_acorn_mania"),
        (70, "hollow_log_company"),
        (72, "run_on_the_hoard"),
        (110, "great_acorn_mania"),
        (150, "hollow_log_company"),
        (155, "run_on_the_hoard"),
        (200, "great_acorn_mania"),
        (203, "run_on_the_hoard"),
        (240, "hollow_log_company"),
    ]
}
HIDDEN_KEYS = ("truth", "thought")


def public_bytes(state: WorldState) -> tuple[bytes, bytes]:
    observations = {cid: dataclasses.asdict(o) for cid, o in observe_all(state).items()}
    return orjson.dumps(observations), orjson.dumps(world_document(state))


def flipped(state: WorldState) -> WorldState:
    other = state.copy()
    for leg in other.legends:
        leg.truth = not leg.truth
    return other


def test_a_rumours_truth_changes_nothing_anyone_can_see(default_scenario: Scenario) -> None:
    unresolved = 0
    for t in run_scripted(new_world(default_scenario, 9), 300, commands=RUMOURS_TOLD):
        if t.after.legends:
            unresolved += 1
            assert public_bytes(flipped(t.after)) == public_bytes(t.after), t.after.tick
    assert unresolved > 150


def test_a_rumours_truth_stays_hidden_until_it_resolves(default_scenario: Scenario) -> None:
    """Run the Wood and its twin with every truth flipped, each minded by what it observes:
    everything public stays the same, tick by tick, until the first rumour resolves."""
    checked = 0
    for seed in (1, 2, 3):
        mind = ScriptedMind(seed)
        state = new_world(default_scenario, seed)
        state, _ = step(
            state,
            {},
            [
                TriggerLegend("great_acorn_mania"),
                TriggerLegend("run_on_the_hoard"),
                TriggerLegend("hollow_log_company"),
            ],
        )
        twin = flipped(state)
        while True:
            assert public_bytes(twin) == public_bytes(state)
            state, events = step(state, scripted_actions(state, mind))
            twin, twin_events = step(twin, scripted_actions(twin, mind))
            if any(isinstance(e, RumourResolved) for e in events):
                break
            assert twin_events == events
            checked += 1
    assert checked >= 3 * 7


def test_no_hidden_key_anywhere(default_scenario: Scenario, small_scenario: Scenario) -> None:
    for scenario in (default_scenario, small_scenario):
        for t in run_scripted(new_world(scenario, 4), 150, commands=RUMOURS_TOLD):
            for obs in observe_all(t.after).values():
                keys = set(all_keys(dataclasses.asdict(obs)))
                assert not any(h in k.lower() for k in keys for h in HIDDEN_KEYS)
            keys = set(all_keys(world_document(t.after)))
            assert not any(h in k.lower() for k in keys for h in HIDDEN_KEYS)


class CanaryMind:
    """The scripted minds, each thought carrying a marker unique to creature and tick."""

    def __init__(self, seed: int) -> None:
        self.inner = ScriptedMind(seed)
        self.told: list[str] = []

    def decide(self, obs: Observation) -> Decision:
        canary = f"CANARY~{obs.creature}~{obs.tick}~"
        self.told.append(canary)
        decision = self.inner.decide(obs)
        return decision.model_copy(update={"thought": f"{canary} {decision.thought or ''}"[:200]})


def test_no_thought_ever_reaches_the_board(default_scenario: Scenario) -> None:
    mind = CanaryMind(5)
    state = new_world(default_scenario, 5)
    seen: list[bytes] = []
    for _ in range(300):
        decisions = {cid: mind.decide(obs) for cid, obs in observe_all(state).items()}
        assert all(d.thought and d.thought.startswith("CANARY~") for d in decisions.values())
        actions = {cid: to_action(d) for cid, d in decisions.items()}
        state, events = step(state, actions, RUMOURS_TOLD.get(state.tick + 1, ()))
        observations = [dataclasses.asdict(o) for o in observe_all(state).values()]
        events_public: list[Any] = [dataclasses.asdict(e) for e in events]
        blob = orjson.dumps([observations, world_document(state), events_public])
        assert b"CANARY" not in blob, state.tick
        seen.append(blob)
    assert len(mind.told) == 300 * 5
    # the run was lively: gossip and trades did reach the board
    assert any(b'"gossip":{"' in blob for blob in seen)
    assert any(b'"trades":{"' in blob for blob in seen)

"""Determinism and purity: the same seed and the same actions give the same world, byte for
byte; `step` never touches the state it is given; a state survives a trip through JSON."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.minds.scripted import ScriptedMind
from server.world import (
    Scenario,
    SpawnCreature,
    TriggerLegend,
    WorldState,
    new_world,
    state_from_dict,
    state_hash,
    state_to_dict,
    step,
)

from .conftest import draw_tick, run_scripted, scripted_actions

TOLD = {
    30: (TriggerLegend("great_acorn_mania"),),
    60: (TriggerLegend("hollow_log_company"), TriggerLegend("run_on_the_hoard")),
}


def trace(scenario: Scenario, seed: int, ticks: int) -> list[tuple[str, tuple[object, ...]]]:
    return [
        (state_hash(t.after), t.events)
        for t in run_scripted(new_world(scenario, seed), ticks, mind=ScriptedMind(0), commands=TOLD)
    ]


def test_same_seed_same_actions_same_world(default_scenario: Scenario) -> None:
    first = trace(default_scenario, 11, 200)
    second = trace(default_scenario, 11, 200)
    assert len(first) == 200
    for tick, (a, b) in enumerate(zip(first, second, strict=True), start=1):
        assert a[0] == b[0], f"state hashes differ at tick {tick}"
        assert a[1] == b[1], f"events differ at tick {tick}"


def test_a_different_seed_gives_a_different_world(default_scenario: Scenario) -> None:
    first = trace(default_scenario, 11, 200)
    other = trace(default_scenario, 12, 200)
    assert first[-1][0] != other[-1][0]
    # not only the seed field: what happened differs too (dice for rot, yields, ties)
    assert [events for _, events in first] != [events for _, events in other]


def test_the_hash_covers_the_hidden_truth_and_the_generator(small_scenario: Scenario) -> None:
    world = new_world(small_scenario, 1)
    world, _ = step(world, {}, [TriggerLegend("great_acorn_mania")])
    flipped = world.copy()
    flipped.legends[-1].truth = not flipped.legends[-1].truth
    assert state_hash(flipped) != state_hash(world)
    rolled = world.copy()
    rolled.rng.random()
    assert state_hash(rolled) != state_hash(world)


def test_copy_is_deep_enough_that_stepping_a_copy_leaves_the_original(
    checkpoints: dict[int, WorldState],
) -> None:
    for state in checkpoints.values():
        before = state_hash(state)
        mind = ScriptedMind(1)
        copy = state.copy()
        assert state_hash(copy) == before
        for _ in range(5):
            copy, _ = step(copy, scripted_actions(copy, mind))
        assert state_hash(state) == before


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), seed=st.integers(0, 2**32), ticks=st.integers(1, 8))
def test_step_is_pure_under_random_actions(
    small_scenario: Scenario, data: st.DataObject, seed: int, ticks: int
) -> None:
    state = new_world(small_scenario, seed)
    for _ in range(ticks):
        actions, told = draw_tick(data, state)
        before = state_hash(state)
        after, events = step(state, actions, told)
        assert state_hash(state) == before, "step modified its input"
        again, events_again = step(state, actions, told)
        assert state_hash(again) == state_hash(after)
        assert events_again == events
        state = after


def test_action_order_does_not_matter(default_scenario: Scenario) -> None:
    state = new_world(default_scenario, 4)
    mind = ScriptedMind(4)
    for _ in range(60):
        actions = scripted_actions(state, mind)
        backwards = dict(reversed(list(actions.items())))
        after, events = step(state, actions)
        other, other_events = step(state, backwards)
        assert state_hash(other) == state_hash(after)
        assert other_events == events
        state = after


def roundtrip(state: WorldState, **dumps: int) -> WorldState:
    return state_from_dict(orjson.loads(orjson.dumps(state_to_dict(state), **dumps)))


def test_json_roundtrip_keeps_the_hash_and_the_future(checkpoints: dict[int, WorldState]) -> None:
    for tick, state in checkpoints.items():
        restored = roundtrip(state)
        assert state_hash(restored) == state_hash(state), f"tick {tick}"
        assert state_to_dict(restored) == orjson.loads(orjson.dumps(state_to_dict(state)))
        a = list(run_scripted(state, 40, mind=ScriptedMind(2)))
        b = list(run_scripted(restored, 40, mind=ScriptedMind(2)))
        assert [state_hash(t.after) for t in a] == [state_hash(t.after) for t in b]
        assert [t.events for t in a] == [t.events for t in b]


def test_roundtrip_with_exiles_spawns_and_legends(small_scenario: Scenario) -> None:
    told = {
        2: (SpawnCreature("newt", "Newt", "newt", "honey", yields={"spring": 1.5}),),
        3: (TriggerLegend("hollow_log_company"),),
    }
    ticks = list(run_scripted(new_world(small_scenario, 8), 30, commands=told))
    for t in ticks:
        restored = roundtrip(t.after)
        assert state_hash(restored) == state_hash(t.after)
        assert list(restored.creatures) == list(t.after.creatures)
    assert any(c.exiled for t in ticks for c in t.after.creatures.values())
    assert "newt" in ticks[-1].after.creatures


def test_state_from_dict_can_share_the_scenario(default_scenario: Scenario) -> None:
    state = new_world(default_scenario, 1)
    restored = state_from_dict(state_to_dict(state), default_scenario)
    assert restored.scenario is default_scenario
    assert state_hash(restored) == state_hash(state)


def test_equal_hashes_mean_equal_futures(checkpoints: dict[int, WorldState]) -> None:
    state = checkpoints[70]
    restored = roundtrip(state, option=orjson.OPT_SORT_KEYS)
    assert state_hash(restored) == state_hash(state)
    a = [state_hash(t.after) for t in run_scripted(state, 20, mind=ScriptedMind(2))]
    b = [state_hash(t.after) for t in run_scripted(restored, 20, mind=ScriptedMind(2))]
    assert a == b


def test_state_to_dict_is_a_snapshot(default_scenario: Scenario) -> None:
    state = new_world(default_scenario, 1)
    before = state_hash(state)
    data = state_to_dict(state)
    next(c for c in data["creatures"] if c["id"] == "mossback")["stores"]["acorns"] = 999
    restored = state_from_dict(state_to_dict(state))
    restored.creatures["oona"].stores["honey"] = 0
    assert state_hash(state) == before

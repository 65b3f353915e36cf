"""Mood: mean-reverting toward a target set by being fed, warm and trading; it recovers once a
creature is fed and warm, and never falls below the scenario's floor (never to zero)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.world import Action, Order, Scenario, new_world, step
from server.world.mood import mood_target, update_moods

from .conftest import creature, make_scenario, run_scripted

SEASONS = ("spring", "summer", "autumn", "winter")


def wood(stores: dict[str, int], *, need: float = 0.0, **rules: object) -> Scenario:
    return make_scenario(
        [creature("me", "acorns", stores=stores)],
        rules={"fuel_need": dict.fromkeys(SEASONS, need), "winter_rise": 0.0, **rules},
    )


def test_mood_target() -> None:
    # fed and warm is best, one of them is half-way, trading adds a little, and the target
    # never falls below 0.3 (so a hard winter is glum but never hopeless)
    assert mood_target(False, False, False) >= 0.3
    assert mood_target(True, False, False) == pytest.approx(mood_target(False, True, False))
    assert (
        mood_target(False, False, False)
        < mood_target(True, False, False)
        < mood_target(True, True, False)
        < mood_target(True, True, True)
        <= 1.0
    )


FED_AND_WARM = mood_target(True, True, False)
GLUM = mood_target(False, False, False)


def test_a_fed_and_warm_creature_recovers_from_the_floor() -> None:
    state = new_world(wood({"acorns": 50, "honey": 50, "firewood": 50}, need=0.5), 1)
    state.creatures["me"].mood = state.scenario.rules.mood_floor
    moods = []
    for _ in range(30):
        state, _ = step(state, {})
        moods.append(state.creatures["me"].mood)
    assert all(b > a for a, b in itertools.pairwise(moods))
    assert moods[9] > (FED_AND_WARM + state.scenario.rules.mood_floor) / 2
    assert moods[-1] == pytest.approx(FED_AND_WARM, abs=0.01)


def test_a_hungry_cold_creature_is_glum_but_settles_above_the_floor() -> None:
    state = new_world(wood({}, need=1.0), 1)
    state.creatures["me"].purse = 10_000  # not ruined, only hungry and cold
    for _ in range(60):
        state, _ = step(state, {})
        assert state.creatures["me"].mood >= GLUM - 1e-9
    me = state.creatures["me"]
    assert (me.fed, me.warm) == (False, False)
    assert me.mood == pytest.approx(GLUM, abs=0.01)


def test_mood_never_falls_below_a_high_floor() -> None:
    state = new_world(wood({}, need=1.0, mood_floor=0.5), 1)
    state.creatures["me"].purse = 10_000
    for _ in range(40):
        state, _ = step(state, {})
        assert state.creatures["me"].mood >= 0.5
    assert state.creatures["me"].mood == pytest.approx(max(0.5, GLUM), abs=0.01)


def test_trading_lifts_the_mood_a_little() -> None:
    scn = make_scenario(
        [
            creature("a", "acorns", stores={"acorns": 200, "honey": 200}),
            creature("b", "acorns", pebbles=1000.0, stores={"acorns": 200, "honey": 200}),
        ],
        rules={"fuel_need": {}, "winter_rise": 0.0},
    )
    state = new_world(scn, 1)
    for _ in range(60):
        state, _ = step(
            state,
            {
                "a": Action((Order("sell", "acorns", 1, 400),)),
                "b": Action((Order("buy", "acorns", 1, 400),)),
            },
        )
    lively = mood_target(True, True, True)
    assert state.creatures["a"].mood == pytest.approx(lively, abs=0.01)
    assert state.creatures["b"].mood == pytest.approx(lively, abs=0.01)


@settings(max_examples=200, deadline=None)
@given(
    mood=st.floats(0.0, 1.0),
    fed=st.booleans(),
    warm=st.booleans(),
    traded=st.booleans(),
    floor=st.floats(0.01, 0.95),
    reversion=st.floats(0.01, 1.0),
)
def test_mood_moves_toward_its_target_and_stays_in_bounds(
    mood: float, fed: bool, warm: bool, traded: bool, floor: float, reversion: float
) -> None:
    state = new_world(wood({}, mood_floor=floor, mood_reversion=reversion), 1)
    me = state.creatures["me"]
    me.mood, me.fed, me.warm = mood, fed, warm
    update_moods(state, {"me"} if traded else set())
    target = mood_target(fed, warm, traded)
    assert floor <= me.mood <= 1.0
    assert me.mood > 0
    # never overshoots the target, never moves away from it (unless the floor lifts it)
    if me.mood > floor:
        assert min(mood, target) - 1e-12 <= me.mood <= max(mood, target) + 1e-12
        assert abs(me.mood - target) <= abs(mood - target) + 1e-12


def test_exiled_creatures_moods_wait_for_their_return() -> None:
    state = new_world(wood({}), 1)
    me = state.creatures["me"]
    me.exiled_until, me.mood = 50, 0.2
    update_moods(state, set())
    assert me.mood == 0.2


def test_no_mood_is_pinned_at_the_floor_in_a_scripted_run(default_scenario: Scenario) -> None:
    floor = default_scenario.rules.mood_floor
    pinned = dict.fromkeys((c.id for c in default_scenario.creatures), 0)
    for t in run_scripted(new_world(default_scenario, 2), 300):
        for c in t.after.creatures.values():
            assert floor <= c.mood <= 1.0
            pinned[c.id] += c.mood <= floor
    assert all(n < 30 for n in pinned.values()), pinned

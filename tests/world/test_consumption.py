"""Consumption and spoilage: a varied diet (one unit of any food a tick, fed on two different
foods), fuel burned for warmth with a need that rises through winter, and stores that rot at
their own rate."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.world import Scenario, new_world, step
from server.world.consumption import MAX_FUEL_DEBT, consume, eating_order, fuel_need
from server.world.events import Event, GoodsConsumed, GoodsSpoiled
from server.world.modifiers import Modifiers
from server.world.seasons import Season, season_of
from server.world.spoilage import spoil

from .conftest import GOODS, creature, make_scenario, neutral, of_type, run_scripted

FOODS = ("acorns", "berries", "mushrooms", "honey")


def one_creature(stores: dict[str, int], **rules: object) -> Scenario:
    return make_scenario(
        [creature("me", "acorns", stores=stores)],
        rules={"fuel_need": {}, "winter_rise": 0.0, **rules},
    )


def test_eating_order_is_fastest_rotting_first(default_scenario: Scenario) -> None:
    assert eating_order(new_world(default_scenario, 1)) == (
        "berries",
        "mushrooms",
        "acorns",
        "honey",
    )


def test_one_food_alone_is_one_unit_and_not_a_meal() -> None:
    after, events = step(new_world(one_creature({"berries": 10}), 1), {})
    me = after.creatures["me"]
    assert me.stores["berries"] == 9
    assert not me.fed
    assert of_type(events, GoodsConsumed) == [GoodsConsumed("berries", 1)]


def test_two_different_foods_make_a_meal() -> None:
    after, events = step(new_world(one_creature({"berries": 10, "honey": 10}), 1), {})
    me = after.creatures["me"]
    assert (me.stores["berries"], me.stores["honey"]) == (9, 9)
    assert me.fed
    assert sorted(of_type(events, GoodsConsumed), key=lambda e: e.good) == [
        GoodsConsumed("berries", 1),
        GoodsConsumed("honey", 1),
    ]


def test_appetite_and_meal_size_follow_the_rules() -> None:
    stores = dict.fromkeys(FOODS, 5)
    after, _ = step(new_world(one_creature(stores, appetite=3, fed_foods=3), 1), {})
    assert sum(after.creatures["me"].stores[f] for f in FOODS) == 20 - 3
    assert after.creatures["me"].fed
    after, _ = step(new_world(one_creature({"acorns": 5, "honey": 5}, fed_foods=3), 1), {})
    assert not after.creatures["me"].fed


@settings(max_examples=120, deadline=None)
@given(
    stores=st.lists(
        st.fixed_dictionaries({f: st.integers(0, 3) for f in FOODS}), min_size=1, max_size=5
    ),
    appetite=st.integers(1, 4),
    fed_foods=st.integers(1, 4),
)
def test_diet_variety(stores: list[dict[str, int]], appetite: int, fed_foods: int) -> None:
    scn = make_scenario(
        [creature(f"c{i}", "acorns", stores=s) for i, s in enumerate(stores)],
        goods={
            "acorns": {"price": 4.0, "spoil": 0.01},
            "berries": {"price": 5.0, "spoil": 0.08},
            "mushrooms": {"price": 6.0, "spoil": 0.04},
            "honey": {"price": 9.0, "spoil": 0.002},
        },
        rules={"appetite": appetite, "fed_foods": fed_foods},
    )
    state = new_world(scn, 1)
    events: list[Event] = []
    consume(state, Modifiers(), events)
    order = eating_order(state)
    total: dict[str, int] = dict.fromkeys(FOODS, 0)
    for i, before in enumerate(stores):
        after = state.creatures[f"c{i}"].stores
        eaten = {f: before[f] - after[f] for f in FOODS}
        assert all(n in (0, 1) for n in eaten.values()), "more than one unit of one food"
        available = [f for f in order if before[f] > 0]
        assert [f for f in order if eaten[f]] == available[:appetite]
        assert state.creatures[f"c{i}"].fed == (sum(eaten.values()) >= fed_foods)
        for f in FOODS:
            total[f] += eaten[f]
    assert {e.good: e.qty for e in of_type(events, GoodsConsumed)} == {
        f: n for f, n in total.items() if n
    }


def test_no_creature_eats_two_of_a_food_in_a_scripted_run(default_scenario: Scenario) -> None:
    for t in run_scripted(new_world(default_scenario, 1), 200):
        active = sum(not c.exiled for c in t.before.creatures.values())
        eaten = {e.good: e.qty for e in of_type(t.events, GoodsConsumed) if e.good != "firewood"}
        assert all(n <= active for n in eaten.values())
        assert sum(eaten.values()) <= active * default_scenario.rules.appetite


# ---- fuel ----------------------------------------------------------------------------------


def fuel_wood(firewood: int, need: float) -> Scenario:
    return make_scenario(
        [creature("me", "acorns", stores={"firewood": firewood, "acorns": 50, "honey": 50})],
        rules={"fuel_need": dict.fromkeys(("spring", "summer", "autumn", "winter"), need)},
    )


def test_fuel_debt_accrues_and_is_paid_in_whole_units() -> None:
    state = new_world(fuel_wood(10, 0.3), 1)
    seen = []
    for _ in range(7):
        state, _ = step(state, {})
        me = state.creatures["me"]
        seen.append((me.stores["firewood"], round(me.fuel_debt, 6), me.warm))
    assert seen == [
        (10, 0.3, True),
        (10, 0.6, True),
        (10, 0.9, True),
        (9, 0.2, True),
        (9, 0.5, True),
        (9, 0.8, True),
        (8, 0.1, True),
    ]


def test_without_fuel_a_creature_grows_cold_and_the_debt_is_capped() -> None:
    state = new_world(fuel_wood(0, 0.7), 1)
    warm = []
    for _ in range(6):
        state, _ = step(state, {})
        warm.append(state.creatures["me"].warm)
        assert state.creatures["me"].fuel_debt <= MAX_FUEL_DEBT
    assert warm == [True, False, False, False, False, False]
    assert state.creatures["me"].fuel_debt == MAX_FUEL_DEBT
    # a cold creature given fuel burns what it owes, not the whole of a long cold spell
    state.creatures["me"].stores["firewood"] = 10
    state, events = step(state, {})
    assert of_type(events, GoodsConsumed)[-1] == GoodsConsumed("firewood", 2)
    assert state.creatures["me"].warm


def test_winter_fuel_need_rises_through_winter(default_scenario: Scenario) -> None:
    state = new_world(default_scenario, 1)
    tps = default_scenario.rules.ticks_per_season
    winter = [t for t in range(1, 4 * tps + 1) if season_of(t, tps) is Season.WINTER]
    needs = [fuel_need(state, t) for t in winter]
    assert len(needs) == tps
    assert all(b > a for a, b in itertools.pairwise(needs))
    rules = default_scenario.rules
    assert needs[0] == pytest.approx(rules.fuel_need[Season.WINTER] + rules.winter_rise / tps)
    assert needs[-1] == pytest.approx(rules.fuel_need[Season.WINTER] + rules.winter_rise)
    # winter is the hungriest season for fuel, summer the least
    by_season = {s: fuel_need(state, 1 + i * tps) for i, s in enumerate(Season)}
    assert max(by_season.values()) == needs[0] == by_season[Season.WINTER]
    assert by_season[Season.SUMMER] == min(by_season.values())


def test_creatures_burn_more_late_in_winter(default_scenario: Scenario) -> None:
    state = new_world(default_scenario, 1)
    for c in state.creatures.values():
        c.stores["firewood"] = 500
    state.tick = 75  # the eve of winter
    burned = []
    for _ in range(25):
        state, events = step(state, {})
        burned.append(sum(e.qty for e in of_type(events, GoodsConsumed) if e.good == "firewood"))
    assert sum(burned[13:]) > sum(burned[:12])
    assert sum(burned) == pytest.approx(5 * sum(fuel_need(state, t) for t in range(76, 101)), abs=5)


def test_exiled_creatures_neither_eat_nor_burn() -> None:
    state = new_world(fuel_wood(10, 1.0), 1)
    state.creatures["me"].exiled_until = 99
    after, events = step(state, {})
    assert of_type(events, GoodsConsumed) == []
    assert after.creatures["me"].stores == state.creatures["me"].stores


# ---- spoilage ------------------------------------------------------------------------------


def test_berries_rot_faster_than_honey(default_scenario: Scenario) -> None:
    state = new_world(neutral(default_scenario), 1)
    for c in state.creatures.values():
        c.stores.update(dict.fromkeys(GOODS, 100))
    events: list[Event] = []
    spoil(state, events)
    lost = {e.good: e.qty for e in of_type(events, GoodsSpoiled)}
    # 100 units at a whole-number expectation rot exactly; honey's 0.2 rounds by the dice
    assert lost["berries"] == 5 * 8
    assert lost["mushrooms"] == 5 * 4
    assert lost["acorns"] == 5 * 1
    assert lost.get("honey", 0) <= 5
    assert "firewood" not in lost
    for c in state.creatures.values():
        assert c.stores["berries"] == 92
        assert c.stores["firewood"] == 100


def test_over_a_season_berries_rot_away_and_honey_keeps(default_scenario: Scenario) -> None:
    state = new_world(neutral(default_scenario), 3)
    for c in state.creatures.values():
        c.stores.update({"berries": 50, "honey": 50})
    for _ in range(25):
        events: list[Event] = []
        spoil(state, events)
    berries = sum(c.stores["berries"] for c in state.creatures.values())
    honey = sum(c.stores["honey"] for c in state.creatures.values())
    assert berries < 250 * 0.2
    assert honey > 250 * 0.9


def test_what_is_piled_beyond_storage_rots_fast_even_firewood(default_scenario: Scenario) -> None:
    scenario = neutral(default_scenario, overflow_rot=0.1)
    state = new_world(scenario, 1)
    storage = scenario.goods["firewood"].storage
    for c in state.creatures.values():
        c.stores.update(firewood=storage + 50, honey=storage)
    events: list[Event] = []
    spoil(state, events)
    lost = {e.good: e.qty for e in of_type(events, GoodsSpoiled)}
    assert lost["firewood"] == 5 * 5  # a tenth of the 50 beyond storage, for each creature
    assert lost.get("honey", 0) <= 5  # at storage: only honey's own slow rot
    for _ in range(200):
        spoil(state, [])
    assert all(c.stores["firewood"] <= storage + 5 for c in state.creatures.values())


@settings(max_examples=100, deadline=None)
@given(held=st.integers(0, 10_000), rate=st.floats(0, 1), seed=st.integers(0, 1000))
def test_spoilage_is_within_a_unit_of_its_rate(held: int, rate: float, seed: int) -> None:
    scn = make_scenario(
        [creature("me", "nuts", stores={"nuts": held})],
        goods={"nuts": {"price": 1.0, "spoil": rate}},
    )
    state = new_world(scn, seed)
    events: list[Event] = []
    spoil(state, events)
    lost = held - state.creatures["me"].stores["nuts"]
    assert 0 <= lost <= held
    assert held * rate - 1 < lost < held * rate + 1
    assert sum(e.qty for e in of_type(events, GoodsSpoiled)) == lost

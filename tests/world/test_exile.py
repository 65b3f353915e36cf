"""Ruin and return: a creature with no pebbles and no goods leaves the Wood for a while, its
last bits going to the commons, and comes back staked by the commons (never by minting)."""

from __future__ import annotations

from server.world import (
    Action,
    Order,
    Scenario,
    new_world,
    observe,
    step,
    world_document,
)
from server.world.events import (
    CreatureExiled,
    CreatureReturned,
    GoodsProduced,
    OfferRejected,
)

from .conftest import creature, make_scenario, of_type, pebbles_total, run_scripted


def wood(pebbles: float, stores: dict[str, int] | None = None, **rules: object) -> Scenario:
    return make_scenario(
        [
            creature("poor", "acorns", pebbles=pebbles, stores=stores, yields={"summer": 2.0}),
            creature("rich", "honey", stores={"acorns": 9, "honey": 9}),
        ],
        rules={
            "fuel_need": {},
            "winter_rise": 0.0,
            "exile_ticks": 4,
            "return_stake": 15.0,
            "commons": 100.0,
            **rules,
        },
    )


def test_ruin_sends_a_creature_into_exile_with_its_last_bits_to_the_commons() -> None:
    world = new_world(wood(0.99), 1)
    after, events = step(world, {})
    poor = after.creatures["poor"]
    assert of_type(events, CreatureExiled) == [CreatureExiled("poor", 1 + 4)]
    assert poor.exiled and poor.exiled_until == 5
    assert poor.purse == 0
    assert after.commons == world.commons + 99
    assert pebbles_total(after) == pebbles_total(world)


def test_one_pebble_or_one_unit_keeps_a_creature_in_the_wood() -> None:
    # (firewood, since no fire burns here: a last unit of food would be eaten first)
    for pebbles, stores in ((1.0, {}), (0.0, {"firewood": 1})):
        after, events = step(new_world(wood(pebbles, stores), 1), {})
        assert of_type(events, CreatureExiled) == []
        assert not after.creatures["poor"].exiled


def test_an_exile_is_out_of_the_wood_until_it_returns() -> None:
    state, _ = step(new_world(wood(0.5), 1), {})
    state.tick = 25  # summer, when "poor" would make acorns
    state.creatures["poor"].exiled_until = 30
    state, events = step(
        state, {"poor": Action((Order("buy", "honey", 1, 100),), gossip="let me back")}
    )
    assert of_type(events, OfferRejected) == [OfferRejected("poor", 0, "exiled")]
    assert of_type(events, GoodsProduced) == []
    assert observe(state, "poor").exiled
    doc = world_document(state)["creatures"]["poor"]
    assert (doc["status"], doc["returns"]) == ("exiled", 30)
    assert "returns" not in world_document(state)["creatures"]["rich"]


def test_return_is_staked_by_the_commons() -> None:
    state = new_world(wood(0.5), 1)
    returned = []
    for _ in range(6):
        before = state
        state, events = step(state, {})
        returned += [(state.tick, e) for e in of_type(events, CreatureReturned)]
        assert pebbles_total(state) == pebbles_total(before)
    assert returned == [(5, CreatureReturned("poor", 1500))]
    poor = state.creatures["poor"]
    assert not poor.exiled and poor.purse == 1500
    assert poor.mood >= 0.5
    assert state.commons == 10_000 + 50 - 1500


def test_an_empty_commons_stakes_nothing() -> None:
    state = new_world(wood(0.0, commons=0.0), 1)
    for _ in range(5):
        state, events = step(state, {})
    assert of_type(events, CreatureReturned) == [CreatureReturned("poor", 0)]
    assert state.commons == 0
    # back with nothing, it is ruined again on the next tick
    state, events = step(state, {})
    assert of_type(events, CreatureExiled) == [CreatureExiled("poor", 6 + 4)]


def test_ruin_exile_and_return_in_a_scripted_wood(small_scenario: Scenario) -> None:
    exiled: list[int] = []
    returned: list[int] = []
    for t in run_scripted(new_world(small_scenario, 1), 40):
        exiled += [t.after.tick for e in of_type(t.events, CreatureExiled) if e.creature == "cub"]
        returned += [
            t.after.tick for e in of_type(t.events, CreatureReturned) if e.creature == "cub"
        ]
    assert exiled[0] == 1
    assert returned[0] == 1 + small_scenario.rules.exile_ticks

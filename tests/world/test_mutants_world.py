"""Tests written to kill the mutants that survived the world core's own tests (see
docs/testing.md): each pins a behaviour a mutant changed without any test noticing."""

from __future__ import annotations

import random

from server.world import WorldState, new_world
from server.world.consumption import consume, fuel_need
from server.world.events import Event, GoodsConsumed, GoodsSpoiled
from server.world.modifiers import Modifiers
from server.world.spoilage import spoil

from .conftest import creature, make_scenario

# ---- spoilage ------------------------------------------------------------------------------


class _ZeroDice(random.Random):
    """A generator whose every draw is exactly 0.0 (the edge of `dice() < fraction`)."""

    def random(self) -> float:
        return 0.0


def test_goods_that_never_rot_take_no_draws() -> None:
    # Drawing for a good with no rot would shift every later draw of the world's generator.
    state = new_world(make_scenario([creature("a", "acorns", stores={"acorns": 5})]), 1)
    before = state.rng.getstate()
    events: list[Event] = []
    spoil(state, events)
    assert state.rng.getstate() == before
    assert events == []


def test_every_holder_rots_even_after_one_who_holds_none() -> None:
    goods = {"berries": {"price": 5.0, "spoil": 0.5}}
    cast = [
        creature("a", "berries", stores={"berries": 0}),
        creature("b", "berries", stores={"berries": 4}),
    ]
    state = new_world(make_scenario(cast, goods=goods, rules={"fuel_need": {}}), 1)
    events: list[Event] = []
    spoil(state, events)
    assert state.creatures["b"].stores["berries"] == 2  # 4 * 0.5: whole, no draw decides
    assert events == [GoodsSpoiled("berries", 2)]


def test_a_whole_expectation_rots_exactly_that_many() -> None:
    # 4 * 0.5 = 2.0: the fraction is 0, so no draw (not even 0.0) adds a unit.
    goods = {"berries": {"price": 5.0, "spoil": 0.5}}
    state = new_world(
        make_scenario([creature("b", "berries", stores={"berries": 4})], goods=goods), 1
    )
    state.rng = _ZeroDice()
    spoil(state, [])
    assert state.creatures["b"].stores["berries"] == 2


# ---- consumption ---------------------------------------------------------------------------


def _fuel_world(stores: dict[str, int], **rules: object) -> WorldState:
    cast = [creature("x", "acorns", stores=stores)]
    return new_world(make_scenario(cast, rules={"ticks_per_season": 10, **rules}), 1)


def test_a_season_without_a_fuel_need_burns_nothing() -> None:
    state = _fuel_world({"firewood": 5}, fuel_need={"winter": 1.0}, winter_rise=0.0)
    assert fuel_need(state, 1) == 0.0  # spring is not in the table


def test_a_legends_chill_adds_to_the_fuel_burned() -> None:
    state = _fuel_world({"firewood": 5}, fuel_need={"spring": 1.0})
    state.tick = 1
    assert fuel_need(state, 1, Modifiers(fuel_extra=2.0)) == 3.0
    events: list[Event] = []
    consume(state, Modifiers(fuel_extra=2.0), events)
    assert state.creatures["x"].stores["firewood"] == 2
    assert GoodsConsumed("firewood", 3) in events


def test_an_exile_first_in_line_does_not_stop_the_others_eating() -> None:
    cast = [
        creature("a", "acorns", stores={"acorns": 3}),
        creature("b", "acorns", stores={"acorns": 3, "berries": 3}),
    ]
    state = new_world(make_scenario(cast, rules={"fuel_need": {}}), 1)
    state.creatures["a"].exiled_until = 5
    consume(state, Modifiers(), [])
    assert state.creatures["a"].stores["acorns"] == 3
    assert state.creatures["b"].stores == {**state.creatures["b"].stores, "acorns": 2}
    assert state.creatures["b"].fed


def test_owing_a_whole_unit_of_fuel_is_cold() -> None:
    state = _fuel_world({"firewood": 0}, fuel_need={"spring": 1.0})
    state.tick = 1
    consume(state, Modifiers(), [])
    me = state.creatures["x"]
    assert me.fuel_debt == 1.0
    assert me.warm is False

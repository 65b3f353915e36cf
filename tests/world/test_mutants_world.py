"""Tests written to kill the mutants that survived the world core's own tests (see
docs/testing.md): each pins a behaviour a mutant changed without any test noticing."""

from __future__ import annotations

import random
from typing import Any

import pytest

from server.world import LEGENDS, Action, Order, TriggerLegend, WorldState, new_world, step
from server.world.consumption import consume, fuel_need
from server.world.events import (
    CommandRejected,
    Event,
    GoodsConsumed,
    GoodsSpoiled,
    GossipSpoken,
    MarketCleared,
    OfferRejected,
    RumourResolved,
    TradeCleared,
)
from server.world.legends import applicable
from server.world.market import trade
from server.world.modifiers import Modifiers
from server.world.observe import observe
from server.world.spoilage import spoil
from server.world.state import ActiveLegend, Trade
from server.world.validate import clean_gossip, validate

from .conftest import creature, make_scenario, market_scenario

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


def test_a_holder_within_storage_does_not_spare_the_next_ones_overflow() -> None:
    # honey never rots on its own: only what is piled beyond `storage` does
    goods = {"honey": {"price": 9.0, "spoil": 0.0, "storage": 10}}
    cast = [
        creature("a", "honey", stores={"honey": 5}),
        creature("b", "honey", stores={"honey": 30}),
    ]
    rules = {"fuel_need": {}, "overflow_rot": 0.5}
    state = new_world(make_scenario(cast, goods=goods, rules=rules), 1)
    events: list[Event] = []
    spoil(state, events)
    assert state.creatures["a"].stores["honey"] == 5
    assert state.creatures["b"].stores["honey"] == 20  # (30 - 10) * 0.5 rots
    assert events == [GoodsSpoiled("honey", 10)]


def test_rot_never_takes_more_than_is_held() -> None:
    # 10 * 1.0 + (10 - 1) * 1.0 = 19 expected: only the 10 held can rot
    goods = {"berries": {"price": 5.0, "spoil": 1.0, "storage": 1}}
    cast = [creature("b", "berries", stores={"berries": 10})]
    rules = {"fuel_need": {}, "overflow_rot": 1.0}
    state = new_world(make_scenario(cast, goods=goods, rules=rules), 1)
    events: list[Event] = []
    spoil(state, events)
    assert state.creatures["b"].stores["berries"] == 0
    assert events == [GoodsSpoiled("berries", 10)]


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


# ---- validate ------------------------------------------------------------------------------


def _two_creatures() -> WorldState:
    cast = [
        creature("a", "acorns", stores={"acorns": 3}),
        creature("b", "honey", stores={"honey": 3}),
    ]
    return new_world(make_scenario(cast), 1)


def test_stray_ids_of_any_type_are_refused_in_a_stable_order() -> None:
    state = _two_creatures()
    junk: dict[Any, Action] = {7: Action((Order("buy", "honey", 1, 100),)), "zz": Action()}
    junk["ghost"] = Action((Order("sell", "acorns", 1, 100),))
    events: list[Event] = []
    validate(state, junk, events)  # mixed key types: sorting them must not raise
    assert events == [
        OfferRejected("ghost", 0, "unknown_creature"),
        OfferRejected(7, 0, "unknown_creature"),  # type: ignore[arg-type]
    ]


def test_an_exile_does_not_stop_the_others_trading() -> None:
    state = _two_creatures()
    state.creatures["a"].exiled_until = 9
    events: list[Event] = []
    accepted = validate(
        state,
        {
            "a": Action((Order("sell", "acorns", 1, 100),)),
            "b": Action((Order("sell", "honey", 1, 100),)),
        },
        events,
    )
    assert events == [OfferRejected("a", 0, "exiled")]
    assert list(accepted) == ["b"]


def test_a_creature_without_an_action_does_not_stop_the_next_ones() -> None:
    state = _two_creatures()
    events: list[Event] = []
    accepted = validate(state, {"b": Action((Order("sell", "honey", 1, 100),), "hello")}, events)
    assert accepted == {"b": [(0, Order("sell", "honey", 1, 100))]}
    assert events == [GossipSpoken("b", "hello")]


def test_something_that_is_not_an_action_speaks_no_gossip() -> None:
    state = _two_creatures()
    events: list[Event] = []
    validate(state, {"a": object()}, events)  # type: ignore[dict-item]
    assert events == []
    assert state.gossip == ()


@pytest.mark.parametrize(
    ("text", "limit", "spoken"),
    [
        (" hi", 120, "hi"),
        ("hi ", 120, "hi"),
        ("a  b", 120, "a b"),
        ("abcd efgh", 5, "abcd"),  # cut at the limit, then no trailing space
        ("abcde", 5, "abcde"),  # exactly the limit is kept whole
        (" " * 20 + "hello", 5, ""),  # only the first 4 x limit characters are read
        ("tab\there", 120, "tab here"),
        # the last cluster read ends exactly at 4 x limit: it is whole, so it is kept
        (" " * 19 + "a\u00e9", 5, "a"),
        # a prepended letter (U+0D4E, printable) at 4 x limit joins the next character: the
        # cluster runs past what is read, so none of it is kept
        (" " * 19 + "\u0d4ea", 5, ""),
        ("x" * 19 + "\u0d4ea", 30, "x" * 19 + "\u0d4ea"),  # within the limit: whole
        # a joiner between letters, or after an emoji with nothing to join, is a space
        ("a\u200db", 10, "a b"),
        ("\U0001f44d\u200da", 10, "\U0001f44d a"),
        # tag characters outside a black flag's tag sequence are spaces
        ("\U0001f44d\U000e0067a", 10, "\U0001f44d a"),
        # a black flag keeps every tag of its sequence, from U+E0020 to the cancel tag
        ("\U0001f3f4\U000e0020\U000e007f", 10, "\U0001f3f4\U000e0020\U000e007f"),
    ],
)
def test_gossip_is_one_clean_line(text: str, limit: int, spoken: str) -> None:
    assert clean_gossip(text, limit) == spoken


# ---- market --------------------------------------------------------------------------------


def _market(**rules: object) -> WorldState:
    cast = {
        "s": (0.0, {"acorns": 3}),
        "t": (0.0, {"acorns": 3}),
        "b": (100.0, {}),
    }
    return new_world(market_scenario(cast, rules), 1)


def _trade(
    state: WorldState, orders: dict[str, list[Order]], mods: Modifiers | None = None
) -> tuple[set[str], list[Event]]:
    events: list[Event] = []
    book = {cid: list(enumerate(mine)) for cid, mine in orders.items()}
    traded = trade(state, book, mods or Modifiers(), events)
    return traded, events


def test_a_refused_sale_does_not_drop_the_next_one() -> None:
    state = _market()
    _, events = _trade(
        state, {"s": [Order("sell", "acorns", 9, 100), Order("sell", "acorns", 1, 100)]}
    )
    assert [e for e in events if isinstance(e, OfferRejected)] == [
        OfferRejected("s", 0, "insufficient_goods")
    ]
    assert any(isinstance(e, MarketCleared) and e.unsold_supply == 1 for e in events)


def test_sales_of_one_good_add_up_against_what_is_held() -> None:
    state = _market()
    _, events = _trade(
        state, {"s": [Order("sell", "acorns", 2, 100), Order("sell", "acorns", 2, 100)]}
    )
    assert OfferRejected("s", 1, "insufficient_goods") in events
    state = _market()
    _, events = _trade(
        state, {"s": [Order("sell", "acorns", 2, 100), Order("sell", "acorns", 1, 100)]}
    )
    assert not any(isinstance(e, OfferRejected) for e in events)


def test_a_refused_purchase_does_not_drop_the_next_one() -> None:
    state = _market()
    _, events = _trade(
        state, {"b": [Order("buy", "acorns", 3, 9_000), Order("buy", "acorns", 1, 100)]}
    )
    assert [e for e in events if isinstance(e, OfferRejected)] == [
        OfferRejected("b", 0, "insufficient_pebbles")
    ]
    assert any(isinstance(e, MarketCleared) and e.unmet_demand == 1 for e in events)


def test_the_clearing_price_is_whole_bits() -> None:
    state = _market()
    _, events = _trade(
        state, {"s": [Order("sell", "acorns", 1, 100)], "b": [Order("buy", "acorns", 1, 101)]}
    )
    (fill,) = [e for e in events if isinstance(e, TradeCleared)]
    assert fill.price == 100 and type(fill.price) is int
    assert type(state.creatures["b"].purse) is int


def test_a_toll_goes_from_the_seller_to_the_commons_and_the_pot() -> None:
    state = _market()
    company = ActiveLegend("L1", "hollow_log_company", 0, 20, True, pot=7)
    commons = state.commons
    traded, _ = _trade(
        state,
        {"s": [Order("sell", "acorns", 2, 500)], "b": [Order("buy", "acorns", 2, 500)]},
        Modifiers(toll=0.1, toll_legend=company),
    )
    assert traded == {"s", "b"}
    assert state.creatures["s"].purse == 1000 - 100
    assert state.commons == commons + 100
    assert company.pot == 7 + 100


def test_the_tape_keeps_the_last_fills_of_a_busy_tick() -> None:
    state = _market(history=2)
    state.tick = 4
    _trade(
        state,
        {
            "s": [Order("sell", "acorns", 1, 100), Order("sell", "acorns", 1, 100)],
            "t": [Order("sell", "acorns", 1, 100)],
            "b": [Order("buy", "acorns", 3, 100)],
        },
    )
    assert len(state.trades) == 2
    assert all(t.tick == 4 and t.qty == 1 for t in state.trades)


# ---- observe -------------------------------------------------------------------------------


def test_an_observation_pins_every_field_it_rounds_or_derives() -> None:
    cast = [
        creature("x", "acorns", stores={"acorns": 2}),
        creature("y", "honey", stores={"honey": 2}),
    ]
    rules = {"ticks_per_season": 3, "fuel_need": {"winter": 0.5}, "winter_rise": 1.0}
    state = new_world(make_scenario(cast, rules=rules), 1)
    state.tick = 9  # observing tick 10: winter, day 1 of 3
    state.ref_prices["acorns"] = 4.56789
    me = state.creatures["x"]
    me.mood, me.warm, me.exiled_until = 0.12345, False, 12
    # An Early Frost told on this tick: in force from the tick being observed.
    state.legends.append(ActiveLegend("L7", "early_frost", 9, 19, True))
    state.trades = (Trade(9, "acorns", 1, 450, "gone", "y"),)
    obs = observe(state, "x")
    assert obs.fuel_per_tick == round(0.5 + 1 / 3 + 1.0, 3) == 1.833
    assert obs.prices["acorns"] == 4.57
    assert obs.mood == 0.123
    assert (obs.warm, obs.exiled, obs.fed) == (False, True, me.fed)
    assert obs.fuel_good == "firewood"
    assert [leg.id for leg in obs.legends] == ["L7"]
    assert obs.legends[0].ticks_left == 10
    # a creature that left the Wood is named by its id on the board
    assert [(t.buyer, t.seller) for t in obs.trades] == [("gone", "Y")]


def test_a_wood_without_fuel_observes_no_fuel_good() -> None:
    state = new_world(market_scenario({"s": (1.0, {"acorns": 1})}), 1)
    obs = observe(state, "s")
    assert obs.fuel_good == ""
    assert obs.fuel_per_tick == 0.0


# ---- legends -------------------------------------------------------------------------------


def _honey_wood(honey: tuple[int, ...]) -> WorldState:
    cast = [creature(f"c{n}", "acorns", stores={"honey": h}) for n, h in enumerate(honey, start=1)]
    return new_world(make_scenario(cast, rules={"fuel_need": {}, "legend_chance": 0}), 1)


def _tell(state: WorldState, *keys: str) -> tuple[WorldState, tuple[Event, ...]]:
    return step(state, {}, [TriggerLegend(k) for k in keys])


def _resolve_as(state: WorldState, truth: bool) -> tuple[WorldState, list[RumourResolved]]:
    for leg in state.legends:
        leg.truth = truth
    told: list[RumourResolved] = []
    while state.legends:
        state, events = step(state, {})
        told += [e for e in events if isinstance(e, RumourResolved)]
    return state, told


def test_a_legend_whose_goods_are_missing_is_refused_with_a_reason() -> None:
    state = new_world(market_scenario({"s": (1.0, {"acorns": 1})}), 1)
    _, events = _tell(state, "drought")
    assert CommandRejected("legend drought", "goods_missing") in events


def test_a_legend_applies_where_its_goods_are_exactly_the_scenarios() -> None:
    need = LEGENDS["run_on_the_hoard"].needs_goods
    goods = {g: {"price": 5.0} for g in need}
    state = new_world(make_scenario([creature("x", next(iter(need)))], goods=goods), 1)
    assert "run_on_the_hoard" in applicable(state)


def test_legends_are_numbered_in_the_order_they_are_told() -> None:
    state = _honey_wood((1,))
    first = state.next_legend
    state, _ = _tell(state, "drought", "early_frost")
    assert [leg.id for leg in state.legends] == [f"L{first}", f"L{first + 1}"]
    assert state.next_legend == first + 2
    # a legend that is no rumour is simply true, and has no one at its centre
    assert [(leg.truth, leg.target) for leg in state.legends] == [(True, ""), (True, "")]


def test_the_hoard_at_the_centre_is_the_biggest_one_held() -> None:
    # c2 eats one of its two jars in the tick the Run is told: one jar is a hoard too
    state, _ = _tell(_honey_wood((0, 2, 0)), "run_on_the_hoard")
    assert state.creatures["c2"].stores["honey"] == 1
    assert state.legends[0].target == "c2"
    state, _ = _tell(_honey_wood((0, 0)), "run_on_the_hoard")
    assert state.legends[0].target == ""  # nobody holds any: no one at the centre


def test_a_true_run_with_no_hoard_resolves_without_rot() -> None:
    state, _ = _tell(_honey_wood((0, 0)), "run_on_the_hoard")
    _, told = _resolve_as(state, True)
    assert [(e.true, e.outcome) for e in told] == [(True, "it was true")]


def test_a_true_mania_says_it_was_true() -> None:
    state, _ = _tell(_honey_wood((1,)), "great_acorn_mania")
    _, told = _resolve_as(state, True)
    assert [e.outcome for e in told] == ["it was true"]


def test_the_company_tells_what_it_paid_in_pebbles() -> None:
    state, _ = _tell(_honey_wood((1, 1, 1, 1)), "hollow_log_company")
    state.legends[0].pot = 1000  # ten pebbles of tolls, the commons holding more
    assert state.commons >= 1000
    _, told = _resolve_as(state, True)
    assert [e.outcome for e in told] == ["the barges came home: 10.0 pebbles paid out"]


def test_the_company_pays_nothing_from_an_empty_pot_or_to_nobody() -> None:
    state, _ = _tell(_honey_wood((1, 1)), "hollow_log_company")
    _, told = _resolve_as(state, True)
    assert [e.outcome for e in told] == ["the barges came home: 0.0 pebbles paid out"]
    state, _ = _tell(_honey_wood((1, 1)), "hollow_log_company")
    state.legends[0].pot = 500
    for c in state.creatures.values():
        c.exiled_until = 10_000  # everyone away: no members to pay
    _, told = _resolve_as(state, True)
    assert [e.outcome for e in told] == ["the barges came home: 0.0 pebbles paid out"]


def test_three_sales_of_one_good_add_up() -> None:
    state = _market()
    sales = [Order("sell", "acorns", 1, 100), Order("sell", "acorns", 1, 100)]
    _, events = _trade(state, {"s": [*sales, Order("sell", "acorns", 2, 100)]})
    assert [e for e in events if isinstance(e, OfferRejected)] == [
        OfferRejected("s", 2, "insufficient_goods")
    ]

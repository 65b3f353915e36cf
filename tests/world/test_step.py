"""The step: one tick in fixed, visible phases, a pure function of (state, actions, commands).

validate -> produce -> trade -> consume -> spoil -> mood -> exile -> legends
"""

from __future__ import annotations

import dataclasses

import pytest

from server.world import (
    Action,
    Order,
    Scenario,
    SpawnCreature,
    TriggerLegend,
    new_world,
    state_hash,
    step,
)
from server.world.events import (
    CommandRejected,
    CommonsShared,
    CreatureExiled,
    CreatureJoined,
    CreatureReturned,
    Event,
    GoodsConsumed,
    GoodsLost,
    GoodsProduced,
    GoodsSpoiled,
    GossipSpoken,
    LegendBegan,
    LegendEnded,
    MarketCleared,
    OfferRejected,
    RumourResolved,
    SeasonBegan,
    TradeCleared,
    UpkeepPaid,
)

from .conftest import market_scenario, of_type, run_scripted

MARKET_REASONS = {"insufficient_goods", "insufficient_pebbles"}


def phase(e: Event) -> int:
    """Where in the tick an event is told (GoodsSpoiled may also come from a legend)."""
    if isinstance(e, SeasonBegan):
        return 0
    if isinstance(e, CreatureJoined):
        return 1
    if isinstance(e, CommandRejected):
        return 1 if e.command.startswith("spawn") else 8
    if isinstance(e, OfferRejected):
        return 4 if e.reason in MARKET_REASONS else 2
    if isinstance(e, GossipSpoken):
        return 2
    if isinstance(e, GoodsProduced):
        return 3
    if isinstance(e, TradeCleared | MarketCleared):
        return 4
    if isinstance(e, GoodsConsumed):
        return 5
    if isinstance(e, GoodsSpoiled):
        return 6
    if isinstance(e, UpkeepPaid | CommonsShared):
        return 7
    if isinstance(e, CreatureExiled | CreatureReturned):
        return 7
    assert isinstance(e, LegendBegan | LegendEnded | RumourResolved | GoodsLost)
    return 8


def test_events_come_in_phase_order(small_scenario: Scenario) -> None:
    spawn = SpawnCreature("newt", "Newt", "newt", "acorns")
    told = {
        2: (TriggerLegend("plague"), spawn, SpawnCreature("newt", "Newt", "newt", "acorns")),
        9: (TriggerLegend("run_on_the_hoard"),),
    }
    seen: set[type] = set()
    for t in run_scripted(new_world(small_scenario, 5), 40, commands=told):
        current = 0
        for e in t.events:
            p = phase(e)
            if isinstance(e, GoodsSpoiled) and current == 8:
                p = 8  # a true Run on the Hoard rots the hoard in the legends phase
            assert p >= current, f"tick {t.after.tick}: {e} after phase {current}"
            current = p
            seen.add(type(e))
    # the run told every kind of event, so the order above was really checked
    assert {SeasonBegan, CreatureJoined, CommandRejected, GoodsProduced, TradeCleared} <= seen
    assert {GoodsConsumed, GoodsSpoiled, CreatureExiled, LegendBegan, LegendEnded} <= seen


def test_step_advances_one_tick_and_keeps_the_input(small_scenario: Scenario) -> None:
    world = new_world(small_scenario, 1)
    before = state_hash(world)
    after, events = step(world, {})
    assert (world.tick, after.tick) == (0, 1)
    assert state_hash(world) == before
    assert after is not world
    assert isinstance(events, tuple)


def test_seasons_are_announced_on_their_first_day(default_scenario: Scenario) -> None:
    told = [
        (t.after.tick, e)
        for t in run_scripted(new_world(default_scenario, 1), 201)
        for e in of_type(t.events, SeasonBegan)
    ]
    assert told == [
        (1, SeasonBegan("spring", 1)),
        (26, SeasonBegan("summer", 1)),
        (51, SeasonBegan("autumn", 1)),
        (76, SeasonBegan("winter", 1)),
        (101, SeasonBegan("spring", 2)),
        (126, SeasonBegan("summer", 2)),
        (151, SeasonBegan("autumn", 2)),
        (176, SeasonBegan("winter", 2)),
        (201, SeasonBegan("spring", 3)),
    ]


def test_events_are_immutable(small_scenario: Scenario) -> None:
    _, events = step(new_world(small_scenario, 1), {})
    assert events
    for e in events:
        assert dataclasses.is_dataclass(e)
        field = dataclasses.fields(e)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(e, field, None)


def test_unknown_command_is_rejected() -> None:
    scn = market_scenario({"me": (10.0, {})})
    after, events = step(new_world(scn, 1), {}, ["make it rain", None])  # type: ignore[list-item]
    assert of_type(events, CommandRejected) == [
        CommandRejected("str", "unknown_command"),
        CommandRejected("NoneType", "unknown_command"),
    ]
    assert after.tick == 1


def test_unknown_legend_and_missing_goods_are_rejected() -> None:
    scn = market_scenario({"me": (10.0, {})})  # no berries, mushrooms or honey here
    after, events = step(
        new_world(scn, 1),
        {},
        [TriggerLegend("plague"), TriggerLegend("drought"), TriggerLegend("hollow_log_company")],
    )
    assert of_type(events, CommandRejected) == [
        CommandRejected("legend plague", "unknown_legend"),
        CommandRejected("legend drought", "goods_missing"),
    ]
    assert [leg.key for leg in after.legends] == ["hollow_log_company"]


def test_a_creature_without_an_action_still_lives_its_tick(default_scenario: Scenario) -> None:
    world = new_world(default_scenario, 1)
    after, events = step(world, {})
    assert of_type(events, OfferRejected) == []
    assert of_type(events, GoodsProduced)
    assert of_type(events, GoodsConsumed)
    # every creature opens with two different foods and some firewood
    assert all(c.fed and c.warm for c in after.creatures.values())


def test_the_tape_keeps_the_most_recent_trades_in_order() -> None:
    scn = market_scenario({"b": (1000.0, {}), "s": (0.0, {"acorns": 999})}, rules={"history": 5})
    world = new_world(scn, 1)
    for tick in range(1, 5):
        orders_b = tuple(Order("buy", "acorns", 1, 100 + tick) for _ in range(3))
        world, _ = step(
            world,
            {"b": Action(orders_b), "s": Action((Order("sell", "acorns", 3, 100),))},
        )
        assert len(world.trades) == min(5, 3 * tick)
    assert [t.tick for t in world.trades] == [3, 3, 4, 4, 4]
    assert all(t.good == "acorns" and t.buyer == "b" and t.seller == "s" for t in world.trades)

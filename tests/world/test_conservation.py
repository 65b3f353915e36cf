"""Conservation: trades move goods and pebbles, never create or destroy them.

Only production, consumption and spoilage change the goods in the Wood, and nothing at all
changes the pebbles (purses plus the commons). No store, purse or commons is ever negative.
Proven over random actions (junk included) and random commands, tick by tick.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.world import Scenario, WorldState, new_world, step
from server.world.events import Event, OfferRejected

from .conftest import (
    CHECKPOINTS,
    REJECTION_REASONS,
    draw_tick,
    goods_totals,
    net_goods,
    pebbles_total,
    run_scripted,
)

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_conserved(before: WorldState, after: WorldState, events: tuple[Event, ...]) -> None:
    assert pebbles_total(after) == pebbles_total(before), "pebbles were minted or destroyed"
    was, now, net = goods_totals(before), goods_totals(after), net_goods(events)
    for good in before.scenario.goods:
        assert now[good] == was[good] + net[good], f"{good}: {was[good]} -> {now[good]}"
    floor = after.scenario.rules.mood_floor
    assert after.commons >= 0
    for c in after.creatures.values():
        assert c.purse >= 0, f"{c.id} purse {c.purse}"
        assert all(n >= 0 for n in c.stores.values()), f"{c.id} stores {c.stores}"
        assert set(c.stores) == set(after.scenario.goods)
        assert floor <= c.mood <= 1.0
    for e in events:
        if isinstance(e, OfferRejected):
            assert e.reason in REJECTION_REASONS


def play(data: st.DataObject, state: WorldState, ticks: int) -> None:
    for _ in range(ticks):
        actions, told = draw_tick(data, state)
        after, events = step(state, actions, told)
        assert after.tick == state.tick + 1
        assert_conserved(state, after, events)
        state = after


@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32), ticks=st.integers(1, 14))
def test_random_play_conserves_in_a_small_wood(
    small_scenario: Scenario, data: st.DataObject, seed: int, ticks: int
) -> None:
    play(data, new_world(small_scenario, seed), ticks)


@PROPERTY
@given(data=st.data(), start=st.sampled_from(CHECKPOINTS), ticks=st.integers(1, 6))
def test_random_play_conserves_in_the_default_wood(
    checkpoints: dict[int, WorldState], data: st.DataObject, start: int, ticks: int
) -> None:
    play(data, checkpoints[start], ticks)


def test_scripted_play_conserves_every_tick(small_scenario: Scenario) -> None:
    trades = 0
    for t in run_scripted(new_world(small_scenario, 7), 120):
        assert_conserved(t.before, t.after, t.events)
        trades += sum(type(e).__name__ == "TradeCleared" for e in t.events)
    assert trades > 0


def test_scripted_default_run_conserves_every_tick(default_scenario: Scenario) -> None:
    for t in run_scripted(new_world(default_scenario, 2), 450):
        assert_conserved(t.before, t.after, t.events)

"""The welcome: a flood of newcomers, from however many addresses, takes at most the
welcome's stakes from the commons, and pebbles stay conserved through it."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.world import Scenario, SpawnCreature, WorldState, new_world, step
from server.world.events import CommandRejected, CreatureJoined
from server.world.joining import join
from server.world.state import state_from_dict, state_to_dict
from server.world.units import to_bits
from server.world.welcome import AT_ONCE, REFUSED, newcomers_allowed

from .conftest import draw_tick, of_type
from .test_conservation import assert_conserved

FLOOD = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def knock(tick: int, n: int) -> list[SpawnCreature]:
    """`n` newcomers at one tick, each as if from its own address (the world sees no
    addresses: only commands). Their ids are longer than any `draw_tick` makes."""
    return [
        SpawnCreature(f"floodwave-{tick}-{i}", f"Flood {tick} {i}", "vole", "honey")
        for i in range(n)
    ]


@FLOOD
@given(
    data=st.data(),
    seed=st.integers(0, 2**32),
    ticks=st.integers(1, 24),
    commons=st.integers(0, 50_000),
)
def test_a_flood_takes_no_more_than_the_welcome_and_mints_nothing(
    small_scenario: Scenario, data: st.DataObject, seed: int, ticks: int, commons: int
) -> None:
    state = new_world(small_scenario, seed)
    # Any commons, with the pebbles moved from (or to) a purse so the total stays as it was.
    donor = next(iter(state.creatures.values()))
    commons = min(commons, state.commons + donor.purse)
    donor.purse += state.commons - commons
    state.commons = commons
    every = state.scenario.rules.ticks_per_season
    stake = to_bits(state.scenario.rules.join_pebbles)
    admitted: list[int] = []  # the tick of each newcomer taken in
    staked = 0
    for _ in range(ticks):
        actions, told = draw_tick(data, state)
        # (hypothesis may borrow this file's strings for `draw_tick`'s ids: not the flood's)
        told = tuple(c for c in told if "floodwave" not in str(getattr(c, "id", "")))
        flood = knock(state.tick + 1, data.draw(st.integers(0, 12)))
        after, events = step(state, actions, (*flood, *told))
        assert_conserved(state, after, events)
        # `draw_tick`'s own commands may bring newcomers too: they count against the welcome.
        joined = [e.creature for e in of_type(events, CreatureJoined)]
        flooded = [c for c in joined if c.startswith("floodwave-")]
        refused = [
            e for e in of_type(events, CommandRejected) if e.command.startswith("spawn floodwave-")
        ]
        assert len(flooded) + len(refused) == len(flood)
        assert all(e.reason == REFUSED for e in refused)
        admitted += [after.tick] * len(joined)
        # What the flood took from the commons: its joins alone, on the tick's state.
        alone = state.copy()
        alone.tick += 1
        for cmd in flood:
            join(alone, cmd, [])
        took = state.commons - alone.commons
        newcomers = [c for cid, c in alone.creatures.items() if cid not in state.creatures]
        assert [c.id for c in newcomers] == flooded  # the same ones the step took in
        assert took == sum(c.purse for c in newcomers) <= len(newcomers) * stake
        staked += took
        state = after
    # Over any run of ticks, at most AT_ONCE and one more a season were taken in.
    for i, first in enumerate(admitted):
        for j in range(i, len(admitted)):
            assert j - i + 1 <= newcomers_allowed(admitted[j] - first + 1, every)
    assert len(admitted) <= newcomers_allowed(ticks, every)
    assert staked <= newcomers_allowed(ticks, every) * stake


def test_the_welcome_takes_at_once_then_one_a_season(small_scenario: Scenario) -> None:
    state = new_world(small_scenario, 1)
    every = small_scenario.rules.ticks_per_season
    taken: dict[int, int] = {}
    for _ in range(3 * every):
        state, events = step(state, {}, knock(state.tick + 1, 10))
        taken[state.tick] = len(of_type(events, CreatureJoined))
    assert taken[1] == AT_ONCE
    assert sum(taken.values()) == AT_ONCE + 2  # one at tick every + 1, one at 2 * every + 1
    assert taken[every + 1] == 1 and taken[2 * every + 1] == 1


def test_a_quiet_wood_welcomes_at_once_again(small_scenario: Scenario) -> None:
    state = new_world(small_scenario, 1)
    every = small_scenario.rules.ticks_per_season
    state, events = step(state, {}, knock(1, AT_ONCE))
    assert len(of_type(events, CreatureJoined)) == AT_ONCE
    for _ in range(AT_ONCE * every):
        state, _ = step(state, {})
    state, events = step(state, {}, knock(state.tick + 1, AT_ONCE + 1))
    assert len(of_type(events, CreatureJoined)) == AT_ONCE
    assert of_type(events, CommandRejected)[-1].reason == REFUSED


def test_a_refused_newcomer_spends_no_place(small_scenario: Scenario) -> None:
    state = new_world(small_scenario, 1)
    bad = SpawnCreature("mossy", "", "vole", "honey")  # no name: refused before the welcome
    state, _ = step(state, {}, [bad] * 10)
    _, events = step(state, {}, knock(2, AT_ONCE))
    assert len(of_type(events, CreatureJoined)) == AT_ONCE


def test_the_welcome_survives_a_snapshot(small_scenario: Scenario) -> None:
    fresh = new_world(small_scenario, 1)
    assert "welcome_at" not in state_to_dict(fresh)  # a Wood that took no one hashes as before
    state, _ = step(fresh, {}, knock(1, AT_ONCE))
    assert state.welcome_at > state.tick
    restored: WorldState = state_from_dict(state_to_dict(state))
    assert restored.welcome_at == state.welcome_at
    _, events = step(restored, {}, knock(2, 1))
    assert of_type(events, CommandRejected)[0].reason == REFUSED

"""Newcomers: a bot's creature joins the Wood staked by the commons, or is refused with a
reason; a refusal never raises."""

from __future__ import annotations

import pytest

from server.world import Scenario, SpawnCreature, new_world, step
from server.world.events import CommandRejected, CreatureJoined

from .conftest import GOODS, creature, make_scenario, neutral, of_type, pebbles_total


def test_a_newcomer_joins_staked_by_the_commons(default_scenario: Scenario) -> None:
    world = new_world(default_scenario, 1)
    after, events = step(world, {}, [SpawnCreature("newt", "Newt", "newt", "honey")])
    assert of_type(events, CreatureJoined) == [CreatureJoined("newt", "Newt", "newt", "honey")]
    newt = after.creatures["newt"]
    stake = round(default_scenario.rules.join_pebbles * 100)
    # the stake is paid before the tick's production, so the newcomer may already hold honey
    assert newt.stores == {**dict.fromkeys(GOODS, 0), "honey": newt.stores["honey"]}
    assert newt.brain == "bot"
    assert newt.yields == after.creatures["oona"].yields  # makes honey like its peer
    assert after.commons == world.commons - stake
    assert pebbles_total(after) == pebbles_total(world)
    assert newt.purse == stake


def test_a_newcomer_may_bring_its_own_yields(default_scenario: Scenario) -> None:
    cmd = SpawnCreature("newt", "Newt", "newt", "acorns", yields={"spring": 3.0})
    after, _ = step(new_world(neutral(default_scenario), 1), {}, [cmd])
    assert after.creatures["newt"].yields == {"spring": 3.0}
    assert after.creatures["newt"].stores["acorns"] == 3 - 1  # made three, ate one


def test_the_commons_stakes_only_what_it_has(default_scenario: Scenario) -> None:
    world = new_world(default_scenario, 1)
    world.commons = 700
    after, _ = step(world, {}, [SpawnCreature("newt", "Newt", "newt", "honey")])
    assert after.commons == 0
    assert after.creatures["newt"].purse == 700


@pytest.mark.parametrize(
    ("cmd", "reason"),
    [
        (SpawnCreature("mossback", "Moss", "tortoise", "acorns"), "id_taken"),
        (SpawnCreature("Newt", "Newt", "newt", "acorns"), "invalid_id"),
        (SpawnCreature("", "Newt", "newt", "acorns"), "invalid_id"),
        (SpawnCreature("n" * 33, "Newt", "newt", "acorns"), "invalid_id"),
        (SpawnCreature(7, "Newt", "newt", "acorns"), "invalid_id"),  # type: ignore[arg-type]
        (SpawnCreature("newt", "Newt", "newt", "gold"), "unknown_good"),
        (SpawnCreature("newt", "", "newt", "acorns"), "invalid_name"),
        (SpawnCreature("newt", "N" * 41, "newt", "acorns"), "invalid_name"),
        (SpawnCreature("newt", "Newt", None, "acorns"), "invalid_name"),  # type: ignore[arg-type]
        (
            SpawnCreature("newt", "Newt", "newt", "acorns", personality="grumpy"),
            "invalid_personality",
        ),
        (
            SpawnCreature("newt", "Newt", "newt", "acorns", yields={"spring": -1.0}),
            "invalid_yields",
        ),
        (
            SpawnCreature("newt", "Newt", "newt", "acorns", yields={"spring": float("nan")}),
            "invalid_yields",
        ),
        (
            SpawnCreature("newt", "Newt", "newt", "acorns", yields={"spring": "3"}),  # type: ignore[dict-item]
            "invalid_yields",
        ),
    ],
)
def test_refusals(default_scenario: Scenario, cmd: SpawnCreature, reason: str) -> None:
    world = new_world(default_scenario, 1)
    after, events = step(world, {}, [cmd])
    assert of_type(events, CommandRejected) == [CommandRejected(f"spawn {cmd.id}", reason)]
    assert of_type(events, CreatureJoined) == []
    assert list(after.creatures) == list(world.creatures)
    assert after.commons == world.commons


def test_joining_can_be_closed() -> None:
    scn = make_scenario([creature("me", "acorns")], rules={"allow_join": False})
    _, events = step(new_world(scn, 1), {}, [SpawnCreature("newt", "Newt", "newt", "acorns")])
    assert of_type(events, CommandRejected) == [CommandRejected("spawn newt", "joining_closed")]


def test_the_second_of_two_same_ids_is_refused(default_scenario: Scenario) -> None:
    cmd = SpawnCreature("newt", "Newt", "newt", "acorns")
    after, events = step(new_world(default_scenario, 1), {}, [cmd, cmd])
    assert len(of_type(events, CreatureJoined)) == 1
    assert of_type(events, CommandRejected) == [CommandRejected("spawn newt", "id_taken")]
    assert list(after.creatures)[-1] == "newt"


def test_yields_for_an_unknown_season_are_refused(default_scenario: Scenario) -> None:
    cmd = SpawnCreature("newt", "Newt", "newt", "acorns", yields={"monsoon": 3.0})
    _, events = step(new_world(default_scenario, 1), {}, [cmd])
    assert of_type(events, CommandRejected) == [CommandRejected("spawn newt", "invalid_yields")]

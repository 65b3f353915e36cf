"""The world document: what viewers see. Collections keyed by id, never a null, always JSON."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from server.world import (
    Scenario,
    SpawnCreature,
    TriggerLegend,
    WorldState,
    new_world,
    world_document,
)
from server.world.units import to_pebbles
from server.world.wealth import gini, wealth_of

from .conftest import none_paths, run_scripted

TOLD = {
    5: (SpawnCreature("newt", "Newt", "newt", "honey"),),
    30: (TriggerLegend("great_acorn_mania"), TriggerLegend("run_on_the_hoard")),
    90: (TriggerLegend("hollow_log_company"),),
}


def check(state: WorldState, doc: dict[str, Any]) -> None:
    assert list(none_paths(doc)) == []
    assert orjson.loads(orjson.dumps(doc)) == doc
    for name in ("creatures", "goods", "legends", "trades", "gossip"):
        assert isinstance(doc[name], dict), name
    assert list(doc["creatures"]) == list(state.creatures)
    assert list(doc["goods"]) == list(state.scenario.goods)
    assert list(doc["legends"]) == [leg.id for leg in state.legends]
    assert len(doc["trades"]) == len(state.trades)
    assert len(doc["gossip"]) == len(state.gossip)
    assert doc["tick"] == state.tick
    assert doc["commons"] == to_pebbles(state.commons)


def test_documents_of_a_long_run(default_scenario: Scenario) -> None:
    state = new_world(default_scenario, 6)
    check(state, world_document(state))
    for t in run_scripted(state, 500, commands=TOLD):
        check(t.after, world_document(t.after))


def test_documents_of_a_wood_with_exiles(small_scenario: Scenario) -> None:
    exiled = 0
    for t in run_scripted(new_world(small_scenario, 2), 80, commands=TOLD):
        doc = world_document(t.after)
        check(t.after, doc)
        for cid, c in t.after.creatures.items():
            entry = doc["creatures"][cid]
            assert entry["status"] == ("exiled" if c.exiled else "active")
            assert ("returns" in entry) == c.exiled
            exiled += c.exiled
    assert exiled


def test_what_a_creature_looks_like(default_scenario: Scenario) -> None:
    state = new_world(default_scenario, 1)
    doc = world_document(state)
    assert doc["creatures"]["mossback"] == {
        "name": "Mossback",
        "species": "tortoise",
        "produces": "acorns",
        "personality": "steady",
        "brain": "scripted",
        "pebbles": 40.0,
        "mood": 0.7,
        "stores": {"acorns": 10, "berries": 2, "mushrooms": 2, "honey": 0, "firewood": 4},
        "fed": True,
        "warm": True,
        "status": "active",
    }
    assert doc["goods"]["acorns"] == {
        "ref": 4.0,
        "opening": 4.0,
        "food": True,
        "fuel": False,
        "supply": 18,
    }
    assert doc["fuel"]["good"] == "firewood"
    assert doc["fuel"]["stock"] == 28
    assert (doc["tick"], doc["season"], doc["day"], doc["year"]) == (0, "spring", 1, 1)
    assert doc["gini"] == pytest.approx(
        gini([wealth_of(state, c) for c in state.creatures.values()]), abs=1e-4
    )


def test_goods_show_the_last_clearing_price_once_they_trade(
    checkpoints: dict[int, WorldState],
) -> None:
    state = checkpoints[140]
    doc = world_document(state)
    for good, board in doc["goods"].items():
        if good in state.last_prices:
            assert board["last"] == to_pebbles(state.last_prices[good])
        else:
            assert "last" not in board


def test_trade_and_gossip_keys_are_stable_from_tick_to_tick(default_scenario: Scenario) -> None:
    previous: dict[str, Any] | None = None
    shared = 0
    for t in run_scripted(new_world(default_scenario, 3), 150):
        doc = world_document(t.after)
        if previous is not None:
            for name in ("trades", "gossip"):
                for key in doc[name].keys() & previous[name].keys():
                    assert doc[name][key] == previous[name][key], (name, key)
                    shared += 1
        previous = doc
    assert shared > 100


def test_legends_in_the_document(default_scenario: Scenario) -> None:
    state = last = new_world(default_scenario, 1)
    for t in run_scripted(state, 2, commands={2: (TriggerLegend("drought"),)}):
        last = t.after
    [(lid, legend)] = world_document(last)["legends"].items()
    assert lid == last.legends[0].id
    assert legend == {
        "key": "drought",
        "title": "The Drought",
        "story": legend["story"],
        "began": 2,
        "ends": 22,
        "rumour": False,
    }

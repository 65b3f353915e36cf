"""The world document: the public picture of the Wood that viewers see.

Collections are keyed by id (never by position) and no value is ever null, so one tick's
change is a small RFC 7396 merge patch and absent always means none. Hidden facts (whether a
rumour is true, creatures' thoughts) are not in it.
"""

from __future__ import annotations

from typing import Any

from .consumption import fuel_need
from .legend_book import LEGENDS
from .legends import story_of
from .modifiers import modifiers
from .seasons import day_of_season, season_of, ticks_to_winter, year_of
from .state import WorldState
from .units import to_pebbles
from .wealth import gini, wealth_of


def world_document(state: WorldState) -> dict[str, Any]:
    scenario = state.scenario
    tps = scenario.rules.ticks_per_season
    tick = state.tick
    names = {cid: c.name for cid, c in state.creatures.items()}
    doc: dict[str, Any] = {
        "scenario": scenario.name,
        "tick": tick,
        "season": season_of(max(tick, 1), tps).value,
        "day": day_of_season(max(tick, 1), tps),
        "year": year_of(max(tick, 1), tps),
        "ticks_per_season": tps,
        "ticks_to_winter": ticks_to_winter(tick + 1, tps),
        "commons": to_pebbles(state.commons),
        "gini": round(gini([wealth_of(state, c) for c in state.creatures.values()]), 4),
        "goods": {},
        "creatures": {},
        "legends": {},
        "trades": {},
        "gossip": {},
    }
    supply = dict.fromkeys(scenario.goods, 0)
    for cid, c in state.creatures.items():
        entry: dict[str, Any] = {
            "name": c.name,
            "species": c.species,
            "produces": c.produces,
            "personality": c.personality,
            "brain": c.brain,
            "pebbles": to_pebbles(c.purse),
            "mood": round(c.mood, 3),
            "stores": dict(c.stores),
            "fed": c.fed,
            "warm": c.warm,
            "status": "exiled" if c.exiled else "active",
        }
        if c.exiled:
            entry["returns"] = c.exiled_until
        doc["creatures"][cid] = entry
        for good, n in c.stores.items():
            supply[good] += n
    for name, spec in scenario.goods.items():
        board: dict[str, Any] = {
            "ref": round(state.ref_prices[name], 2),
            "opening": spec.price,
            "food": spec.food,
            "fuel": spec.fuel,
            "supply": supply[name],
        }
        if name in state.last_prices:
            board["last"] = to_pebbles(state.last_prices[name])
        doc["goods"][name] = board
    fuel = scenario.fuel
    if fuel is not None:
        need = fuel_need(state, tick + 1, modifiers(state, tick + 1))
        active = sum(1 for c in state.creatures.values() if not c.exiled)
        gauge: dict[str, Any] = {"good": fuel, "need": round(need, 3), "stock": supply[fuel]}
        if need > 0 and active:
            gauge["ticks_left"] = round(supply[fuel] / (need * active), 1)
        doc["fuel"] = gauge
    for leg in state.legends:
        legend = LEGENDS[leg.key]
        doc["legends"][leg.id] = {
            "key": leg.key,
            "title": legend.title,
            "story": story_of(state, leg),
            "began": leg.began,
            "ends": leg.ends,
            "rumour": legend.rumour,
        }
    _keyed_by_tick(
        doc["trades"],
        state.trades,
        lambda t: {
            "tick": t.tick,
            "good": t.good,
            "qty": t.qty,
            "price": to_pebbles(t.price),
            "buyer": t.buyer,
            "seller": t.seller,
        },
    )
    for g in state.gossip:
        doc["gossip"][f"{g.tick}-{g.creature}"] = {
            "tick": g.tick,
            "creature": g.creature,
            "name": names.get(g.creature, g.creature),
            "text": g.text,
        }
    return doc


def _keyed_by_tick(out: dict[str, Any], items: tuple[Any, ...], render: Any) -> None:
    """Key each item by its tick and its place counted from the end of that tick, so keys
    stay stable as the oldest items fall off the front of the tape."""
    later: dict[int, int] = {}
    for item in reversed(items):
        k = later.get(item.tick, 0)
        later[item.tick] = k + 1
        out[f"{item.tick}-{k}"] = render(item)

"""Production: each creature in the Wood makes its good, by season, bent by legends and by
the season's luck (a harvest factor per good, drawn from the state's dice each season).

A maker whose own stock is glutted works less: from half of a good's `storage` its output
falls off in a straight line to nothing at the full `storage`, so a pile nobody buys stops
growing instead of rotting forever at the top. A maker whose good fetches less than its
opening price puts less effort into it (down to `rules.effort_floor` of its yield), so a glut
corrects itself instead of pinning the price to its floor.
"""

from __future__ import annotations

from .events import Event, GoodsProduced
from .modifiers import Modifiers
from .seasons import day_of_season, season_of
from .state import WorldState


def produce(state: WorldState, mods: Modifiers, events: list[Event]) -> None:
    rules = state.scenario.rules
    season = season_of(state.tick, rules.ticks_per_season)
    dice = state.rng.random
    goods = state.scenario.goods
    swing = rules.harvest_swing
    if swing and day_of_season(state.tick, rules.ticks_per_season) == 1:
        state.harvest = {g: 1.0 + swing * (2.0 * dice() - 1.0) for g in sorted(goods)}
    harvest = state.harvest
    slow, floor = rules.glut_slowdown, rules.effort_floor
    # Per good, once: a scenario's specs are models, slower to read than a tuple.
    specs = {name: (g.price, g.storage) for name, g in goods.items()}
    totals: dict[str, int] = {}
    for c in state.creatures.values():
        if c.exiled_until:
            continue
        rate = (
            c.yields.get(season, 0.0)
            * mods.production.get(c.produces, 1.0)
            * harvest.get(c.produces, 1.0)
        )
        # A good that fetches little gets less of its maker's effort.
        opening, storage = specs[c.produces]
        value = state.ref_prices[c.produces] / opening
        if value < 1.0:
            rate *= max(floor, value)
        held = c.stores[c.produces]
        if slow and 2 * held > storage:
            rate *= max(0.0, 2.0 * (storage - held) / storage)
        if rate <= 0.0:
            continue
        units = int(rate)
        if rate > units and dice() < rate - units:
            units += 1
        if units:
            c.stores[c.produces] += units
            totals[c.produces] = totals.get(c.produces, 0) + units
    events.extend(GoodsProduced(good, qty) for good, qty in sorted(totals.items()))

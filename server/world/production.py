"""Production: each creature in the Wood makes its good, by season, bent by legends."""

from __future__ import annotations

from .events import Event, GoodsProduced
from .modifiers import Modifiers
from .seasons import season_of
from .state import WorldState


def produce(state: WorldState, mods: Modifiers, events: list[Event]) -> None:
    season = season_of(state.tick, state.scenario.rules.ticks_per_season)
    dice = state.rng.random
    totals: dict[str, int] = {}
    for c in state.creatures.values():
        if c.exiled_until:
            continue
        rate = c.yields.get(season, 0.0) * mods.production.get(c.produces, 1.0)
        if rate <= 0.0:
            continue
        units = int(rate)
        if rate > units and dice() < rate - units:
            units += 1
        if units:
            c.stores[c.produces] += units
            totals[c.produces] = totals.get(c.produces, 0) + units
    events.extend(GoodsProduced(good, qty) for good, qty in sorted(totals.items()))

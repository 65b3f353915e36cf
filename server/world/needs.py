"""What a creature is short of: the roster its mind is shown, computed from its own state.

Foods: a creature wants a few units of each food it does not make itself, since a varied
diet needs two different foods every tick. Fuel: enough for the coming ticks, looking ahead
into winter once autumn is here.
"""

from __future__ import annotations

from .consumption import fuel_need
from .seasons import Season, season_of, ticks_until
from .state import Creature, WorldState

FOOD_STOCK = 3
"""Units of each other food a creature likes to keep."""
FUEL_HORIZON = 10
"""Ticks of fuel a creature likes to hold; in autumn it also counts the first winter days."""


def fuel_wanted(state: WorldState, tick: int) -> int:
    """Whole units of fuel a creature should hold on `tick` to stay warm ahead."""
    tps = state.scenario.rules.ticks_per_season
    ahead = FUEL_HORIZON
    if season_of(tick, tps) is Season.AUTUMN:
        ahead = ticks_until(Season.WINTER, tick, tps) + FUEL_HORIZON
    return round(sum(fuel_need(state, t) for t in range(tick, tick + ahead)))


def shortages(state: WorldState, c: Creature, fuel_target: int | None = None) -> dict[str, int]:
    """Units wanted per good, most pressing first (empty when it lacks nothing).

    `fuel_target` is `fuel_wanted(state, state.tick + 1)`, passed in when already known.
    """
    short: dict[str, int] = {}
    stores, own = c.stores, c.produces
    fuel = state.scenario.fuel
    if fuel is not None and fuel != own:
        if fuel_target is None:
            fuel_target = fuel_wanted(state, state.tick + 1)
        want = fuel_target - stores[fuel]
        if want > 0:
            short[fuel] = want
    lacking = [(stores[f], f) for f in state.scenario.foods if f != own and stores[f] < FOOD_STOCK]
    if len(lacking) > 1:
        lacking.sort()
    for have, food in lacking:
        short[food] = FOOD_STOCK - have
    return short

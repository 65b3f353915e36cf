"""Consumption: every creature eats a varied diet and burns fuel to keep warm.

Diet variety: at most one unit of any single food per tick, up to `appetite` foods, fastest
rotting first; a creature is fed when it ate `fed_foods` different foods. Fuel: the hearth's
need accrues every tick (by season, rising through winter, plus any legend's chill) and is
paid in whole units of fuel while there is fuel; a creature is warm while less than one unit
is owed. What is owed is capped, so a cold spell does not become a debt spiral.
"""

from __future__ import annotations

from .events import Event, GoodsConsumed
from .modifiers import Modifiers
from .seasons import Season, day_of_season, season_of
from .state import WorldState

MAX_FUEL_DEBT = 2.0


def fuel_need(state: WorldState, tick: int, mods: Modifiers | None = None) -> float:
    """Fuel burned per creature on `tick` (before legends unless `mods` is given)."""
    rules = state.scenario.rules
    season = season_of(tick, rules.ticks_per_season)
    need = rules.fuel_need.get(season, 0.0)
    if season is Season.WINTER:
        need += (
            rules.winter_rise
            * day_of_season(tick, rules.ticks_per_season)
            / (rules.ticks_per_season)
        )
    # A warm spell can lower the need, never below nothing.
    return max(0.0, need + (mods.fuel_extra if mods else 0.0))


def eating_order(state: WorldState) -> tuple[str, ...]:
    """Foods in the order a creature eats them: what rots fastest first."""
    goods = state.scenario.goods
    return tuple(sorted(state.scenario.foods, key=lambda f: (-goods[f].spoil, f)))


def consume(state: WorldState, mods: Modifiers, events: list[Event]) -> None:
    rules = state.scenario.rules
    foods = eating_order(state)
    fuel = state.scenario.fuel
    need = fuel_need(state, state.tick, mods)
    eaten: dict[str, int] = dict.fromkeys(foods, 0)
    burned = 0
    appetite, fed_foods = rules.appetite, rules.fed_foods
    for c in state.creatures.values():
        if c.exiled_until:
            continue
        stores = c.stores
        ate = 0
        for food in foods:
            if stores[food] > 0:
                stores[food] -= 1
                eaten[food] += 1
                ate += 1
                if ate == appetite:
                    break
        c.fed = ate >= fed_foods
        if fuel is None:
            continue
        debt = c.fuel_debt + need
        # Conditionals rather than min(): this runs for every creature every tick.
        burn = int(debt)
        burn = min(burn, stores[fuel])
        stores[fuel] -= burn
        burned += burn
        debt -= burn
        c.warm = debt < 1.0
        c.fuel_debt = debt if debt < MAX_FUEL_DEBT else MAX_FUEL_DEBT
    events.extend(GoodsConsumed(food, n) for food, n in eaten.items() if n)
    if fuel is not None and burned:
        events.append(GoodsConsumed(fuel, burned))

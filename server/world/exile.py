"""Ruin and return: a creature with no pebbles and no goods leaves the Wood for a while.

What little it had goes to the commons; when it comes back, the commons stakes it a few
pebbles (as much as it holds, up to the scenario's stake), so pebbles are never minted.
"""

from __future__ import annotations

from .events import CreatureExiled, CreatureReturned, Event
from .state import WorldState
from .units import BITS_PER_PEBBLE, to_bits

RUIN_BITS = BITS_PER_PEBBLE
"""Below one pebble, with empty stores, a creature is ruined."""


def exile_and_return(state: WorldState, events: list[Event]) -> None:
    rules = state.scenario.rules
    for c in state.creatures.values():
        if c.exiled_until:
            if state.tick >= c.exiled_until:
                stake = min(state.commons, to_bits(rules.return_stake))
                state.commons -= stake
                c.purse += stake
                c.exiled_until = 0
                c.mood = max(c.mood, 0.5)
                c.fuel_debt = 0.0
                c.fed = c.warm = True
                events.append(CreatureReturned(c.id, stake))
        elif c.purse < RUIN_BITS and not any(c.stores.values()):
            state.commons += c.purse
            c.purse = 0
            c.exiled_until = state.tick + rules.exile_ticks
            events.append(CreatureExiled(c.id, c.exiled_until))

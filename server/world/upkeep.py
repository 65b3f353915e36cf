"""Upkeep and the commons: pebbles are conserved, so fortunes stay contestable by moving them.

At the end of each season every creature in the Wood pays upkeep on its burrow, dam or nest
and its stores: a share (`rules.upkeep`) of its wealth (pebbles and goods at the board's
prices) above a free allowance (`rules.upkeep_free`), paid from its purse as far as the purse
goes. The cost grows with wealth, a modest creature pays nothing, and a great hoard of goods
costs pebbles to keep, so it must be sold or it eats its owner's purse. The
upkeep goes to the commons, which gives back a part (`rules.commons_share`) of what it holds
above its opening pebbles every tick, equally among the creatures in the Wood, so the money
keeps flowing through the lean weeks of winter. The commons also
stakes exiles and newcomers; sharing its surplus keeps it from swallowing the Wood's money.
"""

from __future__ import annotations

from .events import CommonsShared, Event, UpkeepPaid
from .seasons import day_of_season
from .state import WorldState
from .units import to_bits
from .wealth import wealth_of


def settle_upkeep(state: WorldState, events: list[Event]) -> None:
    rules = state.scenario.rules
    present = [c for c in state.creatures.values() if not c.exiled_until]
    season_ends = day_of_season(state.tick, rules.ticks_per_season) == rules.ticks_per_season
    if rules.upkeep and season_ends:
        free = to_bits(rules.upkeep_free)
        paid = 0
        for c in present:
            worth = to_bits(wealth_of(state, c))
            due = min(c.purse, int((worth - free) * rules.upkeep)) if worth > free else 0
            c.purse -= due
            paid += due
        state.commons += paid
        if paid:
            events.append(UpkeepPaid(paid))
    surplus = state.commons - to_bits(rules.commons)
    if rules.commons_share and surplus > 0 and present:
        share = int(surplus * rules.commons_share) // len(present)
        if share:
            for c in present:
                c.purse += share
            state.commons -= share * len(present)
            events.append(CommonsShared(share, len(present)))

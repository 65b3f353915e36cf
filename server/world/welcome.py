"""The welcome: how many newcomers the Wood takes in, whatever the number of doors they knock.

Every newcomer is staked from the commons, and the commons also stakes exiles coming back
and pays the legends' pots. Limits at the edge (per address) cannot bound a flood from many
addresses, so the world bounds it itself: it welcomes at most `AT_ONCE` newcomers at once,
then one more every season (`rules.ticks_per_season` ticks). A newcomer beyond that is
refused (`too_many_newcomers`) and may knock again later; it is not let in unstaked, since a
creature with nothing is exiled at once and would come back staked by the commons anyway.

So over any `n` ticks at most `AT_ONCE + n // ticks_per_season` newcomers are staked, and a
flood takes at most that many stakes from the commons however it comes. Pebbles move only
from the commons to the newcomer (as before), so they are conserved.

The state is one number, `WorldState.welcome_at`: the tick at which the welcome is whole
again (a generic cell rate algorithm: 0, or any tick already past, means whole).
"""

from __future__ import annotations

from .state import WorldState

AT_ONCE = 4
"""Newcomers the Wood takes in at once (in one tick, or soon one after the other)."""
REFUSED = "too_many_newcomers"


def welcome(state: WorldState) -> bool:
    """Whether the Wood takes a newcomer in this tick; if so, spend its place."""
    every = state.scenario.rules.ticks_per_season
    if state.welcome_at - state.tick > (AT_ONCE - 1) * every:
        return False
    state.welcome_at = max(state.welcome_at, state.tick) + every
    return True


def newcomers_allowed(ticks: int, every: int) -> int:
    """The most newcomers a Wood whose welcome was whole takes in over `ticks` ticks (the
    bound the property tests check)."""
    return AT_ONCE + max(0, ticks - 1) // every

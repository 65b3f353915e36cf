"""One tick of the Wood, in fixed and visible phases.

    validate -> produce -> trade -> consume -> spoil -> mood -> upkeep -> exile -> legends

`step` is a pure function: the same state, actions and commands give the same next state
and the same events, byte for byte, and the state passed in is never modified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .actions import Action, Command, RetireCreature, SpawnCreature, TriggerLegend
from .consumption import consume
from .events import CommandRejected, Event, SeasonBegan
from .exile import exile_and_return
from .joining import join, retire
from .legends import advance_legends
from .market import trade
from .modifiers import modifiers
from .mood import update_moods
from .production import produce
from .seasons import day_of_season, season_of, year_of
from .spoilage import spoil
from .state import WorldState
from .upkeep import settle_upkeep
from .validate import validate


def step(
    state: WorldState,
    actions: Mapping[str, Action],
    commands: Iterable[Command] = (),
) -> tuple[WorldState, tuple[Event, ...]]:
    """Advance one tick. Bad actions and commands are rejected with events, never raised."""
    state = state.copy()
    state.tick += 1
    events: list[Event] = []
    tps = state.scenario.rules.ticks_per_season
    if day_of_season(state.tick, tps) == 1:
        events.append(SeasonBegan(season_of(state.tick, tps), year_of(state.tick, tps)))

    told: list[str] = []
    for cmd in commands:
        if isinstance(cmd, SpawnCreature):
            join(state, cmd, events)
        elif isinstance(cmd, TriggerLegend):
            told.append(cmd.legend)
        elif isinstance(cmd, RetireCreature):
            retire(state, cmd, events)
        else:
            events.append(CommandRejected(type(cmd).__name__, "unknown_command"))

    mods = modifiers(state)
    orders = validate(state, actions, events)
    produce(state, mods, events)
    traded = trade(state, orders, mods, events)
    consume(state, mods, events)
    spoil(state, events)
    update_moods(state, traded)
    settle_upkeep(state, events)
    exile_and_return(state, events)
    advance_legends(state, told, events)
    return state, tuple(events)

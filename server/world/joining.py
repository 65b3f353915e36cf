"""Newcomers: a bot's creature joining the Wood, staked by the commons (as many as the
welcome takes in: `welcome.py`)."""

from __future__ import annotations

import re
from typing import get_args

from .actions import RetireCreature, SpawnCreature
from .events import CommandRejected, CreatureJoined, CreatureRetired, Event
from .scenario import ID_PATTERN, Personality
from .seasons import SEASONS
from .state import Creature, WorldState
from .units import to_bits
from .welcome import REFUSED, welcome

_ID = re.compile(ID_PATTERN)
PERSONALITIES = frozenset(get_args(Personality))
SEASON_NAMES = frozenset(s.value for s in SEASONS)


def join(state: WorldState, cmd: SpawnCreature, events: list[Event]) -> None:
    reason = _refusal(state, cmd) or ("" if welcome(state) else REFUSED)
    if reason:
        events.append(CommandRejected(f"spawn {cmd.id}", reason))
        return
    scenario = state.scenario
    yields = {k: float(v) for k, v in cmd.yields.items()} or _yields_of_peers(state, cmd.produces)
    stake = min(state.commons, to_bits(scenario.rules.join_pebbles))
    state.commons -= stake
    state.creatures[cmd.id] = Creature(
        id=cmd.id,
        name=cmd.name,
        species=cmd.species,
        produces=cmd.produces,
        personality=cmd.personality,
        brain=cmd.brain,
        purse=stake,
        stores=dict.fromkeys(scenario.goods, 0),
        yields=yields,
    )
    events.append(CreatureJoined(cmd.id, cmd.name, cmd.species, cmd.produces))


def retire(state: WorldState, cmd: RetireCreature, events: list[Event]) -> None:
    """Take a creature out of the Wood for good; its purse returns to the commons."""
    creature = state.creatures.get(cmd.id) if isinstance(cmd.id, str) else None
    if creature is None or len(state.creatures) == 1:
        reason = "unknown_creature" if creature is None else "last_creature"
        events.append(CommandRejected(f"retire {cmd.id}", reason))
        return
    del state.creatures[cmd.id]
    state.commons += creature.purse
    events.append(CreatureRetired(cmd.id, str(cmd.reason)[:40], creature.purse))


def _refusal(state: WorldState, cmd: object) -> str:
    if not isinstance(cmd, SpawnCreature):
        return "not_a_command"
    if not state.scenario.rules.allow_join:
        return "joining_closed"
    if not isinstance(cmd.id, str) or not _ID.fullmatch(cmd.id):
        return "invalid_id"
    if cmd.id in state.creatures:
        return "id_taken"
    if not isinstance(cmd.produces, str) or cmd.produces not in state.scenario.goods:
        return "unknown_good"
    if not all(isinstance(s, str) and 0 < len(s) <= 40 for s in (cmd.name, cmd.species)):
        return "invalid_name"
    if not isinstance(cmd.personality, str) or cmd.personality not in PERSONALITIES:
        return "invalid_personality"
    if not isinstance(cmd.brain, str) or not 0 < len(cmd.brain) <= 40:
        return "invalid_brain"
    if not isinstance(cmd.yields, dict) or not all(
        k in SEASON_NAMES and type(v) in (int, float) and 0 <= v <= 1000
        for k, v in cmd.yields.items()
    ):
        return "invalid_yields"
    return ""


def _yields_of_peers(state: WorldState, good: str) -> dict[str, float]:
    """A newcomer produces like the first creature that makes the same good."""
    for c in state.creatures.values():
        if c.produces == good:
            return dict(c.yields)
    return {}

"""Mood: mean-reverting toward a target set by being fed, warm and trading.

The target never falls below 0.3 and mood never below the scenario's floor, so a creature
having a hard winter is glum but always recovers once it is fed and warm again.
"""

from __future__ import annotations

from .state import WorldState

BASE, FED, WARM, TRADED = 0.3, 0.25, 0.25, 0.05


def mood_target(fed: bool, warm: bool, traded: bool) -> float:
    return BASE + FED * fed + WARM * warm + TRADED * traded


def update_moods(state: WorldState, traded: set[str]) -> None:
    rules = state.scenario.rules
    k = rules.mood_reversion
    floor = rules.mood_floor
    for c in state.creatures.values():
        if c.exiled_until:
            continue
        target = mood_target(c.fed, c.warm, c.id in traded)
        mood = c.mood + k * (target - c.mood)
        c.mood = 1.0 if mood > 1.0 else mood if mood > floor else floor

"""Spoilage: stored goods rot at their own rate (berries fast, honey barely)."""

from __future__ import annotations

from .events import Event, GoodsSpoiled
from .state import WorldState


def spoil(state: WorldState, events: list[Event]) -> None:
    dice = state.rng.random
    goods = state.scenario.goods
    rates = [(name, goods[name].spoil) for name in sorted(goods) if goods[name].spoil > 0]
    for good, rate in rates:
        lost = 0
        for c in state.creatures.values():
            held = c.stores[good]
            if not held:
                continue
            expected = held * rate
            units = int(expected)
            if dice() < expected - units:
                units += 1
            units = min(units, held)
            c.stores[good] = held - units
            lost += units
        if lost:
            events.append(GoodsSpoiled(good, lost))

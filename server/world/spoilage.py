"""Spoilage: stored goods rot at their own rate (berries fast, honey barely), and whatever a
creature piles beyond what it can keep well (a good's `storage`) rots fast, firewood and
honey included, so no hoard grows without bound."""

from __future__ import annotations

from .events import Event, GoodsSpoiled
from .state import WorldState


def spoil(state: WorldState, events: list[Event]) -> None:
    dice = state.rng.random
    goods = state.scenario.goods
    overflow = state.scenario.rules.overflow_rot
    rates = [
        (name, goods[name].spoil, goods[name].storage)
        for name in sorted(goods)
        if goods[name].spoil > 0 or overflow > 0
    ]
    for good, rate, storage in rates:
        lost = 0
        for c in state.creatures.values():
            held = c.stores[good]
            if not held:
                continue
            expected = held * rate
            if held > storage:
                expected += (held - storage) * overflow
            if not expected:
                continue
            units = int(expected)
            if dice() < expected - units:
                units += 1
            if units > held:  # noqa: PLR1730 (min() is slower, in a loop over every creature and good)
                units = held
            c.stores[good] = held - units
            lost += units
        if lost:
            events.append(GoodsSpoiled(good, lost))

"""Wealth and its spread: what a creature is worth at the board's prices, and the Gini."""

from __future__ import annotations

from collections.abc import Sequence

from .state import Creature, WorldState
from .units import to_pebbles


def wealth_of(state: WorldState, c: Creature) -> float:
    """Pebbles plus stores valued at the reference prices."""
    goods = sum(n * state.ref_prices[g] for g, n in c.stores.items())
    return to_pebbles(c.purse) + goods


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of non-negative values: 0 is equal shares, near 1 one holds all."""
    xs = sorted(v for v in values if v >= 0)
    n = len(xs)
    total = sum(xs)
    if n < 2 or total <= 0:
        return 0.0
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return (2 * weighted) / (n * total) - (n + 1) / n

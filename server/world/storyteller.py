"""The storyteller: legends keep coming for as long as the Wood runs.

In the spirit of RimWorld's storytellers, which pace incidents by the colony's wealth and the
time since the last one, the Wood's storyteller waits for a calm after each legend, then
tells the next with a chance per tick that grows with the world's tension: a lopsided Wood
(one purse far above the rest) or a stagnant market (no trade for a few ticks) makes a shock
likelier, and after `max_gap` ticks one comes for sure. It never tells the same legend twice
in a row, prefers blows that fall on whoever holds most when the Wood is lopsided, and sends
an opportunity after a threat more often than another threat.

Everything it draws comes from the state's generator and everything it remembers is the
state's `lore`, so it is as deterministic as the rest of the core. It reads only public
facts (purses, the trade tape, the last legend's name), never a rumour's hidden truth.
"""

from __future__ import annotations

from collections.abc import Sequence

from .legend_book import LEGENDS
from .state import WorldState

STAGNANT_TICKS = 3
"""A market with no trade in this many ticks counts as stagnant."""


def next_tale(state: WorldState, possible: Sequence[str]) -> str | None:
    """The legend the storyteller begins at the end of this tick, if any."""
    teller = state.scenario.storyteller
    if teller.mode != "storyteller" or state.legends or not possible:
        return None
    tick = state.tick
    if not teller.with_calendar and any(s.tick > tick for s in state.scenario.legends):
        return None
    lore = state.lore
    if tick - lore.began < teller.max_gap:
        if lore.began and tick - lore.ended < teller.quiet:
            return None
        if state.rng.random() >= hazard(state):
            return None
    return _pick(state, tale_weights(state, possible))


def hazard(state: WorldState) -> float:
    """The chance per tick that a legend begins, once the calm after the last has passed."""
    tension = 1.0 + 2.0 * lopsidedness(state) + stagnation(state)
    return tension / state.scenario.storyteller.mean_gap


def lopsidedness(state: WorldState) -> float:
    """0 for an even Wood, rising to 1 as the fullest purse reaches four times the mean."""
    purses = [c.purse for c in state.creatures.values() if not c.exiled_until]
    if len(purses) < 2:
        return 0.0
    mean = sum(purses) / len(purses)
    if mean <= 0:
        return 0.0
    return min(1.0, max(0.0, (max(purses) / mean - 1.5) / 2.5))


def stagnation(state: WorldState) -> float:
    """1 when nothing has traded for `STAGNANT_TICKS` ticks, else 0."""
    last = state.trades[-1].tick if state.trades else 0
    return 1.0 if state.tick - last >= STAGNANT_TICKS else 0.0


def tale_weights(state: WorldState, possible: Sequence[str]) -> list[tuple[str, float]]:
    """How likely each possible legend is to be the next: never the last one again; blows on
    whoever holds most weigh up to four times as much in a lopsided Wood; after a threat,
    opportunities weigh double."""
    last = LEGENDS.get(state.lore.key)
    lopsided = lopsidedness(state)
    weights: list[tuple[str, float]] = []
    for key in possible:
        if key == state.lore.key:
            continue
        spec = LEGENDS[key]
        weight = spec.weight
        if spec.aims_at_the_top:
            weight *= 1.0 + 3.0 * lopsided
        if last is not None and last.kind == "threat" and spec.kind == "opportunity":
            weight *= 2.0
        weights.append((key, weight))
    return weights


def _pick(state: WorldState, weights: Sequence[tuple[str, float]]) -> str | None:
    """One key drawn in proportion to its weight (one draw from the state's generator)."""
    total = sum(w for _, w in weights)
    if total <= 0:
        return None
    roll = state.rng.random() * total
    for key, weight in weights:
        roll -= weight
        if roll < 0:
            return key
    return weights[-1][0]

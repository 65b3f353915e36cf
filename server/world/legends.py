"""The legends phase: rumours resolve, legends end, new ones begin.

A legend told at the end of tick T is in force from tick T+1 through its `ends` tick, and is
resolved at the end of that tick. A rumour's truth is drawn in secret when it begins and told
only by its `RumourResolved` event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from .events import (
    CommandRejected,
    Event,
    GoodsLost,
    GoodsSpoiled,
    LegendBegan,
    LegendEnded,
    RumourResolved,
)
from .legend_book import LEGENDS, LegendSpec
from .market import bounded_ref
from .state import ActiveLegend, WorldState
from .storyteller import next_tale
from .wealth import wealth_of


def advance_legends(state: WorldState, told: Sequence[str], events: list[Event]) -> None:
    """Resolve what ends now, then begin the scheduled, the commanded and the chance ones."""
    for leg in [leg for leg in state.legends if leg.ends <= state.tick]:
        _resolve(state, leg, events)
        state.legends.remove(leg)
        state.lore = replace(state.lore, ended=state.tick)
        events.append(LegendEnded(leg.id, leg.key))

    keys = (
        [s.legend for s in state.scenario.legends if s.tick == state.tick]
        if state.scenario.storyteller.mode != "off"
        else []
    )
    for key in told:
        if not isinstance(key, str) or key not in LEGENDS:
            events.append(CommandRejected(f"legend {str(key)[:40]}", "unknown_legend"))
        elif not LEGENDS[key].needs_goods <= set(state.scenario.goods):
            events.append(CommandRejected(f"legend {key}", "goods_missing"))
        else:
            keys.append(key)
    chance = state.scenario.rules.legend_chance
    if chance and not state.legends and not keys and state.rng.random() < chance:
        possible = applicable(state)
        if possible:
            keys.append(possible[int(state.rng.random() * len(possible))])
    if not keys:
        tale = next_tale(state, applicable(state))
        if tale:
            keys.append(tale)
    for key in keys:
        _begin(state, LEGENDS[key], events)


def applicable(state: WorldState) -> list[str]:
    """Legends whose goods all exist in this scenario."""
    goods = set(state.scenario.goods)
    return [key for key, spec in LEGENDS.items() if spec.needs_goods <= goods]


def story_of(state: WorldState, leg: ActiveLegend) -> str:
    spec = LEGENDS[leg.key]
    target = state.creatures.get(leg.target)
    if "{target}" in spec.story:
        return spec.story.replace("{target}", target.name if target is not None else "someone")
    if target is not None and spec.hoard_good:
        return spec.story.replace("the great", f"{target.name}'s great", 1)
    return spec.story


def _begin(state: WorldState, spec: LegendSpec, events: list[Event]) -> None:
    truth = state.rng.random() < spec.p_true if spec.rumour else True
    target = ""
    if spec.hoard_good:
        good = spec.hoard_good
        holders = [c for c in state.creatures.values() if c.stores.get(good, 0) > 0]
        if holders:
            target = max(holders, key=lambda c: (c.stores[good], c.id)).id
    leg = ActiveLegend(
        id=f"L{state.next_legend}",
        key=spec.key,
        began=state.tick,
        ends=state.tick + spec.duration,
        truth=truth,
        target=target,
    )
    state.next_legend += 1
    state.legends.append(leg)
    state.lore = replace(state.lore, began=state.tick, key=spec.key)
    _shock(state, spec.belief)
    if spec.strike:
        _strike(state, spec, leg, events)
    events.append(
        LegendBegan(leg.id, spec.key, spec.title, story_of(state, leg), spec.rumour, leg.ends)
    )


def _strike(state: WorldState, spec: LegendSpec, leg: ActiveLegend, events: list[Event]) -> None:
    """A blow that falls on whoever holds most: the biggest holder of the named good, or the
    richest creature's whole larder."""
    present = [c for c in state.creatures.values() if not c.exiled_until]
    good = spec.strike_good
    if good is not None:
        holders = [c for c in present if c.stores.get(good, 0) > 0]
        if not holders:
            return
        target = max(holders, key=lambda c: (c.stores[good], c.id))
        goods = [good]
    else:
        if not present:
            return
        target = max(present, key=lambda c: (wealth_of(state, c), c.id))
        goods = sorted(target.stores)
    leg.target = target.id
    for g in goods:
        lost = int(target.stores[g] * spec.strike)
        if lost:
            target.stores[g] -= lost
            events.append(GoodsLost(target.id, g, lost, leg.id))


def _resolve(state: WorldState, leg: ActiveLegend, events: list[Event]) -> None:
    spec = LEGENDS[leg.key]
    if not spec.rumour:
        return
    outcome = "it was only talk"
    if leg.truth:
        _shock(state, spec.if_true_belief)
        outcome = "it was true"
        target = state.creatures.get(leg.target)
        if spec.hoard_rot and spec.hoard_good and target is not None:
            held = target.stores[spec.hoard_good]
            lost = int(held * spec.hoard_rot)
            target.stores[spec.hoard_good] = held - lost
            if lost:
                events.append(GoodsSpoiled(spec.hoard_good, lost))
            outcome = f"{target.name}'s hoard was rotten: {lost} {spec.hoard_good} lost"
        if spec.dividends:
            outcome = f"the barges came home: {_pay_dividends(state, leg)} pebbles paid out"
    else:
        _shock(state, spec.if_false_belief)
        if spec.dividends:
            outcome = "the Company vanished with the tolls"
    events.append(RumourResolved(leg.id, leg.key, leg.truth, outcome))


def _pay_dividends(state: WorldState, leg: ActiveLegend) -> float:
    members = [c for c in state.creatures.values() if not c.exiled_until]
    pot = min(leg.pot, state.commons)
    if not members or not pot:
        return 0.0
    share = pot // len(members)
    for c in members:
        c.purse += share
    state.commons -= share * len(members)
    return share * len(members) / 100


def _shock(state: WorldState, table: Mapping[str, float]) -> None:
    for good, mult in table.items():
        if good in state.ref_prices:
            state.ref_prices[good] = bounded_ref(state, good, state.ref_prices[good] * mult)

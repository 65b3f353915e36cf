"""A rumour's truth is secret from the tick it begins until it resolves.

Two Woods that differ only in the truth drawn for their rumours must look the same to
everyone until the rumour resolves: the same observations, the same world document, the same
events and the same prices, tick by tick, from the very tick the rumour begins. Flipping the
truth on a state where the rumour already runs (tests/world/test_leaks.py) cannot see a leak
made while it begins (an opening shock a little stronger when true); these tests draw the
truth both ways at the begin itself, however the legend began: told by an operator,
scheduled by the scenario, or by chance.

The truth is forced through the legend book: a rumour's `p_true` is set to 1 in one world and
0 in the other, so both worlds take the same draw from their generators and only its outcome
differs. Every module that looked the book up gets the forced copy (the storyteller too).
Each pair also checks the forcing worked: one world's rumours resolve true, the other's false.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

import orjson
import pytest

from server.minds.scripted import ScriptedMind
from server.world import (
    LEGENDS,
    Command,
    Scenario,
    TriggerLegend,
    WorldState,
    new_world,
    observe_all,
    step,
    world_document,
)
from server.world.events import Event, GoodsSpoiled, LegendBegan, RumourResolved
from server.world.legend_book import LegendSpec

from .conftest import SMALL_SCENARIO, scripted_actions

RUMOURS = tuple(key for key, spec in LEGENDS.items() if spec.rumour)
_ORIGINAL_BOOK = LEGENDS


def _forced_book(truth: bool) -> MappingProxyType[str, LegendSpec]:
    p = 1.0 if truth else 0.0
    return MappingProxyType(
        {
            key: dataclasses.replace(spec, p_true=p) if spec.rumour else spec
            for key, spec in _ORIGINAL_BOOK.items()
        }
    )


_BOOKS = {True: _forced_book(True), False: _forced_book(False)}


def _book_holders() -> list[Any]:
    """Every loaded module of the server that holds the legend book under its own name."""
    return [
        module
        for name, module in list(sys.modules.items())
        if (name == "server" or name.startswith(("server.", "shared.")))
        and getattr(module, "LEGENDS", None) is _ORIGINAL_BOOK
    ]


@contextmanager
def truth_forced(truth: bool) -> Iterator[None]:
    """While inside, every rumour that begins is drawn `truth` (with the same draw)."""
    holders = _book_holders()
    assert holders, "no module holds the legend book: the forcing would be hollow"
    for module in holders:
        module.LEGENDS = _BOOKS[truth]
    try:
        yield
    finally:
        for module in holders:
            module.LEGENDS = _ORIGINAL_BOOK


def public(state: WorldState, events: tuple[Event, ...]) -> bytes:
    """Everything anyone outside the core can see of a tick: what every creature observes,
    the published world document, the events, and the prices."""
    observations = {cid: dataclasses.asdict(o) for cid, o in observe_all(state).items()}
    return orjson.dumps(
        {
            "observations": observations,
            "document": world_document(state),
            "events": [[type(e).__name__, dataclasses.asdict(e)] for e in events],
            "ref_prices": state.ref_prices,
            "last_prices": state.last_prices,
        },
        option=orjson.OPT_NON_STR_KEYS,
    )


def _before_resolving(events: tuple[Event, ...]) -> tuple[Event, ...]:
    """A resolving tick's events before its first resolution (and before the hoard it may
    rot just before saying so)."""
    cut = next(i for i, e in enumerate(events) if isinstance(e, RumourResolved))
    while cut and isinstance(events[cut - 1], GoodsSpoiled):
        cut -= 1
    return events[:cut]


@dataclasses.dataclass
class Pair:
    """The Wood twice, one drawing every rumour true and one false, minded by what each sees.

    `compared` counts ticks during which a rumour was running in both and all was equal;
    `resolved` holds, per resolved rumour, the truths the two worlds told.
    """

    true_world: WorldState
    false_world: WorldState
    mind: ScriptedMind
    compared: int = 0
    begun: int = 0
    resolved: list[tuple[str, bool, bool]] = dataclasses.field(default_factory=list)

    def tick(self, commands: tuple[Command, ...] = ()) -> None:
        actions_t = scripted_actions(self.true_world, self.mind)
        actions_f = scripted_actions(self.false_world, self.mind)
        assert actions_t == actions_f, self.true_world.tick
        with truth_forced(True):
            after_t, events_t = step(self.true_world, actions_t, commands)
        with truth_forced(False):
            after_f, events_f = step(self.false_world, actions_f, commands)
        told_t = [e for e in events_t if isinstance(e, RumourResolved)]
        told_f = [e for e in events_f if isinstance(e, RumourResolved)]
        self.begun += sum(
            1 for e in events_t if isinstance(e, LegendBegan) and LEGENDS[e.key].rumour
        )
        if told_t or told_f:
            # The resolution itself may tell, and after it the worlds may part: check what
            # came before it in this tick, then start both again from the true world.
            assert [e.key for e in told_t] == [e.key for e in told_f], after_t.tick
            assert _before_resolving(events_t) == _before_resolving(events_f), after_t.tick
            self.resolved += [(e.key, t.true, e.true) for t, e in zip(told_t, told_f, strict=True)]
            self.true_world, self.false_world = after_t, after_t.copy()
            # A rumour may begin in the very tick another resolves: the copy must draw it
            # false, as its own world would have.
            for leg in self.false_world.legends:
                if leg.began == after_t.tick and LEGENDS[leg.key].rumour:
                    leg.truth = False
            return
        assert public(after_t, events_t) == public(after_f, events_f), after_t.tick
        if after_t.legends and any(LEGENDS[leg.key].rumour for leg in after_t.legends):
            self.compared += 1
        self.true_world, self.false_world = after_t, after_f

    def check_forcing(self) -> None:
        assert self.resolved, "no rumour resolved: nothing was compared through to its end"
        assert all(t and not f for _, t, f in self.resolved), self.resolved


@pytest.mark.parametrize("key", RUMOURS)
@pytest.mark.parametrize("seed", [1, 7])
def test_a_told_rumour_keeps_its_secret_from_its_first_tick(
    default_scenario: Scenario, key: str, seed: int
) -> None:
    state = new_world(default_scenario, seed)
    for _ in range(5):  # a few ordinary ticks first, so the market is already moving
        state, _ = step(state, scripted_actions(state, ScriptedMind(seed)))
    pair = Pair(state, state.copy(), ScriptedMind(seed))
    pair.tick((TriggerLegend(key),))
    assert pair.begun >= 1
    for _ in range(3 * LEGENDS[key].duration):  # bounded: a rumour that never ends fails
        if pair.resolved:
            break
        pair.tick()
    pair.check_forcing()
    assert (key, True, False) in pair.resolved
    assert pair.compared >= LEGENDS[key].duration - 1


def test_rumours_begun_any_way_keep_their_secret_for_a_long_run(
    default_scenario: Scenario,
) -> None:
    """Whatever begins the legends (the default calendar, chance, a storyteller), every
    rumour of a long default run is secret from its begin until it resolves."""
    state = new_world(default_scenario, 11)
    pair = Pair(state, state.copy(), ScriptedMind(11))
    for _ in range(500):
        pair.tick()
    pair.check_forcing()
    assert len(pair.resolved) >= 2
    assert pair.compared >= 20


def test_chance_rumours_keep_their_secret(small_scenario: Scenario) -> None:
    """Legends begun by the generator's own draw (no calendar, no operator)."""
    doc = {**SMALL_SCENARIO, "legends": []}
    doc["rules"] = {**SMALL_SCENARIO["rules"], "legend_chance": 0.5}
    from server.world import parse_scenario

    scenario = parse_scenario(doc)
    begun = 0
    for seed in (2, 3, 4):
        state = new_world(scenario, seed)
        pair = Pair(state, state.copy(), ScriptedMind(seed))
        for _ in range(120):
            pair.tick()
        begun += pair.begun
        if pair.resolved:
            pair.check_forcing()
    assert begun >= 3


def test_the_forcing_reaches_every_begin(default_scenario: Scenario) -> None:
    """The two books really do decide the draw: the same state, told the same rumour, keeps
    its truth in the state as forced (and only there)."""
    state = new_world(default_scenario, 3)
    for truth in (True, False):
        with truth_forced(truth):
            after, _ = step(state, {}, (TriggerLegend("great_acorn_mania"),))
        assert [leg.truth for leg in after.legends] == [truth]
    assert _book_holders(), "the book was not restored"

"""World events on the wire: every kind has a model, and money leaves the core as pebbles."""

from __future__ import annotations

import typing

from server.events_wire import event_to_wire, events_to_wire, type_name
from server.minds.brain import ScriptedBrain
from server.world import (
    LEGENDS,
    Action,
    Event,
    Order,
    SpawnCreature,
    TriggerLegend,
    load_scenario,
    new_world,
    observe_all,
    step,
)
from server.world.events import CreatureReturned, MarketCleared, TradeCleared
from shared.events import EVENTS, WireEvent


def wire_types() -> set[str]:
    union = typing.get_args(WireEvent)[0]
    return {m.model_fields["type"].default for m in typing.get_args(union)}


def test_every_world_event_has_a_wire_model() -> None:
    core = {type_name(cls) for cls in typing.get_args(Event)}
    assert core == wire_types()


def test_money_is_in_pebbles() -> None:
    assert event_to_wire(TradeCleared("honey", 2, 950, "a", "b"))["price"] == 9.5
    assert event_to_wire(MarketCleared("honey", 950, 2, 0, 1, 9.4))["price"] == 9.5
    assert event_to_wire(CreatureReturned("a", 1500))["stake"] == 15.0


def test_a_long_run_speaks_only_valid_wire_events() -> None:
    state = new_world(load_scenario(), 5)
    brain = ScriptedBrain(5)
    seen: set[str] = set()
    legends = iter(LEGENDS)
    for tick in range(1, 400):
        decisions = brain.decide_now(observe_all(state))
        actions = {cid: r.action for cid, r in decisions.items()}
        actions["ghost"] = Action((Order("buy", "acorns", 1, 100),))
        commands: list[SpawnCreature | TriggerLegend] = []
        if tick % 20 == 0:
            commands.append(TriggerLegend(next(legends, "no_such_legend")))
        if tick == 3:
            commands.append(SpawnCreature("newt", "Newt", "newt", "berries"))
        state, events = step(state, actions, commands)
        for event in events_to_wire(events):
            seen.add(EVENTS.validate_python(event).type)
    assert {"trade_cleared", "market_cleared", "legend_began", "offer_rejected"} <= seen
    assert {"creature_joined", "command_rejected", "season_began", "gossip_spoken"} <= seen

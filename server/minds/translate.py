"""From a brain's `Decision` (pebbles, pydantic, validated at the edge) to the core's `Action`."""

from __future__ import annotations

from server.world.actions import Action, Order
from server.world.units import to_bits
from shared.decision import Decision


def to_action(decision: Decision) -> Action:
    """The world action for a decision; its private thought stays behind."""
    return Action(
        orders=tuple(Order(str(o.side), o.good, o.qty, to_bits(o.price)) for o in decision.offers),
        gossip=decision.gossip,
    )

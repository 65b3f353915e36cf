"""Between a brain's `Decision` (pebbles, pydantic, validated at the edge) and the core's
`Action` (bits, plain tuples), both ways."""

from __future__ import annotations

from server.world.actions import Action, Order
from server.world.units import to_bits, to_pebbles
from shared.decision import Decision, Offer, Side


def to_action(decision: Decision) -> Action:
    """The world action for a decision; its private thought stays behind."""
    return Action(
        tuple(Order(o.side.value, o.good, o.qty, to_bits(o.price)) for o in decision.offers),
        decision.gossip,
    )


def to_decision(action: Action, thought: str | None = None) -> Decision:
    """The decision a world action was made from (`to_action` undoes this exactly), for
    brains that decide in the world's terms: scripted minds."""
    return Decision(
        offers=[
            Offer(side=Side(o.side), good=o.good, qty=o.qty, price=to_pebbles(o.price))
            for o in action.orders
        ],
        gossip=action.gossip,
        thought=thought,
    )

"""The first phase: check the shape of every action against the rules of this Wood.

Nothing here looks at purses or stores (the market reserves those when it books orders);
this phase only refuses what could never be a valid order, with a reason per offer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from shared.decision import MAX_PRICE, MAX_QTY

from .actions import Action, Order
from .events import Event, GossipSpoken, OfferRejected
from .state import Gossip, WorldState
from .units import to_bits

MAX_PRICE_BITS = to_bits(MAX_PRICE)
SIDES = ("buy", "sell")


def validate(
    state: WorldState, actions: Mapping[str, Action], events: list[Event]
) -> dict[str, list[tuple[int, Order]]]:
    """Accepted orders per creature, with each one's index in its action.

    Also speaks the creatures' gossip into the state, since gossip needs no market.
    """
    rules = state.scenario.rules
    goods = state.scenario.goods
    accepted: dict[str, list[tuple[int, Order]]] = {}
    spoken: list[tuple[str, str]] = []
    # Creatures in the state's own order, so the result never depends on how the caller
    # happened to order its mapping; then actions for creatures the Wood does not know.
    creatures = state.creatures
    strays = sorted((cid for cid in actions if cid not in creatures), key=repr)
    for cid in strays:
        orders = _orders_of(actions[cid])
        events.extend(OfferRejected(cid, i, "unknown_creature") for i in range(len(orders)))
    max_offers, gossip_chars = rules.max_offers, rules.gossip_chars
    for cid, creature in creatures.items():
        action = actions.get(cid)
        if action is None:
            continue
        orders = _orders_of(action)
        if creature.exiled_until:
            events.extend(OfferRejected(cid, i, "exiled") for i in range(len(orders)))
            continue
        if orders:
            mine: list[tuple[int, Order]] = []
            sides: dict[str, str] = {}
            for i, order in enumerate(orders):
                reason = _refusal(order, i, max_offers, goods, sides)
                if reason:
                    events.append(OfferRejected(cid, i, reason))
                    continue
                assert isinstance(order, Order)  # what `_refusal` let through
                sides[order.good] = order.side
                mine.append((i, order))
            if mine:
                accepted[cid] = mine
        text = clean_gossip(getattr(action, "gossip", ""), gossip_chars)
        if text:
            spoken.append((cid, text))
            events.append(GossipSpoken(cid, text))
    if spoken:
        # Only the newest lines stay on the board: build those alone (a large Wood speaks
        # hundreds of lines a tick; every one is still an event).
        tick, keep = state.tick, rules.history
        heard = tuple(Gossip(tick, cid, text) for cid, text in spoken[-keep:])
        state.gossip = (*state.gossip, *heard)[-keep:]
    return accepted


def _orders_of(action: object) -> tuple[object, ...] | list[object]:
    """The orders of anything passed as an action: none unless it is a well-formed `Action`."""
    if isinstance(action, Action) and isinstance(action.orders, tuple | list):
        return action.orders
    return ()


def _refusal(
    order: object, index: int, max_offers: int, goods: Mapping[str, object], sides: dict[str, str]
) -> str:
    if index >= max_offers:
        return "too_many_offers"
    if not isinstance(order, Order):
        return "not_an_order"
    if order.side not in SIDES:
        return "invalid_side"
    if not isinstance(order.good, str) or order.good not in goods:
        return "unknown_good"
    if type(order.qty) is not int or not 1 <= order.qty <= MAX_QTY:
        return "invalid_qty"
    if type(order.price) is not int or not 1 <= order.price <= MAX_PRICE_BITS:
        return "invalid_price"
    if sides.get(order.good, order.side) != order.side:
        return "crossed_own_offer"
    return ""


def clean_gossip(text: object, limit: int) -> str:
    """One printable line of at most `limit` characters ("" for anything unusable)."""
    if not isinstance(text, str) or not text:
        return ""
    if len(text) <= limit and text.isprintable() and text == text.strip() and "  " not in text:
        return text
    printable = "".join(
        ch if unicodedata.category(ch)[0] != "C" else " " for ch in text[: limit * 4]
    )
    return " ".join(printable.split())[:limit].rstrip()

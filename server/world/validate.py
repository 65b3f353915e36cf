"""The first phase: check the shape of every action against the rules of this Wood.

Nothing here looks at purses or stores (the market reserves those when it books orders);
this phase only refuses what could never be a valid order, with a reason per offer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

import regex

from shared.decision import MAX_PRICE, MAX_QTY

from .actions import Action, Order
from .events import Event, GossipSpoken, OfferRejected
from .state import Gossip, WorldState
from .units import to_bits

MAX_PRICE_BITS = to_bits(MAX_PRICE)
SIDES = ("buy", "sell")
CLUSTER = regex.compile(r"\X")
"""One extended grapheme cluster: what a reader sees as one character."""
PICTOGRAPH = regex.compile(r"\p{Extended_Pictographic}")
JOINERS = regex.compile(r"[\u200d\U000e0020-\U000e007f]")
KEPT = frozenset({"\u200d", *map(chr, range(0xE0020, 0xE0080))})
"""The format characters an emoji sequence may hold (ZWJ, tags): kept where they do."""
PREPEND = regex.compile(r"\p{Grapheme_Cluster_Break=Prepend}")
ZWJ = "\u200d"
BLACK_FLAG = "\U0001f3f4"
TAGS = ("\U000e0020", "\U000e007f")
"""The tag characters of an emoji flag sequence (🏴 and tags, then the cancel tag)."""


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
    """One printable line of at most `limit` characters ("" for anything unusable), never
    cut inside a grapheme cluster: an emoji sequence, a flag, a letter and its marks stay
    whole or go whole.

    Only the first `4 * limit` characters are read (and of them, whole clusters). Control
    and format characters become spaces, except a ZWJ or tag character that holds an emoji
    sequence together (a ZWJ between two pictographs, the tags of a flag); runs of spaces
    become one. Clusters are Unicode's extended grapheme clusters (UAX #29) as the `regex`
    module knows them: a newer Unicode there may cut a line of characters assigned since
    differently, as Python's own `unicodedata` may class them differently.
    """
    if not isinstance(text, str) or not text:
        return ""
    if len(text) <= limit and text.isprintable() and text == text.strip() and "  " not in text:
        return text
    end = limit * 4
    window = text[:end]
    if len(text) > end and window and not _boundary(text, end):
        last = CLUSTER.findall(window)[-1]
        whole = CLUSTER.match(text, end - len(last))
        if whole is not None and whole.end() > end:
            window = window[: end - len(last)]  # it runs on past what is read: not whole
    if window.isprintable():
        line = window
    else:  # what Python's `unicodedata` calls control or format, or does not know
        line = "".join(
            " " if unicodedata.category(ch)[0] == "C" and ch not in KEPT else ch for ch in window
        )
    if JOINERS.search(line):
        line = "".join(_visible(c) for c in CLUSTER.findall(line))
    line = " ".join(line.split())
    if len(line) <= limit:
        return line
    if line.isascii():  # one character, one cluster (no CR LF is left)
        return line[:limit].rstrip()
    cut = 0
    for cluster in CLUSTER.finditer(line):
        if cluster.end() > limit:
            break
        cut = cluster.end()
    return line[:cut].rstrip()


def _boundary(text: str, i: int) -> bool:
    """Whether a cluster surely begins at `i` (False: it may not; look closer)."""
    return text[i].isascii() and text[i] != "\n" and PREPEND.match(text, i - 1) is None


def _visible(cluster: str) -> str:
    """The cluster with its control and format characters as spaces, except an emoji
    sequence's own joiners and tags."""
    if cluster.isprintable():
        return cluster
    emoji = PICTOGRAPH.match(cluster) is not None
    return "".join(ch if _kept(cluster, i, emoji) else " " for i, ch in enumerate(cluster))


def _kept(cluster: str, i: int, emoji: bool) -> bool:
    ch = cluster[i]
    if unicodedata.category(ch)[0] != "C":
        return True
    if not emoji:
        return False
    if ch == ZWJ:
        return PICTOGRAPH.match(cluster, i + 1) is not None
    return cluster[0] == BLACK_FLAG and TAGS[0] <= ch <= TAGS[1]

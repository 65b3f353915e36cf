"""The market: one call auction per good per tick, with a uniform clearing price.

Booking reserves what each order needs (goods for a sale, pebbles at the limit for a
purchase), so no settlement can overdraw anyone. Matching walks bids from the highest limit
and asks from the lowest, with ties broken by the seeded dice so no creature is favoured by
the order it was listed in. Every fill of a good in a tick settles at one price, inside
every filled order's limit. Afterwards the reference price drifts with the imbalance left
unmatched (unmet demand pushes it up, unsold supply down) and is pulled toward the price that
cleared, so prices trend with supply and demand instead of freezing where they opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter

from .actions import Order
from .events import Event, MarketCleared, OfferRejected, TradeCleared
from .modifiers import Modifiers
from .state import Trade, WorldState
from .units import to_pebbles

REF_FLOOR = 0.2
REF_CEILING = 25.0
"""The reference price stays within these multiples of a good's opening price."""


@dataclass(slots=True)
class _Book:
    rank: float
    """Sort key: price first (integer bits), then a seeded tiebreak in [0, 1)."""
    price: int
    creature: str
    qty: int


def trade(
    state: WorldState,
    orders: Mapping[str, list[tuple[int, Order]]],
    mods: Modifiers,
    events: list[Event],
) -> set[str]:
    """Book, match and settle every good's auction. Returns the creatures that traded."""
    bids, asks = _book(state, orders, events)
    traded: set[str] = set()
    # Goods clear in name order, so nothing depends on how a scenario file listed them.
    for good in sorted(state.scenario.goods):
        _clear(state, good, bids.get(good, []), asks.get(good, []), mods, events, traded)
    return traded


def _book(
    state: WorldState, orders: Mapping[str, list[tuple[int, Order]]], events: list[Event]
) -> tuple[dict[str, list[_Book]], dict[str, list[_Book]]]:
    dice = state.rng.random
    bids: dict[str, list[_Book]] = {}
    asks: dict[str, list[_Book]] = {}
    for cid, mine in orders.items():
        c = state.creatures[cid]
        budget = c.purse
        selling: dict[str, int] = {}
        for index, o in mine:
            if o.side == "sell":
                held = c.stores[o.good] - selling.get(o.good, 0)
                if o.qty > held:
                    events.append(OfferRejected(cid, index, "insufficient_goods"))
                    continue
                selling[o.good] = selling.get(o.good, 0) + o.qty
                asks.setdefault(o.good, []).append(_Book(o.price + dice(), o.price, cid, o.qty))
            else:
                cost = o.qty * o.price
                if cost > budget:
                    events.append(OfferRejected(cid, index, "insufficient_pebbles"))
                    continue
                budget -= cost
                bids.setdefault(o.good, []).append(_Book(-o.price + dice(), o.price, cid, o.qty))
    return bids, asks


def _clear(
    state: WorldState,
    good: str,
    bids: list[_Book],
    asks: list[_Book],
    mods: Modifiers,
    events: list[Event],
    traded: set[str],
) -> None:
    bids.sort(key=_rank)
    asks.sort(key=_rank)
    bid_left = [b.qty for b in bids]
    ask_left = [a.qty for a in asks]
    fills: list[tuple[int, int, int]] = []
    i = j = 0
    while i < len(bids) and j < len(asks) and bids[i].price >= asks[j].price:
        qty = min(bid_left[i], ask_left[j])
        fills.append((i, j, qty))
        bid_left[i] -= qty
        ask_left[j] -= qty
        if bid_left[i] == 0:
            i += 1
        if ask_left[j] == 0:
            j += 1

    price = 0
    volume = 0
    if fills:
        last_bid, last_ask = bids[fills[-1][0]].price, asks[fills[-1][1]].price
        # The first order still wanting to trade on either side bounds the price: a uniform
        # price outside [lo, hi] would leave out an order that is willing at that price.
        lo = max(last_ask, bids[i].price) if i < len(bids) else last_ask
        hi = min(last_bid, asks[j].price) if j < len(asks) else last_bid
        price = (lo + hi) // 2 if lo <= hi else (last_ask + last_bid) // 2
        volume = _settle(state, good, price, bids, asks, fills, mods, events, traded)
        state.last_prices[good] = price

    ref = state.ref_prices[good]
    unmet, unsold = sum(bid_left), sum(ask_left)
    offered = sum(b.qty for b in bids) + sum(a.qty for a in asks)
    rules = state.scenario.rules
    if offered:
        ref *= 1.0 + rules.price_drift * (unmet - unsold) / offered
    if volume:
        ref += rules.price_pull * (to_pebbles(price) - ref)
    ref = bounded_ref(state, good, ref)
    state.ref_prices[good] = ref
    if offered:
        events.append(MarketCleared(good, price, volume, unmet, unsold, round(ref, 4)))


_rank = attrgetter("rank")


def bounded_ref(state: WorldState, good: str, ref: float) -> float:
    """A reference price kept within its bounds around the good's opening price."""
    opening = state.scenario.goods[good].price
    return min(max(ref, opening * REF_FLOOR), opening * REF_CEILING)


def _settle(
    state: WorldState,
    good: str,
    price: int,
    bids: list[_Book],
    asks: list[_Book],
    fills: list[tuple[int, int, int]],
    mods: Modifiers,
    events: list[Event],
    traded: set[str],
) -> int:
    creatures = state.creatures
    volume = 0
    history = state.scenario.rules.history
    first_on_tape = len(fills) - history
    tape: list[Trade] = []
    for n, (i, j, qty) in enumerate(fills):
        buyer, seller = creatures[bids[i].creature], creatures[asks[j].creature]
        paid = qty * price
        toll = int(paid * mods.toll)
        buyer.purse -= paid
        buyer.stores[good] += qty
        seller.purse += paid - toll
        seller.stores[good] -= qty
        if toll:
            state.commons += toll
            if mods.toll_legend is not None:
                mods.toll_legend.pot += toll
        volume += qty
        traded.add(buyer.id)
        traded.add(seller.id)
        if n >= first_on_tape:
            tape.append(Trade(state.tick, good, qty, price, buyer.id, seller.id))
        events.append(TradeCleared(good, qty, price, buyer.id, seller.id))
    state.trades = (*state.trades, *tape)[-history:]
    return volume

"""A market maker: sells its own good a little above the board and quotes both sides of
one other good each tick, leaning its quotes against what it already holds.

    smallwood bot run clients/examples/market_maker.py:MarketMaker --token TOKEN
"""

from __future__ import annotations

from shared.decision import Decision, Offer, Side
from shared.observation import Observation
from shared.protocol import Turn

SPREAD = 0.06
"""Half the gap between bid and ask, as a share of the reference price."""
KEEP = 3
"""Units of its own good it never sells (it eats too)."""
TARGET = 4
"""Units of a quoted good it aims to hold: above it, it leans to sell; below, to buy."""


class MarketMaker:
    def act(self, turn: Turn) -> Decision | None:
        obs = turn.observation
        if obs.exiled:
            return None
        offers: list[Offer] = []
        spare = obs.stores.get(obs.produces, 0) - KEEP
        if spare > 0:
            price = _p(obs.prices[obs.produces] * (1 - SPREAD / 2))
            offers.append(Offer(side=Side.SELL, good=obs.produces, qty=min(spare, 5), price=price))
        good = self.quoted_good(obs)
        if good is not None:
            offers += self.quotes(obs, good)
        gossip = f"Making a market in {good}: tight spreads, fair prices." if good else ""
        return Decision(offers=offers[:3], gossip=gossip)

    @staticmethod
    def quoted_good(obs: Observation) -> str | None:
        """One good a tick, in turn, among those it may buy."""
        goods = [g for g in obs.prices if g not in obs.never_buy]
        return goods[obs.tick % len(goods)] if goods else None

    @staticmethod
    def quotes(obs: Observation, good: str) -> list[Offer]:
        ref = obs.prices[good]
        held = obs.stores.get(good, 0)
        lean = (held - TARGET) / TARGET * SPREAD / 2  # holding more: both quotes move down
        bid = ref * (1 - SPREAD - lean)
        ask = ref * (1 + SPREAD - lean)
        offers = []
        qty = max(1, min(3, int(obs.pebbles * 0.2 / max(bid, 0.01))))
        if obs.pebbles >= bid * qty:
            offers.append(Offer(side=Side.BUY, good=good, qty=qty, price=_p(bid)))
        if held > 1:
            offers.append(Offer(side=Side.SELL, good=good, qty=min(held - 1, 3), price=_p(ask)))
        return offers


def _p(price: float) -> float:
    return max(0.01, round(price, 2))

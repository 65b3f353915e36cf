"""A winter speculator: buys fuel while it is cheap before winter, sells the hoard dear in
winter's cold, and sells its own good to pay for it.

    smallwood bot run clients/examples/winter_speculator.py:WinterSpeculator --token TOKEN
"""

from __future__ import annotations

from shared.decision import Decision, Offer, Side
from shared.observation import Observation
from shared.protocol import Turn

BUY_WINDOW = 1.5
"""Seasons before winter in which it stocks up."""
BUDGET = 0.4
"""Share of its pebbles it may spend on fuel in one tick."""
MARKUP = 1.25
"""Winter asks, over the reference price."""


class WinterSpeculator:
    def act(self, turn: Turn) -> Decision | None:
        obs = turn.observation
        if obs.exiled:
            return None
        offers: list[Offer] = []
        fuel = obs.fuel_good
        spare = obs.stores.get(obs.produces, 0) - 2
        if spare > 0 and obs.produces != fuel:
            price = obs.prices[obs.produces] * 0.97
            offers.append(Offer(side=Side.SELL, good=obs.produces, qty=spare, price=_p(price)))
        gossip = ""
        if fuel and fuel not in obs.never_buy:
            offer, gossip = self.fuel_offer(obs, fuel)
            if offer is not None:
                offers.append(offer)
        return Decision(offers=offers[:3], gossip=gossip)

    @staticmethod
    def reserve(obs: Observation) -> int:
        """Fuel kept for its own fire: what the rest of this winter burns, plus a margin."""
        if obs.season != "winter":
            return 3
        days_left = obs.ticks_per_season - obs.day + 1
        return int(obs.fuel_per_tick * days_left) + 2

    def fuel_offer(self, obs: Observation, fuel: str) -> tuple[Offer | None, str]:
        ref = obs.prices[fuel]
        held = obs.stores.get(fuel, 0)
        if obs.season == "winter":
            surplus = held - self.reserve(obs)
            if surplus > 0:
                ask = _p(ref * MARKUP)
                offer = Offer(side=Side.SELL, good=fuel, qty=min(surplus, 5), price=ask)
                return offer, f"Cold out there. {fuel.capitalize()} for sale, {ask} a piece."
            return None, ""
        if obs.ticks_to_winter <= BUY_WINDOW * obs.ticks_per_season:
            bid = _p(ref * 1.08)
            qty = int(obs.pebbles * BUDGET / bid)
            if qty >= 1:
                offer = Offer(side=Side.BUY, good=fuel, qty=min(qty, 6), price=bid)
                return offer, f"Winter is {obs.ticks_to_winter} ticks off. Buying {fuel}."
        return None, ""


def _p(price: float) -> float:
    return max(0.01, round(price, 2))

"""Scripted creatures: the embedded default brain and the baseline models are judged against.

Each creature trades from what it can see (its observation, nothing more) through a
temperament: how much of its own good it keeps back, how far above or below the board it
asks and bids, and whether it lays in goods ahead of need to sell them dear later. It sells
surplus, buys what it is short of with bids that rise with urgency, stocks fuel before
winter, and now and then says something about it. Decisions are deterministic for a given
(seed, creature, tick).

A scripted mind decides in the world's terms: `act` gives the world `Action` directly, and
`decide` the same decision as the protocol's `Decision` with the creature's private thought,
for traces, datasets and anything that speaks the protocol. A large headless Wood asks only
for actions, and never pays for the decisions and thoughts nobody reads.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from server.world.actions import NOOP, Action, Order
from server.world.observe import Observation
from server.world.units import to_bits
from shared.decision import GOSSIP_CHARS, MAX_OFFERS, MAX_PRICE, MAX_QTY, THOUGHT_CHARS, Decision

from .translate import to_decision

BUY = "buy"
SELL = "sell"


@dataclass(frozen=True, slots=True)
class Temperament:
    keep: int
    """Units of its own good held back from sale (on top of what it eats)."""
    ask: float
    """Markup over the reference price when selling (negative: a discount)."""
    bid: float
    """Markup over the reference price when buying."""
    spend: float
    """Largest share of its purse it commits to bids in one tick."""
    speculates: bool = False
    """Lays in fuel before winter and goods under a rumour, to sell them dear later."""


TEMPERAMENTS: dict[str, Temperament] = {
    "steady": Temperament(keep=3, ask=0.02, bid=0.10, spend=0.5),
    "hoarder": Temperament(keep=7, ask=0.25, bid=0.05, spend=0.35),
    "speculator": Temperament(keep=2, ask=0.10, bid=0.02, spend=0.6, speculates=True),
    "shrewd": Temperament(keep=4, ask=0.12, bid=0.05, spend=0.45),
    "generous": Temperament(keep=2, ask=-0.05, bid=0.15, spend=0.55),
}


class ScriptedMind:
    """Decides for any number of creatures; holds nothing but its seed."""

    name = "scripted"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def act(self, obs: Observation) -> Action:
        """What the creature does this tick."""
        if obs.exiled:
            return NOOP
        dice = _dice(self.seed, obs.creature, obs.tick)
        temper = TEMPERAMENTS.get(obs.personality, TEMPERAMENTS["steady"])
        sell = _sell_surplus(obs, temper)
        orders = [sell] if sell else []
        orders += _buy_shortages(obs, temper)
        if temper.speculates:
            orders += _speculate(obs, temper)
        del orders[MAX_OFFERS:]
        return Action(tuple(orders), _gossip(obs, orders, dice)[:GOSSIP_CHARS])

    def decide(self, obs: Observation) -> Decision:
        """The same decision as `act`, in the protocol's terms, with its private thought."""
        action = self.act(obs)
        return to_decision(action, self.thought(obs, action) if not obs.exiled else None)

    @staticmethod
    def thought(obs: Observation, action: Action) -> str:
        """The private thought behind an action: what the creature holds, lacks and plans."""
        held = ", ".join(f"{n} {g}" for g, n in obs.stores.items() if n)
        short = ", ".join(obs.short_of) or "nothing"
        plan = (
            "; ".join(f"{o.side} {o.qty} {o.good} at {o.price / 100}" for o in action.orders)
            or "wait"
        )
        return (
            f"I hold {held or 'nothing'} and {obs.pebbles:.0f} pebbles; short of {short}. {plan}."
        )[:THOUGHT_CHARS]


def _price(value: float) -> float:
    """A limit price the protocol accepts, whatever the board says."""
    # Conditionals, not min/max: this runs several times per creature per tick, and the
    # builtins parse their keyword arguments on every call.
    price = round(value, 2)
    if price > MAX_PRICE:
        return MAX_PRICE
    return price if price >= 0.01 else 0.01  # NaN too


def _qty(value: int) -> int:
    """A quantity the protocol accepts: a mind may hold more than one order can carry."""
    return MAX_QTY if value > MAX_QTY else value


def _sell_surplus(obs: Observation, t: Temperament) -> Order | None:
    good = obs.produces
    held = obs.stores.get(good, 0)
    keep = t.keep
    if good == obs.fuel_good:
        # The woodcutter keeps what its own hearth will need soon, and before winter lays
        # by a stack to sell when hearths burn most.
        keep += round(obs.fuel_per_tick * 2)
        if obs.season != "winter":
            keep += round(20 * (1 - obs.ticks_to_winter / (3 * obs.ticks_per_season)))
    surplus = held - keep
    if surplus <= 0:
        return None
    ref = obs.prices[good]
    glut = min(1.0, surplus / 30)
    rot = obs.spoilage.get(good, 0.0)
    markup = t.ask - 0.15 * glut - 2.0 * rot
    qty = max(1, min(surplus, round(surplus * (0.5 + glut / 2))))
    if good == obs.fuel_good:
        # Fuel is dearest when hearths burn most: ask more as the need rises, but sell the
        # pile down as winter wears on, since spring will not pay for it.
        left = 1 - obs.day / obs.ticks_per_season if obs.season == "winter" else 1.0
        markup += 0.25 * obs.fuel_per_tick * left
        if obs.season == "winter":
            qty = surplus
    return Order(SELL, good, _qty(qty), to_bits(_price(ref * (1 + markup))))


def _buy_shortages(obs: Observation, t: Temperament) -> list[Order]:
    budget = obs.pebbles * t.spend
    orders: list[Order] = []
    fuel, prices, stores = obs.fuel_good, obs.prices, obs.stores
    fuel_urgency = 0.3 * obs.fuel_per_tick + (0.3 if not obs.warm else 0.0)
    food_urgency = 0.15 if not obs.fed else 0.0
    for good, want in obs.short_of.items():
        if good in obs.never_buy:
            continue
        if len(orders) == MAX_OFFERS - 1:
            break  # one offer is left for the creature's own surplus
        ref = prices[good]
        urgency = 0.25 if stores.get(good, 0) == 0 else 0.0
        urgency += fuel_urgency if good == fuel else food_urgency
        limit = _price(ref * (1 + t.bid + urgency))
        qty = min(want, int(budget // limit))
        if qty <= 0 and good == fuel and not obs.warm:
            # A cold creature would rather spend its last pebbles on one log than shiver.
            budget = max(budget, 0.9 * obs.pebbles)
        if qty <= 0 and budget >= ref:
            # Too poor for its urgent limit: it still bids all it can spare for one unit.
            qty, limit = 1, _price(min(budget, limit))
        if qty <= 0:
            continue
        qty = _qty(qty)
        budget -= qty * limit
        orders.append(Order(BUY, good, qty, to_bits(limit)))
    return orders


def _speculate(obs: Observation, t: Temperament) -> list[Order]:
    """Buy fuel cheap in the warm months; buy into a rumour's good; sell hoards dear."""
    offers: list[Order] = []
    fuel = obs.fuel_good
    if fuel and fuel != obs.produces and obs.season in ("summer", "autumn"):
        ref = obs.prices[fuel]
        held = obs.stores.get(fuel, 0)
        if held < 25 and obs.pebbles > 20:
            qty = min(4, int(obs.pebbles * 0.3 // max(ref, 0.01)))
            if qty > 0:
                offers.append(Order(BUY, fuel, qty, to_bits(_price(ref * 0.95))))
    if fuel and fuel != obs.produces and obs.season == "winter":
        spare = obs.stores.get(fuel, 0) - round(obs.fuel_per_tick * 5)
        if spare > 0:
            ref = obs.prices[fuel]
            offers.append(Order(SELL, fuel, _qty(spare), to_bits(_price(ref * 1.2))))
    return offers


def _dice(seed: int, creature: str, tick: int) -> tuple[float, float]:
    """Two even draws in [0, 1) fixed by (seed, creature, tick), the same in every process.

    A CRC of the three is plenty for choosing a gossip line, and costs a hundredth of
    seeding a generator per creature per tick.
    """
    h = zlib.crc32(f"{seed}:{creature}:{tick}".encode())
    return (h & 0xFFFF) / 0x10000, (h >> 16) / 0x10000


def _gossip(obs: Observation, orders: list[Order], dice: tuple[float, float]) -> str:
    speak, pick = dice
    if speak > 0.3:
        return ""
    # What it could say, then the one line it says: only that line is worded.
    topics: list[Order | str] = []
    if obs.legends:
        topics.append("legend")
    if obs.fuel_good and obs.season in ("autumn", "winter"):
        topics.append("fuel")
    if not obs.fed:
        topics.append("hungry")
    topics += orders
    if not topics:
        return f"A fine {obs.season} day in the Wood."
    topic = topics[int(pick * len(topics))]
    if topic == "legend":
        return f"Everyone is talking about {obs.legends[0].title}. I'll believe it when I see it."
    if topic == "fuel":
        fuel = obs.fuel_good
        return f"{fuel.capitalize()} at {obs.prices[fuel]:.1f}? Winter is not kind."
    if topic == "hungry":
        return "My belly rumbles. Who will trade me a decent meal?"
    assert isinstance(topic, Order)
    verb = "Selling" if topic.side == SELL else "Buying"
    return f"{verb} {topic.good} at {topic.price / 100:.1f}, for anyone who is quick."

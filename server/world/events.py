"""What happened in a tick, as small immutable values that read like the Wood's log.

Every event is public (it may go to viewers and into the feed) except where noted.
Quantities are units; money is in bits (hundredths of a pebble).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SeasonBegan:
    season: str
    year: int


@dataclass(frozen=True, slots=True)
class GoodsProduced:
    good: str
    qty: int


@dataclass(frozen=True, slots=True)
class GoodsConsumed:
    """Eaten (food) or burned (fuel), totals over all creatures."""

    good: str
    qty: int


@dataclass(frozen=True, slots=True)
class GoodsSpoiled:
    good: str
    qty: int


@dataclass(frozen=True, slots=True)
class OfferRejected:
    creature: str
    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class TradeCleared:
    good: str
    qty: int
    price: int
    buyer: str
    seller: str


@dataclass(frozen=True, slots=True)
class MarketCleared:
    """One good's auction: the uniform price (bits; 0 when nothing traded) and what was left."""

    good: str
    price: int
    volume: int
    unmet_demand: int
    unsold_supply: int
    ref_price: float
    """The reference price after this tick's drift, in pebbles."""


@dataclass(frozen=True, slots=True)
class GossipSpoken:
    creature: str
    text: str


@dataclass(frozen=True, slots=True)
class CreatureExiled:
    creature: str
    until: int


@dataclass(frozen=True, slots=True)
class CreatureReturned:
    creature: str
    stake: int


@dataclass(frozen=True, slots=True)
class GoodsLost:
    """A legend's blow: `qty` of `good` gone from one creature's stores."""

    creature: str
    good: str
    qty: int
    legend: str


@dataclass(frozen=True, slots=True)
class UpkeepPaid:
    """The season's upkeep, paid into the commons by purses above the free allowance."""

    total: int


@dataclass(frozen=True, slots=True)
class CommonsShared:
    """The commons shared out what it held above its opening pebbles."""

    share: int
    creatures: int


@dataclass(frozen=True, slots=True)
class CreatureJoined:
    creature: str
    name: str
    species: str
    produces: str


@dataclass(frozen=True, slots=True)
class CreatureRetired:
    creature: str
    reason: str
    pebbles: int
    """Bits its purse held, returned to the commons."""


@dataclass(frozen=True, slots=True)
class LegendBegan:
    id: str
    key: str
    title: str
    story: str
    rumour: bool
    ends: int


@dataclass(frozen=True, slots=True)
class LegendEnded:
    id: str
    key: str


@dataclass(frozen=True, slots=True)
class RumourResolved:
    """The moment a rumour's truth becomes public."""

    id: str
    key: str
    true: bool
    outcome: str


@dataclass(frozen=True, slots=True)
class CommandRejected:
    command: str
    reason: str


Event = (
    SeasonBegan
    | GoodsProduced
    | GoodsConsumed
    | GoodsSpoiled
    | OfferRejected
    | TradeCleared
    | MarketCleared
    | GossipSpoken
    | CreatureExiled
    | CreatureReturned
    | GoodsLost
    | UpkeepPaid
    | CommonsShared
    | CreatureJoined
    | CreatureRetired
    | LegendBegan
    | LegendEnded
    | RumourResolved
    | CommandRejected
)

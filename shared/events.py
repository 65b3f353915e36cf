"""The events of a tick as the wire carries them, in every `delta`.

Each is a small object with a `type` naming what happened (`trade_cleared`, `legend_began`,
...). Money is in pebbles; quantities are units; `creature` fields hold ids.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SeasonBegan(_Event):
    type: Literal["season_began"] = "season_began"
    season: str
    year: int


class GoodsProduced(_Event):
    type: Literal["goods_produced"] = "goods_produced"
    good: str
    qty: int


class GoodsConsumed(_Event):
    """Eaten (food) or burned (fuel), totals over all creatures."""

    type: Literal["goods_consumed"] = "goods_consumed"
    good: str
    qty: int


class GoodsSpoiled(_Event):
    type: Literal["goods_spoiled"] = "goods_spoiled"
    good: str
    qty: int


class OfferRejected(_Event):
    """Offer number `index` of a creature's act was refused (e.g. `insufficient_pebbles`)."""

    type: Literal["offer_rejected"] = "offer_rejected"
    creature: str
    index: int
    reason: str


class TradeCleared(_Event):
    type: Literal["trade_cleared"] = "trade_cleared"
    good: str
    qty: int
    price: float
    """The uniform clearing price of this good this tick, per unit."""
    buyer: str
    seller: str


class MarketCleared(_Event):
    """One good's call auction: the clearing price (0 when nothing traded) and what was left."""

    type: Literal["market_cleared"] = "market_cleared"
    good: str
    price: float
    volume: int
    unmet_demand: int
    unsold_supply: int
    ref_price: float
    """The reference price after this tick's drift."""


class GossipSpoken(_Event):
    type: Literal["gossip_spoken"] = "gossip_spoken"
    creature: str
    text: str


class CreatureExiled(_Event):
    type: Literal["creature_exiled"] = "creature_exiled"
    creature: str
    until: int
    """The tick on which it comes back."""


class CreatureReturned(_Event):
    type: Literal["creature_returned"] = "creature_returned"
    creature: str
    stake: float
    """Pebbles the commons gave it to start again."""


class GoodsLost(_Event):
    type: Literal["goods_lost"] = "goods_lost"
    creature: str
    good: str
    qty: int
    legend: str
    """The id of the legend that struck."""


class UpkeepPaid(_Event):
    type: Literal["upkeep_paid"] = "upkeep_paid"
    total: float
    """Pebbles paid into the commons at the start of a season by the well-off."""


class CommonsShared(_Event):
    type: Literal["commons_shared"] = "commons_shared"
    share: float
    """Pebbles each creature in the Wood received from the commons."""
    creatures: int


class CreatureJoined(_Event):
    type: Literal["creature_joined"] = "creature_joined"
    creature: str
    name: str
    species: str
    produces: str


class CreatureRetired(_Event):
    """A creature left the Wood for good (`reason`: `left`, its bot's own leave, or
    `retired`, by an operator); its pebbles went back to the commons."""

    type: Literal["creature_retired"] = "creature_retired"
    creature: str
    reason: str
    pebbles: float


class LegendBegan(_Event):
    type: Literal["legend_began"] = "legend_began"
    id: str
    key: str
    title: str
    story: str
    rumour: bool
    ends: int
    """The last tick it is in force."""


class LegendEnded(_Event):
    type: Literal["legend_ended"] = "legend_ended"
    id: str
    key: str


class RumourResolved(_Event):
    """The moment a rumour's truth becomes public."""

    type: Literal["rumour_resolved"] = "rumour_resolved"
    id: str
    key: str
    true: bool
    outcome: str


class CommandRejected(_Event):
    """An operator's or a newcomer's command the world refused."""

    type: Literal["command_rejected"] = "command_rejected"
    command: str
    reason: str


WireEvent = Annotated[
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
    | CommandRejected,
    Field(discriminator="type"),
]

EVENTS: TypeAdapter[WireEvent] = TypeAdapter(WireEvent)
"""Validates one event object: `EVENTS.validate_python({"type": "trade_cleared", ...})`."""

"""What a bot is told each turn: one creature's view of the Wood, as the wire carries it.

The fields mirror `server.world.observe.Observation` one for one (a test keeps them in step);
it is the same view a model creature's prompt is built from. Prices and purses are in pebbles.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Wire(BaseModel):
    # Read leniently: a newer server may add fields an older client does not know.
    model_config = ConfigDict(extra="ignore", frozen=True)


class BoardTrade(_Wire):
    tick: int
    good: str
    qty: int
    price: float
    buyer: str
    """The buyer's name (not its id)."""
    seller: str


class BoardGossip(_Wire):
    tick: int
    creature: str
    """The speaker's name (not its id)."""
    text: str


class HeardLegend(_Wire):
    id: str
    title: str
    story: str
    ticks_left: int
    rumour: bool
    """A rumour may be false; only a `rumour_resolved` event tells."""


class Observation(_Wire):
    """One creature's view before it decides `tick`."""

    tick: int
    season: str
    day: int
    year: int
    ticks_per_season: int
    ticks_to_winter: int
    creature: str
    name: str
    species: str
    produces: str
    personality: str
    pebbles: float
    stores: dict[str, int]
    mood: float
    fed: bool
    warm: bool
    fuel_good: str
    """The good burned for warmth ("" when the world has none)."""
    fuel_per_tick: float
    never_buy: list[str]
    """Goods this creature must not buy (what it produces)."""
    short_of: dict[str, int]
    """Units of each good it needs and lacks, computed from its state."""
    prices: dict[str, float]
    """Reference price per good."""
    last_prices: dict[str, float]
    """Last clearing price of every good that has ever traded."""
    spoilage: dict[str, float]
    """Fraction of stored units of each good that rot per tick."""
    trades: list[BoardTrade]
    gossip: list[BoardGossip]
    legends: list[HeardLegend]
    exiled: bool

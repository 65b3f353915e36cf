"""The world document: the public picture of the Wood that viewers hold and patch.

Collections are objects keyed by id, never arrays, and no value is ever null, so every
tick's change is a small RFC 7396 merge patch (see `shared.merge_patch`) and a missing key
always means "none". Money is in pebbles. These models describe the document for clients
and the schema; the server builds it in `server.world.document`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Driver = Literal["script", "model", "bot"]
"""Who decides for a creature right now (a creature card's `driver`)."""


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class GoodBoard(_Doc):
    ref: float
    """The reference price: the board's belief, drifting with the market."""
    opening: float
    food: bool
    fuel: bool
    supply: int
    """Units held by all creatures together."""
    last: float | None = None
    """Last clearing price; absent until the good first trades."""


class CreatureCard(_Doc):
    name: str
    species: str
    produces: str
    personality: str
    brain: str
    """The brain the world gives it: `scripted`, `bot`, `model`, or another name."""
    driver: Driver | None = None
    """Who decides for it right now: `bot` while a connected bot holds it (even a creature
    whose `brain` is `scripted`), `model` when a model brain does, else `script` (the
    scripted brain, or the fallback for an absent bot or an idle world). The server always
    sends it; a client may fall back to `brain` when it is absent."""
    pebbles: float
    mood: float
    stores: dict[str, int]
    fed: bool
    warm: bool
    status: str
    """`active` or `exiled`."""
    returns: int | None = None
    """The tick an exiled creature comes back; absent when it is active."""


class FuelGauge(_Doc):
    good: str
    need: float
    """Fuel each creature burns next tick."""
    stock: int
    ticks_left: float | None = None
    """How long the stock lasts at this need; absent when nothing burns."""


class LegendCard(_Doc):
    key: str
    title: str
    story: str
    began: int
    ends: int
    rumour: bool


class TapeTrade(_Doc):
    tick: int
    good: str
    qty: int
    price: float
    buyer: str
    seller: str


class TapeGossip(_Doc):
    tick: int
    creature: str
    name: str
    text: str


class WorldDocument(_Doc):
    scenario: str
    tick: int
    season: str
    day: int
    year: int
    ticks_per_season: int
    ticks_to_winter: int
    commons: float
    gini: float
    goods: dict[str, GoodBoard]
    creatures: dict[str, CreatureCard]
    fuel: FuelGauge | None = None
    """Absent when the world burns nothing."""
    legends: dict[str, LegendCard]
    trades: dict[str, TapeTrade]
    """Recent trades keyed `"{tick}-{n}"`."""
    gossip: dict[str, TapeGossip]
    """Recent gossip keyed `"{tick}-{creature}"`."""

"""A creature's decision for one tick: the shape every brain returns and every bot sends.

The same model validates what arrives (from a bot, or from a language model after repair)
and gives the JSON Schema that engines are asked to follow.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_OFFERS = 3
GOSSIP_CHARS = 120
THOUGHT_CHARS = 200
MAX_QTY = 999
MIN_PRICE = 0.01
"""The smallest price the world can settle: one bit, a hundredth of a pebble."""
MAX_PRICE = 10_000.0


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class Offer(BaseModel):
    """One limit order in this tick's call auction. Prices are in pebbles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    side: Side
    good: Annotated[str, Field(min_length=1, max_length=32)]
    qty: Annotated[int, Field(ge=1, le=MAX_QTY)]
    price: Annotated[float, Field(ge=MIN_PRICE, le=MAX_PRICE)]


class Decision(BaseModel):
    """Up to three offers, one public gossip line, and an optional private thought.

    The thought never reaches the world: it is kept in decision traces only.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    offers: Annotated[list[Offer], Field(max_length=MAX_OFFERS)] = []
    gossip: Annotated[str, Field(max_length=GOSSIP_CHARS)] = ""
    thought: Annotated[str | None, Field(max_length=THOUGHT_CHARS)] = None


NOOP = Decision()

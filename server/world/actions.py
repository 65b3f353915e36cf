"""What enters a tick: each creature's action and the operators' commands.

These are plain values with no validation of their own: the core checks every field and
rejects what is wrong with an `OfferRejected` or `CommandRejected` event, so anything at all
may be passed in (the property tests do exactly that).

Orders and actions are named tuples: a large Wood builds a thousand of each every tick, and a
tuple is built in a third of the time a frozen dataclass takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Order(NamedTuple):
    side: str
    """"buy" or "sell"."""
    good: str
    qty: int
    price: int
    """Limit price per unit, in bits."""


class Action(NamedTuple):
    orders: tuple[Order, ...] = ()
    gossip: str = ""


NOOP = Action()


@dataclass(frozen=True, slots=True)
class TriggerLegend:
    legend: str


@dataclass(frozen=True, slots=True)
class SpawnCreature:
    """A newcomer (a bot's creature) joining the Wood."""

    id: str
    name: str
    species: str
    produces: str
    brain: str = "bot"
    personality: str = "steady"
    yields: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RetireCreature:
    """A creature leaving the Wood for good (its bot left, or an operator retired it);
    its pebbles go back to the commons."""

    id: str
    reason: str = "retired"


Command = TriggerLegend | SpawnCreature | RetireCreature

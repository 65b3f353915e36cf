"""World events as the wire carries them: JSON objects with a `type`, money in pebbles.

The shapes are `shared.events`; this module only converts, once per tick, for every viewer.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from enum import Enum
from typing import Any

from server.world import Event
from server.world.events import (
    CommonsShared,
    CreatureRetired,
    CreatureReturned,
    MarketCleared,
    TradeCleared,
    UpkeepPaid,
)
from server.world.units import to_pebbles

_MONEY: dict[type[Any], tuple[str, ...]] = {
    TradeCleared: ("price",),
    MarketCleared: ("price",),
    CreatureReturned: ("stake",),
    CreatureRetired: ("pebbles",),
    UpkeepPaid: ("total",),
    CommonsShared: ("share",),
}
"""Fields held in bits inside the core."""

_NAMES: dict[type[Any], str] = {}


def type_name(cls: type[Any]) -> str:
    """`TradeCleared` -> `trade_cleared`."""
    name = _NAMES.get(cls)
    if name is None:
        name = _NAMES[cls] = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
    return name


def event_to_wire(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type_name(type(event))}
    for key, value in asdict(event).items():
        out[key] = value.value if isinstance(value, Enum) else value
    for name in _MONEY.get(type(event), ()):
        out[name] = to_pebbles(out[name])
    return out


def events_to_wire(events: tuple[Event, ...]) -> list[dict[str, Any]]:
    return [event_to_wire(e) for e in events]

"""Money in the Wood.

Purses and prices are held as integer hundredths of a pebble ("bits") inside the core, so
every trade moves an exact amount and pebbles are conserved to the last bit. Pebbles as
decimals appear only at the edges: scenario files, offers, observations and documents.
"""

from __future__ import annotations

BITS_PER_PEBBLE = 100


def to_bits(pebbles: float) -> int:
    """Round an amount of pebbles to the nearest bit."""
    return round(pebbles * BITS_PER_PEBBLE)


def to_pebbles(bits: int) -> float:
    """An amount of bits as pebbles, exact to two decimals."""
    return bits / BITS_PER_PEBBLE

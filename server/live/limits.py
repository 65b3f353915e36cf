"""Limits on what a connection may send: frame sizes and a token bucket against floods."""

from __future__ import annotations

import time

VIEWER_FRAME_BYTES = 4 * 1024
"""Viewers send nothing in protocol v1; anything bigger than this is closed with 1009."""
BOT_FRAME_BYTES = 64 * 1024
"""An act is well under 2 KiB; this leaves room and still bounds what one frame can cost."""


class TokenBucket:
    """`rate` frames per second on average, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float, *, now: float | None = None) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic() if now is None else now

    def full(self, now: float | None = None) -> bool:
        """Whether the bucket has refilled to its burst (nothing spent is remembered)."""
        now = time.monotonic() if now is None else now
        return self.tokens + (now - self.stamp) * self.rate >= self.burst

    def take(self, now: float | None = None) -> bool:
        """Spend one token; False when the bucket is empty (the sender is flooding)."""
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

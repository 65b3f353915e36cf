"""A viewer's live copy of the world over `/ws`, for Python clients (the terminal viewer).

The same rule as the web pages: take the snapshot, apply every delta's merge patch in seq
order, resume with `?since=SEQ` after a drop, and say `live` only while connected and current.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from shared.merge_patch import apply

from .endpoints import VIEWER_PATH, websocket_url

log = logging.getLogger("smallwood.stream")

Status = Literal["connecting", "live", "stale"]


@dataclass
class WorldView:
    """What a viewer holds: the document, where it is, and the recent events."""

    world: dict[str, Any] | None = None
    seq: int | None = None
    status: Status = "connecting"
    events: deque[tuple[int, dict[str, Any]]] = field(default_factory=lambda: deque(maxlen=200))
    """(tick, event) pairs, oldest first."""
    problem: str | None = None
    """Why the view is not live, for people: "cannot reach URL, retrying"; None when live."""

    def receive(self, message: dict[str, Any]) -> bool:
        """Apply one frame. False when a delta does not follow on (resume from `seq`)."""
        kind = message.get("type")
        if kind == "snapshot":
            self.world = message["world"]
            self.seq = message["seq"]
            self.status = "live"
            self.problem = None
            return True
        if kind == "delta":
            if self.world is None or self.seq is None or message["seq"] != self.seq + 1:
                return False
            self.world = apply(self.world, message["patch"])
            self.seq = message["seq"]
            self.status = "live"
            for event in message.get("events", []):
                self.events.append((message["tick"], event))
        return True


def viewer_url(url: str, since: int | None = None) -> str:
    """`ws://host:port/ws[?since=N]` from an http(s) or ws(s) base URL (path optional)."""
    out = websocket_url(url, VIEWER_PATH)
    return out if since is None else f"{out}?since={since}"


async def follow(
    url: str, view: WorldView, *, max_backoff: float = 8.0
) -> AsyncIterator[WorldView]:
    """Yield `view` after every change (frames and connection state), forever."""
    failures = 0
    while True:
        try:
            async with connect(viewer_url(url, view.seq), open_timeout=5, max_size=2**24) as ws:
                failures = 0
                if view.world is not None:
                    view.status = "live"
                    view.problem = None
                    yield view
                async for frame in ws:
                    if not view.receive(orjson.loads(frame)):
                        break
                    yield view
        except (ConnectionClosed, OSError, InvalidHandshake, TimeoutError) as exc:
            problem = f"cannot reach {url}, retrying"
            # Once a streak, at warning: a dead URL must not look like a quiet Wood.
            if failures == 0:
                log.warning("%s (%s)", problem, exc or type(exc).__name__)
            else:
                log.debug("%s (%s)", problem, exc or type(exc).__name__)
            view.problem = problem
        except InvalidURI:
            raise
        view.status = "stale" if view.world is not None else "connecting"
        yield view
        delay = min(max_backoff, 0.25 * 2**failures) * random.uniform(0.75, 1.25)
        failures += 1
        await asyncio.sleep(delay)

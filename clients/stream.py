"""A viewer's live copy of the world over `/ws`, for Python clients (the terminal viewer).

The same rule as the web pages: take the snapshot, apply every delta's merge patch in seq
order, resume with `?since=SEQ` after a drop, and tell the world's state the same way as
every client (`world_state`): live, degraded, paused, idle, stale, reconnecting or connecting.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
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

Status = Literal["connecting", "reconnecting", "paused", "idle", "stale", "degraded", "live"]
"""The world's state as every client shows it (clients/web/assets/wood.js has the same rule)."""
Link = Literal["connecting", "open", "down"]
STALE_TICKS = 3
"""Ticks that may pass in silence before a world that says it runs is called stale."""


def world_state(
    link: Link, has_world: bool, server: dict[str, Any] | None, silent_s: float
) -> Status:
    """The state from the connection, the server's last `status` frame and the seconds since
    the last delta; the same rule as the web pages' `worldState`."""
    if not has_world:
        return "reconnecting" if link == "down" else "connecting"
    if link != "open":
        return "reconnecting"
    status = (server or {}).get("status") or "live"
    if status in ("paused", "idle"):
        return "paused" if status == "paused" else "idle"
    period = float((server or {}).get("period") or 1.0)
    if silent_s > STALE_TICKS * period + 1.0:
        return "stale"
    return "degraded" if status == "degraded" else "live"


@dataclass
class WorldView:
    """What a viewer holds: the document, where it is, and the recent events."""

    world: dict[str, Any] | None = None
    seq: int | None = None
    link: Link = "connecting"
    server: dict[str, Any] | None = None
    """The server's last `status` frame: {status, period, reason}."""
    last_delta: float = field(default_factory=time.monotonic)
    events: deque[tuple[int, dict[str, Any]]] = field(default_factory=lambda: deque(maxlen=200))
    """(tick, event) pairs, oldest first."""
    problem: str | None = None
    """Why the view is not live, for people: "cannot reach URL, retrying"; None when live."""

    @property
    def status(self) -> Status:
        """The world's state now (it turns stale on its own when the ticks stop)."""
        silent = time.monotonic() - self.last_delta
        return world_state(self.link, self.world is not None, self.server, silent)

    @property
    def reason(self) -> str:
        """Why the state is what it is, for people ("" when there is nothing to say)."""
        status = self.status
        if status == "stale":
            return f"no tick for {time.monotonic() - self.last_delta:.0f} s"
        if status in ("paused", "idle", "degraded"):
            return str((self.server or {}).get("reason") or "")
        return ""

    def receive(self, message: dict[str, Any]) -> bool:
        """Apply one frame. False when a delta does not follow on (resume from `seq`)."""
        kind = message.get("type")
        if kind == "snapshot":
            self.world = message["world"]
            self.seq = message["seq"]
            self.link = "open"
            self.last_delta = time.monotonic()
            self.problem = None
            return True
        if kind == "status":
            self.server = {k: message.get(k) for k in ("status", "period", "reason", "tick")}
            return True
        if kind == "delta":
            if self.world is None or self.seq is None or message["seq"] != self.seq + 1:
                return False
            self.world = apply(self.world, message["patch"])
            self.seq = message["seq"]
            self.last_delta = time.monotonic()
            for event in message.get("events", []):
                self.events.append((message["tick"], event))
        return True


def viewer_url(url: str, since: int | None = None) -> str:
    """`ws://host:port/ws?status=1[&since=N]` from an http(s) or ws(s) base URL (path
    optional); `status=1` asks for the world's `status` frames."""
    out = websocket_url(url, VIEWER_PATH) + "?status=1"
    return out if since is None else f"{out}&since={since}"


async def follow(
    url: str, view: WorldView, *, max_backoff: float = 8.0
) -> AsyncIterator[WorldView]:
    """Yield `view` after every change (frames and connection state), forever."""
    failures = 0
    while True:
        try:
            async with connect(viewer_url(url, view.seq), open_timeout=5, max_size=2**24) as ws:
                failures = 0
                view.link = "open"
                view.last_delta = time.monotonic()
                if view.world is not None:
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
        view.link = "down"
        if view.server is not None:
            view.server = {**view.server, "status": "live", "reason": None}
        yield view
        delay = min(max_backoff, 0.25 * 2**failures) * random.uniform(0.75, 1.25)
        failures += 1
        await asyncio.sleep(delay)

"""The edge's defences against running out: connections per address, idle and slow headers,
browsers from other origins, and a log that a storm of accept errors cannot flood.

`EdgeLimits.from_env()` reads the operator's settings (all optional):

- `SMALLWOOD_CONNECTIONS_PER_ADDRESS` (default 64): open connections one address may hold;
  more are closed at once. Loopback is exempt unless `SMALLWOOD_LIMIT_LOOPBACK=1` (a reverse
  proxy on the same host, and the benches, connect from there).
- `SMALLWOOD_IDLE_SECONDS` (default 10): how long a connection may sit without a complete
  request: before its first one (a slow-header attack never completes one) and between
  keep-alive requests. Websockets are kept alive by their pings instead.
- `SMALLWOOD_ORIGINS`: comma-separated origins (`https://example.org`) whose pages may open
  `/ws` and `/ws/bot` beside the server's own; a request without `Origin` is not from a
  browser and is let in (bots and viewers outside browsers send none).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

log = logging.getLogger(__name__)

ACCEPT_LOG_EVERY = 60.0
"""Seconds between two log lines about failing accepts (with the count in between)."""


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    per_address: int = 64
    limit_loopback: bool = False
    idle_seconds: float = 10.0
    origins: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EdgeLimits:
        env = os.environ if env is None else env
        try:
            return cls(
                per_address=int(env.get("SMALLWOOD_CONNECTIONS_PER_ADDRESS", "64")),
                limit_loopback=env.get("SMALLWOOD_LIMIT_LOOPBACK", "") == "1",
                idle_seconds=float(env.get("SMALLWOOD_IDLE_SECONDS", "10")),
                origins=frozenset(
                    o.strip().rstrip("/").lower()
                    for o in env.get("SMALLWOOD_ORIGINS", "").split(",")
                    if o.strip()
                ),
            )
        except ValueError as exc:
            raise ValueError(f"a SMALLWOOD_* edge setting is not a number: {exc}") from None


def origin_allowed(request: web.Request, origins: frozenset[str]) -> bool:
    """Whether a websocket may open: no `Origin` (not a browser), the server's own, or listed."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    if origin in origins:
        return True
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc == request.host.lower()


class ConnectionGuard:
    """Counts connections per address on an aiohttp server and closes those over the cap."""

    def __init__(self, limits: EdgeLimits) -> None:
        self.limits = limits
        self.open: dict[str, int] = {}
        self.refused = 0
        self._peer: dict[int, str] = {}

    def install(self, runner: web.AppRunner) -> None:
        """Wrap the runner's server (after `runner.setup()`, before the site starts)."""
        server = runner.server
        assert server is not None, "call runner.setup() first"
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: Any, transport: asyncio.Transport) -> None:
            made(handler, transport)
            self.made(handler, transport)

        def connection_lost(handler: Any, exc: BaseException | None) -> None:
            self.lost(handler)
            lost(handler, exc)

        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign,assignment]

    def made(self, handler: object, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if not self.limits.limit_loopback and _loopback(address):
            return
        count = self.open.get(address, 0)
        if count >= self.limits.per_address:
            self.refused += 1
            # After the handler's first step (aiohttp asserts a live transport in it).
            asyncio.get_running_loop().call_soon(transport.abort)
            return
        self.open[address] = count + 1
        self._peer[id(handler)] = address

    def lost(self, handler: object) -> None:
        address = self._peer.pop(id(handler), None)
        if address is None:
            return
        left = self.open.get(address, 1) - 1
        if left > 0:
            self.open[address] = left
        else:
            self.open.pop(address, None)


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == ""  # a unix socket


class AcceptErrorLog:
    """A loop exception handler that reports failing accepts once a minute, not per try.

    Out of file descriptors, asyncio retries `accept()` every second and logs a traceback
    each time; under a connection flood that is megabytes a minute. Everything else goes on
    to the previous handler.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.previous = loop.get_exception_handler()
        self.count = 0
        self.last = -ACCEPT_LOG_EVERY

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if "accept" not in str(context.get("message", "")):
            if self.previous is not None:
                self.previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        self.count += 1
        now = time.monotonic()
        if now - self.last >= ACCEPT_LOG_EVERY:
            exc = context.get("exception")
            log.error(
                "cannot accept connections (%d failures in the last %.0f s): %s",
                self.count,
                min(now - self.last, ACCEPT_LOG_EVERY),
                exc if exc is not None else context.get("message"),
            )
            self.count = 0
            self.last = now


def guard(runner: web.AppRunner, limits: EdgeLimits) -> ConnectionGuard:
    """Put the edge's defences on a set-up runner; call in the loop that will serve it."""
    connections = ConnectionGuard(limits)
    connections.install(runner)
    loop = asyncio.get_running_loop()
    if not isinstance(loop.get_exception_handler(), AcceptErrorLog):
        loop.set_exception_handler(AcceptErrorLog(loop))
    return connections

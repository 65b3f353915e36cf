"""Servers on loopback for the end-to-end tests, and small websocket helpers.

Test modules import the helpers from here (`from .conftest import ...`); the fixtures are
found by pytest as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from server.bots import BotRelay
from server.clock import Clock, ClockConfig
from server.commands import PendingCommands
from server.history import History
from server.hub import Hub
from server.metrics import Metrics
from server.minds.brain import Brain, ScriptedBrain
from server.serve import ServeConfig, Server, start
from server.store import Store
from server.world import WorldState, load_scenario, new_world, world_document

ADMIN = "test-admin-token"


def config(data_dir: Path, **overrides: Any) -> ServeConfig:
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "port": 0,
        "tick": 0.1,
        "seed": 1,
        "admin_token": ADMIN,
    }
    base.update(overrides)
    return ServeConfig(**base)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    running = await start(config(tmp_path / "data"))
    try:
        yield running
    finally:
        await running.stop()


def ws_url(server: Server, path: str = "/ws") -> str:
    return server.url.replace("http://", "ws://", 1) + path


async def recv(ws: ClientConnection, timeout: float = 3.0) -> dict[str, Any]:
    frame = await asyncio.wait_for(ws.recv(), timeout)
    message: dict[str, Any] = orjson.loads(frame)
    return message


async def recv_until(
    ws: ClientConnection, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> dict[str, Any]:
    """The first message that matches, skipping the others."""

    async def look() -> dict[str, Any]:
        while True:
            message = await recv(ws, timeout)
            if match(message):
                return message

    return await asyncio.wait_for(look(), timeout)


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(orjson.dumps(message).decode())


async def bot(server: Server, **join: Any) -> tuple[ClientConnection, dict[str, Any]]:
    """A bot connection that has joined; returns it and the `joined` reply."""
    ws = await connect(ws_url(server, "/ws/bot"))
    await send(ws, {"type": "join", **join})
    reply = await recv_until(ws, lambda m: m["type"] in ("joined", "error"))
    return ws, reply


def make_clock(
    store: Store,
    state: WorldState | None = None,
    *,
    brains: dict[str, Brain] | None = None,
    period: float = 0.05,
    relay: bool = False,
) -> Clock:
    """A clock with no HTTP in front of it, for driving ticks by hand."""
    state = state or new_world(load_scenario(), 1)
    metrics = Metrics()
    scripted = ScriptedBrain(state.seed)
    commands = PendingCommands()
    hub = Hub(seq=state.tick, tick=state.tick, world=world_document(state), metrics=metrics)
    bots = (
        BotRelay(
            state, tokens={}, store=store, commands=commands, metrics=metrics, fallback=scripted
        )
        if relay
        else None
    )
    return Clock(
        state,
        store=store,
        hub=hub,
        history=History(),
        metrics=metrics,
        commands=commands,
        brains=brains if brains is not None else {"scripted": scripted},
        fallback=scripted,
        relay=bots,
        config=ClockConfig(period=period),
    )


__all__ = [
    "ADMIN",
    "bot",
    "config",
    "connect",
    "make_clock",
    "recv",
    "recv_until",
    "send",
    "ws_url",
]

"""Servers on loopback for the end-to-end tests, and small websocket helpers.

Test modules import the helpers from here (`from .conftest import ...`); the fixtures are
found by pytest as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.bots import BotRelay
from server.clock import Clock, ClockConfig
from server.commands import PendingCommands
from server.live.history import History
from server.live.hub import Hub
from server.metrics import Metrics
from server.minds.brain import Brain, ScriptedBrain
from server.serve import ServeConfig, Server, start
from server.store import Store
from server.world import WorldState, load_scenario, new_world, world_document

ADMIN = "test-admin-token"
NEWT = {"name": "Newt", "species": "newt", "produces": "berries"}
"""A newcomer's join fields."""


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


@asynccontextmanager
async def serving(data_dir: Path, **overrides: Any) -> AsyncIterator[Server]:
    """A server on loopback for the block, stopped after it."""
    running = await start(config(data_dir, **overrides))
    try:
        yield running
    finally:
        await running.stop()


async def parked(clock: Clock, timeout: float = 10.0) -> int:
    """Pause `clock` (if not yet) and wait until the tick in progress has landed, committed
    and published; returns the tick it then holds at. Waits on the clock's own word
    (`Clock.parked`), not on a guess of how long a tick takes on a loaded machine."""
    clock.pause()
    deadline = asyncio.get_running_loop().time() + timeout
    while not clock.parked:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"the clock did not park within {timeout} s")
        await asyncio.sleep(0.01)
    return clock.state.tick


async def until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Wait until `condition()` holds (an "eventually"); TimeoutError after `timeout` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(what or f"not within {timeout} s")
        await asyncio.sleep(0.01)


BOTS_IN_TIME = {"tick": 0.15, "decision_share": 0.8}
"""For bots that must answer in time even on a loaded machine: a 120 ms decision window."""


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with serving(tmp_path / "data") as running:
        yield running


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
    """A bot connection that sent its `join`; returns it and the reply (`joined` or `error`)."""
    ws = await connect(ws_url(server, "/ws/bot"))
    await send(ws, {"type": "join", **join})
    reply = await recv_until(ws, lambda m: m["type"] in ("joined", "error"))
    return ws, reply


async def in_wood(server: Server, **join: Any) -> tuple[ClientConnection, dict[str, Any]]:
    """A bot that joined and got its first turn (its creature is in the Wood)."""
    ws, joined = await bot(server, **join)
    assert joined["type"] == "joined", joined
    await recv_until(ws, is_turn)
    return ws, joined


def is_turn(message: dict[str, Any]) -> bool:
    return bool(message["type"] == "turn")


def not_turn(message: dict[str, Any]) -> bool:
    """Anything but a turn: the reply to an act (`accepted` or `error`)."""
    return not is_turn(message)


async def act_in_time(
    ws: ClientConnection, turn: dict[str, Any], tries: int = 10, **body: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Act on `turn` with `body` and return (the turn acted on, the reply). A `late` reply
    (this side held up past the deadline by a loaded machine, which the test does not test)
    means the same act on the next turn, up to `tries` turns; any other reply is returned."""
    for _ in range(tries):
        await send(ws, {"type": "act", "tick": turn["tick"], **body})
        reply = await recv_until(ws, not_turn)
        if reply.get("code") != "late":
            return turn, reply
        turn = await recv_until(ws, is_turn)
    raise AssertionError(f"every act of {tries} turns running came late")


async def closed_code(ws: ClientConnection) -> int:
    """Read until the server closes the connection; the close code it sent."""
    try:
        while True:
            await recv(ws)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code


async def admin(server: Server, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST `body` to an admin route with the admin token: the status and the JSON answer."""
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.post(server.url + path, json=body) as resp,
    ):
        return resp.status, await resp.json()


async def issue(server: Server, creature: str) -> str:
    """A new bot token for `creature`, from the admin API."""
    status, answer = await admin(server, "/api/admin/tokens", {"creature": creature})
    assert status == 201, answer
    token: str = answer["token"]
    return token


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
    "BOTS_IN_TIME",
    "NEWT",
    "admin",
    "bot",
    "closed_code",
    "config",
    "connect",
    "in_wood",
    "is_turn",
    "issue",
    "make_clock",
    "not_turn",
    "recv",
    "recv_until",
    "send",
    "serving",
    "ws_url",
]

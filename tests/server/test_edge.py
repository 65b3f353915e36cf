"""The edge under attack, on loopback: slow headers, connection floods, foreign origins,
unjoined sockets, spawn floods, and a storm of accept errors in the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server.live import http
from server.live.guard import AcceptErrorLog
from server.serve import Server, start

from .conftest import bot, config, recv, ws_url

ATTACKER = "127.0.0.2"
"""Another loopback address: the per-address cap is on it, not on the test's own client."""
IDLE_S = 4
"""The edge's idle cut here: far enough out that "closed at once" (the cap) and "served at
once" stay apart from it on a loaded machine."""


@pytest.fixture
async def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Server]:
    monkeypatch.setenv("SMALLWOOD_LIMIT_LOOPBACK", "1")
    monkeypatch.setenv("SMALLWOOD_CONNECTIONS_PER_ADDRESS", "20")
    monkeypatch.setenv("SMALLWOOD_IDLE_SECONDS", str(IDLE_S))
    monkeypatch.setenv("SMALLWOOD_ORIGINS", "https://friends.example")
    running = await start(config(tmp_path / "data", host="127.0.0.1"))
    try:
        yield running
    finally:
        await running.stop()


async def slow_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    return reader, writer


async def closed(reader: asyncio.StreamReader, within: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), within) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def test_slowloris_is_capped_and_timed_out(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    clients = await asyncio.gather(*(slow_client(server.port) for _ in range(60)))

    async def drip() -> None:
        while True:
            for _, writer in clients:
                with contextlib.suppress(ConnectionError):
                    writer.write(b"X-a: b\r\n")
            await asyncio.sleep(0.2)

    dripping = asyncio.create_task(drip())
    try:
        await asyncio.sleep(0.2)
        # Over the cap: closed at once, long before the idle cut.
        quick = await asyncio.gather(*(closed(r, IDLE_S / 2) for r, _ in clients))
        assert sum(quick) >= 40
        held = [r for (r, _), q in zip(clients, quick, strict=True) if not q]
        began = time.monotonic()
        async with aiohttp.ClientSession() as session, session.get(server.url + "/healthz") as r:
            assert r.status == 200
        # Served while the slow sockets still hold their slots (it waited for none of them).
        assert time.monotonic() - began < IDLE_S / 2
        assert held and not any(r.at_eof() for r in held)
        # The rest: never a whole request, so closed once idle for IDLE_S.
        late = await asyncio.gather(*(closed(r, IDLE_S + 6) for r, _ in clients))
        assert all(q or lt for q, lt in zip(quick, late, strict=True))
        await asyncio.sleep(0.1)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # quietly
    finally:
        dripping.cancel()
        for _, writer in clients:
            writer.close()


async def test_websockets_from_foreign_pages_are_refused(server: Server) -> None:
    for path in ("/ws", "/ws/bot"):
        with pytest.raises(InvalidStatus) as refused:
            await connect(ws_url(server, path), origin="http://evil.example")  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403
        own = f"http://127.0.0.1:{server.port}"
        for origin in (own, "https://friends.example", None):
            async with connect(ws_url(server, path), origin=origin) as ws:  # type: ignore[arg-type]
                if path == "/ws":
                    assert (await recv(ws))["type"] == "snapshot"
    async with aiohttp.ClientSession() as session, session.get(server.url + "/api/origins") as r:
        assert await r.json() == {"origins": ["https://friends.example"]}


async def test_a_bot_socket_that_never_joins_is_closed(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "JOIN_SECONDS", 0.3)
    ws = await connect(ws_url(server, "/ws/bot"))
    with pytest.raises(ConnectionClosed) as gone:
        await asyncio.wait_for(ws.recv(), 10.0)
    assert gone.value.rcvd is not None and gone.value.rcvd.code == 1008


async def test_one_address_brings_in_few_creatures(server: Server) -> None:
    codes = []
    for i in range(5):
        ws, reply = await bot(server, name=f"Flood {i}", species="gnat", produces="berries")
        codes.append(reply.get("code", reply["type"]))
        await ws.close()
    assert codes == ["joined"] * 3 + ["joining_closed"] * 2


async def test_accept_errors_are_logged_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    handler = AcceptErrorLog(loop)
    caplog.set_level(logging.ERROR)
    error = OSError(24, "Too many open files")
    for _ in range(1000):
        handler(loop, {"message": "socket.accept() out of system resource", "exception": error})
    lines = [r for r in caplog.records if "accept" in r.getMessage()]
    assert len(lines) == 1 and "Too many open files" in lines[0].getMessage()
    assert lines[0].exc_info is None  # one line, no traceback
    assert handler.count == 999

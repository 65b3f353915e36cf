"""Peers that leave at the worst moment: what the soak's error log held, as tests.

A client on the internet may reset its connection at any instant. None of that is the
server's error: it must neither log one nor stop serving the others.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct

import pytest
from websockets.asyncio.client import connect

from server.serve import Server

from .conftest import recv, until, ws_url

UPGRADE = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


async def reset_after(port: int, request: bytes) -> None:
    """Send `request` and reset the connection at once (RST, not FIN)."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.mark.parametrize("path", ["/ws", "/ws/bot"])
async def test_a_peer_gone_mid_handshake_is_counted_not_logged(
    server: Server, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.ERROR)
    for _ in range(20):
        await reset_after(server.port, UPGRADE.format(path=path).encode())
    closed = server.clock.metrics.closed
    await until(lambda: closed.get(reason="gone_in_handshake") >= 1, 10.0, "resets counted")
    await asyncio.sleep(0.3)  # the rest of the resets handled too, before the log is read
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    # The server still serves a viewer as before.
    async with connect(ws_url(server)) as ws:
        assert (await recv(ws))["type"] == "snapshot"

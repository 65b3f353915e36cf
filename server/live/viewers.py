"""The viewer websocket (`/ws`), one handler for the server and for relays.

A viewer connects (with `?since=SEQ` to resume, `?status=1` for `status` frames), gets a
snapshot or the deltas it missed from the hub, then every delta; it sends nothing. Both the
server and a relay serve it with `serve_viewer`; they differ only in the hub it attaches to,
the metrics it counts in, the hint a viewer that sends something is given, what waits before
it attaches (a relay's first snapshot) and what hears of it (the server's idle clock).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson
from aiohttp import WSMsgType, web

from shared.protocol import CloseCode, ErrorCode

from ..metrics import Metrics
from .hub import Hub
from .limits import VIEWER_FRAME_BYTES, TokenBucket

DIRECT_WRITE_BYTES = 64 * 1024
"""Past this much unsent data a viewer's frames go through its queue (and its limit)."""
HEARTBEAT = 20.0
"""Seconds between pings; a peer that does not answer (or never reads) is dropped."""


class WebSocketSink:
    """An aiohttp websocket as an outbox's sink."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None) -> None:
        self.ws = ws
        self.transport = transport
        """The connection under the websocket, for `write_now`."""

    def write_now(self, wire: bytes) -> bool:
        # Whole frames only, so this never interleaves with aiohttp's own writes (pings,
        # close), which also write each frame in one piece.
        transport = self.transport
        if (
            transport is None
            or self.ws.closed
            or transport.is_closing()
            or transport.get_write_buffer_size() > DIRECT_WRITE_BYTES
        ):
            return False
        transport.write(wire)
        return True

    async def send(self, frame: bytes) -> None:
        if self.ws.closed:
            raise ConnectionResetError("websocket closed")
        await self.ws.send_frame(frame, WSMsgType.TEXT)

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, message=reason.encode())


async def finish_writer(writer: asyncio.Task[None]) -> None:
    """Let a writer that is closing the socket finish; stop one stuck on a dead peer."""
    if not writer.done():
        try:
            await asyncio.wait_for(asyncio.shield(writer), 1.0)
        except TimeoutError:
            writer.cancel()


def since_of(request: web.Request) -> int | None:
    """The seq a viewer resumes after (`?since=`), or None for a snapshot first."""
    given = request.query.get("since", "")
    if given.isascii() and given.lstrip("-").isdigit() and len(given) < 20:
        return int(given)
    return None


async def upgrade(ws: web.WebSocketResponse, request: web.Request, metrics: Metrics) -> bool:
    """Answer the websocket handshake; False when the peer is already gone (a client may
    leave at any moment, mid-handshake too: that is counted, not logged as an error)."""
    try:
        await ws.prepare(request)
    except ConnectionResetError:
        metrics.closed.inc(reason="gone_in_handshake")
        return False
    return True


async def serve_viewer(
    request: web.Request,
    *,
    hub: Hub,
    metrics: Metrics,
    hint: str,
    ready: asyncio.Event | None = None,
    on_attach: Callable[[], None] | None = None,
) -> web.StreamResponse:
    """Serve one viewer until it leaves. `hint` ends the error a viewer gets for sending a
    frame; `ready` is awaited after the handshake, before the viewer attaches; `on_attach`
    hears of each viewer as it attaches."""
    since = since_of(request)
    ws = web.WebSocketResponse(compress=False, max_msg_size=VIEWER_FRAME_BYTES, heartbeat=HEARTBEAT)
    if not await upgrade(ws, request, metrics):
        return web.Response(status=400)  # nobody reads it: aiohttp only logs the access
    if ready is not None:
        await ready.wait()
    status = request.query.get("status") == "1"  # opt in to `status` frames
    viewer = hub.attach(WebSocketSink(ws, request.transport), since, status=status)
    if on_attach is not None:
        on_attach()
    writer = asyncio.create_task(viewer.run())
    bucket = TokenBucket(5.0, 20.0)
    refusal = orjson.dumps(
        {
            "type": "error",
            "code": ErrorCode.NOT_EXPECTED.value,
            "message": f"viewers send nothing on /ws; {hint}",
        }
    )
    try:
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            if not bucket.take():
                metrics.closed.inc(reason="flood")
                await ws.close(code=CloseCode.POLICY, message=b"flood: too many frames")
                break
            metrics.refused.inc(code=ErrorCode.NOT_EXPECTED.value)
            viewer.put(refusal)
    finally:
        hub.detach(viewer)
        await finish_writer(writer)
    return ws

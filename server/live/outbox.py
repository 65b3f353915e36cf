"""One connection's outgoing frames: a bounded queue and the one task that writes it.

Whoever produces frames (the clock publishing a delta, the relay sending a turn) only puts
them here and never waits; the writer task alone waits on the socket. A reader too slow to
keep up overflows its own queue and loses its own backlog, and no one else notices.

The fast path: a frame that comes with its wire bytes (the whole websocket frame, header
included, built once for every viewer by the hub) is written straight to the socket's
buffer when nothing is queued ahead of it and the buffer is nearly empty, so a tick's
fan-out to thousands of viewers costs one buffer append each, with no task switch. Anything
else, and every frame once a reader lags, goes through the queue and the writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

from ..metrics import Metrics

log = logging.getLogger(__name__)

NO_SEQ = -1
"""The sequence number of a frame outside the delta stream (errors, turns)."""
TEXT_FIN = 0x81
"""First byte of a final, unfragmented text frame."""


def text_frame(payload: bytes) -> bytes:
    """`payload` as one whole server-to-client websocket text frame (RFC 6455, unmasked)."""
    n = len(payload)
    if n < 126:
        head = bytes((TEXT_FIN, n))
    elif n < 65536:
        head = bytes((TEXT_FIN, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((TEXT_FIN, 127)) + n.to_bytes(8, "big")
    return head + payload


class Sink(Protocol):
    """The socket side of a connection (aiohttp's in the server, fakes in tests)."""

    async def send(self, frame: bytes) -> None:
        """Send one text frame; raise `ConnectionError` once the peer is gone."""
        ...

    async def close(self, code: int, reason: str) -> None: ...

    def write_now(self, wire: bytes) -> bool:
        """Append a whole websocket frame to the socket's buffer if that cannot block;
        False (nothing written) when the buffer is full or the connection is closing."""
        ...


class Outbox:
    """A bounded queue of encoded frames and the writer that drains it.

    With `resync`, the first frame written is a snapshot (`resync()` gives its seq and bytes;
    unless `resync_first` is false), and an overflow drops the backlog so that the next frame
    written is a fresh snapshot; queued deltas a snapshot already covers are skipped. With
    `overflow_close` (a close code and reason) instead, an overflow drops the backlog and
    closes the connection with it, so the peer learns it lost frames. With neither, an
    overflow just drops the backlog.
    """

    def __init__(
        self,
        sink: Sink,
        *,
        limit: int,
        metrics: Metrics,
        resync: Callable[[], tuple[int, bytes]] | None = None,
        resync_first: bool = True,
        overflow_close: tuple[int, str] | None = None,
    ) -> None:
        self.sink = sink
        self.limit = limit
        self.metrics = metrics
        self.resync = resync
        self.overflow_close = overflow_close
        self.queue: deque[tuple[int, bytes]] = deque()
        self.want_resync = resync is not None and resync_first
        self.closed = False
        self.dropped = 0
        self._waiter: asyncio.Future[None] | None = None
        """Set while the writer sleeps on an empty queue; resolved to wake it."""
        self._close: tuple[int, str] | None = None

    def put(self, frame: bytes, seq: int = NO_SEQ, wire: bytes | None = None) -> None:
        """Send or queue a frame without waiting; on overflow drop the backlog (see the class).

        `wire` is `text_frame(frame)`, for the fast path (see the module).
        """
        if self.closed or self._close is not None:
            return
        queue = self.queue
        # The writer sleeping on an empty queue means nothing is ahead of this frame.
        idle = self._waiter is not None and not queue and not self.want_resync
        if wire is not None and idle and self.sink.write_now(wire):
            self.metrics.bytes_out.inc(len(frame))
            return
        if len(queue) >= self.limit:
            queue.clear()
            self.dropped += 1
            self.metrics.dropped.inc()
            if self.resync is not None:
                self.want_resync = True
                self._wake()
                return
            if self.overflow_close is not None:
                self.close_after_flush(*self.overflow_close)
                return
        queue.append((seq, frame))
        if self._waiter is not None:
            self._wake()

    def resync_soon(self) -> None:
        """Drop the backlog and make the next frame written a fresh snapshot (a relay that
        resynced from Redis after a gap)."""
        if self.resync is not None:
            self.queue.clear()
            self.want_resync = True
            self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close_after_flush(self, code: int, reason: str) -> None:
        """Write what is queued, then close the connection with `code`."""
        if self._close is None:
            self._close = (code, reason)
            self._wake()

    def stop(self) -> None:
        """Stop writing now (the connection is gone)."""
        self.closed = True
        self._wake()

    async def run(self) -> None:
        """The writer task: runs until the connection closes or `stop()` is called."""
        try:
            await self._run()
        except (ConnectionError, RuntimeError) as exc:
            log.debug("writer stopped: %r", exc)
        finally:
            self.closed = True
            self.queue.clear()

    async def _run(self) -> None:
        sink = self.sink
        queue = self.queue
        while not self.closed:
            if self.want_resync and self.resync is not None:
                self.want_resync = False
                seq, frame = self.resync()
                if any(NO_SEQ < s <= seq for s, _ in queue):
                    # Deltas the snapshot already holds; errors and later deltas stay.
                    kept = [(s, f) for s, f in queue if not NO_SEQ < s <= seq]
                    queue.clear()
                    queue.extend(kept)
                await sink.send(frame)
                self.metrics.bytes_out.inc(len(frame))
                continue
            if queue:
                _, frame = queue.popleft()
                await sink.send(frame)
                self.metrics.bytes_out.inc(len(frame))
                continue
            if self._close is not None:
                code, reason = self._close
                self.closed = True
                await sink.close(code, reason)
                return
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter

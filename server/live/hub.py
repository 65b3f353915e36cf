"""Viewer fan-out: every delta encoded once and handed to every viewer without waiting.

The hub keeps the current world document (for snapshots, encoded at most once per seq) and a
ring of recent deltas so a viewer that reconnects with `since` picks up where it left off.
A viewer that falls behind loses only its own backlog and gets a fresh snapshot.

Each server start opens a new range of the seq space (`run_seq`): a `since` from an earlier
run is below every seq this run issues, so it gets a snapshot, never deltas that would
leave out what changed across the restart (bots dropped, a half-written tick).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

from ..metrics import Metrics
from .outbox import Outbox, Sink, text_frame

RUN_SPAN = 2**32
"""Seqs one server run may issue; run `n` starts at `n * RUN_SPAN` (exact in a JS number for
2**21 restarts)."""


def run_seq(run: int) -> int:
    """The first seq of a server's `run`-th start on a data dir (0 for the first)."""
    return run * RUN_SPAN


class Hub:
    def __init__(
        self,
        *,
        seq: int,
        tick: int,
        world: dict[str, Any],
        metrics: Metrics,
        queue_limit: int = 64,
        ring_size: int = 512,
    ) -> None:
        self.seq = seq
        self.tick = tick
        self.world = world
        self.metrics = metrics
        self.queue_limit = queue_limit
        self.ring: deque[tuple[int, bytes]] = deque(maxlen=ring_size)
        self.viewers: set[Outbox] = set()
        self._snapshot: tuple[int, bytes] | None = None
        self.status: bytes | None = None
        """The last `status` frame announced; a new viewer that asks gets it after its first."""
        self.status_viewers: set[Outbox] = set()
        """Viewers that asked for `status` frames (`/ws?status=1`)."""
        self.taps: list[Callable[[int, bytes], None]] = []
        """Called with each delta's seq and frame as it is published (the Redis publisher);
        a tap must never wait."""

    def publish(
        self, tick: int, patch: dict[str, Any], events: list[dict[str, Any]], world: dict[str, Any]
    ) -> int:
        """Send one tick's delta to every viewer; returns its seq. Never waits."""
        self.seq += 1
        self.tick = tick
        self.world = world
        frame = orjson.dumps(
            {"type": "delta", "seq": self.seq, "tick": tick, "patch": patch, "events": events}
        )
        self.ring.append((self.seq, frame))
        seq = self.seq
        wire = text_frame(frame)  # framed once: most viewers take these very bytes
        for viewer in self.viewers:
            viewer.put(frame, seq, wire)
        for tap in self.taps:
            tap(seq, frame)
        self.metrics.deltas.inc()
        return seq

    def announce(self, message: dict[str, Any]) -> None:
        """Send a frame outside the delta stream (no seq: the world's status) to the viewers
        that asked for it."""
        self.status = orjson.dumps(message)
        for viewer in self.status_viewers:
            viewer.put(self.status)

    def snapshot(self) -> tuple[int, bytes]:
        """The current snapshot frame and its seq, encoded once per seq."""
        if self._snapshot is None or self._snapshot[0] != self.seq:
            frame = orjson.dumps(
                {"type": "snapshot", "seq": self.seq, "tick": self.tick, "world": self.world}
            )
            self._snapshot = (self.seq, frame)
        return self._snapshot

    def attach(self, sink: Sink, since: int | None = None, *, status: bool = False) -> Outbox:
        """A new viewer: a snapshot first, or the deltas after `since` while the ring has them.

        The caller runs the returned outbox's `run()` and calls `detach` when it ends.
        """
        backlog = self.deltas_after(since) if since is not None else None
        resume = backlog is not None and len(backlog) < self.queue_limit
        viewer = Outbox(
            sink,
            limit=self.queue_limit,
            metrics=self.metrics,
            resync=self.snapshot,
            resync_first=not resume,
        )
        if resume and backlog is not None:
            for seq, frame in backlog:
                viewer.put(frame, seq)
        if status:
            self.status_viewers.add(viewer)
            if self.status is not None:
                viewer.put(self.status)
        self.viewers.add(viewer)
        self.metrics.viewers.set(len(self.viewers))
        return viewer

    def detach(self, viewer: Outbox) -> None:
        viewer.stop()
        self.viewers.discard(viewer)
        self.status_viewers.discard(viewer)
        self.metrics.viewers.set(len(self.viewers))

    def deltas_after(self, since: int) -> list[tuple[int, bytes]] | None:
        """The deltas a viewer holding `since` needs, or None when they cannot be proven
        complete (too old for the ring, from an earlier run, or not issued yet)."""
        if since == self.seq:
            return []
        if not self.ring or since > self.seq or since < self.ring[0][0] - 1:
            return None
        start = since + 1 - self.ring[0][0]
        return [self.ring[i] for i in range(start, len(self.ring))]

    def close_all(self, code: int, reason: str) -> None:
        for viewer in self.viewers:
            viewer.close_after_flush(code, reason)

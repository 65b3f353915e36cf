"""The server's side of the relays: each tick's delta frame into a Redis Stream, off the tick path.

What Redis holds (under a key prefix, `smallwood` by default; `--redis-prefix` on both sides
lets several worlds share one Redis):

- `{prefix}:deltas`, a stream: one entry per delta, its id `SEQ-0` (the world's seq), fields
  `f` (the frame, the very bytes the server's own viewers get), `e` (the publisher's epoch,
  new on every start of the server) and `t` (unix time the tick published it). Bounded by
  `MAXLEN ~`.
- `{prefix}:snapshot`, a hash: `seq`, `epoch` and `frame` (a snapshot frame at `seq`), written
  on every (re)connection, after any gap, and every `snapshot_every` deltas; and `status`, the
  last `status` frame the server announced (paused, idle, live...), within a second of it;
  and `history`, the last `HISTORY_KEEP` chart points up to `seq` (relays add their own after);
  and `server`, the URL players and bots reach the world's server at (relays send `/play` and
  `/ws/bot` there).
- `{prefix}:relays`, a set of relay ids, and `{prefix}:relay:{id}`, each relay's viewer count,
  rewritten every `BEAT_S` with a TTL of `AUDIENCE_TTL_MS` (Redis's own clock, so a relay that
  dies without a word drops out by itself): the server sums them every `BEAT_S`, forgets the ids
  whose count expired, and counts those viewers as the world's audience (`on_audience`: while
  any relay has a viewer, an idling world stays awake).

The invariant relays rely on: a delta that follows a gap in the stream is only ever written
after a snapshot that covers the gap, so a relay that sees a gap (or another epoch) and reads
the snapshot again is whole.

The hub calls `tap` inside its publish, which only appends to a bounded buffer: the clock never
waits on Redis. One task drains the buffer in pipelined transactions. While Redis is away the
buffer keeps the latest deltas; if it overflows, they are dropped and a snapshot is written
first when Redis returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.typing import EncodableT, FieldT

    from .live.history import History
    from .live.hub import Hub

log = logging.getLogger(__name__)

PREFIX = "smallwood"
MAXLEN = 10_000
"""Deltas the stream keeps (about; trimmed with `~`): a relay or viewer behind by more resyncs."""
BUFFER = 2_048
"""Deltas held while Redis is slow or away; past that they are dropped for a snapshot."""
SNAPSHOT_EVERY = 50
HISTORY_KEEP = 2_000
"""Chart points written with each snapshot (the web viewer asks for 300)."""
BATCH = 256
RETRY_S = (0.1, 0.2, 0.5, 1.0, 2.0)
BEAT_S = 1.0
"""How often relays write their viewer count, and the server reads the counts."""
AUDIENCE_TTL_MS = 10_000
"""A relay's count lives this long unless rewritten (ten beats)."""


PREFIX_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
"""What a `--redis-prefix` may be: one world's keys, apart from another's on the same Redis."""


def prefix_problem(prefix: str) -> str:
    """Why `prefix` cannot be a key prefix, or "" when it can."""
    if PREFIX_PATTERN.fullmatch(prefix):
        return ""
    return f"--redis-prefix {prefix!r}: use 1 to 64 of A-Z a-z 0-9 _ . : -"


def url_problem(url: str) -> str:
    """Why `url` cannot be announced as the server's public URL, or "" when it can."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("http", "https") and sep and rest and not any(c.isspace() for c in url):
        return ""
    return f"{url!r} is not an http:// or https:// URL"


def stream_key(prefix: str) -> str:
    return f"{prefix}:deltas"


def snapshot_key(prefix: str) -> str:
    return f"{prefix}:snapshot"


def relays_key(prefix: str) -> str:
    return f"{prefix}:relays"


def audience_key(prefix: str, relay_id: str) -> str:
    return f"{prefix}:relay:{relay_id}"


def connect(url: str) -> Redis:
    """A client with short timeouts, so a dead Redis is noticed in seconds, not minutes."""
    from redis.asyncio import Redis  # noqa: PLC0415 - an optional extra (`relay`)

    return Redis.from_url(
        url, socket_timeout=5.0, socket_connect_timeout=2.0, health_check_interval=10
    )


class RedisPublisher:
    """Publishes a hub's deltas and snapshots to Redis; `run()` is its task."""

    def __init__(
        self,
        url: str,
        hub: Hub,
        *,
        prefix: str = PREFIX,
        maxlen: int = MAXLEN,
        buffer: int = BUFFER,
        snapshot_every: int = SNAPSHOT_EVERY,
        history: History | None = None,
        on_audience: Callable[[], None] | None = None,
    ) -> None:
        """`on_audience` is called (at most every `BEAT_S`) while viewers watch on relays."""
        self.url = url
        self.hub = hub
        self.history = history
        self.on_audience = on_audience
        self.server_url = ""
        """The server's public URL, announced to relays with each snapshot (set before start)."""
        self.prefix = prefix
        self.stream = stream_key(prefix)
        self.snapshot = snapshot_key(prefix)
        self.maxlen = maxlen
        self.limit = buffer
        self.snapshot_every = snapshot_every
        self.epoch = secrets.token_hex(8)
        self.buffer: deque[tuple[int, bytes, float]] = deque()
        self.need_snapshot = True
        self.fresh = True
        """No snapshot written by this epoch yet: the stream is emptied first (another
        epoch's entries, maybe with higher ids, must not stay in front of ours)."""
        self.snapshot_seq = -1
        self.connected = False
        self.published = 0
        self.published_seq = -1
        self.dropped = 0
        self.snapshots = 0
        self.reconnects = 0
        self.last_error = ""
        self.status_sent: bytes | None = None
        self.relays = 0
        self.relay_viewers = 0
        """Relays alive and their viewers, as last counted (0 while Redis is away: unheard)."""
        self._counted_at = -BEAT_S
        self._wake = asyncio.Event()
        self._stopping = False
        self.task: asyncio.Task[None] | None = None

    # On the tick path: never waits.

    def tap(self, seq: int, frame: bytes) -> None:
        if len(self.buffer) >= self.limit:
            self.dropped += len(self.buffer)
            self.buffer.clear()
            self.need_snapshot = True
        self.buffer.append((seq, frame, time.time()))
        self._wake.set()

    # Off the tick path.

    def start(self) -> None:
        self.hub.taps.append(self.tap)
        self.task = asyncio.create_task(self.run())

    async def aclose(self) -> None:
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(ValueError):
            self.hub.taps.remove(self.tap)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    async def run(self) -> None:
        from redis.exceptions import RedisError  # noqa: PLC0415

        failures = 0
        while not self._stopping:
            client = connect(self.url)
            try:
                await client.ping()
                if not self.connected:
                    log.info("redis publisher: connected to %s", self.url)
                self.connected = True
                self.need_snapshot = True  # Redis may have restarted empty
                self.status_sent = None
                failures = 0
                while not self._stopping:
                    await self._flush(client)
                    status = self.hub.status
                    if status is not None and status != self.status_sent:
                        await client.hset(self.snapshot, "status", status)
                        self.status_sent = status
                    await self._count_audience(client)
                    try:
                        await asyncio.wait_for(self._wake.wait(), 1.0)
                    except TimeoutError:
                        await client.ping()  # notice a dead Redis while the world is paused
                    self._wake.clear()
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.warning("redis publisher: lost %s: %r", self.url, exc)
                    self.reconnects += 1
                self.connected = False
                self.need_snapshot = True
                self.last_error = repr(exc)
                self.relays = self.relay_viewers = 0
                await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S) - 1)])
                failures += 1
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _flush(self, client: Redis) -> None:
        from redis.exceptions import ResponseError  # noqa: PLC0415

        while self.buffer or self.need_snapshot:
            pipe = client.pipeline(transaction=True)
            items = [self.buffer[i] for i in range(min(BATCH, len(self.buffer)))]
            if self.fresh:
                pipe.delete(self.stream)
            for seq, frame, at in items:
                pipe.xadd(
                    self.stream,
                    {"f": frame, "e": self.epoch, "t": repr(at)},
                    id=f"{seq}-0",
                    maxlen=self.maxlen,
                    approximate=True,
                )
            snap: tuple[int, bytes] | None = None
            whole = len(items) == len(self.buffer)  # then the hub's seq is the last item's
            last = items[-1][0] if items else self.hub.seq
            if whole and (self.need_snapshot or last - self.snapshot_seq >= self.snapshot_every):
                snap = self.hub.snapshot()
                fields: dict[FieldT, EncodableT] = {
                    "seq": snap[0],
                    "epoch": self.epoch,
                    "frame": snap[1],
                }
                if self.server_url:
                    fields["server"] = self.server_url
                if self.history is not None:
                    points = list(self.history.points)[-HISTORY_KEEP:]
                    fields["history"] = orjson.dumps(points)
                pipe.hset(self.snapshot, mapping=fields)
            elif self.need_snapshot and not whole:
                pass  # the rest of the buffer first; the snapshot comes with its last batch
            try:
                await pipe.execute()
            except ResponseError as exc:
                # An id at or below the stream's top (another server wrote it, or a reply
                # we never saw): start over from a snapshot in an emptied stream.
                log.warning("redis publisher: %r; rewriting the stream from a snapshot", exc)
                self.last_error = repr(exc)
                self.dropped += len(self.buffer)
                self.buffer.clear()
                self.fresh = True
                self.need_snapshot = True
                continue
            for _ in items:
                self.buffer.popleft()
            self.fresh = False
            self.published += len(items)
            if items:
                self.published_seq = items[-1][0]
            if snap is not None:
                self.snapshot_seq = snap[0]
                self.snapshots += 1
                self.need_snapshot = False

    async def _count_audience(self, client: Redis) -> None:
        now = time.monotonic()
        if now - self._counted_at < BEAT_S:
            return
        self._counted_at = now
        ids: list[Any] = sorted(await client.smembers(relays_key(self.prefix)))
        counts: list[Any] = (
            await client.mget([audience_key(self.prefix, i.decode()) for i in ids]) if ids else []
        )
        gone = [i for i, count in zip(ids, counts, strict=True) if count is None]
        if gone:
            await client.srem(relays_key(self.prefix), *gone)
        alive = [int(count) for count in counts if count is not None]
        self.relays, self.relay_viewers = len(alive), sum(alive)
        if self.relay_viewers and self.on_audience is not None:
            self.on_audience()

    # Reporting.

    def health(self) -> dict[str, Any]:
        """The `redis` section of `/healthz`; its `problem` (empty when all is well) makes
        the server's `ok` false while Redis is away."""
        problem = ""
        if not self.connected:
            why = self.last_error or "not reached yet"
            problem = (
                f"redis at {redacted(self.url)} unreachable ({why}): the world ticks on, "
                f"relays get nothing new; {len(self.buffer)} deltas buffered"
            )
        return {
            "problem": problem,
            "url": redacted(self.url),
            "connected": self.connected,
            "published_seq": self.published_seq,
            "buffered": len(self.buffer),
            "dropped": self.dropped,
            "relays": self.relays,
            "relay_viewers": self.relay_viewers,
            "last_error": self.last_error if not self.connected else "",
        }

    def collect(self) -> Iterator[Metric]:
        """A `prometheus_client` collector (registered on the server's `Metrics.registry`)."""
        up = GaugeMetricFamily("smallwood_redis_connected", "1 while the publisher reaches Redis.")
        up.add_metric([], 1.0 if self.connected else 0.0)
        yield up
        buffered = GaugeMetricFamily(
            "smallwood_redis_buffered", "Deltas waiting for Redis (bounded)."
        )
        buffered.add_metric([], float(len(self.buffer)))
        yield buffered
        relayed = GaugeMetricFamily(
            "smallwood_redis_relay_viewers", "Viewers on relays, as they last reported."
        )
        relayed.add_metric([], float(self.relay_viewers))
        yield relayed
        for name, help_, value in (
            ("smallwood_redis_published_total", "Deltas written to the stream.", self.published),
            ("smallwood_redis_dropped_total", "Deltas dropped (buffer full).", self.dropped),
            ("smallwood_redis_snapshots_total", "Snapshots written to Redis.", self.snapshots),
            ("smallwood_redis_reconnects_total", "Connections to Redis lost.", self.reconnects),
        ):
            counter = CounterMetricFamily(name, help_)
            counter.add_metric([], float(value))
            yield counter


def redacted(url: str) -> str:
    """The URL without a password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + rest

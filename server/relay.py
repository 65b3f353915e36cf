"""`smallwood relay`: the viewer side of protocol v1, fed from Redis instead of a clock.

A relay holds no state of its own worth keeping: it reads the snapshot the server keeps in
Redis, follows the delta stream (see `server.redis_publish`), and serves `/ws` (snapshot, then
deltas, `since` resume in the world's seq), `/api/snapshot`, `/api/history`, `/api/schema`,
`/healthz` and `/metrics`, and the viewer and overlay pages, as the server does. Its viewers get
the server's very delta frames. `/play` and `/ws/bot` are the server's: a relay redirects them
to the URL the server announces. Any number of relays may run anywhere; each reconnects to
Redis by itself, resyncs from the snapshot after a gap, another epoch (the server restarted)
or a Redis restart, and reports its viewer count for the server's idle clock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from clients.web import ASSETS_DIR, PAGES, page_handler
from shared import merge_patch
from shared.protocol import CloseCode, protocol_schema

from .live.guard import EdgeLimits, guard
from .live.history import History, history_point
from .live.http import LIMITS, METRICS, allowed_origins, foreign, page_query
from .live.hub import Hub
from .live.viewers import serve_viewer
from .metrics import Metrics
from .redis_publish import (
    AUDIENCE_TTL_MS,
    BEAT_S,
    PREFIX,
    RETRY_S,
    audience_key,
    connect,
    prefix_problem,
    redacted,
    relays_key,
    snapshot_key,
    stream_key,
    url_problem,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

BLOCK_MS = 1000
"""How long one XREAD waits for the next delta before the relay checks the epoch."""
BATCH = 512
HISTORY_POINTS = 10_000


class RelayHub(Hub):
    """A hub fed with frames already encoded (by the server) instead of patches."""

    def feed(self, seq: int, tick: int, frame: bytes, patch: dict[str, Any]) -> None:
        """One delta from the stream, in order, to every viewer. Never waits."""
        self.seq = seq
        self.tick = tick
        self.world = merge_patch.apply(self.world, patch)
        self.ring.append((seq, frame))
        self.fan_out(seq, frame)
        self.metrics.deltas.inc()

    def fan_out(self, seq: int, frame: bytes) -> None:
        from .live.outbox import text_frame  # noqa: PLC0415

        wire = text_frame(frame)
        for viewer in self.viewers:
            viewer.put(frame, seq, wire)

    def reset(self, seq: int, tick: int, world: dict[str, Any], frame: bytes) -> None:
        """A snapshot from Redis replaces the world; every viewer gets it next."""
        self.seq = seq
        self.tick = tick
        self.world = world
        self.ring.clear()
        self._snapshot = (seq, frame)
        for viewer in self.viewers:
            viewer.resync_soon()


class Relay:
    """Follows one world's stream in Redis into a `RelayHub`; `run()` is its task."""

    def __init__(self, url: str, *, prefix: str = PREFIX, server_url: str = "") -> None:
        """`server_url`: where `/play` and `/ws/bot` send people; "" takes the URL the
        server announces in Redis."""
        self.url = url
        self.fixed_server_url = server_url.rstrip("/")
        self.server_url = self.fixed_server_url
        self.stream = stream_key(prefix)
        self.snapshot = snapshot_key(prefix)
        self.id = secrets.token_hex(8)
        self.relays = relays_key(prefix)
        self.audience = audience_key(prefix, self.id)
        """Where this relay tells the server how many viewers it has (every `BEAT_S`)."""
        self._beat_at = -BEAT_S
        self.metrics = Metrics()
        self.hub = RelayHub(seq=-1, tick=0, world={}, metrics=self.metrics)
        self.history = History(HISTORY_POINTS)
        self.epoch = b""
        self.ready = asyncio.Event()
        """Set once the relay holds a snapshot (before that, `/ws` and `/api/snapshot` wait)."""
        self.connected = False
        self.resyncs = 0
        self.gaps = 0
        self.reconnects = 0
        self.last_lag_s = 0.0
        self.last_delta_at = 0.0
        self.stream_top = -1
        self.last_error = ""
        self.metrics.registry.register(self)
        self._client: Redis | None = None

    async def run(self) -> None:
        from redis.exceptions import RedisError  # noqa: PLC0415

        failures = 0
        while True:
            client = connect(self.url)
            self._client = client
            try:
                await client.ping()
                self.connected = True
                failures = 0
                await self._follow(client)
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.warning("relay: lost %s: %r", self.url, exc)
                    self.reconnects += 1
                self.connected = False
                self.last_error = repr(exc)
                await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S) - 1)])
                failures += 1
            finally:
                self._client = None
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _follow(self, client: Redis) -> None:
        # After a reconnection, carry on from our seq when the stream still continues it;
        # a gap or another epoch sends us to the snapshot.
        if not self.ready.is_set():
            await self._resync(client, after=-1)
        while True:
            await self._beat(client)
            reply: Any = await client.xread(
                {self.stream: f"{max(self.hub.seq, 0)}-0"}, BATCH, BLOCK_MS
            )
            if not reply:
                got: list[Any] = await client.hmget(self.snapshot, ["epoch", "status", "server"])
                now_epoch, status, server = got
                self._status(status)
                self._server(server)
                if now_epoch is not None and now_epoch != self.epoch:
                    await self._resync(client, after=-1)
                continue
            for raw_id, fields in reply[0][1]:
                seq = int(raw_id.split(b"-", 1)[0])
                if fields.get(b"e") != self.epoch:
                    await self._resync(client, after=-1)
                    break
                if seq <= self.hub.seq:
                    continue
                if seq != self.hub.seq + 1:
                    self.gaps += 1
                    await self._resync(client, after=seq - 1)
                    break
                frame = fields[b"f"]
                delta = orjson.loads(frame)
                self.hub.feed(seq, delta["tick"], frame, delta["patch"])
                self.history.add(delta["tick"], history_point(self.hub.world))
                now = time.time()
                self.last_delta_at = now
                self.last_lag_s = max(0.0, now - float(fields.get(b"t", now)))
            self._status(await client.hget(self.snapshot, "status"))

    def _status(self, frame: Any) -> None:
        """The server's last `status` frame, to the viewers that asked (`/ws?status=1`)."""
        if frame is not None and frame != self.hub.status:
            self.hub.announce(orjson.loads(frame))

    def _server(self, announced: bytes | None) -> None:
        """The server's URL as it announces it, unless `--server-url` fixed ours."""
        if announced is not None and not self.fixed_server_url:
            self.server_url = announced.decode()

    async def _resync(self, client: Redis, *, after: int) -> None:
        """Take the snapshot in Redis once it covers seq `after` (waits for the publisher)."""
        while True:
            got: list[Any] = await client.hmget(
                self.snapshot, ["seq", "epoch", "frame", "history", "server"]
            )
            self._server(got[4])
            if None not in got[:3]:
                seq, epoch, frame, points = int(got[0]), got[1], got[2], got[3]
                if seq >= after or epoch != self.epoch:
                    break
            await self._beat(client)
            await asyncio.sleep(0.05)
        if epoch == self.epoch and seq <= self.hub.seq:
            return  # what we hold is newer: carry on from it
        if epoch != self.epoch and self.epoch:
            # The server restarted: seqs may repeat, so no viewer's `since` is trusted.
            self.hub.close_all(CloseCode.GOING_AWAY, "the world's server restarted")
        snap = orjson.loads(frame)
        self.epoch = epoch
        self.hub.reset(seq, snap["tick"], snap["world"], frame)
        self.history.points.clear()
        for tick, point in orjson.loads(points) if points else []:
            self.history.add(tick, point)
        self.resyncs += 1
        self.ready.set()
        log.info("relay: snapshot at seq %d", seq)

    async def _beat(self, client: Redis) -> None:
        """Our viewer count, for the server's idle clock (see `server.redis_publish`)."""
        now = time.monotonic()
        if now - self._beat_at < BEAT_S:
            return
        self._beat_at = now
        pipe = client.pipeline(transaction=False)
        pipe.set(self.audience, len(self.hub.viewers), px=AUDIENCE_TTL_MS)
        pipe.sadd(self.relays, self.id)
        await pipe.execute()

    async def leave(self) -> None:
        """Take our viewer count out of Redis at once (on shutdown, once `run` has stopped, so
        no beat of it can land after; best effort, on a connection of its own)."""
        if not self.connected:
            return
        client = connect(self.url)
        with contextlib.suppress(Exception):
            pipe = client.pipeline(transaction=False)
            pipe.delete(self.audience)
            pipe.srem(self.relays, self.id)
            await asyncio.wait_for(pipe.execute(), 1.0)
        with contextlib.suppress(Exception):
            await client.aclose()

    async def top(self) -> int:
        """The stream's last seq, or -1 (Redis away)."""
        client = self._client
        if client is None or not self.connected:
            return -1
        try:
            entries: Any = await asyncio.wait_for(client.xrevrange(self.stream, count=1), 1.0)
        except Exception:
            return -1
        if entries:
            self.stream_top = int(entries[0][0].split(b"-", 1)[0])
        return self.stream_top

    def collect(self) -> Iterator[Metric]:
        for name, help_, value in (
            ("smallwood_relay_connected", "1 while the relay reaches Redis.", self.connected),
            ("smallwood_relay_seq", "The last seq the relay holds.", self.hub.seq),
            ("smallwood_relay_lag_seconds", "Tick published to relay, s.", self.last_lag_s),
        ):
            gauge = GaugeMetricFamily(name, help_)
            gauge.add_metric([], float(value))
            yield gauge
        for name, help_, value in (
            ("smallwood_relay_resyncs_total", "Snapshots taken from Redis.", self.resyncs),
            ("smallwood_relay_gaps_total", "Gaps seen in the stream.", self.gaps),
            ("smallwood_relay_reconnects_total", "Connections to Redis lost.", self.reconnects),
        ):
            counter = CounterMetricFamily(name, help_)
            counter.add_metric([], float(value))
            yield counter


RELAY = web.AppKey("redis_relay", Relay)
SCHEMA = web.AppKey("relay_schema", bytes)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(relay: Relay, limits: EdgeLimits | None = None) -> web.Application:
    """The relay's pages and viewer stream, behind the same edge as the server's (`limits`,
    default from the `SMALLWOOD_*` environment: origins, per-address caps, idle sockets)."""
    app = web.Application()
    app[RELAY] = relay
    app[LIMITS] = limits if limits is not None else EdgeLimits.from_env()
    app[METRICS] = relay.metrics
    app[SCHEMA] = orjson.dumps(protocol_schema(), option=orjson.OPT_INDENT_2)
    for route, page in PAGES.items():  # `/play` is the server's: see `to_server`
        if route != "/play":
            app.router.add_get(route, page_handler(page))
    app.router.add_static("/assets/", ASSETS_DIR, append_version=False)
    app.router.add_get("/ws", viewer_socket)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_text)
    app.router.add_get("/api/snapshot", snapshot)
    app.router.add_get("/api/history", history_series)
    app.router.add_get("/api/schema", schema)
    app.router.add_get("/api/origins", allowed_origins)
    # Players and bots act on the world's server itself; a relay only shows them the way.
    app.router.add_get("/play", to_server("/play"))
    app.router.add_get("/ws/bot", to_server("/ws/bot"))
    return app


def to_server(path: str) -> Handler:
    """A 307 to `path` on the world's server (its query kept; a browser keeps the fragment,
    `#token=`, by itself), or a 503 until the server has announced its URL."""

    async def handler(request: web.Request) -> web.StreamResponse:
        base = request.app[RELAY].server_url
        if not base:
            return web.Response(
                status=503,
                body=orjson.dumps({"error": "the world's server has not announced its URL yet"}),
                content_type="application/json",
                headers={"Retry-After": "1"},
            )
        if path.startswith("/ws"):
            base = "ws" + base[4:] if base.startswith("http") else base
        query = f"?{request.query_string}" if request.query_string else ""
        raise web.HTTPTemporaryRedirect(base + path + query)

    return handler


async def schema(request: web.Request) -> web.StreamResponse:
    return web.Response(body=request.app[SCHEMA], content_type="application/json")


async def viewer_socket(request: web.Request) -> web.StreamResponse:
    if (refused := foreign(request)) is not None:
        return refused
    relay = request.app[RELAY]
    return await serve_viewer(
        request,
        hub=relay.hub,
        metrics=relay.metrics,
        hint=f"bots connect to {relay.server_url or 'the world server'}/ws/bot",
        ready=relay.ready,  # the first snapshot from Redis
    )


async def healthz(request: web.Request) -> web.StreamResponse:
    relay = request.app[RELAY]
    top = await relay.top()
    behind = max(0, top - relay.hub.seq) if top >= 0 else None
    ok = relay.connected and relay.ready.is_set() and behind is not None and behind <= 2
    body = {
        "ok": ok,
        "role": "relay",
        "redis": {"connected": relay.connected, "last_error": relay.last_error},
        "seq": relay.hub.seq,
        "tick": relay.hub.tick,
        "stream_seq": top,
        "behind": behind,
        "lag_ms": round(relay.last_lag_s * 1000, 3),
        "viewers": len(relay.hub.viewers),
        "resyncs": relay.resyncs,
        "server": relay.server_url or None,
    }
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def metrics_text(request: web.Request) -> web.StreamResponse:
    return web.Response(
        text=request.app[RELAY].metrics.render(),
        content_type="text/plain",
        headers={"X-Content-Type-Options": "nosniff"},
        charset="utf-8",
    )


async def snapshot(request: web.Request) -> web.StreamResponse:
    relay = request.app[RELAY]
    await relay.ready.wait()
    _, frame = relay.hub.snapshot()
    return web.Response(body=frame, content_type="application/json")


async def history_series(request: web.Request) -> web.StreamResponse:
    """As the server's: one page of the chart series (`?last=N`, `?before=TICK`), the
    server's points up to the snapshot, then ours."""
    asked = page_query(request)
    if isinstance(asked, web.Response):
        return asked
    page = request.app[RELAY].history.page(*asked)
    return web.Response(body=orjson.dumps(page), content_type="application/json")


# The command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis", required=True, help="redis://HOST:PORT/DB of the world's server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--server-url",
        default="",
        metavar="URL",
        help="where /play and /ws/bot send players and bots (default: the URL the world's "
        "server announces, its --public-url)",
    )
    parser.add_argument(
        "--redis-prefix",
        "--prefix",
        dest="redis_prefix",
        default=PREFIX,
        metavar="PREFIX",
        help=f"the world's key prefix in Redis, as given to its serve (default: {PREFIX})",
    )


class Running:
    """A relay following Redis and serving on a port (`start`); `stop()` ends both."""

    def __init__(self, relay: Relay, runner: web.AppRunner, task: asyncio.Task[None]) -> None:
        self.relay = relay
        self.runner = runner
        self.task = task
        self.port = next(a[1] for a in runner.addresses if isinstance(a, tuple))

    async def stop(self) -> None:
        self.relay.hub.close_all(CloseCode.GOING_AWAY, "relay shutting down")
        # Stop following first: a beat still in flight would put our count back after `leave`.
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.relay.leave()
        await self.runner.cleanup()


async def start(relay: Relay, host: str, port: int) -> Running:
    """Follow Redis and serve `relay` on `host`:`port` (0: any free port) in this loop;
    OSError when it cannot listen there."""
    app = build_app(relay)
    runner = web.AppRunner(
        app, shutdown_timeout=2.0, access_log=None, keepalive_timeout=app[LIMITS].idle_seconds
    )
    await runner.setup()
    guard(runner, app[LIMITS])
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError:
        await runner.cleanup()
        raise
    return Running(relay, runner, asyncio.create_task(relay.run()))


async def _serve(args: argparse.Namespace) -> int:
    relay = Relay(args.redis, prefix=args.redis_prefix, server_url=args.server_url)
    running = await start(relay, args.host, args.port)
    print(
        f"smallwood relay: http://{args.host}:{running.port}/ from {redacted(args.redis)}, "
        f"keys {args.redis_prefix}:*",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await running.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    if problem := prefix_problem(args.redis_prefix):
        print(f"smallwood relay: {problem}", file=sys.stderr)
        return 2
    if args.server_url and (problem := url_problem(args.server_url)):
        print(f"smallwood relay: --server-url {problem}", file=sys.stderr)
        return 2
    try:
        import redis  # noqa: F401, PLC0415
    except ImportError:
        print("smallwood relay: needs redis-py: pip install 'smallwood[relay]'", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(args))
    except OSError as exc:
        print(f"smallwood relay: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2

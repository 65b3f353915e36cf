"""`smallwood bench fanout`: N viewers on loopback, against the server and a bare broadcast.

Three processes at a time: the server under test (`live.ServerProcess`, the default world on
the scripted brain, ticking every `--tick` seconds), and a load process holding N
`websockets` viewers. Once every viewer has its snapshot, the next `--ticks` deltas are the
window the run is judged on: per viewer, a delta of the window that never arrived is missed
(a gap in seqs). Delivery lag is a delta's receipt time in the load process minus the
server's publish time of the same seq, both read from `time.time()` on this one machine (the
server stamps it as it hands the delta to the hub, and returns the stamps when it stops).

Then, in the same run, a bare broadcast: a minimal aiohttp server with no world that sends
each tick a payload of the same size as the server's delta of that tick to the same N
viewers, with the same fan-out (each frame framed once and appended to every idle socket's
buffer, else queued for that connection's writer; nothing awaits one viewer in the tick)
and the same garbage-collection pacing (`server.gcpace`). The ratio of the two p99 lags is
what the server's own machinery costs over pushing the bytes; the target is at most 1.25.
The load process runs its cyclic garbage collector before the window and not during it,
so its own pauses do not pass for lag.

Server CPU is the user + system time of the server process over the window (from
/proc/PID/stat); tick overhead is the clock's own measure of step + commit + publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import statistics
import tempfile
import time
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from server.gcpace import GcPacer
from server.live.outbox import text_frame
from server.live.viewers import DIRECT_WRITE_BYTES
from server.serve import ServeConfig

from .live import (
    Child,
    ServerProcess,
    ViewerLog,
    Window,
    await_window,
    close_viewers,
    cpu_seconds,
    judge,
    newest_seq,
    open_viewers,
    raise_fd_limit,
    summary,
)

TARGET_RATIO = 1.25
ADMIN = "bench-admin-token"


def run(viewers: int, ticks: int, period: float = 1.0) -> dict[str, Any]:
    """Measure the server, then the bare broadcast; the figures as one JSON-able dict."""
    raise_fd_limit(viewers)
    with tempfile.TemporaryDirectory(prefix="smallwood-fanout-") as tmp:
        config = ServeConfig(
            data_dir=Path(tmp) / "data", port=0, tick=period, seed=1, admin_token=ADMIN
        )
        server = ServerProcess(config)
        try:
            [logs], window, load = load_viewers([server.url], [server.pid], viewers, ticks, period)
        finally:
            record = server.stop()
    real = judge(logs, window, record.published)
    real.update(connect_s=load["connect_s"], **load["cpu"][0])
    overhead = [record.overhead_ms[s] for s in window.seqs() if s in record.overhead_ms]
    real["tick_overhead_ms"] = summary(overhead, 3)
    real["tick_overhead_ms"]["mean"] = round(statistics.fmean(overhead), 3) if overhead else None
    real["tick_phase_ms"] = record.phase_ms
    real["overruns"] = record.overruns
    real["dropped_backlogs"] = record.dropped
    sizes = [logs[0].sizes[s] for s in window.seqs() if s in logs[0].sizes] or [1024]
    real["delta_bytes"] = {"mean": round(statistics.fmean(sizes)), "max": max(sizes)}

    bare_child = Child(_bare_main, sizes, period, name="smallwood-bench-bare")
    try:
        port = bare_child.recv(30)
        [logs], window, load = load_viewers(
            [f"http://127.0.0.1:{port}"], [bare_child.pid], viewers, ticks, period
        )
    finally:
        bare_child.send("stop")
        published: dict[int, float] = bare_child.recv(30)
        bare_child.join()
    bare = judge(logs, window, published)
    bare.update(connect_s=load["connect_s"], **load["cpu"][0])
    p99, bare_p99 = real["lag_ms"]["p99"], bare["lag_ms"]["p99"]
    ratio = round(p99 / bare_p99, 3) if p99 is not None and bare_p99 else None
    return {
        "viewers": viewers,
        "ticks": ticks,
        "tick_s": period,
        "server": real,
        "bare": bare,
        "p99_ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "ok": real["missed"] == 0 and ratio is not None and ratio <= TARGET_RATIO,
        "lag": "receipt wall time (load process) minus publish wall time (server) of the seq",
    }


def load_viewers(
    urls: list[str],
    pids: list[int],
    viewers: int,
    ticks: int,
    period: float,
    *,
    processes: int = 1,
    counts: list[int] | None = None,
) -> tuple[list[list[ViewerLog]], Window, dict[str, Any]]:
    """Run load processes: `viewers` spread evenly over the servers at `urls` (http), or
    `counts` of them on each, the URLs dealt over `processes` load processes (one per URL:
    each fan-out faces its own, as a server's viewers would not share one machine). The logs
    per URL, the one window every viewer is judged on, and the CPU each of `pids` used over
    the window."""
    sockets = [url.replace("http://", "ws://", 1) + "/ws" for url in urls]
    counts = shares(viewers, len(urls)) if counts is None else counts
    viewers = sum(counts)
    mine = [list(range(len(urls)))[k::processes] for k in range(processes)]
    loads = [
        Child(
            _load_main,
            [sockets[i] for i in picked],
            [counts[i] for i in picked],
            period,
            name="smallwood-bench-viewers",
        )
        for picked in mine
    ]
    groups: list[list[ViewerLog]] = [[] for _ in urls]
    try:
        connected = [load.recv(60 + viewers / 20) for load in loads]
        connect_s = max(c[2] for c in connected)
        # The delta after the newest may be on its way to some viewers already: start after it.
        newest = max(c[1] for c in connected)
        window = Window(newest + 2, newest + 1 + ticks)
        for load in loads:
            load.send((window.first, window.last))
        cpu0, wall0 = [cpu_seconds(pid) for pid in pids], time.monotonic()
        for load, picked in zip(loads, mine, strict=True):
            _, got = load.recv((ticks + 3) * period + 60)
            for i, logs in zip(picked, got, strict=True):
                groups[i] = logs
        cpu1, wall1 = [cpu_seconds(pid) for pid in pids], time.monotonic()
    finally:
        for load in loads:
            load.join(40)
    wall, n = wall1 - wall0, ticks
    cpu = [
        {
            "cpu_s": round(b - a, 3),
            "cpu_share": round((b - a) / wall, 3) if wall > 0 else None,
            "cpu_ms_per_tick": round((b - a) * 1000 / n, 2),
        }
        for a, b in zip(cpu0, cpu1, strict=True)
    ]
    return (
        groups,
        window,
        {"connect_s": round(connect_s, 2), "window_s": round(wall, 2), "cpu": cpu},
    )


def shares(viewers: int, places: int) -> list[int]:
    """`viewers` spread as evenly as they go over `places` (the first ones take the rest)."""
    return [viewers // places + (1 if i < viewers % places else 0) for i in range(places)]


def _load_main(conn: Connection, urls: list[str], counts: list[int], period: float) -> None:
    raise_fd_limit(sum(counts))
    asyncio.run(_load_async(conn, urls, counts, period))


async def _load_async(conn: Connection, urls: list[str], counts: list[int], period: float) -> None:
    began = time.monotonic()
    groups: list[list[ViewerLog]] = []
    tasks: list[asyncio.Task[None]] = []
    for url, count in zip(urls, counts, strict=True):
        logs, started = await open_viewers(url, count)
        groups.append(logs)
        tasks += started
    connect_s = time.monotonic() - began
    every = [log for logs in groups for log in logs]
    conn.send(("connected", newest_seq(every), connect_s))
    first, last = await asyncio.to_thread(conn.recv)
    window = Window(first, last)
    # The load is the instrument: its own full garbage collections (thousands of client
    # connections) would show up as lag. None during the window, which is bounded.
    gc.collect()
    gc.freeze()
    gc.disable()
    await await_window(every, window, period)
    gc.enable()
    for log in every:
        log.deltas = {s: log.deltas[s] for s in window.seqs() if s in log.deltas}
        log.sizes = {s: log.sizes[s] for s in window.seqs() if s in log.sizes}
    conn.send(("done", groups))
    await close_viewers(tasks)


# The bare broadcast


class BareViewer:
    """The least a fan-out can do, the way the hub does it: each frame framed once and
    appended to the socket's buffer, or queued for one writer task when the buffer is full."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport) -> None:
        self.ws = ws
        self.transport = transport
        self.queue: deque[bytes] = deque()
        self.waiter: asyncio.Future[None] | None = None

    def put(self, frame: bytes, wire: bytes) -> None:
        transport = self.transport
        if (
            self.waiter is not None
            and not self.queue
            and not transport.is_closing()
            and transport.get_write_buffer_size() <= DIRECT_WRITE_BYTES
        ):
            transport.write(wire)
            return
        self.queue.append(frame)
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def run(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                if self.queue:
                    await self.ws.send_frame(self.queue.popleft(), WSMsgType.TEXT)
                    continue
                self.waiter = asyncio.get_running_loop().create_future()
                await self.waiter


def bare_frame(seq: int, size: int) -> bytes:
    """A delta-shaped frame of exactly `size` bytes (when `size` allows) carrying `seq`."""
    head = b'{"type":"delta","seq":%d,"pad":"' % seq
    return head + b"x" * max(0, size - len(head) - 2) + b'"}'


def _bare_main(conn: Connection, sizes: list[int], period: float) -> None:
    asyncio.run(_bare_async(conn, sizes, period))


async def _bare_async(conn: Connection, sizes: list[int], period: float) -> None:
    viewers: set[BareViewer] = set()
    published: dict[int, float] = {}
    seq = 0
    pacer = GcPacer()  # as the server's clock does: full collections between ticks

    async def socket(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        assert request.transport is not None
        viewer = BareViewer(ws, request.transport)
        snapshot = b'{"type":"snapshot","seq":%d}' % seq
        viewer.put(snapshot, text_frame(snapshot))
        viewers.add(viewer)
        writer = asyncio.create_task(viewer.run())
        try:
            async for _ in ws:
                pass
        finally:
            viewers.discard(viewer)
            writer.cancel()
        return ws

    async def ticker() -> None:
        nonlocal seq
        next_at = time.monotonic()
        pacer.start()
        while True:
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            seq += 1
            frame = bare_frame(seq, sizes[seq % len(sizes)])
            published[seq] = time.time()
            wire = text_frame(frame)
            for viewer in viewers:
                viewer.put(frame, wire)
            if pacer.due():
                await asyncio.sleep(0)
                pacer.between_ticks(next_at + period - time.monotonic())

    app = web.Application()
    app.router.add_get("/ws", socket)
    runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    ticks = asyncio.create_task(ticker())
    conn.send(port)
    await asyncio.to_thread(conn.recv)
    ticks.cancel()
    conn.send(published)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(runner.cleanup(), 5)


def render(figures: dict[str, Any]) -> str:
    """The figures for people."""
    s, b = figures["server"], figures["bare"]

    def side(name: str, f: dict[str, Any]) -> str:
        lag = f["lag_ms"]
        return (
            f"{name:<7} delivered {f['delivered']}/{f['expected']}, missed {f['missed']}, "
            f"resyncs {f['resyncs']}, lag p50 {lag['p50']} ms p99 {lag['p99']} ms "
            f"max {lag['max']} ms, CPU {f['cpu_share']:.0%} ({f['cpu_ms_per_tick']} ms/tick), "
            f"connect {f['connect_s']} s"
        )

    o = s["tick_overhead_ms"]
    lines = [
        f"fanout: {figures['viewers']} viewers, {figures['ticks']} ticks of "
        f"{figures['tick_s']} s, deltas of {s['delta_bytes']['mean']} bytes (max "
        f"{s['delta_bytes']['max']})",
        side("server", s),
        side("bare", b),
        f"p99 lag ratio server/bare: {figures['p99_ratio']} (target <= {figures['target_ratio']})",
        f"tick overhead (step + commit + publish, no decisions): mean {o['mean']} ms, "
        f"p50 {o['p50']} ms, p99 {o['p99']} ms, max {o['max']} ms; mean by phase "
        + ", ".join(f"{k} {v} ms" for k, v in s["tick_phase_ms"].items()),
        "lag: " + figures["lag"],
        "ok" if figures["ok"] else "NOT OK",
    ]
    return "\n".join(lines)

"""Live benchmarks' moving parts: a real server in a child process, viewers in another.

`ServerProcess` runs `server.serve.start` in its own process (spawned, so it shares nothing
with the benchmark) and records, beside the server, what the benchmark must compare: the
wall-clock time (`time.time()`) at which each delta was handed to the hub, how late each
tick started against its schedule, and each tick's overhead after decisions. Wall-clock time
is what both sides can read on one machine, so a viewer's delivery lag is its receipt time
minus the publish time of the same seq.

`watch` opens viewers with the `websockets` client, as people's programs would, and records
every delta's seq and receipt time per viewer; a gap in seqs is a missed delta.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import time
import traceback
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from server.serve import ServeConfig

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CONNECT_AT_ONCE = 128
"""Viewers opening their connection at the same time (the server's listen backlog is 128)."""
START_TIMEOUT = 60.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process has used (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    # The command name may hold spaces: fields are counted after its closing parenthesis.
    fields = stat[stat.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_kib(pid: int) -> int:
    """Resident memory of the process in KiB (VmRSS in /proc/PID/status)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100) of `values`; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float], digits: int = 2) -> dict[str, float | None]:
    """p50, p99 and max, rounded; None where there is nothing to summarise."""

    def r(x: float) -> float | None:
        return None if math.isnan(x) else round(x, digits)

    return {
        "p50": r(percentile(values, 50)),
        "p99": r(percentile(values, 99)),
        "max": r(max(values) if values else math.nan),
    }


# The server


@dataclass(slots=True)
class ServerRecord:
    """What the instrumented server saw, handed back when it stops."""

    published: dict[int, float] = field(default_factory=dict)
    """seq -> wall-clock time its delta was handed to the hub."""
    lateness_ms: dict[int, float] = field(default_factory=dict)
    """seq -> how long after its scheduled start its tick began."""
    overhead_ms: dict[int, float] = field(default_factory=dict)
    """seq -> its tick's step + commit + publish (decisions excluded), as the clock times it."""
    ticks: int = 0
    overruns: float = 0.0
    dropped: float = 0.0
    """Viewer backlogs dropped for a snapshot (slow readers)."""
    errors: int = 0
    """Records of level ERROR or worse the server logged."""
    error_lines: list[str] = field(default_factory=list)
    """The first `KEEP_ERRORS` of them as logged (message, and the traceback's last line)."""
    phase_ms: dict[str, float] = field(default_factory=dict)
    """Mean milliseconds per tick of each phase after decisions: step, commit, publish."""
    loop: dict[str, Any] = field(default_factory=dict)
    """With `probes`: the loop's lag and stalls (`probes.LoopProbe.report`)."""
    healthz_handler_ms: list[float] = field(default_factory=list)
    """With `probes`: `/healthz`'s handler timed on the live app once a second."""
    memory_growth: list[str] = field(default_factory=list)
    """With `memory`: the source lines whose allocations grew most after the mark."""


RECORD_BYTES = 32
"""What the instrumented server keeps a tick for the benchmark (five array columns)."""
KEEP_ERRORS = 20
"""Error records a benchmark server keeps the text of (all of them are counted)."""


class _ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.lines) < KEEP_ERRORS:
            line = f"{record.levelname} {record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                frames = traceback.extract_tb(exc.__traceback__)
                # Where it broke, and the server's own frame that led there.
                ours = [f for f in frames if "/server/" in f.filename]
                chain = ([ours[-1]] if ours else []) + frames[-1:]
                where = " -> ".join(
                    f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in chain
                )
                line += f" ({type(exc).__name__}: {exc} at {where})"
            self.lines.append(line)


class Served:
    """A benchmark's child process (`child`) serving HTTP on a loopback `port`."""

    child: Child
    port: int

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class ServerProcess(Served):
    """`smallwood serve` in a child process, instrumented (see the module docstring)."""

    def __init__(self, config: ServeConfig, *, probes: bool = False, memory: bool = False) -> None:
        """`probes`: run a `probes.LoopProbe` and time `/healthz`'s handler once a second;
        `memory`: trace allocations (slow) from `mark_memory()` to the end."""
        self.child = Child(_server_main, config, probes, memory, name="smallwood-bench-server")
        self.memory = memory
        message = self.child.recv(START_TIMEOUT)
        if message[0] != "ready":
            self.child.join()
            raise RuntimeError(f"the benchmark server failed to start: {message[1]}")
        _, self.port, self.admin_token, self.bot_tokens = message

    def mark_memory(self) -> None:
        """Take the baseline the memory growth is measured from (with `memory`)."""
        self.child.send("mark")

    def stop(self) -> ServerRecord:
        """Stop the server (it commits its last tick) and return what it recorded."""
        self.child.send("stop")
        # Diffing traced allocations on a loaded machine takes minutes.
        record: ServerRecord = self.child.recv(600 if self.memory else 60)
        self.child.join()
        return record


def _server_main(
    conn: Connection, config: ServeConfig, probes: bool = False, memory: bool = False
) -> None:
    try:
        asyncio.run(_serve_instrumented(conn, config, probes, memory))
    except Exception as exc:
        conn.send(("failed", repr(exc)))


async def _serve_instrumented(
    conn: Connection, config: ServeConfig, probes: bool = False, memory: bool = False
) -> None:
    from server.serve import start  # noqa: PLC0415 - the child imports the server itself

    from .probes import LoopProbe, MemoryProbe  # noqa: PLC0415

    errors = _ErrorCount()
    logging.getLogger().addHandler(errors)
    mem = MemoryProbe() if memory else None
    if mem is not None:
        mem.start()  # from the start: see `MemoryProbe`
    server = await start(config)
    record = ServerRecord()
    hub, clock = server.hub, server.clock
    publish, tick = hub.publish, clock.tick
    # Compact columns (8 or 4 bytes a tick), not dicts (about 100 bytes an entry), so a long
    # run's own records do not show as the server's memory growth.
    published_seq, published_at = array("q"), array("d")
    tick_seq, lateness, overhead = array("q"), array("f"), array("f")

    # Wrappers over the live objects: the server itself carries no benchmark code.
    def timed_publish(t: int, patch: Any, events: Any, world: Any) -> int:
        published_seq.append(hub.seq + 1)
        published_at.append(time.time())
        return publish(t, patch, events, world)

    async def timed_tick(*, deadline: float) -> None:
        scheduled = deadline - clock.period * clock.config.decision_share
        late = (time.monotonic() - scheduled) * 1000
        await tick(deadline=deadline)
        tick_seq.append(hub.seq)
        lateness.append(late)
        overhead.append(clock.last_tick_ms)

    setattr(hub, "publish", timed_publish)  # noqa: B010 - shadow the bound method
    setattr(clock, "tick", timed_tick)  # noqa: B010
    loop_probe = LoopProbe() if probes else None
    timer = None
    if loop_probe is not None:
        loop_probe.start()
        timer = asyncio.create_task(_time_healthz(server.runner, record))
    conn.send(("ready", server.port, server.admin_token, server.bot_tokens))
    while (message := await asyncio.to_thread(conn.recv)) != "stop":
        if message == "mark" and mem is not None:
            mem.mark()
    if timer is not None:
        timer.cancel()
    if loop_probe is not None:
        await loop_probe.stop()
        record.loop = loop_probe.report()
    if mem is not None:
        record.memory_growth = mem.growth()
    await server.stop()
    record.published = dict(zip(published_seq, published_at, strict=True))
    record.lateness_ms = dict(zip(tick_seq, lateness, strict=True))
    record.overhead_ms = dict(zip(tick_seq, overhead, strict=True))
    record.ticks = int(server.clock.metrics.ticks.get())
    record.overruns = server.clock.metrics.overruns.get()
    record.dropped = server.clock.metrics.dropped.get()
    record.errors = errors.count
    record.error_lines = errors.lines
    for labels, (counts, sums) in server.clock.metrics.phase_seconds.series.items():
        if sum(counts):
            record.phase_ms[dict(labels)["phase"]] = round(sums[0] * 1000 / sum(counts), 3)
    conn.send(record)


async def _time_healthz(runner: Any, record: ServerRecord) -> None:
    """Call `/healthz`'s handler on the live app once a second, without a socket."""
    from aiohttp.test_utils import make_mocked_request  # noqa: PLC0415

    from server.live.http import healthz  # noqa: PLC0415

    from .probes import handler_ms  # noqa: PLC0415

    request = make_mocked_request("GET", "/healthz", app=runner.app)  # one: mocks are big
    while True:
        await asyncio.sleep(1.0)
        record.healthz_handler_ms.append(await handler_ms(healthz(request)))


# Viewers


@dataclass(slots=True)
class ViewerLog:
    """One viewer's deltas: seq -> receipt wall time, and the frames' sizes."""

    deltas: dict[int, float] = field(default_factory=dict)
    snapshots: list[int] = field(default_factory=list)
    """The seq of every snapshot received (more than one: the server resynced it)."""
    sizes: dict[int, int] = field(default_factory=dict)
    closed: str = ""
    """Why the connection ended early, if it did."""


def frame_seq(frame: bytes) -> tuple[bool, int]:
    """(is a delta, its seq) of a viewer frame, read from its head without parsing it all."""
    at = frame.find(b'"seq":', 0, 80)
    if at < 0:
        return False, -1
    end = at + 6
    while end < len(frame) and frame[end] in b"0123456789-":
        end += 1
    return frame.startswith(b'{"type":"delta"'), int(frame[at + 6 : end])


async def watch(url: str, log: ViewerLog, keep_sizes: bool = False) -> None:
    """Receive viewer frames until cancelled or the connection ends."""
    ws: ClientConnection
    try:
        async with connect(
            url, compression=None, ping_interval=None, max_size=None, open_timeout=60
        ) as ws:
            while True:
                frame = await ws.recv(decode=False)
                now = time.time()
                delta, seq = frame_seq(frame)
                if delta:
                    log.deltas[seq] = now
                    if keep_sizes:
                        log.sizes[seq] = len(frame)
                elif seq >= 0:  # a snapshot; `status` frames carry no seq
                    log.snapshots.append(seq)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.closed = f"{type(exc).__name__}: {exc}"


async def open_viewers(
    url: str, n: int, *, keep_sizes_of_first: bool = True, timeout: float = 120.0
) -> tuple[list[ViewerLog], list[asyncio.Task[None]]]:
    """`n` viewers, returning once every one has its snapshot (or ended, or `timeout`)."""
    logs = [ViewerLog() for _ in range(n)]
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    tasks: list[asyncio.Task[None]] = []

    async def one(i: int) -> None:
        async with gate:
            task = asyncio.create_task(watch(url, logs[i], keep_sizes_of_first and i == 0))
            tasks.append(task)
            end = time.monotonic() + timeout
            while not logs[i].snapshots and not task.done() and time.monotonic() < end:
                await asyncio.sleep(0.01)

    await asyncio.gather(*(one(i) for i in range(n)))
    return logs, tasks


async def close_viewers(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)


@dataclass(slots=True)
class Window:
    """The seqs a run is judged on: every viewer was connected for all of them."""

    first: int
    last: int

    def seqs(self) -> range:
        return range(self.first, self.last + 1)


def newest_seq(logs: Sequence[ViewerLog]) -> int:
    best = -1
    for log in logs:
        if log.deltas:
            best = max(best, *log.deltas)
        if log.snapshots:
            best = max(best, log.snapshots[-1])
    return best


async def await_window(
    logs: Sequence[ViewerLog], window: Window, period: float, *, slack: float = 5.0
) -> None:
    """Wait until every live viewer has the window's last seq, or it can no longer come."""
    end = time.monotonic() + (window.last - newest_seq(logs) + 1) * period + slack
    while time.monotonic() < end:
        if all(window.last in log.deltas or log.closed for log in logs):
            return
        await asyncio.sleep(min(0.05, period / 4))


def judge(logs: Sequence[ViewerLog], window: Window, published: dict[int, float]) -> dict[str, Any]:
    """Delivered and missed deltas, and delivery lag (receipt minus publish wall time)."""
    delivered = missed = 0
    lags: list[float] = []
    by_seq: dict[int, list[float]] = {seq: [] for seq in window.seqs()}
    for log in logs:
        for seq in window.seqs():
            got = log.deltas.get(seq)
            if got is None:
                missed += 1
                continue
            delivered += 1
            sent = published.get(seq)
            if sent is not None:
                lag = (got - sent) * 1000
                lags.append(lag)
                by_seq[seq].append(lag)
    return {
        "expected": len(logs) * len(window.seqs()),
        "delivered": delivered,
        "missed": missed,
        "resyncs": sum(max(0, len(log.snapshots) - 1) for log in logs),
        "closed_early": sum(1 for log in logs if log.closed),
        "lag_ms": summary(lags),
        "lag_p99_ms_by_tick": [round(percentile(v, 99), 1) if v else None for v in by_seq.values()],
    }


# Processes


class Child:
    """A spawned process running `target(conn, *args)`, talked to over a pipe."""

    def __init__(self, target: Callable[..., None], *args: Any, name: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=target, args=(child, *args), name=name, daemon=True)
        self.process.start()
        child.close()

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def recv(self, timeout: float) -> Any:
        """The next message; RuntimeError when none comes in `timeout` seconds or it died."""
        if not self._conn.poll(timeout):
            raise RuntimeError(f"{self.process.name} gave no answer in {timeout:.0f} s")
        try:
            return self._conn.recv()
        except EOFError:
            raise RuntimeError(f"{self.process.name} ended unexpectedly") from None

    def ready(self, timeout: float) -> bool:
        """Whether a message is waiting (after up to `timeout` seconds)."""
        return self._conn.poll(timeout)

    def send(self, message: Any) -> None:
        self._conn.send(message)

    def join(self, timeout: float = 10.0) -> None:
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


def raise_fd_limit(n: int) -> None:
    """Allow this process `n` sockets and then some, within the hard limit."""
    import resource  # noqa: PLC0415

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, n + 256)) if hard != resource.RLIM_INFINITY else max(soft, n + 256)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

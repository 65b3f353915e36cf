"""`smallwood bench soak`: a live server with bots and churning viewers, for a set time.

The server under test runs the default world in its own process (`live.ServerProcess`); a
load process on loopback holds `--bots` bots over `/ws/bot` that spawn their own creatures,
answer every turn, and now and then drop and rejoin with their token, and `--viewers`
viewers at a time that each stay a few seconds and leave, half of the newcomers resuming
with `?since=` the last seq their predecessor saw. Everything is seeded, bounded in count
(connections at once) and in time (`--seconds`).

Beside them it runs the attacks the edge must shrug off: a reconnect storm every
`STORM_EVERY` seconds (`--storm` viewers at once, all resuming with `?since=`), and a
slowloris (`--slowloris` sockets from another loopback address, 127.0.0.2, each sending a
header line every `DRIP_S` seconds and never finishing a request; the server runs with its
per-address cap on loopback too, so they meet the cap and the idle timeout), while
`/healthz` is timed once a second.

It reports: ticks on time (the share of ticks that began within `ON_TIME_MS` of their
schedule, as the server itself saw it), missed deltas for connected viewers (a gap in seqs
inside one connection; a snapshot the server sends a slow reader is counted apart, as a
resync), the server's resident memory at the start, after a quarter of the run (buffers and
connections up) and at the end (from /proc/PID/status), and
errors: frames the server refused, connections that failed, and errors the server logged;
the data dir's size at the end (bytes a tick, and what that makes a day at one tick a
second); the slowest `/healthz`, and the slowloris sockets the server closed.

To tell the server's own work from a loaded machine's, both processes run a
`probes.LoopProbe` (loop lag, and of each stall the CPU the loop spent versus the time it
waited for a core, with the stacks that stalled it), and the server times `/healthz`'s
handler alone once a second. Every error is printed (the server's log lines with where
they broke, the load's first failure of each kind). `trace_memory` diffs tracemalloc from
warm-up to the end, by traceback (slow: for finding what grows, not for the figures).
Each promise is judged apart (`verdicts`); `ok` is all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sqlite3
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import connect

from server.serve import ServeConfig

from .live import (
    RECORD_BYTES,
    Child,
    ServerProcess,
    frame_seq,
    raise_fd_limit,
    rss_kib,
    summary,
)
from .probes import STALL_S, LoopProbe

ON_TIME_MS = 20.0
"""A tick is on time when it begins at most this long after its scheduled instant."""
VIEWER_STAY_S = (1.0, 6.0)
BOT_STAY_S = (3.0, 12.0)
GOODS = ("acorns", "berries", "mushrooms", "honey", "firewood")
ADMIN = "soak-admin-token"
WARM_SHARE = 0.25
"""Memory is also read this far into the run, once connections and buffers are up, and once
the server's history of chart points is full (or half-way through the run at the latest)."""
HISTORY_POINTS = 10_000
"""Points the server's chart history holds (`server.serve.HISTORY_POINTS`): it grows until
then, by design."""
STORM_EVERY = 30.0
"""Seconds between two reconnect storms."""
STORM_DELTAS = 3
"""Deltas each storm viewer reads (checking their seqs) before it leaves."""
DRIP_S = 5.0
"""Seconds between two header lines from a slowloris socket."""
ATTACKER = "127.0.0.2"
"""The slowloris connects from here, so the per-address cap falls on it alone."""
EDGE_ENV = {"SMALLWOOD_LIMIT_LOOPBACK": "1"}
"""The server under test caps loopback addresses like any other (see `server.live.guard`)."""


@dataclass(slots=True)
class LoadStats:
    """What the load process counted; sent back to the benchmark when it ends."""

    viewer_sessions: int = 0
    resumed_sessions: int = 0
    deltas: int = 0
    missed: int = 0
    resyncs: int = 0
    turns: int = 0
    acts: int = 0
    bot_sessions: int = 0
    storms: int = 0
    storm_sessions: int = 0
    storm_missed: int = 0
    slowloris_opened: int = 0
    slowloris_closed: int = 0
    """Slowloris sockets the server closed (cap or idle timeout)."""
    healthz_ms: list[float] = field(default_factory=list)
    healthz_connect_ms: list[float] = field(default_factory=list)
    """Of each `/healthz`, the part until the connection was open (accept, handshake)."""
    loop: dict[str, Any] = field(default_factory=dict)
    """The load process's own loop lag (`probes.LoopProbe.report`): its part of the lateness
    it measures."""
    refused: Counter[str] = field(default_factory=Counter)
    """Error frames the server sent, by code."""
    failures: Counter[str] = field(default_factory=Counter)
    """Connections that failed or ended early, by exception."""
    failure_text: dict[str, str] = field(default_factory=dict)
    """The first message of each kind of failure."""

    def failed(self, kind: str, exc: BaseException) -> None:
        self.failures[kind] += 1
        self.failure_text.setdefault(kind, f"{type(exc).__name__}: {exc}"[:300])


def run(
    seconds: float,
    *,
    bots: int = 4,
    viewers: int = 50,
    period: float = 0.25,
    storm: int = 100,
    slowloris: int = 300,
    storm_every: float = STORM_EVERY,
    trace_memory: bool = False,
) -> dict[str, Any]:
    """Soak one server for `seconds`; the figures as one JSON-able dict.

    `trace_memory`: trace the server's allocations from warm-up to the end (slow: for
    finding what grows, not for the figures)."""
    raise_fd_limit(viewers + bots + storm + slowloris)
    per_address = viewers + storm + 64  # the load's own viewers fit; the slowloris does not
    env = {**EDGE_ENV, "SMALLWOOD_CONNECTIONS_PER_ADDRESS": str(per_address)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the server child inherits them
    with tempfile.TemporaryDirectory(prefix="smallwood-soak-") as tmp:
        data_dir = Path(tmp) / "data"
        config = ServeConfig(data_dir=data_dir, port=0, tick=period, seed=1, admin_token=ADMIN)
        try:
            server = ServerProcess(config, probes=True, memory=trace_memory)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        try:
            rss_start = rss_kib(server.pid)
            ws_url = server.url.replace("http://", "ws://", 1)
            load = Child(
                _load_main,
                ws_url,
                seconds,
                bots,
                viewers,
                storm,
                slowloris,
                storm_every,
                name="smallwood-bench-soak",
            )
            began = time.monotonic()
            warm_at = 0.0
            rss_warm = 0
            try:
                while not load.ready(min(1.0, seconds / 8)):
                    elapsed = time.monotonic() - began
                    if not rss_warm and _warm(server.url, elapsed, seconds):
                        rss_warm = rss_kib(server.pid)
                        warm_at = elapsed
                        server.mark_memory()
                    if time.monotonic() - began > seconds + 60:
                        raise RuntimeError("the soak load did not finish")
                stats: LoadStats = load.recv(1)
            finally:
                load.join(30)
            rss_end = rss_kib(server.pid)
            rss_warm = rss_warm or rss_end
        finally:
            record = server.stop()
        disk = sum(f.stat().st_size for f in data_dir.iterdir() if f.is_file())
        traces = _traces_bytes(data_dir)
    lateness = list(record.lateness_ms.values())
    on_time = sum(1 for late in lateness if late <= ON_TIME_MS)
    errors = sum(stats.failures.values()) + record.errors
    ticks = len(lateness)
    per_tick = disk / ticks if ticks else 0.0
    warm_growth = (rss_end - rss_warm) / rss_warm if rss_warm else 0.0
    health = summary(stats.healthz_ms, 1) if stats.healthz_ms else None
    figures: dict[str, Any] = {
        "seconds": seconds,
        "tick_s": period,
        "bots": bots,
        "viewers": viewers,
        "ticks": len(lateness),
        "ticks_on_time": on_time,
        "on_time_ratio": round(on_time / len(lateness), 4) if lateness else None,
        "on_time_ms": ON_TIME_MS,
        "tick_lateness_ms": summary(lateness, 3),
        "overruns": record.overruns,
        "tick_overhead_ms": summary(list(record.overhead_ms.values()), 3),
        "viewer_sessions": stats.viewer_sessions,
        "resumed_sessions": stats.resumed_sessions,
        "deltas_delivered": stats.deltas,
        "missed_deltas": stats.missed,
        "resyncs": stats.resyncs,
        "bot_sessions": stats.bot_sessions,
        "turns": stats.turns,
        "acts": stats.acts,
        "refused": dict(stats.refused),
        "failures": dict(stats.failures),
        "server_errors": record.errors,
        "server_error_lines": record.error_lines,
        "failure_text": stats.failure_text,
        "errors": errors,
        "rss_kib": {
            "start": rss_start,
            "warm": rss_warm,
            "end": rss_end,
            "growth": rss_end - rss_start,
            "growth_after_warm": rss_end - rss_warm,
            "growth_after_warm_ratio": round(warm_growth, 4),
            "warm_at_s": round(warm_at, 1),
            # The server process also holds the benchmark's own records (`live.RECORD_BYTES`
            # a tick): part of the growth, not the server's.
            "bench_records_kib": round(ticks * RECORD_BYTES / 1024),
        },
        "storms": stats.storms,
        "storm_sessions": stats.storm_sessions,
        "storm_missed": stats.storm_missed,
        "slowloris": {
            "sockets": slowloris,
            "opened": stats.slowloris_opened,
            "closed_by_server": stats.slowloris_closed,
        },
        "healthz_ms": health,
        "healthz_connect_ms": summary(stats.healthz_connect_ms, 1)
        if stats.healthz_connect_ms
        else None,
        "healthz_handler_ms": summary(record.healthz_handler_ms, 3)
        if record.healthz_handler_ms
        else None,
        "server_loop": record.loop,
        "load_loop": stats.loop,
        "memory_growth": record.memory_growth,
        "phase_ms": record.phase_ms,
        "disk": {
            "bytes": disk,
            "bytes_per_tick": round(per_tick),
            "mb_per_day_at_1_tick_per_s": round(per_tick * 86400 / 1e6, 1),
            "traces_bytes": traces,
            "kept_bytes_per_tick": round((disk - traces) / ticks) if ticks else 0,
            "kept_mb_per_day_at_1_tick_per_s": round((disk - traces) / ticks * 86400 / 1e6, 1)
            if ticks
            else 0.0,
        },
    }
    figures["verdicts"] = verdicts(figures)
    figures["ok"] = all(figures["verdicts"].values())
    return figures


RSS_FLAT = 0.10
"""RSS may grow at most this much after warm-up."""
HEALTHZ_MAX_MS = 1000.0
HANDLER_P99_MS = 5.0
"""`/healthz`'s handler alone: O(1) work, far under a millisecond; this leaves room for a
loaded machine taking the core away mid-call."""
ON_TIME_SHARE = 0.95
DISK_MB_A_DAY = 200.0
"""What the soak's world keeps for good (traces expire), at one tick a second."""


def verdicts(f: dict[str, Any]) -> dict[str, bool]:
    """Each promise of the soak, judged (`ok` is all of them)."""
    health = f["healthz_ms"]
    handler = f["healthz_handler_ms"]
    return {
        "no_missed_deltas": f["missed_deltas"] == 0 and f["storm_missed"] == 0,
        "no_errors": f["errors"] == 0,
        "ticks_on_time": (f["on_time_ratio"] or 0.0) >= ON_TIME_SHARE,
        "rss_flat_after_warm_up": f["rss_kib"]["growth_after_warm_ratio"] <= RSS_FLAT,
        "healthz_under_1s": health is not None and (health["max"] or 0) < HEALTHZ_MAX_MS,
        "healthz_handler_o1": handler is not None and (handler["p99"] or 0) < HANDLER_P99_MS,
        "disk_in_budget": f["disk"]["kept_mb_per_day_at_1_tick_per_s"] <= DISK_MB_A_DAY,
    }


def _warm(url: str, elapsed: float, seconds: float) -> bool:
    """Whether the server is warm: a quarter of the run gone and its chart history full
    (`HISTORY_POINTS` ticks, however slowly a loaded machine ticks), or half the run gone."""
    if elapsed >= seconds / 2:
        return True
    if elapsed < seconds * WARM_SHARE:
        return False
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            tick = int(orjson.loads(response.read())["tick"])
    except (OSError, ValueError, KeyError):
        return False
    return tick >= HISTORY_POINTS * 1.05


def _traces_bytes(data_dir: Path) -> int:
    """Bytes the decision traces take in the database (they expire; the rest is kept)."""
    conn = sqlite3.connect(data_dir / "world.sqlite3")
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = conn.execute(
            "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('traces', 'sqlite_autoindex_traces_1')"
        ).fetchone()
        return int(row[0] or 0)
    except sqlite3.DatabaseError:
        return 0
    finally:
        conn.close()


def _load_main(
    conn: Connection,
    url: str,
    seconds: float,
    bots: int,
    viewers: int,
    storm: int = 0,
    slowloris: int = 0,
    storm_every: float = STORM_EVERY,
) -> None:
    raise_fd_limit(viewers + bots + storm + slowloris)
    stats = LoadStats()
    asyncio.run(_load(url, seconds, bots, viewers, stats, storm, slowloris, storm_every))
    conn.send(stats)


async def _load(
    url: str,
    seconds: float,
    bots: int,
    viewers: int,
    stats: LoadStats,
    storm: int = 0,
    slowloris: int = 0,
    storm_every: float = STORM_EVERY,
) -> None:
    rng = random.Random(7)
    stop_at = time.monotonic() + seconds
    last_seq: list[int] = [-1]
    tasks = [
        asyncio.create_task(_viewer_slot(url, rng.randrange(2**31), stop_at, last_seq, stats))
        for _ in range(viewers)
    ]
    tasks += [
        asyncio.create_task(_bot(url, i, rng.randrange(2**31), stop_at, stats)) for i in range(bots)
    ]
    if storm:
        storms = _storms(url, storm, stop_at, last_seq, stats, storm_every)
        tasks.append(asyncio.create_task(storms))
    if slowloris:
        tasks += [asyncio.create_task(_slowloris(url, stop_at, stats)) for _ in range(slowloris)]
    tasks.append(asyncio.create_task(_healthz(url, stop_at, stats)))
    probe = LoopProbe()
    probe.start()
    try:
        await asyncio.gather(*tasks)
    finally:
        await probe.stop()
        stats.loop = probe.report(top=5)


async def _storms(
    url: str, size: int, stop_at: float, last_seq: list[int], stats: LoadStats, every: float
) -> None:
    """Every `every` s, `size` viewers reconnect at once with `?since=`."""
    while time.monotonic() + every < stop_at:
        await asyncio.sleep(every)
        stats.storms += 1
        since = last_seq[0]
        await asyncio.gather(*(_storm_viewer(url, since, stats) for _ in range(size)))


async def _storm_viewer(url: str, since: int, stats: LoadStats) -> None:
    stats.storm_sessions += 1
    query = f"?since={since}" if since >= 0 else ""
    try:
        async with connect(url + "/ws" + query, compression=None, open_timeout=30) as ws:
            expected = since + 1 if since >= 0 else None
            seen = 0
            while seen < STORM_DELTAS:
                frame = await asyncio.wait_for(ws.recv(decode=False), 30)
                delta, seq = frame_seq(frame)
                if not delta:
                    expected = seq + 1
                    continue
                if expected is not None and seq > expected:
                    stats.storm_missed += seq - expected
                expected = seq + 1
                seen += 1
    except Exception as exc:
        stats.failed(f"storm {type(exc).__name__}", exc)


async def _slowloris(url: str, stop_at: float, stats: LoadStats) -> None:
    """One socket that never finishes its headers; when the server closes it, another."""
    host, port = url.removeprefix("ws://").rsplit(":", 1)
    while time.monotonic() < stop_at:
        try:
            reader, writer = await asyncio.open_connection(
                host, int(port), local_addr=(ATTACKER, 0)
            )
        except OSError:
            await asyncio.sleep(1.0)
            continue
        stats.slowloris_opened += 1
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            while time.monotonic() < stop_at:
                try:
                    if await asyncio.wait_for(reader.read(1), DRIP_S) == b"":
                        stats.slowloris_closed += 1
                        break
                except TimeoutError:
                    writer.write(b"X-Slow: yes\r\n")
                    await writer.drain()
        except OSError:
            stats.slowloris_closed += 1
        finally:
            writer.close()
        await asyncio.sleep(0.5)


async def _healthz(url: str, stop_at: float, stats: LoadStats) -> None:
    """Time `/healthz` once a second (from the load's own address, under the cap)."""
    host, port = url.removeprefix("ws://").rsplit(":", 1)
    request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < stop_at:
        began = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
            stats.healthz_connect_ms.append((time.perf_counter() - began) * 1000)
            writer.write(request)
            await asyncio.wait_for(reader.read(), 10)
            writer.close()
            stats.healthz_ms.append((time.perf_counter() - began) * 1000)
        except (OSError, TimeoutError) as exc:
            stats.failed(f"healthz {type(exc).__name__}", exc)
        await asyncio.sleep(1.0)


async def _viewer_slot(
    url: str, seed: int, stop_at: float, last_seq: list[int], stats: LoadStats
) -> None:
    """One viewer place: a viewer stays a while, leaves, and another takes its place."""
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, 1))
    while time.monotonic() < stop_at:
        since = last_seq[0] if last_seq[0] >= 0 and rng.random() < 0.5 else None
        stay = min(rng.uniform(*VIEWER_STAY_S), stop_at - time.monotonic())
        if stay <= 0:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_viewer(url, since, last_seq, stats), stay)


async def _viewer(url: str, since: int | None, last_seq: list[int], stats: LoadStats) -> None:
    """One viewer connection, checking that its deltas come without a gap."""
    stats.viewer_sessions += 1
    query = ""
    expected: int | None = None
    if since is not None:
        stats.resumed_sessions += 1
        query = f"?since={since}"
        expected = since + 1
    try:
        async with connect(url + "/ws" + query, compression=None, open_timeout=30) as ws:
            snapshots = 0
            while True:
                frame = await ws.recv(decode=False)
                delta, seq = frame_seq(frame)
                if not delta:
                    if frame.startswith(b'{"type":"snapshot"'):
                        snapshots += 1
                        stats.resyncs += snapshots > 1
                        expected = seq + 1
                    else:
                        stats.refused[orjson.loads(frame).get("code", "?")] += 1
                    continue
                stats.deltas += 1
                if expected is not None and seq > expected:
                    stats.missed += seq - expected
                elif expected is not None and seq < expected:
                    stats.failures["delta out of order"] += 1
                expected = seq + 1
                last_seq[0] = max(last_seq[0], seq)
    except (asyncio.CancelledError, TimeoutError):
        raise
    except Exception as exc:
        stats.failed(f"viewer {type(exc).__name__}", exc)


async def _bot(url: str, i: int, seed: int, stop_at: float, stats: LoadStats) -> None:
    """A bot that spawns a creature, answers every turn, and drops and rejoins now and then."""
    rng = random.Random(seed)
    token = ""
    good = GOODS[i % len(GOODS)]
    while time.monotonic() < stop_at:
        stay = min(rng.uniform(*BOT_STAY_S), stop_at - time.monotonic())
        if stay <= 0:
            break
        stats.bot_sessions += 1
        # With its token, and its creature's description in case the Wood has not taken
        # it in yet (the welcome was full): the server holds it, or spawns it again.
        join: dict[str, Any] = {
            "type": "join",
            "name": f"Soaker {i}",
            "species": "vole",
            "produces": good,
        }
        if token:
            join["token"] = token
        held = [token]
        try:
            async with asyncio.timeout(stay):
                await _bot_session(url, join, good, stats, held, f"127.0.1.{i % 250 + 1}")
        except TimeoutError:
            pass
        except Exception as exc:
            stats.failed(f"bot {type(exc).__name__}", exc)
            await asyncio.sleep(0.5)
        token = held[0]


async def _bot_session(
    url: str,
    join: dict[str, Any],
    good: str,
    stats: LoadStats,
    token: list[str],
    address: str = "127.0.0.1",
) -> None:
    """One connection, from `address` (each bot its own, as bots on the internet are);
    `token[0]` is set as soon as the server hands one out."""
    async with connect(
        url + "/ws/bot", compression=None, open_timeout=30, local_addr=(address, 0)
    ) as ws:
        await ws.send(orjson.dumps(join).decode())
        async for frame in ws:
            message = orjson.loads(frame)
            kind = message.get("type")
            if kind == "joined":
                token[0] = message["token"]
            elif kind == "turn":
                stats.turns += 1
                obs = message["observation"]
                price = obs["prices"].get(good, 5.0)
                offers = []
                if obs["stores"].get(good, 0) > 0:
                    offers.append({"side": "sell", "good": good, "qty": 1, "price": price})
                act = {"type": "act", "tick": message["tick"], "offers": offers, "gossip": "soak"}
                await ws.send(orjson.dumps(act).decode())
                stats.acts += 1
            elif kind == "error":
                stats.refused[message.get("code", "?")] += 1


def render(figures: dict[str, Any]) -> str:
    f = figures
    late = f["tick_lateness_ms"]
    rss = f["rss_kib"]
    return "\n".join(
        [
            f"soak: {f['seconds']} s, tick {f['tick_s']} s, {f['bots']} bots, "
            f"{f['viewers']} viewers at a time",
            f"ticks on time (within {f['on_time_ms']} ms): {f['ticks_on_time']}/{f['ticks']} "
            f"({f['on_time_ratio']}), lateness p50 {late['p50']} ms p99 {late['p99']} ms "
            f"max {late['max']} ms, overruns {f['overruns']}",
            f"viewers: {f['viewer_sessions']} sessions ({f['resumed_sessions']} resumed), "
            f"{f['deltas_delivered']} deltas, missed {f['missed_deltas']}, "
            f"resyncs {f['resyncs']}",
            f"bots: {f['bot_sessions']} sessions, {f['turns']} turns, {f['acts']} acts, "
            f"refused {f['refused'] or 'none'}",
            f"memory: {rss['start']} KiB at start, {rss['warm']} KiB after "
            f"{rss['warm_at_s']} s, {rss['end']} KiB at the end ({rss['growth']:+d} KiB; "
            f"{rss['growth_after_warm']:+d} KiB after warm-up, "
            f"{rss['growth_after_warm_ratio']:+.1%}; the benchmark's own records "
            f"{rss['bench_records_kib']} KiB of it at most)",
            f"storms: {f['storms']} of {f['storm_sessions']} resuming viewers in all, "
            f"missed {f['storm_missed']}",
            f"slowloris: {f['slowloris']['sockets']} sockets, {f['slowloris']['opened']} opened, "
            f"{f['slowloris']['closed_by_server']} closed by the server; /healthz "
            + (
                f"p50 {f['healthz_ms']['p50']} ms max {f['healthz_ms']['max']} ms"
                if f["healthz_ms"]
                else "not measured"
            ),
            f"disk: {f['disk']['bytes']} bytes, {f['disk']['bytes_per_tick']} a tick "
            f"({f['disk']['mb_per_day_at_1_tick_per_s']} MB a day at one tick a second); kept "
            f"for good (all but the expiring traces): {f['disk']['kept_bytes_per_tick']} a tick, "
            f"{f['disk']['kept_mb_per_day_at_1_tick_per_s']} MB a day",
            f"errors: {f['errors']} (failures {f['failures'] or 'none'}, server logged "
            f"{f['server_errors']})",
            _loop_line("server loop", f["server_loop"]),
            _loop_line("load loop", f["load_loop"]),
            f"/healthz: connect {_ms(f['healthz_connect_ms'])}; handler alone "
            f"{_ms(f['healthz_handler_ms'])}; phases after decisions (mean ms a tick) "
            f"{f['phase_ms']}",
        ]
        + [f"  stall {line}" for line in f["server_loop"].get("stall_stacks", [])[:8]]
        + [f"  memory {line}" for line in f["memory_growth"]]
        + [f"  server: {line}" for line in f["server_error_lines"]]
        + [f"  load: {kind}: {text}" for kind, text in f["failure_text"].items()]
        + [_verdict_line(f)]
    )


def _ms(s: dict[str, float | None] | None) -> str:
    return f"p50 {s['p50']} ms p99 {s['p99']} ms max {s['max']} ms" if s else "not measured"


def _loop_line(name: str, loop: dict[str, Any]) -> str:
    if not loop:
        return f"{name}: not measured"
    return (
        f"{name}: lag {_ms(loop['lag_ms'])}; {loop['stalls']} stalls over "
        f"{STALL_S * 1000:g} ms, {loop['stall_wall_ms']} ms in all, of which "
        f"{loop['stall_cpu_ms']} ms on its CPU (the rest waiting for a core)"
    )


def _verdict_line(f: dict[str, Any]) -> str:
    if f["ok"]:
        return "ok"
    failed = ", ".join(name for name, held in f["verdicts"].items() if not held)
    loop = f["server_loop"]
    waited = ""
    if loop and loop["stall_wall_ms"]:
        share = 1 - loop["stall_cpu_ms"] / loop["stall_wall_ms"]
        waited = f" (the server's loop stalls were {share:.0%} waiting for a core)"
    return f"NOT OK: {failed}{waited}"

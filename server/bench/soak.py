"""`smallwood bench soak`: a live server with bots and churning viewers, for a set time.

The server under test runs the default world in its own process (`live.ServerProcess`); a
load process on loopback holds `--bots` bots over `/ws/bot` that spawn their own creatures,
answer every turn, and now and then drop and rejoin with their token, and `--viewers`
viewers at a time that each stay a few seconds and leave, half of the newcomers resuming
with `?since=` the last seq their predecessor saw. Everything is seeded, bounded in count
(connections at once) and in time (`--seconds`).

It reports: ticks on time (the share of ticks that began within `ON_TIME_MS` of their
schedule, as the server itself saw it), missed deltas for connected viewers (a gap in seqs
inside one connection; a snapshot the server sends a slow reader is counted apart, as a
resync), the server's resident memory at the start, after a quarter of the run (buffers and
connections up) and at the end (from /proc/PID/status), and
errors: frames the server refused, connections that failed, and errors the server logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import connect

from server.serve import ServeConfig

from .live import Child, ServerProcess, frame_seq, raise_fd_limit, rss_kib, summary

ON_TIME_MS = 20.0
"""A tick is on time when it begins at most this long after its scheduled instant."""
VIEWER_STAY_S = (1.0, 6.0)
BOT_STAY_S = (3.0, 12.0)
GOODS = ("acorns", "berries", "mushrooms", "honey", "firewood")
ADMIN = "soak-admin-token"
WARM_SHARE = 0.25
"""Memory is also read this far into the run, once connections and buffers are up."""


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
    refused: Counter[str] = field(default_factory=Counter)
    """Error frames the server sent, by code."""
    failures: Counter[str] = field(default_factory=Counter)
    """Connections that failed or ended early, by exception."""


def run(
    seconds: float, *, bots: int = 4, viewers: int = 50, period: float = 0.25
) -> dict[str, Any]:
    """Soak one server for `seconds`; the figures as one JSON-able dict."""
    raise_fd_limit(viewers + bots)
    with tempfile.TemporaryDirectory(prefix="smallwood-soak-") as tmp:
        config = ServeConfig(
            data_dir=Path(tmp) / "data", port=0, tick=period, seed=1, admin_token=ADMIN
        )
        server = ServerProcess(config)
        try:
            rss_start = rss_kib(server.pid)
            ws_url = server.url.replace("http://", "ws://", 1)
            load = Child(_load_main, ws_url, seconds, bots, viewers, name="smallwood-bench-soak")
            began = time.monotonic()
            rss_warm = 0
            try:
                while not load.ready(min(1.0, seconds / 8)):
                    if not rss_warm and time.monotonic() - began >= seconds * WARM_SHARE:
                        rss_warm = rss_kib(server.pid)
                    if time.monotonic() - began > seconds + 60:
                        raise RuntimeError("the soak load did not finish")
                stats: LoadStats = load.recv(1)
            finally:
                load.join(30)
            rss_end = rss_kib(server.pid)
            rss_warm = rss_warm or rss_end
        finally:
            record = server.stop()
    lateness = list(record.lateness_ms.values())
    on_time = sum(1 for late in lateness if late <= ON_TIME_MS)
    errors = sum(stats.failures.values()) + record.errors
    return {
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
        "errors": errors,
        "rss_kib": {
            "start": rss_start,
            "warm": rss_warm,
            "end": rss_end,
            "growth": rss_end - rss_start,
            "growth_after_warm": rss_end - rss_warm,
        },
        "ok": stats.missed == 0 and errors == 0 and bool(lateness),
    }


def _load_main(conn: Connection, url: str, seconds: float, bots: int, viewers: int) -> None:
    raise_fd_limit(viewers + bots)
    stats = LoadStats()
    asyncio.run(_load(url, seconds, bots, viewers, stats))
    conn.send(stats)


async def _load(url: str, seconds: float, bots: int, viewers: int, stats: LoadStats) -> None:
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
    await asyncio.gather(*tasks)


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
        stats.failures[f"viewer {type(exc).__name__}"] += 1


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
        join: dict[str, Any] = {"type": "join"}
        if token:
            join["token"] = token
        else:
            join.update(name=f"Soaker {i}", species="vole", produces=good)
        held = [token]
        try:
            async with asyncio.timeout(stay):
                await _bot_session(url, join, good, stats, held)
        except TimeoutError:
            pass
        except Exception as exc:
            stats.failures[f"bot {type(exc).__name__}"] += 1
            await asyncio.sleep(0.5)
        token = held[0]


async def _bot_session(
    url: str, join: dict[str, Any], good: str, stats: LoadStats, token: list[str]
) -> None:
    """One connection; `token[0]` is set as soon as the server hands one out."""
    async with connect(url + "/ws/bot", compression=None, open_timeout=30) as ws:
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
            f"{WARM_SHARE:.0%} of the time, {rss['end']} KiB at the end ({rss['growth']:+d} KiB; "
            f"{rss['growth_after_warm']:+d} KiB after warm-up)",
            f"errors: {f['errors']} (failures {f['failures'] or 'none'}, server logged "
            f"{f['server_errors']})",
            "ok" if f["ok"] else "NOT OK",
        ]
    )

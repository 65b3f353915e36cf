"""`smallwood bench fanout --relays N`: viewers through relays on Redis instead of the server.

Processes: a throwaway `redis-server` on a free loopback port (no persistence), the
instrumented server (`live.ServerProcess`) with `--redis`, N relays (each `server.relay` in a
child process, instrumented as the server is: the wall time it took in each delta), and
`bench fanout`'s load process holding V `websockets` viewers spread evenly over the relays.
The window and the judging are `bench fanout`'s: a delta of the window a viewer never got is
missed. Two lags, all on this machine's clock:

- end to end: receipt in the load process minus the time the server handed that delta to
  its hub (hub -> publisher -> Redis -> relay -> viewer);
- relay to viewer: receipt minus the time the viewer's relay took that delta from Redis (the
  relay's own fan-out, what a relay adds past Redis).

Server CPU per tick is measured twice in the same run, with no viewer anywhere and then with
the V viewers on relays, to show it does not grow with them.

`--compare` adds a second window, after the first, in which the server's own fan-out to as
many viewers as one relay holds (equal viewers per process) runs at the same time as the
relays' fan-out, each fan-out with a load process of its own: both face the same machine at the
same moment (on a machine with fewer cores than processes, a direct run on its own would have
the cores to itself while the relays share theirs). It reports the ratio of that window's
relay-to-viewer p99 to its direct p99 (the target: at most 1.25). The first window's figures
(missed deltas, lags, the server's CPU with viewers on relays only) stay as they are.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from server.serve import ServeConfig

from .fanout import ADMIN, TARGET_RATIO, load_viewers, shares
from .live import Child, Served, ServerProcess, ViewerLog, Window, cpu_seconds, judge, summary

RELAY_START_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_port(port: int, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


class RedisProcess:
    """A throwaway `redis-server` on a free loopback port, without persistence."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "bench fanout --relays needs redis-server (apt-get install redis-server)"
            )
        port = _free_port()
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        _wait_port(port)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class RelayProcess(Served):
    """`server.relay` in a child process, recording when it took in each delta."""

    def __init__(self, redis_url: str) -> None:
        self.child = Child(_relay_main, redis_url, name="smallwood-bench-relay")
        self.port = self.child.recv(RELAY_START_S)

    def stop(self) -> dict[int, float]:
        """Stop it; seq -> the wall time the relay took that delta from Redis."""
        self.child.send("stop")
        fed: dict[int, float] = self.child.recv(30)
        self.child.join()
        return fed


def _relay_main(conn: Connection, redis_url: str) -> None:
    asyncio.run(_relay_async(conn, redis_url))


async def _relay_async(conn: Connection, redis_url: str) -> None:
    from server import relay as relay_mod  # noqa: PLC0415 - the child imports the relay itself

    relay = relay_mod.Relay(redis_url)
    fed: dict[int, float] = {}
    feed = relay.hub.feed

    def timed_feed(seq: int, tick: int, frame: bytes, patch: dict[str, Any]) -> None:
        fed[seq] = time.time()
        feed(seq, tick, frame, patch)

    setattr(relay.hub, "feed", timed_feed)  # noqa: B010 - shadow the bound method
    running = await relay_mod.start(relay, "127.0.0.1", 0)
    await asyncio.wait_for(relay.ready.wait(), RELAY_START_S)
    conn.send(running.port)
    await asyncio.to_thread(conn.recv)
    await running.stop()
    conn.send(fed)


def run(
    relays: int, viewers: int, ticks: int, period: float = 1.0, *, compare: bool = False
) -> dict[str, Any]:
    redis = RedisProcess()
    started: list[RelayProcess] = []
    direct: tuple[list[ViewerLog], list[list[ViewerLog]], Window, dict[str, Any]] | None = None
    per_relay = max(shares(viewers, relays))
    fed: list[dict[int, float]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="smallwood-relays-") as tmp:
            config = ServeConfig(
                data_dir=Path(tmp) / "data",
                port=0,
                tick=period,
                seed=1,
                admin_token=ADMIN,
                redis=redis.url,
            )
            server = ServerProcess(config)
            try:
                started += [RelayProcess(redis.url) for _ in range(relays)]
                # Server CPU with nobody watching, over as many ticks as the window.
                cpu0 = cpu_seconds(server.pid)
                time.sleep(ticks * period)
                idle_cpu_ms = (cpu_seconds(server.pid) - cpu0) * 1000 / ticks
                groups, window, load = load_viewers(
                    [r.url for r in started],
                    [server.pid] + [r.pid for r in started],
                    viewers,
                    ticks,
                    period,
                    processes=relays if compare else 1,
                )
                if compare:  # the server's own fan-out beside the relays', at once
                    [logs, *both], both_window, both_load = load_viewers(
                        [server.url] + [r.url for r in started],
                        [server.pid] + [r.pid for r in started],
                        0,
                        ticks,
                        period,
                        processes=relays + 1,
                        counts=[per_relay, *shares(viewers, relays)],
                    )
                    direct = (logs, both, both_window, both_load)
            finally:
                fed = [r.stop() for r in started]
                record = server.stop()
    finally:
        redis.stop()
    every = [log for logs in groups for log in logs]
    figures = judge(every, window, record.published)
    hop = _hops(groups, fed, window)
    server_cpu, *relay_cpu = load["cpu"]
    figures.update(
        {
            "relays": relays,
            "viewers": viewers,
            "ticks": ticks,
            "tick_s": period,
            "connect_s": load["connect_s"],
            "relay_lag_ms": summary(hop),
            "server_cpu_ms_per_tick_no_viewers": round(idle_cpu_ms, 2),
            "server_cpu_ms_per_tick_with_viewers": server_cpu["cpu_ms_per_tick"],
            "relay_cpu_ms_per_tick": [c["cpu_ms_per_tick"] for c in relay_cpu],
            "window_s": load["window_s"],
            "server_dropped": record.dropped,
            "server_errors": record.errors,
        }
    )
    figures["ok"] = figures["missed"] == 0
    if direct is not None:
        logs, both, both_window, both_load = direct
        mine = judge(logs, both_window, record.published)
        mine.update(connect_s=both_load["connect_s"], **both_load["cpu"][0])
        mine.pop("lag_p99_ms_by_tick")
        beside = judge([log for group in both for log in group], both_window, record.published)
        hop_beside = summary(_hops(both, fed, both_window))
        p99, direct_p99 = hop_beside["p99"], mine["lag_ms"]["p99"]
        ratio = round(p99 / direct_p99, 3) if p99 is not None and direct_p99 else None
        figures["direct"] = {"viewers": per_relay, **mine}
        figures["beside_direct"] = {
            "missed": beside["missed"],
            "expected": beside["expected"],
            "relay_lag_ms": hop_beside,
        }
        figures["p99_ratio"] = ratio
        figures["target_ratio"] = TARGET_RATIO
        figures["ok"] = (
            figures["ok"]
            and mine["missed"] == 0
            and beside["missed"] == 0
            and ratio is not None
            and ratio <= TARGET_RATIO
        )
    return figures


def _hops(
    groups: list[list[ViewerLog]], fed: list[dict[int, float]], window: Window
) -> list[float]:
    """Relay -> viewer lags (ms) over `window`: each viewer's receipt minus the time its relay
    took that delta from Redis."""
    return [
        (log.deltas[seq] - stamps[seq]) * 1000
        for logs, stamps in zip(groups, fed, strict=True)
        for log in logs
        for seq in window.seqs()
        if seq in log.deltas and seq in stamps
    ]


def render(figures: dict[str, Any]) -> str:
    lag, hop = figures["lag_ms"], figures["relay_lag_ms"]
    lines = [
        f"{figures['viewers']} viewers over {figures['relays']} relays, "
        f"{figures['ticks']} ticks of {figures['tick_s']} s",
        f"  missed {figures['missed']} of {figures['expected']}, "
        f"resyncs {figures['resyncs']}, closed early {figures['closed_early']}",
        f"  lag hub -> viewer, end to end (ms): p50 {lag['p50']} p99 {lag['p99']} max {lag['max']}",
        f"  lag relay -> viewer (ms): p50 {hop['p50']} p99 {hop['p99']} max {hop['max']}",
        f"  server CPU ms/tick: {figures['server_cpu_ms_per_tick_no_viewers']} with nobody, "
        f"{figures['server_cpu_ms_per_tick_with_viewers']} with the viewers on relays",
        f"  relay CPU ms/tick: {figures['relay_cpu_ms_per_tick']}",
    ]
    direct = figures.get("direct")
    if direct is not None:
        d = direct["lag_ms"]
        beside = figures["beside_direct"]
        b = beside["relay_lag_ms"]
        lines += [
            f"direct: {direct['viewers']} viewers on the server itself, beside the relays' "
            f"(a second window, all at once): missed {direct['missed']} of "
            f"{direct['expected']}, lag p50 {d['p50']} p99 {d['p99']} max {d['max']} ms",
            f"  the relays' viewers meanwhile: missed {beside['missed']} of "
            f"{beside['expected']}, lag relay -> viewer p50 {b['p50']} p99 {b['p99']} "
            f"max {b['max']} ms",
            f"p99 ratio relay -> viewer / direct: {figures['p99_ratio']} "
            f"(target <= {figures['target_ratio']})",
        ]
    lines.append("ok" if figures["ok"] else "NOT OK")
    return "\n".join(lines)

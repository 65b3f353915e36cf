"""`smallwood bench fanout --relays N`: viewers through relays on Redis instead of the server.

Processes: a throwaway `redis-server` on a free loopback port (no persistence), the
instrumented server (`live.ServerProcess`) with `--redis`, N `smallwood relay` processes, and
one load process holding V `websockets` viewers spread evenly over the relays. The window and
the judging are `bench fanout`'s: a delta of the window a viewer never got is missed; lag is
receipt time in the load process minus the time the server handed that delta to its hub (so
it is end to end: hub -> publisher -> Redis -> relay -> viewer), all on this machine's clock.

Server CPU per tick is measured twice in the same run, with no viewer anywhere and then with
the V viewers on relays, to show it does not grow with them.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

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
)

ADMIN = "bench-admin-token"
ROOT = Path(__file__).resolve().parents[2]


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


def run(relays: int, viewers: int, ticks: int, period: float = 1.0) -> dict[str, Any]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "bench fanout --relays needs redis-server (apt-get install redis-server)"
        )
    raise_fd_limit(viewers)
    redis_port = _free_port()
    url = f"redis://127.0.0.1:{redis_port}/0"
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="smallwood-relays-") as tmp:
        procs.append(
            subprocess.Popen(
                [binary, "--port", str(redis_port), "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
        )
        _wait_port(redis_port)
        config = ServeConfig(
            data_dir=Path(tmp) / "data",
            port=0,
            tick=period,
            seed=1,
            admin_token=ADMIN,
            redis=url,
        )
        server = ServerProcess(config)
        relay_urls: list[str] = []
        try:
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            for _ in range(relays):
                port = _free_port()
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "server",
                            "relay",
                            "--redis",
                            url,
                            "--port",
                            str(port),
                        ],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
                _wait_port(port)
                relay_urls.append(f"ws://127.0.0.1:{port}/ws")
            # Server CPU with nobody watching, over as many ticks as the window.
            cpu0 = cpu_seconds(server.pid)
            time.sleep(ticks * period)
            idle_cpu_ms = (cpu_seconds(server.pid) - cpu0) * 1000 / ticks
            load = Child(
                _load_main, relay_urls, viewers, ticks, period, name="smallwood-bench-relay"
            )
            try:
                _, first, last, connect_s = load.recv(60 + viewers / 20)
                cpu0, wall0 = cpu_seconds(server.pid), time.monotonic()
                relay_cpu0 = [cpu_seconds(p.pid) for p in procs[1:]]
                _, logs = load.recv((last - first + 3) * period + 60)
                cpu1, wall1 = cpu_seconds(server.pid), time.monotonic()
                relay_cpu1 = [cpu_seconds(p.pid) for p in procs[1:]]
            finally:
                load.join(40)
        finally:
            record = server.stop()
            for proc in reversed(procs):
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    window = Window(first, last)
    n = last - first + 1
    figures = judge(logs, window, record.published)
    figures.update(
        {
            "relays": relays,
            "viewers": viewers,
            "ticks": ticks,
            "tick_s": period,
            "connect_s": round(connect_s, 2),
            "server_cpu_ms_per_tick_no_viewers": round(idle_cpu_ms, 2),
            "server_cpu_ms_per_tick_with_viewers": round((cpu1 - cpu0) * 1000 / n, 2),
            "relay_cpu_ms_per_tick": [
                round((b - a) * 1000 / n, 2) for a, b in zip(relay_cpu0, relay_cpu1, strict=True)
            ],
            "window_s": round(wall1 - wall0, 2),
            "server_dropped": record.dropped,
            "server_errors": record.errors,
        }
    )
    return figures


def _load_main(conn: Connection, urls: list[str], viewers: int, ticks: int, period: float) -> None:
    raise_fd_limit(viewers)
    asyncio.run(_load_async(conn, urls, viewers, ticks, period))


async def _load_async(
    conn: Connection, urls: list[str], viewers: int, ticks: int, period: float
) -> None:
    began = time.monotonic()
    logs: list[ViewerLog] = []
    tasks: list[asyncio.Task[None]] = []
    for i, url in enumerate(urls):
        share = viewers // len(urls) + (1 if i < viewers % len(urls) else 0)
        got, started = await open_viewers(url, share)
        logs += got
        tasks += started
    connect_s = time.monotonic() - began
    gc.collect()
    gc.freeze()
    gc.disable()
    newest = newest_seq(logs)
    window = Window(newest + 2, newest + 1 + ticks)
    conn.send(("window", window.first, window.last, connect_s))
    await await_window(logs, window, period)
    gc.enable()
    for log in logs:
        log.deltas = {s: log.deltas[s] for s in window.seqs() if s in log.deltas}
        log.sizes = {}
    conn.send(("done", logs))
    await close_viewers(tasks)


def render(figures: dict[str, Any]) -> str:
    lag = figures["lag_ms"]
    return "\n".join(
        [
            f"{figures['viewers']} viewers over {figures['relays']} relays, "
            f"{figures['ticks']} ticks of {figures['tick_s']} s",
            f"  missed {figures['missed']} of {figures['expected']}, "
            f"resyncs {figures['resyncs']}, closed early {figures['closed_early']}",
            f"  lag hub -> viewer (ms): p50 {lag.get('p50')} p99 {lag.get('p99')} "
            f"max {lag.get('max')}",
            f"  server CPU ms/tick: {figures['server_cpu_ms_per_tick_no_viewers']} with nobody, "
            f"{figures['server_cpu_ms_per_tick_with_viewers']} with the viewers on relays",
            f"  relay CPU ms/tick: {figures['relay_cpu_ms_per_tick']}",
        ]
    )

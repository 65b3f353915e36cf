"""The moving parts of the relay tests: a throwaway `redis-server`, `smallwood relay` and
`smallwood serve` processes, and a viewer that checks the stream it rebuilds the world from."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.serve import Server
from shared import merge_patch

from .conftest import ADMIN, parked

REDIS = shutil.which("redis-server")
REDIS_TIER = [
    pytest.mark.redis,
    pytest.mark.skipif(
        REDIS is None and not os.environ.get("CI"),
        reason="needs Debian's redis-server (apt-get install redis-server); CI installs it",
    ),
]
"""The marks of a test module that needs a real redis-server (`pytestmark = REDIS_TIER`)."""
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0)
            writer.close()
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class Process:
    """A child process the tests start, stop as an operator would, or kill -9.

    Waiting for it runs on a thread: the tests' in-process servers share the test's event loop
    and must keep ticking meanwhile."""

    proc: subprocess.Popen[bytes] | None = None

    def _popen(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    async def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.proc.wait)

    async def stop(self, timeout: float = 30.0) -> int | None:
        """As an operator would: SIGTERM, and wait for it to exit. Returns its exit status
        (None if it was not running); one that ignored SIGTERM for `timeout` seconds is
        killed -9 and returns -9, so a caller that needs a clean exit sees it was not one."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return None
        self.proc.terminate()
        try:
            return await asyncio.to_thread(self.proc.wait, timeout)
        except subprocess.TimeoutExpired:
            await self.kill9()
            return self.proc.returncode


class RedisServer(Process):
    """A throwaway `redis-server` without persistence (a restart comes back empty)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"

    async def start(self) -> None:
        assert REDIS is not None, "redis-server is not installed (apt-get install redis-server)"
        self._popen(
            [
                REDIS,
                *("--port", str(self.port), "--save", "", "--appendonly", "no"),
                *("--bind", "127.0.0.1"),
            ]
        )
        await wait_port(self.port)


class RelayProcess(Process):
    """`python -m server relay` on its own port, as an operator would start it."""

    def __init__(
        self,
        redis_url: str,
        port: int | None = None,
        *args: str,
        env: dict[str, str] | None = None,
    ) -> None:
        """`args`: more options of `smallwood relay`; `env`: more environment (`SMALLWOOD_*`)."""
        self.redis_url = redis_url
        self.args = args
        self.env = env or {}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._popen(
            [
                sys.executable,
                *("-m", "server", "relay", "--redis", self.redis_url),
                *("--port", str(self.port)),
                *self.args,
            ],
            {**os.environ, "PYTHONPATH": str(ROOT), **self.env},
        )


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return orjson.loads(await resp.read())


async def until(check: Any, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(aiohttp.ClientError, OSError, KeyError):
            if await check():
                return
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def relay_ready(relay: RelayProcess) -> None:
    async def ok() -> bool:
        return bool((await get_json(relay.url + "/healthz"))["ok"])

    await until(ok, 30.0, f"relay on {relay.port} healthy")


class Viewer:
    """A viewer that rebuilds the world from whatever it connects to and checks the stream:
    every delta is the next seq (nothing lost, nothing twice) unless a snapshot comes first."""

    def __init__(self) -> None:
        self.seq = -1
        self.world: dict[str, Any] = {}
        self.frames: list[tuple[str, int]] = []
        self.raw: dict[int, bytes] = {}
        self.broken: list[str] = []
        self.ws: ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None
        self.allow_rewind = False
        """A restarted server may resume a few ticks back: then an older snapshot is fine."""

    async def attach(self, base: str, *, since: int | None = None) -> None:
        url = base.replace("http://", "ws://", 1) + "/ws"
        if since is not None:
            url += f"?since={since}"
        self.ws = await connect(url, max_size=None)
        self.task = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                data = raw if isinstance(raw, bytes) else raw.encode()
                msg = orjson.loads(data)
                if msg["type"] == "snapshot":
                    if msg["seq"] < self.seq and not self.allow_rewind:
                        self.broken.append(f"snapshot {msg['seq']} older than {self.seq}")
                    self.world, self.seq = msg["world"], msg["seq"]
                    self.frames.append(("snapshot", msg["seq"]))
                elif msg["type"] == "delta":
                    if msg["seq"] != self.seq + 1:
                        self.broken.append(f"delta {msg['seq']} after {self.seq}")
                    self.world = merge_patch.apply(self.world, msg["patch"])
                    self.seq = msg["seq"]
                    self.raw[msg["seq"]] = data
                    self.frames.append(("delta", msg["seq"]))

    async def detach(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            await self.task

    async def dropped(self) -> None:
        """Wait for the connection to end (its relay died)."""
        assert self.task is not None
        await asyncio.wait_for(self.task, 10.0)

    def snapshots(self) -> int:
        return sum(1 for kind, _ in self.frames if kind == "snapshot")


async def settle(world: Server, viewers: list[Viewer]) -> dict[str, Any]:
    """Pause the world, let every viewer catch up, and return the server's snapshot."""
    await parked(world.clock)  # the tick in progress publishes first
    target = world.hub.seq

    async def caught_up() -> bool:
        return all(v.seq == target for v in viewers)

    await until(caught_up, 20.0, f"viewers at seq {target}: {[v.seq for v in viewers]}")
    snap: dict[str, Any] = await get_json(world.url + "/api/snapshot")
    assert snap["seq"] == target
    return snap


async def ticks(world: Server, n: int) -> None:
    start_seq = world.hub.seq

    async def moved() -> bool:
        return world.hub.seq >= start_seq + n

    await until(moved, 30.0, f"{n} ticks")


class ServerProcess(Process):
    """`python -m server serve --redis` in its own process, so that it can be killed -9."""

    def __init__(self, redis_url: str, data_dir: Path, *args: str) -> None:
        """`args`: more options of `smallwood serve`."""
        self.redis_url = redis_url
        self.data_dir = data_dir
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._popen(
            [
                *(sys.executable, "-m", "server", "serve", "--redis", self.redis_url),
                *("--port", str(self.port), "--data-dir", str(self.data_dir)),
                *("--tick", "0.05", "--seed", "1"),
                *self.args,
            ],
            {**os.environ, "PYTHONPATH": str(ROOT), "SMALLWOOD_ADMIN_TOKEN": ADMIN},
        )

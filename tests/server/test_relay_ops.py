"""Running a world behind relays: its audience on relays, its health while Redis is away,
several worlds on one Redis, and the way from a relay's pages to the world's server.

Real `redis-server`, a real server with `--redis` and `smallwood relay` processes on loopback;
skipped only outside CI when Debian's `redis-server` is missing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.serve import start

from .conftest import config
from .relay_parts import (
    REDIS,
    RedisServer,
    RelayProcess,
    Viewer,
    free_port,
    get_json,
    relay_ready,
    ticks,
    until,
)

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        REDIS is None and not os.environ.get("CI"),
        reason="needs Debian's redis-server (apt-get install redis-server); CI installs it",
    ),
]


IDLE_AFTER = 3.0
"""Seconds with nobody watching before the test's world idles (relays report every second)."""


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.kill9()


async def test_viewers_on_relays_keep_an_idling_world_awake(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    running = await start(
        config(tmp_path / "data", tick=0.05, redis=redis_server.url, idle_after=IDLE_AFTER)
    )
    relay = RelayProcess(redis_server.url)
    viewer = Viewer()
    try:
        relay.start()
        await relay_ready(relay)

        async def idle() -> bool:
            return running.clock.idle

        async def awake() -> bool:
            return not running.clock.idle

        await until(idle, 15.0, "the world idles with nobody watching anywhere")
        asleep_at = running.hub.seq
        await viewer.attach(relay.url)  # on the relay only: the server has no viewer
        await until(awake, 10.0, "a viewer on a relay wakes the world")
        health = await get_json(running.url + "/healthz")
        assert health["viewers"] == 0  # the server's own
        assert health["redis"]["relays"] == 1 and health["redis"]["relay_viewers"] == 1
        # Well past `idle_after`, it stays awake and ticks for the relay's viewer.
        woke_at = running.hub.seq
        for _ in range(int(IDLE_AFTER * 2 / 0.1)):
            assert not running.clock.idle
            await asyncio.sleep(0.1)
        assert running.hub.seq >= woke_at + 40
        assert viewer.broken == [] and viewer.seq > asleep_at

        # The relay dies without a word: its count expires in Redis, and the world idles.
        relay.kill9()
        await viewer.dropped()
        await until(idle, 20.0, "the world idles once the dead relay's count expired")
        health = await get_json(running.url + "/healthz")
        assert health["redis"]["relays"] == 0 and health["redis"]["relay_viewers"] == 0
        assert health["status"] == "idle"
    finally:
        relay.stop()
        await running.stop()


async def test_healthz_is_not_ok_while_redis_is_down_and_recovers(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    running = await start(config(tmp_path / "data", tick=0.05, redis=redis_server.url))
    try:

        async def healthy() -> bool:
            health = await get_json(running.url + "/healthz")
            return bool(health["ok"]) and health["problems"] == []

        await until(healthy, 15.0, "healthy with Redis up")
        redis_server.stop()  # mid-run

        async def unhealthy() -> bool:
            return not (await get_json(running.url + "/healthz"))["ok"]

        await until(unhealthy, 15.0, "ok: false once Redis is down")
        health = await get_json(running.url + "/healthz")
        assert health["redis"]["connected"] is False
        [reason] = health["problems"]  # the reason, in words
        assert reason == health["redis"]["problem"]
        assert f"redis at redis://127.0.0.1:{redis_server.port}/0 unreachable" in reason
        assert "the world ticks on" in reason
        assert health["status"] == "live"  # the world itself is fine: viewers see it live
        before = running.hub.seq
        await ticks(running, 10)  # and it does tick on
        assert running.hub.seq >= before + 10

        redis_server.start()
        await until(healthy, 20.0, "ok again once Redis is back")
        health = await get_json(running.url + "/healthz")
        assert health["redis"]["connected"] is True and health["redis"]["problem"] == ""
    finally:
        await running.stop()

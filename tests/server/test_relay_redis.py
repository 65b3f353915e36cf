"""Viewers through relays on Redis: real `redis-server`, a real server with `--redis`, and
`smallwood relay` processes on loopback.

Skipped only outside CI when Debian's `redis-server` is missing; under CI (`CI` set) they fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from websockets.asyncio.client import connect

from server.serve import Server, start

from .conftest import ADMIN, config
from .relay_parts import (
    REDIS_TIER,
    RedisServer,
    RelayProcess,
    ServerProcess,
    Viewer,
    free_port,
    get_json,
    relay_ready,
    settle,
    ticks,
    until,
)

pytestmark = REDIS_TIER


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    server = RedisServer(free_port())
    await server.start()
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            await server.kill9()


@pytest.fixture
async def world(tmp_path: Path, redis_server: RedisServer) -> AsyncIterator[Server]:
    running = await start(config(tmp_path / "data", tick=0.05, redis=redis_server.url))
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def relays(redis_server: RedisServer, world: Server) -> AsyncIterator[list[RelayProcess]]:
    started = [RelayProcess(redis_server.url), RelayProcess(redis_server.url)]
    for relay in started:
        relay.start()
    try:
        for relay in started:
            await relay_ready(relay)
        yield started
    finally:
        for relay in started:
            await relay.stop()


async def test_viewers_through_two_relays_rebuild_the_servers_world(
    world: Server, relays: list[RelayProcess]
) -> None:
    viewers = [Viewer(), Viewer(), Viewer()]
    await viewers[0].attach(relays[0].url)
    await viewers[1].attach(relays[1].url)
    await viewers[2].attach(world.url)  # the server's own viewer, for the bytes
    await ticks(world, 30)
    snap = await settle(world, viewers)
    for viewer in viewers:
        assert viewer.broken == []
        assert viewer.world == snap["world"]
        assert viewer.snapshots() == 1
        assert len(viewer.frames) > 20
    for relay in relays:
        relayed = await get_json(relay.url + "/api/snapshot")
        assert (relayed["seq"], relayed["tick"], relayed["world"]) == (
            snap["seq"],
            snap["tick"],
            snap["world"],
        )
        health = await get_json(relay.url + "/healthz")
        assert health["ok"] and health["behind"] == 0 and health["seq"] == snap["seq"]
        # Chart history: the server's points up to the relay's snapshot, then its own.
        for last in (5, 25):
            theirs = await get_json(world.url + f"/api/history?last={last}")
            assert len(theirs["ticks"]) == last
            assert await get_json(relay.url + f"/api/history?last={last}") == theirs
    # The very bytes the server's own viewers got, delta by delta.
    common = set(viewers[0].raw) & set(viewers[1].raw) & set(viewers[2].raw)
    assert len(common) > 20
    for seq in common:
        assert viewers[0].raw[seq] == viewers[1].raw[seq] == viewers[2].raw[seq]
    health = await get_json(world.url + "/healthz")
    assert health["redis"]["connected"] is True
    assert health["redis"]["published_seq"] == snap["seq"]
    for viewer in viewers:
        await viewer.detach()


async def test_a_viewer_moves_between_relays_with_since(
    world: Server, relays: list[RelayProcess]
) -> None:
    viewer = Viewer()
    await viewer.attach(relays[0].url)
    await ticks(world, 10)
    await viewer.detach()
    left_at = viewer.seq
    await ticks(world, 10)  # missed while away
    await viewer.attach(relays[1].url, since=left_at)
    await ticks(world, 10)
    snap = await settle(world, [viewer])
    await viewer.detach()
    assert viewer.broken == []
    assert viewer.snapshots() == 1  # the first only: the other relay sent exactly the missing
    assert [s for kind, s in viewer.frames if kind == "delta"] == list(
        range(viewer.frames[0][1] + 1, snap["seq"] + 1)
    )
    assert viewer.world == snap["world"]


async def test_kill9_of_a_relay_loses_nothing(
    world: Server, relays: list[RelayProcess], redis_server: RedisServer
) -> None:
    viewer = Viewer()
    await viewer.attach(relays[0].url)
    await ticks(world, 10)
    await relays[0].kill9()
    await viewer.dropped()
    await viewer.attach(relays[1].url, since=viewer.seq)  # the load balancer's next pick
    await ticks(world, 10)
    # The dead relay comes back on its port, stateless: it takes the snapshot from Redis.
    relays[0].start()
    await relay_ready(relays[0])
    back = Viewer()
    await back.attach(relays[0].url)
    await ticks(world, 10)
    snap = await settle(world, [viewer, back])
    theirs = await get_json(world.url + "/api/history?last=25")
    assert await get_json(relays[0].url + "/api/history?last=25") == theirs
    for v in (viewer, back):
        await v.detach()
        assert v.broken == []
        assert v.snapshots() == 1
        assert v.world == snap["world"]


async def test_kill9_of_redis_the_world_ticks_on_and_everyone_recovers(
    world: Server, relays: list[RelayProcess], redis_server: RedisServer
) -> None:
    viewers = [Viewer(), Viewer()]
    await viewers[0].attach(relays[0].url)
    await viewers[1].attach(relays[1].url)
    await ticks(world, 10)
    await redis_server.kill9()

    async def noticed() -> bool:
        health = await get_json(world.url + "/healthz")
        return health["redis"]["connected"] is False

    await until(noticed, 15.0, "the server notices Redis is gone")
    async with aiohttp.ClientSession() as http, http.get(world.url + "/metrics") as resp:
        assert "smallwood_redis_connected 0.0" in await resp.text()
    before = world.hub.seq
    await ticks(world, 20)  # the clock never waits on Redis
    assert world.hub.seq >= before + 20
    await redis_server.start()  # empty: no persistence

    async def recovered() -> bool:
        health = await get_json(world.url + "/healthz")
        return bool(health["redis"]["connected"])

    await until(recovered, 20.0, "the server republishes")
    for relay in relays:
        await relay_ready(relay)
    await ticks(world, 10)
    snap = await settle(world, viewers)
    for viewer in viewers:
        await viewer.detach()
        assert viewer.broken == []  # deltas in order, none twice; any gap closed by a snapshot
        assert viewer.world == snap["world"]
    for relay in relays:
        relayed = await get_json(relay.url + "/api/snapshot")
        assert relayed["world"] == snap["world"]
        async with aiohttp.ClientSession() as http, http.get(relay.url + "/metrics") as resp:
            assert "smallwood_relay_reconnects_total 1.0" in await resp.text()


async def test_kill9_of_the_server_relays_follow_its_restart(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    world = ServerProcess(redis_server.url, tmp_path / "data")
    world.start()
    relay = RelayProcess(redis_server.url)
    relay.start()
    viewer = Viewer()
    try:
        await relay_ready(relay)
        await viewer.attach(relay.url)

        async def past(seq: int) -> bool:
            return viewer.seq >= seq

        await until(lambda: past(0), 30.0, "the first frame through the relay")
        first = viewer.seq
        await until(lambda: past(first + 10), 30.0, "10 deltas through the relay")
        await world.kill9()
        world.start()  # resumes the same world from its data dir, under a new epoch
        # The relay closes its viewers (seqs may repeat after a restart); the viewer comes back.
        await viewer.dropped()
        viewer.allow_rewind = True
        await viewer.attach(relay.url, since=viewer.seq)
        resumed = viewer.seq
        await until(lambda: past(resumed + 10), 30.0, "deltas of the restarted server")
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {ADMIN}"}
            async with http.post(world.url + "/api/admin/pause", headers=headers) as resp:
                assert resp.status == 200

        async def parked() -> bool:  # the tick under way when the pause came has landed
            return bool((await get_json(world.url + "/healthz"))["parked"])

        await until(parked, 20.0, "the restarted server parked")
        snap: dict[str, Any] = await get_json(world.url + "/api/snapshot")

        async def caught_up() -> bool:
            return bool(viewer.seq == snap["seq"])

        await until(caught_up, 20.0, "the viewer at the restarted server's seq")
        assert viewer.broken == []
        assert viewer.snapshots() == 2  # the first, and the restarted world's
        assert viewer.world == snap["world"]
        assert (await get_json(relay.url + "/api/snapshot"))["world"] == snap["world"]
    finally:
        await viewer.detach()
        await relay.stop()
        await world.stop()


async def test_a_server_started_before_redis_ticks_and_publishes_once_it_is_up(
    tmp_path: Path,
) -> None:
    redis_server = RedisServer(free_port())  # not started yet: nothing listens there
    running = await start(config(tmp_path / "data", tick=0.05, redis=redis_server.url))
    relay = RelayProcess(redis_server.url)
    try:
        assert running.publisher is not None
        running.publisher.limit = 8  # so that the outage overflows the buffer
        await ticks(running, 20)
        health = await get_json(running.url + "/healthz")
        assert health["redis"]["connected"] is False
        assert health["redis"]["last_error"]
        assert health["redis"]["buffered"] <= 8
        assert health["redis"]["dropped"] > 0  # oldest deltas given up, never the clock
        relay.start()  # a relay with no Redis either: it waits, then serves
        await redis_server.start()
        await relay_ready(relay)
        viewer = Viewer()
        await viewer.attach(relay.url)
        await ticks(running, 10)
        snap = await settle(running, [viewer])
        await viewer.detach()
        assert viewer.broken == []
        assert viewer.world == snap["world"]
        health = await get_json(running.url + "/healthz")
        assert health["redis"]["connected"] is True and health["redis"]["buffered"] == 0
    finally:
        await relay.stop()
        await running.stop()
        if redis_server.proc is not None:
            await redis_server.kill9()


async def test_status_frames_reach_viewers_on_relays(
    world: Server, relays: list[RelayProcess]
) -> None:
    url = relays[0].url.replace("http://", "ws://", 1) + "/ws?status=1"
    async with connect(url, max_size=None) as ws:
        statuses: list[str] = []

        async def paused() -> bool:
            msg = orjson.loads(await asyncio.wait_for(ws.recv(), 5.0))
            if msg["type"] == "status":
                statuses.append(msg["status"])
            return bool(statuses and statuses[-1] == "paused")

        await until(lambda: asyncio.sleep(0.3, result=world.hub.status is not None), 10.0)
        world.clock.pause()
        await until(paused, 15.0, "a paused status frame through the relay")
        world.clock.resume()

        async def live() -> bool:
            msg = orjson.loads(await asyncio.wait_for(ws.recv(), 5.0))
            if msg["type"] == "status":
                statuses.append(msg["status"])
            return statuses[-1] == "live"

        await until(live, 15.0, "a live status frame through the relay")
    assert "paused" in statuses and statuses[-1] == "live"

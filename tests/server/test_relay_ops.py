"""Running a world behind relays: its audience on relays, its health while Redis is away,
several worlds on one Redis, and the way from a relay's pages to the world's server.

Real `redis-server`, a real server with `--redis` and `smallwood relay` processes on loopback;
skipped only outside CI when Debian's `redis-server` is missing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Origin

from server.redis_publish import audience_key, relays_key
from server.serve import start

from .conftest import config, recv_until, send
from .relay_parts import (
    REDIS_TIER,
    ROOT,
    RedisServer,
    RelayProcess,
    Viewer,
    free_port,
    get_json,
    relay_ready,
    settle,
    ticks,
    until,
    wait_port,
)

pytestmark = REDIS_TIER


IDLE_AFTER = 3.0
"""Seconds with nobody watching before the test's world idles (relays report every second)."""


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    server = RedisServer(free_port())
    await server.start()
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            await server.kill9()


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
        await until(awake, 30.0, "a viewer on a relay wakes the world")
        health = await get_json(running.url + "/healthz")
        assert health["viewers"] == 0  # the server's own
        assert health["redis"]["relays"] == 1 and health["redis"]["relay_viewers"] == 1
        # Well past `idle_after`, it stays awake and ticks for the relay's viewer.
        woke_at = running.hub.seq
        awake_since = time.monotonic()
        while time.monotonic() - awake_since < 2 * IDLE_AFTER or running.hub.seq < woke_at + 40:
            assert not running.clock.idle
            assert time.monotonic() - awake_since < 60.0, "the world stopped ticking"
            await asyncio.sleep(0.1)
        assert viewer.broken == [] and viewer.seq > asleep_at

        # The relay dies without a word: its count expires in Redis, and the world idles.
        await relay.kill9()
        await viewer.dropped()
        await until(idle, 60.0, "the world idles once the dead relay's count expired")
        health = await get_json(running.url + "/healthz")
        assert health["redis"]["relays"] == 0 and health["redis"]["relay_viewers"] == 0
        assert health["status"] == "idle"
    finally:
        await relay.stop()
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
        await redis_server.stop()  # mid-run

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

        await redis_server.start()
        await until(healthy, 20.0, "ok again once Redis is back")
        health = await get_json(running.url + "/healthz")
        assert health["redis"]["connected"] is True and health["redis"]["problem"] == ""
    finally:
        await running.stop()


async def test_two_worlds_share_one_redis_under_their_own_prefixes(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    worlds = [
        await start(
            config(
                tmp_path / name,
                tick=0.05,
                seed=seed,
                redis=redis_server.url,
                redis_prefix=name,
                idle_after=60.0,
            )
        )
        for name, seed in (("wood-a", 1), ("wood-b", 2))
    ]
    relays = [
        RelayProcess(redis_server.url, None, "--redis-prefix", "wood-a"),
        RelayProcess(redis_server.url, None, "--redis-prefix", "wood-b"),
    ]
    viewers = [Viewer(), Viewer()]
    try:
        for relay in relays:
            relay.start()
        for relay in relays:
            await relay_ready(relay)
        await viewers[0].attach(relays[0].url)
        await viewers[1].attach(relays[1].url)
        for world in worlds:
            await ticks(world, 10)
        snaps = [
            await settle(world, [viewer]) for world, viewer in zip(worlds, viewers, strict=True)
        ]
        assert snaps[0]["world"] != snaps[1]["world"]  # two worlds, not one seen twice
        for snap, relay, viewer in zip(snaps, relays, viewers, strict=True):
            assert viewer.broken == [] and viewer.world == snap["world"]
            relayed = await get_json(relay.url + "/api/snapshot")
            assert (relayed["seq"], relayed["world"]) == (snap["seq"], snap["world"])
        # Each world hears only its own relays' viewers.
        await viewers[1].detach()

        async def counted() -> bool:
            a = (await get_json(worlds[0].url + "/healthz"))["redis"]
            b = (await get_json(worlds[1].url + "/healthz"))["redis"]
            return (a["relays"], a["relay_viewers"], b["relays"], b["relay_viewers"]) == (
                1,
                1,
                1,
                0,
            )

        await until(counted, 30.0, "one viewer for wood-a's relay, none for wood-b's")
        await viewers[0].detach()
        # A relay stopped as an operator would takes its count out at once, not at its TTL:
        # Redis itself says how the count went (a DEL, or an expiry), so no clock is read.
        watch = Redis.from_url(redis_server.url)
        try:
            (rid,) = {m.decode() for m in await watch.smembers(relays_key("wood-a"))}
            count = audience_key("wood-a", rid).encode()
            await watch.config_set("notify-keyspace-events", "Egx")  # del and expired events
            events = watch.pubsub()
            await events.subscribe("__keyevent@0__:del", "__keyevent@0__:expired")
            assert await relays[0].stop(60.0) == 0  # exited by itself, not killed -9

            async def how_gone() -> str:
                while True:
                    msg = await events.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if msg is not None and msg["data"] == count:
                        return str(msg["channel"].decode().rpartition(":")[2])

            assert await asyncio.wait_for(how_gone(), 30.0) == "del"
            await events.aclose()
        finally:
            await watch.aclose()

        async def forgotten() -> bool:
            return (await get_json(worlds[0].url + "/healthz"))["redis"]["relays"] == 0

        await until(forgotten, 30.0, "wood-a's relay forgotten")
    finally:
        for relay in relays:
            await relay.stop()
        for world in worlds:
            await world.stop()


def test_the_redis_options_are_on_both_commands_and_checked(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    redis = ("--redis", "redis://127.0.0.1:1/0")
    data = ("--data-dir", str(tmp_path / "data"))
    for command, url_option in (("serve", "--public-url"), ("relay", "--server-url")):
        shown = subprocess.run(
            [sys.executable, "-m", "server", command, "--help"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert "--redis-prefix PREFIX" in shown.stdout and f"{url_option} URL" in shown.stdout
        more = data if command == "serve" else ()
        for bad, said in (
            (("--redis-prefix", "two words"), "--redis-prefix 'two words': use 1 to 64 of"),
            ((url_option, "ftp://x"), f"{url_option} 'ftp://x' is not an http:// or https://"),
        ):
            refused = subprocess.run(
                [sys.executable, "-m", "server", command, *redis, *bad, *more],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert refused.returncode == 2 and said in refused.stderr
    assert not (tmp_path / "data").exists()  # refused before the world was made


async def test_relays_send_players_and_bots_to_the_worlds_server(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    running = await start(
        config(
            tmp_path / "data",
            tick=0.1,
            decision_share=0.8,
            redis=redis_server.url,
            public_url="https://play.example.org/",
        )
    )
    announced = RelayProcess(redis_server.url)  # takes the URL the server announces
    fixed = RelayProcess(redis_server.url, None, "--server-url", running.url)  # its own word
    lost = RelayProcess(redis_server.url, None, "--redis-prefix", "no-such-world")
    relays = (announced, fixed, lost)
    try:
        for relay in relays:
            relay.start()
        await relay_ready(announced)
        await relay_ready(fixed)
        assert (await get_json(announced.url + "/healthz"))["server"] == "https://play.example.org"
        assert (await get_json(fixed.url + "/healthz"))["server"] == running.url
        async with aiohttp.ClientSession() as http:
            # The play page is the server's: a relay redirects to it, the query kept.
            async with http.get(announced.url + "/play?x=1", allow_redirects=False) as resp:
                assert resp.status == 307
                assert resp.headers["Location"] == "https://play.example.org/play?x=1"
            async with http.get(fixed.url + "/play") as resp:  # followed, to the real page
                assert resp.status == 200 and str(resp.url) == running.url + "/play"
                assert "/ws/bot" in await resp.text()
            async with http.get(announced.url + "/ws/bot", allow_redirects=False) as resp:
                assert resp.status == 307
                assert resp.headers["Location"] == "wss://play.example.org/ws/bot"
            # The viewer's own pages and the schema stay on the relay.
            async with http.get(announced.url + "/") as resp:
                assert resp.status == 200 and str(resp.url) == announced.url + "/"
            async with (
                http.get(announced.url + "/api/schema") as mine,
                http.get(running.url + "/api/schema") as theirs,
            ):
                assert await mine.read() == await theirs.read()
            # A relay that has heard of no server says so rather than guess.
            await wait_port(lost.port)
            async with http.get(lost.url + "/play", allow_redirects=False) as resp:
                assert resp.status == 503
                assert "not announced" in (await resp.json())["error"]
        # A bot pointed at a relay follows the redirect and joins the world on its server.
        ws = await connect(fixed.url.replace("http://", "ws://", 1) + "/ws/bot")
        try:
            await send(
                ws, {"type": "join", "name": "Newt", "species": "newt", "produces": "berries"}
            )
            joined = await recv_until(ws, lambda m: m["type"] in ("joined", "error"))
            assert joined["type"] == "joined", joined

            async def in_the_wood() -> bool:
                return joined["creature"] in running.relay.sessions

            await until(in_the_wood, 10.0, "the bot's creature in the Wood, driven by it")
        finally:
            await ws.close()
    finally:
        for relay in relays:
            await relay.stop()
        await running.stop()


async def test_a_viewer_that_talks_meets_one_handler_on_server_and_relay(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    running = await start(config(tmp_path / "data", tick=0.1, redis=redis_server.url))
    relay = RelayProcess(redis_server.url)
    try:
        relay.start()
        await relay_ready(relay)
        for base, hint in (
            (running.url, "bots connect to /ws/bot"),
            (relay.url, f"bots connect to {running.url}/ws/bot"),
        ):
            url = base.replace("http://", "ws://", 1) + "/ws"
            async with connect(url, max_size=None) as ws:
                first = orjson.loads(await asyncio.wait_for(ws.recv(), 10.0))
                assert first["type"] == "snapshot"
                await ws.send('{"type":"act"}')
                refusal = await recv_until(ws, lambda m: m["type"] == "error", 10.0)
                assert refusal == {
                    "type": "error",
                    "code": "not_expected",
                    "message": f"viewers send nothing on /ws; {hint}",
                }
                with pytest.raises(ConnectionClosed) as closed:  # a flood: cut off
                    for _ in range(200):
                        await ws.send("x")
                    while True:
                        await asyncio.wait_for(ws.recv(), 10.0)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    finally:
        await relay.stop()
        await running.stop()


async def test_a_relay_keeps_the_servers_edge(tmp_path: Path, redis_server: RedisServer) -> None:
    """The public face of a scaled-out Wood refuses what the server refuses: pages of other
    origins than its own and its operator's, and more connections per address than the cap."""
    running = await start(config(tmp_path / "data", tick=0.1, redis=redis_server.url))
    relay = RelayProcess(
        redis_server.url,
        env={
            "SMALLWOOD_ORIGINS": "https://Wood.example/",
            "SMALLWOOD_CONNECTIONS_PER_ADDRESS": "3",
            "SMALLWOOD_LIMIT_LOOPBACK": "1",
        },
    )
    try:
        relay.start()
        await relay_ready(relay)
        # The pages served elsewhere read whom the relay lets in, as they do on a server.
        assert await get_json(relay.url + "/api/origins") == {"origins": ["https://wood.example"]}
        url = relay.url.replace("http://", "ws://", 1) + "/ws"
        with pytest.raises(InvalidStatus) as refused:
            await connect(url, origin=Origin("https://evil.example"))
        assert refused.value.response.status_code == 403
        sockets = [
            await connect(url, origin=Origin(origin), max_size=None)
            for origin in ("https://wood.example", relay.url)  # listed, and its own
        ]
        sockets.append(await connect(url, max_size=None))  # no Origin: not a browser
        try:
            for ws in sockets:
                assert orjson.loads(await asyncio.wait_for(ws.recv(), 10.0))["type"] == "snapshot"
            # A fourth connection from this address is cut before its handshake.
            with pytest.raises((InvalidHandshake, ConnectionClosed, OSError)):
                await connect(url, open_timeout=10.0)
        finally:
            for ws in sockets:
                await ws.close()
        metrics = await http_text(relay.url + "/metrics")
        assert 'smallwood_frames_refused_total{code="foreign_origin"} 1.0' in metrics
    finally:
        await relay.stop()
        await running.stop()


async def http_text(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return await resp.text()


def test_bench_fanout_relays_compare_runs_both_in_one_run() -> None:
    from server.bench import relays

    figures = relays.run(relays=2, viewers=8, ticks=4, period=0.1, compare=True)
    assert figures["expected"] == 8 * 4 and figures["missed"] == 0
    assert figures["relay_cpu_ms_per_tick"] and len(figures["relay_cpu_ms_per_tick"]) == 2
    direct = figures["direct"]
    assert direct["viewers"] == 4  # as many as one relay holds
    assert direct["expected"] == 4 * 4 and direct["missed"] == 0
    # The relay's hop is part of the whole way: never longer than hub -> viewer.
    hop, whole = figures["relay_lag_ms"], figures["lag_ms"]
    assert 0 <= hop["p50"] <= whole["p50"] and hop["max"] <= whole["max"]
    # The ratio is of one window where both fan-outs ran at once, on the same machine.
    beside = figures["beside_direct"]
    assert beside["expected"] == 8 * 4 and beside["missed"] == 0
    ratio = round(beside["relay_lag_ms"]["p99"] / direct["lag_ms"]["p99"], 3)
    assert figures["p99_ratio"] == ratio
    text = relays.render(figures)
    assert "p99 ratio relay -> viewer / direct" in text and "lag relay -> viewer" in text

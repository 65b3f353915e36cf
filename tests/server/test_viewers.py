"""Viewers over real sockets: a snapshot and every delta rebuild the world exactly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.serve import Server, start
from shared.merge_patch import apply
from shared.protocol import SERVER, Delta, Snapshot

from .conftest import config, parked, recv, recv_until, until, ws_url


def canonical(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


async def http_json(server: Server, path: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(server.url + path) as resp:
        assert resp.status == 200
        return await resp.json()


async def test_snapshot_and_deltas_rebuild_the_snapshot(server: Server) -> None:
    async with connect(ws_url(server)) as ws:
        first = await recv(ws)
        assert isinstance(SERVER.validate_python(first), Snapshot)
        world, seq = first["world"], first["seq"]
        for _ in range(12):
            message = await recv(ws)
            assert isinstance(SERVER.validate_python(message), Delta)
            assert message["seq"] == seq + 1
            world, seq = apply(world, message["patch"]), message["seq"]
        await parked(server.clock)  # a tick in progress lands first
        while seq < server.hub.seq:
            message = await recv(ws)
            world, seq = apply(world, message["patch"]), message["seq"]
        snapshot = await http_json(server, "/api/snapshot")
    assert snapshot["seq"] == seq
    assert canonical(world) == canonical(snapshot["world"])
    assert world["tick"] == snapshot["tick"] == server.clock.state.tick


async def test_since_resumes_without_a_snapshot(server: Server) -> None:
    async with connect(ws_url(server)) as ws:
        first = await recv(ws)
        world, seq = first["world"], first["seq"]
        delta = await recv(ws)
        world, seq = apply(world, delta["patch"]), delta["seq"]
    await asyncio.sleep(0.35)  # miss a few ticks
    async with connect(ws_url(server) + f"?since={seq}") as ws:
        for _ in range(5):
            message = await recv(ws)
            assert message["type"] == "delta" and message["seq"] == seq + 1
            world, seq = apply(world, message["patch"]), message["seq"]
        assert world["tick"] == message["tick"]
    async with connect(ws_url(server) + "?since=-5") as ws:
        assert (await recv(ws))["type"] == "snapshot"
    async with connect(ws_url(server) + "?since=nonsense") as ws:
        assert (await recv(ws))["type"] == "snapshot"


async def test_garbage_from_a_viewer_harms_no_one(server: Server) -> None:
    async with connect(ws_url(server)) as rude, connect(ws_url(server)) as calm:
        rude_seq = (await recv(rude))["seq"]
        calm_seq = (await recv(calm))["seq"]
        for junk in ("hello", '{"type":"act"}', "\x00\xff", "[" * 100):
            await rude.send(junk)
        await rude.send(b"\x01\x02binary")
        error = await recv_until(rude, lambda m: m["type"] == "error")
        assert error["code"] == "not_expected"
        for _ in range(6):
            message = await recv_until(rude, lambda m: m["type"] == "delta")
            assert message["seq"] > rude_seq
            rude_seq = message["seq"]
        for _ in range(6):
            message = await recv(calm)
            assert message["seq"] == calm_seq + 1
            calm_seq = message["seq"]


async def test_an_oversized_or_flooding_viewer_is_cut_off_alone(server: Server) -> None:
    async with connect(ws_url(server)) as calm:
        seq = (await recv(calm))["seq"]
        async with connect(ws_url(server), max_size=None) as big:
            await recv(big)
            await big.send("x" * 100_000)
            try:
                while True:
                    await recv(big)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1009
        async with connect(ws_url(server)) as flood:
            await recv(flood)
            try:
                for _ in range(200):
                    await flood.send("x")
                while True:
                    await recv(flood)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1008
        for _ in range(4):
            message = await recv(calm)
            assert message["seq"] == seq + 1
            seq = message["seq"]


async def test_pages_and_reading_endpoints(server: Server) -> None:
    async with aiohttp.ClientSession() as session:
        for path in ("/", "/overlay", "/play"):
            async with session.get(server.url + path) as resp:
                assert resp.status == 200 and resp.content_type == "text/html"
                assert "<title>smallwood" in await resp.text()
        async with session.get(server.url + "/healthz") as resp:
            health = await resp.json()
            assert health["ok"] is True and health["period"] == 0.1
        await until(lambda: server.clock.state.tick >= 2)
        async with session.get(server.url + "/metrics") as resp:
            text = await resp.text()
            assert resp.content_type == "text/plain"
        for name in (
            "smallwood_tick_duration_seconds_bucket",
            "smallwood_decision_latency_seconds_count",
            "smallwood_viewers",
            "smallwood_bots",
            "smallwood_bytes_out_total",
            "smallwood_dropped_backlogs_total",
            "smallwood_noops_total",
        ):
            assert f"\n{name}" in text
        async with session.get(server.url + "/api/schema") as resp:
            schema = await resp.json()
            assert schema["title"] == "smallwood protocol v1"
        async with session.get(server.url + "/api/history?last=2") as resp:
            history = await resp.json()
            assert len(history["ticks"]) == 2
            assert set(history["prices"]) == {"acorns", "berries", "mushrooms", "honey", "firewood"}
            assert len(history["wealth"]["mossback"]) == 2
        async with session.get(server.url + "/api/history?last=x") as resp:
            assert resp.status == 400


async def test_an_unwatched_world_pauses_until_someone_looks(tmp_path: Path) -> None:
    running = await start(config(tmp_path / "data", tick=0.05, idle_after=0.2))
    try:
        await until(lambda: running.clock.idle, 10.0)  # idle is decided between ticks
        held = running.clock.state.tick
        await asyncio.sleep(0.2)
        assert running.clock.state.tick == held
        async with connect(ws_url(running)) as ws:
            assert (await recv(ws))["tick"] == held
            delta = await recv(ws, timeout=10.0)
            assert delta["type"] == "delta" and delta["tick"] == held + 1
        assert not running.clock.idle
    finally:
        await running.stop()


async def test_clients_are_told_when_the_server_stops(tmp_path: Path) -> None:
    running = await start(config(tmp_path / "data", tick=0.05))
    viewer = await connect(ws_url(running))
    bot_ws = await connect(ws_url(running, "/ws/bot"))
    await recv(viewer)
    await running.stop()
    for ws in (viewer, bot_ws):
        try:
            while True:
                await recv(ws, timeout=2)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1001

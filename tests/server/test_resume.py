"""Resuming a viewer across a server restart gives exactly the server's document."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from server.live.hub import RUN_SPAN, Hub
from server.metrics import Metrics
from server.serve import start
from shared.merge_patch import apply

from .conftest import bot, config, connect, parked, recv, recv_until, ws_url
from .test_hub import Sink

NEWT = {"name": "Newt", "species": "newt", "produces": "berries"}


def canonical(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


async def snapshot_of(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(url + "/api/snapshot") as resp:
        data: dict[str, Any] = await resp.json()
        return data


async def test_a_since_from_before_a_restart_gets_the_servers_document(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = await start(config(data, tick=0.15, decision_share=0.8))
    try:
        ws, joined = await bot(first, **NEWT)
        cid = joined["creature"]
        viewer = await connect(ws_url(first))
        snap = await recv(viewer)
        world, seq = snap["world"], snap["seq"]
        while world["creatures"].get(cid, {}).get("driver") != "bot":
            delta = await recv_until(viewer, lambda m: m["type"] == "delta")
            assert delta["seq"] == seq + 1
            world, seq = apply(world, delta["patch"]), delta["seq"]
        await viewer.close()
        await ws.close()
    finally:
        await first.stop()

    second = await start(config(data, tick=0.15))
    try:
        await parked(second.clock)
        async with connect(ws_url(second) + f"?since={seq}") as again:
            frame = await recv(again)
        served = await snapshot_of(second.url)
    finally:
        await second.stop()
    # The bot is gone after the restart: deltas from `seq` could not say so.
    assert frame["type"] == "snapshot"
    assert frame["seq"] >= RUN_SPAN > seq
    assert canonical(frame["world"]) == canonical(served["world"])
    assert frame["world"]["creatures"][cid]["driver"] == "script"


async def test_after_a_restart_the_new_runs_seqs_resume_with_deltas(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await (await start(config(data))).stop()
    running = await start(config(data))
    try:
        async with connect(ws_url(running)) as ws:
            snap = await recv(ws)
            world, seq = snap["world"], snap["seq"]
            assert seq >= RUN_SPAN
            delta = await recv(ws)
            world, seq = apply(world, delta["patch"]), delta["seq"]
        async with connect(ws_url(running) + f"?since={seq}") as ws:
            message = await recv(ws)
            assert message["type"] == "delta" and message["seq"] == seq + 1
        for since in (str(seq + 10**6), "1e3", "", "-1"):
            async with connect(ws_url(running) + f"?since={since}") as ws:
                assert (await recv(ws))["type"] == "snapshot", since
    finally:
        await running.stop()


async def test_the_resume_window_is_63_deltas() -> None:
    hub = Hub(seq=0, tick=0, world={"tick": 0}, metrics=Metrics())
    for tick in range(1, 101):
        hub.publish(tick, {"tick": tick}, [], {"tick": tick})
    inside, outside = Sink(), Sink()
    a, b = hub.attach(inside, since=100 - 63), hub.attach(outside, since=100 - 64)
    tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
    await asyncio.sleep(0.05)
    hub.detach(a)
    hub.detach(b)
    await asyncio.gather(*tasks)
    got = inside.messages()
    assert [m["seq"] for m in got] == list(range(38, 101))
    assert [m["type"] for m in outside.messages()] == ["snapshot"]

"""Creatures leave: a bot's own `leave`, an operator's retire; slots, pebbles and tokens follow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.serve import Server
from server.store import replay

from .conftest import NEWT, admin, bot, closed_code, in_wood, issue, recv_until, send, serving


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with serving(tmp_path / "data", tick=0.1, max_bots=2) as running:
        yield running


async def test_a_bot_leaves_and_its_slot_pebbles_and_token_go(server: Server) -> None:
    ws, joined = await in_wood(server, **NEWT)
    cid, token = joined["creature"], joined["token"]
    other, _ = await in_wood(server, name="Toad", species="toad", produces="honey")
    ws3, refused = await bot(server, name="Wren", species="wren", produces="acorns")
    assert refused["code"] == "joining_closed"  # two bots: full
    await ws3.close()
    purse = server.clock.state.creatures[cid].purse
    commons = server.clock.state.commons
    await send(ws, {"type": "leave"})
    assert await closed_code(ws) == 4002
    assert cid not in server.clock.state.creatures
    assert server.clock.state.commons >= commons + purse - 100  # back to the commons
    assert cid not in server.hub.world["creatures"]
    ws4, again = await bot(server, token=token)
    assert again["code"] == "bad_token"
    await ws4.close()
    ws5, joined5 = await bot(server, name="Wren", species="wren", produces="acorns")
    assert joined5["type"] == "joined"  # the slot is free again
    await ws5.close()
    await other.close()


async def test_an_operator_retires_a_creature(server: Server) -> None:
    ws, joined = await in_wood(server, **NEWT)
    status, reply = await admin(server, "/api/admin/retire", {"creature": joined["creature"]})
    assert status == 202 and reply["creature"] == "newt"
    assert await closed_code(ws) == 4002
    status, _ = await admin(server, "/api/admin/retire", {"creature": "nobody"})
    assert status == 404


async def test_a_scenario_creature_cannot_leave(server: Server) -> None:
    ws, _ = await bot(server, token=await issue(server, "mossback"))
    await send(ws, {"type": "leave"})
    reply = await recv_until(ws, lambda m: m["type"] == "error")
    assert reply["code"] == "cannot_leave"
    await ws.close()


async def test_a_world_with_departures_replays(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with serving(data, tick=0.1) as running:
        ws, _ = await in_wood(running, **NEWT)
        await send(ws, {"type": "leave"})
        assert await closed_code(ws) == 4002
        await asyncio.sleep(0.2)
    report = replay(data)
    assert report.ok and report.ticks > 2

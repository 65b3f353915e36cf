"""Creatures leave: a bot's own `leave`, an operator's retire; slots, pebbles and tokens follow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
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


async def test_a_creature_no_bot_drives_for_long_is_retired_and_its_place_freed(
    tmp_path: Path,
) -> None:
    """A bot gone for good (or a flood's creatures, joined and left) must not hold a place in
    `max_bots` for ever: after `retire_absent` undriven, the Wood retires the creature."""
    data = tmp_path / "data"
    async with serving(data, tick=0.1, max_bots=2, retire_absent=1.0 / 3600) as running:
        stays, kept = await in_wood(running, **NEWT)
        gone, left = await in_wood(running, name="Toad", species="toad", produces="honey")
        token = left["token"]
        await gone.close()  # and never comes back
        await until(lambda: left["creature"] not in running.clock.state.creatures, 15.0)
        assert kept["creature"] in running.clock.state.creatures  # driven all along
        assert running.relay.metrics.retired.get(reason="absent") == 1
        ws, refused = await bot(running, token=token)
        assert refused["code"] == "bad_token"  # its token went with it
        await ws.close()
        ws, joined = await bot(running, name="Wren", species="wren", produces="acorns")
        assert joined["type"] == "joined"  # the place is free again
        await ws.close()
        await stays.close()
    assert replay(data).ok  # the retirement is a recorded command like any other


async def until(done: Callable[[], bool], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "not within the time allowed"
        await asyncio.sleep(0.05)

"""`/api/history` on a long-lived world: bounded pages, every point reachable, the loop free."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from server.live.history import MAX_PAGE, PAGE
from server.serve import Server

from .conftest import connect, parked, recv, ws_url


def fill(server: Server, ticks: int = 10_000, creatures: int = 69) -> range:
    """Replace the history with the points of ticks 1 to `ticks`."""
    history = server.clock.history
    history.points.clear()
    history.ticks.clear()
    span = range(1, ticks + 1)
    for t in span:
        history.add(
            t,
            {
                "season": "spring",
                "prices": {"acorns": 4.0, "honey": 9.0},
                "last": {"acorns": 4.1},
                "wealth": {f"c{i}": 20.0 + i for i in range(creatures)},
                "gini": 0.2,
            },
        )
    return span


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, Any, int]:
    async with session.get(url) as resp:
        body = await resp.read()
        return resp.status, (await resp.json()) if resp.status == 200 else None, len(body)


async def test_history_comes_in_bounded_pages_that_cover_it_all(server: Server) -> None:
    await parked(server.clock)  # a tick in progress lands before the history is filled
    span = fill(server)
    async with aiohttp.ClientSession() as session:
        status, page, size = await get(session, server.url + "/api/history")
        assert status == 200 and len(page["ticks"]) == PAGE and size < 400_000
        assert page["ticks"][-1] == span[-1]
        seen = list(page["ticks"])
        while "before" in page:
            status, page, _ = await get(
                session, server.url + f"/api/history?last={MAX_PAGE}&before={page['before']}"
            )
            assert len(page["ticks"]) <= MAX_PAGE
            seen = page["ticks"] + seen
        assert seen == list(span)
        _, page, _ = await get(session, server.url + "/api/history?last=1000000")
        assert len(page["ticks"]) == MAX_PAGE
        for bad in ("last=-1", "last=1e3", "before=x"):
            assert (await get(session, server.url + f"/api/history?{bad}"))[0] == 400


async def test_many_history_readers_do_not_hold_up_the_deltas(server: Server) -> None:
    fill(server)
    async with connect(ws_url(server)) as ws, aiohttp.ClientSession() as session:
        await recv(ws)
        stop = asyncio.Event()

        async def reader() -> None:  # bytes only: parsing them would load this very loop
            while not stop.is_set():
                async with session.get(server.url + "/api/history") as resp:
                    await resp.read()

        load = [asyncio.create_task(reader()) for _ in range(8)]
        await recv(ws)  # the readers are at it
        began, first = time.monotonic(), server.clock.state.tick
        gaps: list[float] = []
        last = began
        while time.monotonic() - began < 3.0:
            await recv(ws)
            now = time.monotonic()
            gaps.append(now - last)
            last = now
        ticks = server.clock.state.tick - first
        stop.set()
        await asyncio.gather(*load)
    # Ticks of 0.1 s: the issue saw 4 ticks in 34 s and 10.8 s between deltas. Six in 3 s
    # keeps a tenfold gap to that while a loaded machine serves the 8 readers' pages; one
    # stall of the shared loop (seen: 2 s, as the readers start) may reach 3 s, the rest
    # keep pace.
    assert ticks >= 6 and max(gaps) < 3.0 and sorted(gaps)[-2] < 1.0, (ticks, gaps)

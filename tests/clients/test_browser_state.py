"""The world state badge, the same on the viewer, the overlay and the play page, in chromium."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .conftest import Wood, admin, until_page

pytestmark = pytest.mark.browser


def badge(status: str) -> str:
    """The page's badge says `status` (a JavaScript condition for `until_page`)."""
    return f"document.querySelector('#badge').dataset.status === '{status}'"


PAUSED = badge("paused")
WORLD_TICK = "window.smallwood?.tick ?? 0"

PAGES = {"viewer": "/", "overlay": "/overlay?widgets=moments,prices", "play": "/play"}


async def badges(pages: dict[str, Any]) -> dict[str, tuple[str, str]]:
    out = {}
    for name, page in pages.items():
        badge = page.locator("#badge")
        out[name] = (await badge.get_attribute("data-status") or "", await badge.inner_text())
    return out


async def test_pausing_turns_every_badge_to_paused_within_a_tick_and_back(
    wood: Wood, browser: Any, shots: Callable[[str], Path]
) -> None:
    pages = {}
    for name, path in PAGES.items():
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await page.goto(wood.http + path)
        pages[name] = page
    for page in pages.values():
        await until_page(page, badge("live"), what="live", tick=WORLD_TICK, ticks=10)
    assert {name: word for name, (_, word) in (await badges(pages)).items()} == dict.fromkeys(
        PAGES, "live"
    )
    period = wood.running.clock.period
    # Each page notes, by its own clock, when its last tick and the world's state came.
    for page in pages.values():
        await page.evaluate(
            """() => window.smallwood.addEventListener("status", (e) => {
              window.__status = { status: e.detail.status, at: performance.now(),
                                  lastTick: window.smallwood.lastDelta };
            })"""
        )
    await admin(wood, "POST", "/api/admin/pause")
    for name, page in pages.items():
        await until_page(
            page, PAUSED, what=f"the {name} page's badge paused", tick=WORLD_TICK, ticks=1
        )
    # Within one tick: each page heard "paused" within a tick period (and a second of slack)
    # of the last tick it heard, by its own clock, so a loaded machine's late browser still
    # says whether the server told at once (a clock that only fell silent would read stale
    # after three periods, and never paused).
    for name, page in pages.items():
        heard = await page.evaluate("window.__status")
        assert heard["status"] == "paused", (name, heard)
        assert heard["at"] - heard["lastTick"] < period * 1000 + 1000, (name, heard)
    assert {name: word for name, (_, word) in (await badges(pages)).items()} == dict.fromkeys(
        PAGES, "paused"
    )
    # Paused is not stale: the silence is on purpose, and it stays paused.
    await asyncio.sleep(3 * period + 1.2)
    assert {s for s, _ in (await badges(pages)).values()} == {"paused"}
    for name, page in pages.items():
        await page.screenshot(path=str(shots(f"{name}-paused")))
    async with aiohttp.ClientSession() as http, http.get(wood.http + "/healthz") as reply:
        assert (await reply.json())["status"] == "paused"
    await admin(wood, "POST", "/api/admin/resume")
    for page in pages.values():
        await until_page(page, badge("live"), what="live again", tick=WORLD_TICK, ticks=3)
    # The badge draws its mark in CSS: no emoji font, no text glyph.
    mark = await pages["viewer"].evaluate(
        "getComputedStyle(document.querySelector('#badge'), '::before').content"
    )
    assert mark == '""'


async def test_a_stopped_server_reads_reconnecting_and_a_silent_one_stale(
    wood: Wood, browser: Any, shots: Callable[[str], Path]
) -> None:
    page = await browser.new_page()
    await page.goto(wood.http + "/")
    await until_page(page, badge("live"), what="live", tick=WORLD_TICK, ticks=10)
    # A clock that stops without a word (the fault: a tick that never ends): the page sees
    # the silence. (Not `clock.paused = True`: a tick still running when that is set
    # announces "paused" as it ends, and the page rightly says paused, not stale.)
    clock = wood.running.clock
    unwedge = asyncio.Event()

    async def wedged(*args: Any, **kwargs: Any) -> None:
        await unwedge.wait()

    clock.tick = wedged  # type: ignore[method-assign]
    # The page's own timer tells the silence (three periods and a second): no ticks to
    # count, so a wall-clock bound, generous for a loaded machine.
    await until_page(page, badge("stale"), what="stale", seconds=30)
    assert await page.inner_text("#badge") == "stale"
    assert "no tick for" in (await page.get_attribute("#badge", "title") or "")
    await page.screenshot(path=str(shots("stale")))
    del clock.tick  # the real tick again; its status never changed, so no frame says so
    unwedge.set()
    await until_page(page, badge("live"), what="live again", tick=WORLD_TICK, ticks=3)
    await wood.stop()
    # No ticks to count while it is down: a wall-clock bound, generous for a loaded machine.
    await until_page(page, badge("reconnecting"), what="reconnecting", seconds=30)
    assert await page.inner_text("#badge") == "reconnecting"
    assert await page.is_visible("#stale-note")
    await page.screenshot(path=str(shots("reconnecting")))
    await wood.start()
    await until_page(page, badge("live"), what="live after the restart", tick=WORLD_TICK, ticks=10)

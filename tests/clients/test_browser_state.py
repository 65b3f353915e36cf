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

PAUSED = "document.querySelector('#badge').dataset.status === 'paused'"
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
        await page.wait_for_selector("#badge[data-status='live']", timeout=10000)
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
        await page.wait_for_selector("#badge[data-status='live']", timeout=3000)
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
    await page.wait_for_selector("#badge[data-status='live']")
    # A clock that stops without a word (the fault: a wedged loop): the page sees the silence.
    clock = wood.running.clock
    clock.paused = True
    await page.wait_for_selector(
        "#badge[data-status='stale']", timeout=3 * clock.period * 1000 + 3000
    )
    assert await page.inner_text("#badge") == "stale"
    assert "no tick for" in (await page.get_attribute("#badge", "title") or "")
    await page.screenshot(path=str(shots("stale")))
    clock.resume()  # wakes the loop; its status never changed, so no frame says so
    await page.wait_for_selector("#badge[data-status='live']", timeout=3000)
    await wood.stop()
    await page.wait_for_selector("#badge[data-status='reconnecting']", timeout=5000)
    assert await page.inner_text("#badge") == "reconnecting"
    assert await page.is_visible("#stale-note")
    await page.screenshot(path=str(shots("reconnecting")))
    await wood.start()
    await page.wait_for_selector("#badge[data-status='live']", timeout=15000)

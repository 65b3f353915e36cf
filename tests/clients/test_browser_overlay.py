"""The stream overlay at 1920x1080 in chromium: a ticker that moves, moments that fit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.world.legend_book import LEGENDS

from .conftest import Wood, admin, until_page

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1920, 1080


async def test_the_ticker_scrolls(wood: Wood, browser: Any, shots: Callable[[str], Path]) -> None:
    page = await browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    await page.goto(wood.http + "/overlay?widgets=ticker")
    await page.wait_for_selector("#ticker-track .chip", timeout=10000)
    # It moves from frame to frame (seen each frame in the page, bounded by the page's
    # ticks, so a loaded machine's slow frames only slow it down): the first chip's place
    # changes, and the track takes three positions or more.
    where = "document.querySelector('#ticker-track .chip').getBoundingClientRect().left"
    before = await page.evaluate(where)
    await until_page(page, f"{where} !== {before}", what="the ticker moving", ticks=5)
    await until_page(
        page,
        "(seen => seen.add(document.querySelector('#ticker-track').style.transform).size >= 3)"
        "(window.__transforms ??= new Set())",
        what="three places of the track",
        ticks=5,
    )
    # A chip reads "berries 2 @ 5.1 Hob sold to Vesper": who sold to whom, in words.
    assert " sold to " in await page.inner_text("#ticker-track .chip")
    await page.screenshot(path=str(shots("ticker")), omit_background=True)


async def test_the_longest_legend_fits_and_bars_carry_values(
    wood: Wood, browser: Any, shots: Callable[[str], Path]
) -> None:
    page = await browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    await page.goto(wood.http + "/overlay?widgets=moments,mood,prices&hold=60")
    await page.wait_for_function("Number(document.body.dataset.tick) > 0")
    goods = set(wood.running.hub.world["goods"])
    known = [spec for spec in LEGENDS.values() if spec.needs_goods <= goods]
    longest = max(known, key=lambda spec: len(spec.title) + (10 if spec.rumour else 0))
    await admin(wood, "POST", "/api/admin/legend", {"legend": longest.key})
    moment = page.locator(".moment[data-kind='legend']").first
    await moment.wait_for(timeout=20000)
    headline = moment.locator(".headline")
    assert longest.title in await headline.inner_text()
    fits = await headline.evaluate(
        """el => {
          const box = el.closest('.moment').getBoundingClientRect();
          const r = el.getBoundingClientRect();
          return el.scrollWidth <= el.clientWidth && r.left >= box.left
            && r.right <= box.right && box.left >= 0 && box.right <= innerWidth
            && box.top >= 0 && box.bottom <= innerHeight;
        }"""
    )
    assert fits
    await page.wait_for_selector("#mood .val")
    values = await page.locator("#mood .val").all_inner_texts()
    assert values and all(v.endswith("%") and 0 <= int(v[:-1]) <= 100 for v in values)
    png = shots("legend")
    await page.screenshot(path=str(png), omit_background=True)


async def test_title_widget_by_url_and_bad_options_in_a_dev_hint(
    wood: Wood, browser: Any, shots: Callable[[str], Path]
) -> None:
    page = await browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    warnings: list[str] = []
    page.on("console", lambda msg: warnings.append(msg.text) if msg.type == "warning" else None)
    await page.goto(
        wood.http
        + "/overlay?widgets=prices&cta=join+at+wood.example/play&corner=middle&theme=neon&hold=x"
    )
    await page.wait_for_function("Number(document.body.dataset.tick) > 0")
    assert await page.inner_text("#title-name") == wood.running.hub.world["scenario"]
    assert await page.inner_text("#title-cta") == "join at wood.example/play"
    hint = await page.inner_text("#dev-hint")
    for bad in ('corner="middle"', 'theme="neon"', 'hold="x"'):
        assert bad in hint
        assert any(bad in w for w in warnings), warnings
    assert await page.get_attribute("body", "data-corner") == "br"
    await page.screenshot(path=str(shots("title-and-hint")), omit_background=True)
    # Good options: no hint at all.
    await page.goto(wood.http + "/overlay?widgets=prices&title=The+Wood+live&corner=tl")
    await page.wait_for_function("Number(document.body.dataset.tick) > 0")
    assert not await page.is_visible("#dev-hint")
    assert await page.inner_text("#title-name") == "The Wood live"

"""The viewer in chromium against a real server: what a person sees on it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.world import large_scenario

from .conftest import Wood, admin, open_wood, until_page

pytestmark = pytest.mark.browser

EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


async def live_viewer(browser: Any, url: str, width: int = 1440, height: int = 900) -> Any:
    page = await browser.new_page(viewport={"width": width, "height": height})
    page.errors = browser.watch(page).errors
    await page.goto(url)
    await until_page(
        page,
        "document.querySelector('#badge').dataset.status === 'live'",
        what="the viewer live",
        tick="window.smallwood?.tick ?? 0",
        ticks=10,
    )
    return page


async def test_charts_have_a_time_axis_a_season_key_and_a_read_out(
    wood: Wood, browser: Any, shots: Callable[[str], Path]
) -> None:
    page = await live_viewer(browser, wood.http + "/")
    await page.wait_for_function("Number(document.body.dataset.tick) >= 12", timeout=15000)
    await page.wait_for_timeout(300)
    axis = await page.evaluate(
        """() => {
          const chart = window.smallwoodViewer.charts()[0];
          return { labels: chart.axisLabels().map((l) => l.text), x: chart.data.x };
        }"""
    )
    ticks = [int(t) for t in axis["labels"] if t.isdigit()]
    assert len(ticks) >= 2, axis["labels"]
    assert min(axis["x"]) <= min(ticks) and max(ticks) <= max(axis["x"])
    assert ticks == sorted(ticks)
    # The world began at tick 1 of year 1, inside the charted span: the year is marked.
    if min(axis["x"]) <= 1:
        assert "year 1" in axis["labels"]
    key = await page.locator("#season-key .key[data-season]").all_inner_texts()
    assert [k.strip().lower() for k in key] == ["spring", "summer", "autumn", "winter"]
    year = wood.running.hub.world["ticks_per_season"] * 4
    assert f"year = {year} ticks" in await page.inner_text("#season-key")
    # Hover a chart: a read-out of the tick, its season and the prices there.
    canvas = page.locator("#market .good canvas").first
    box = await canvas.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    readout = page.locator("#market .good .chart-readout").first
    await readout.wait_for(state="visible")
    text = await readout.inner_text()
    assert re.match(r"tick \d+ · (spring|summer|autumn|winter) · ref [\d.]+", text), text
    await page.screenshot(path=str(shots("market")))
    # No emoji anywhere: icons are SVG and CSS.
    assert not EMOJI.search(await page.inner_text("body"))
    assert await page.locator("#season-icon svg").count() == 1
    assert not page.errors


async def test_a_legend_is_marked_on_the_charts_and_told_in_the_chronicle(
    wood: Wood, browser: Any, shots: Callable[[str], Path]
) -> None:
    page = await live_viewer(browser, wood.http + "/")
    await admin(wood, "POST", "/api/admin/legend", {"legend": "drought"})
    await until_page(
        page,
        "document.querySelector(\"#chronicle li[data-kind='legend']\")",
        what="the legend's headline",
        ticks=10,
    )
    headline = page.locator("#chronicle li[data-kind='legend']").first
    assert "Drought" in await headline.inner_text()
    spans = await page.evaluate("window.smallwoodViewer.charts()[0].data.spans")
    assert any("Drought" in s["label"] for s in spans)
    await page.screenshot(path=str(shots("chronicle")))


async def test_the_board_ranks_by_wealth_and_a_click_opens_the_creature(
    wood: Wood, browser: Any, shots: Callable[[str], Path]
) -> None:
    page = await live_viewer(browser, wood.http + "/")
    await page.wait_for_function("Number(document.body.dataset.tick) >= 8", timeout=15000)
    wealth = await page.evaluate(
        """() => [...document.querySelectorAll('#creatures .row-c:not([hidden])')]
          .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
          .map((r) => Number(r.querySelector('.c-wealth').textContent))"""
    )
    assert len(wealth) == len(wood.running.hub.world["creatures"])
    assert wealth == sorted(wealth, reverse=True)
    trends = await page.locator("#creatures .row-c:not([hidden]) .c-trend").all_inner_texts()
    assert all(re.fullmatch(r"0|[+−][\d.]+", t) for t in trends), trends
    row = page.locator("#creatures .row-c[data-creature='oona']")
    await row.click()
    view = page.locator("#creature-view")
    await view.wait_for(state="visible")
    assert await page.inner_text("#cv-name") == "Oona"
    facts = await page.inner_text("#cv-facts")
    assert "decided by" in facts and "its script" in facts and "brain: scripted" in facts
    start = int(await page.get_attribute("body", "data-tick") or 0)
    await page.wait_for_function(f"Number(document.body.dataset.tick) >= {start + 4}")
    history = await page.evaluate(
        """() => { const v = window.smallwoodViewer.views;
          return { x: v.purse.data.x.length,
                   pebbles: v.purse.data.series[1].values.filter((x) => x !== null).length,
                   mood: v.mood.data.series[0].values.filter((x) => x !== null).length,
                   stores: v.stores.data.series.length }; }"""
    )
    assert history["x"] >= 5 and history["pebbles"] >= 4 and history["mood"] >= 4
    assert history["stores"] == len(wood.running.hub.world["goods"])
    assert await page.locator("#cv-trades li").count() >= 1
    await page.screenshot(path=str(shots("creature")))
    await page.keyboard.press("Escape")
    await view.wait_for(state="hidden")


async def test_on_a_phone_the_market_and_chronicle_come_before_the_creatures(
    wood: Wood, browser: Any, shots: Callable[[str], Path]
) -> None:
    page = await live_viewer(browser, wood.http + "/", width=390, height=844)
    await page.wait_for_timeout(800)
    tops = await page.evaluate(
        """() => Object.fromEntries(['market-panel', 'chronicle-panel', 'creatures-panel']
          .map((id) => [id, document.getElementById(id).getBoundingClientRect().top + scrollY]))"""
    )
    assert tops["market-panel"] < 400
    assert tops["market-panel"] < tops["chronicle-panel"] < tops["creatures-panel"]
    assert await page.is_visible("nav.jump")
    await page.click("nav.jump a[href='#chronicle-panel']")
    top_of_chronicle = "document.getElementById('chronicle-panel').getBoundingClientRect().top"
    await page.wait_for_function(
        f"() => {{ const t = {top_of_chronicle}; return t >= 0 && t < 120; }}"
    )
    # And it stays there while headlines arrive: new rows do not drag the page along.
    for _ in range(4):
        await page.wait_for_timeout(400)
        top = await page.evaluate(
            "document.getElementById('chronicle-panel').getBoundingClientRect().top"
        )
        assert 0 <= top < 120
    # Every name in view on the board, whole enough to read.
    name = page.locator("#creatures .row-c:not([hidden]) .c-name").first
    assert (await name.bounding_box() or {}).get("width", 0) > 30
    await page.screenshot(path=str(shots("phone")), full_page=True)


async def test_a_thousand_creature_world_renders_and_stays_interactive(
    tmp_path: Path, browser: Any, shots: Callable[[str], Path]
) -> None:
    scenario = tmp_path / "big.json"
    scenario.write_text(
        json.dumps(large_scenario(1000).model_dump(by_alias=True, mode="json")), encoding="utf-8"
    )
    wood = await open_wood(tmp_path, tick=1.0, scenario=scenario)
    try:
        page = await live_viewer(browser, wood.http + "/")
        await page.wait_for_selector("#creatures[data-total='1000']", timeout=20000)
        drawn = await page.locator("#creatures .row-c:not([hidden])").count()
        assert 5 < drawn < 40  # a virtual list: only the rows in view exist
        # Search finds one creature among a thousand, at once.
        # The name with the most digits is found by no other name containing it.
        names = [c["name"] for c in wood.running.hub.world["creatures"].values()]
        needle = max(names, key=lambda n: (len(n), n))
        assert sum(needle.lower() in n.lower() for n in names) == 1
        # At once: the search is applied in the task that handles the typing (asked in one
        # go in the page, so a loaded machine's slow frames cannot blur it).
        shown, took = await page.evaluate(
            """(needle) => {
              const box = document.getElementById("creature-search");
              const t0 = performance.now();
              box.value = needle;
              box.dispatchEvent(new Event("input", { bubbles: true }));
              return [document.getElementById("creatures").dataset.shown, performance.now() - t0];
            }""",
            needle,
        )
        assert shown == "1"
        assert took < 1500, took
        assert needle in await page.inner_text("#creatures .row-c:not([hidden]) .c-name")
        await page.fill("#creature-search", "")
        await page.select_option("#creature-top", "100")
        await page.wait_for_selector("#creatures[data-shown='100']")
        await page.select_option("#creature-top", "all")
        # Scroll to the bottom: the last rank is drawn.
        await page.evaluate("document.getElementById('creatures').scrollTop = 1e9")
        await page.wait_for_function(
            "[...document.querySelectorAll('#creatures .row-c:not([hidden]) .c-rank')]"
            ".some((r) => r.textContent === '1000')",
            timeout=15000,
        )
        # A click opens the creature's view in the click's own task.
        opened, took = await page.evaluate(
            """() => {
              const rows = [...document.querySelectorAll('#creatures .row-c:not([hidden])')];
              const t0 = performance.now();
              rows[rows.length - 1].click();
              return [!document.getElementById("creature-view").hidden, performance.now() - t0];
            }"""
        )
        assert opened
        assert took < 1500, took
        start = int(await page.get_attribute("body", "data-tick") or 0)
        await page.wait_for_function(f"Number(document.body.dataset.tick) >= {start + 2}")
        await page.screenshot(path=str(shots("thousand")))
        assert not page.errors
    finally:
        await wood.stop()


async def test_lists_out_of_view_catch_up_when_seen(wood: Wood, browser: Any) -> None:
    page = await live_viewer(browser, wood.http + "/", width=1280, height=720)
    start = int(await page.get_attribute("body", "data-tick") or 0)
    await page.wait_for_function(f"Number(document.body.dataset.tick) >= {start + 6}")
    await page.locator("#trades-panel").scroll_into_view_if_needed()
    # Seen, the list shows the newest trades of the world the page holds (not the server's,
    # which a loaded machine's browser may trail).
    await until_page(
        page,
        """(() => {
          const trades = Object.values(window.smallwood.world.trades);
          const latest = Math.max(...trades.map((t) => t.tick));
          const first = document.querySelector("#trades li");
          return first && Number(first.dataset.tick) >= latest - 1;
        })()""",
        what="the trades list caught up",
        ticks=3,
    )
    assert await page.locator("#trades li").count() <= 40

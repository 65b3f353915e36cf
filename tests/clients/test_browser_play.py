"""The play page tells the truth about each order, in chromium against a real server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import open_wood, until_page

pytestmark = pytest.mark.browser

WORLD_TICK = "window.smallwood?.tick ?? 0"
"""The tick of the world the page holds (its viewer stream)."""
TURN = "Number(document.body.dataset.turn ?? 0)"
"""The play page's last turn."""
LIVE = "document.querySelector('#badge').dataset.status === 'live'"
FILL_TICKS = 20
"""Turns a standing buy far above the board may wait for a seller (seed 1: the first turn
or two)."""


async def test_the_order_log_keeps_a_refusal_with_its_reason_and_a_fill_with_its_price(
    tmp_path: Path, browser: Any, shots: Callable[[str], Path]
) -> None:
    # A slower clock, so Playwright has time to fill the form within a turn.
    wood = await open_wood(tmp_path, tick=1.0)
    try:
        token = await wood.token("vesper")
        page = await browser.new_page(viewport={"width": 1100, "height": 1300})
        # A link with the token joins at once, and the token leaves the address bar. Every
        # wait below is bounded by the ticks the page itself saw, not by the wall clock.
        await page.goto(f"{wood.http}/play#token={token}")
        await until_page(
            page,
            "document.querySelector('#who').dataset.holding === 'yes'"
            " && document.querySelector('#who').innerText.startsWith('your creature: Vesper')",
            what="the header names the creature taken",
            tick=WORLD_TICK,
            ticks=10,
        )
        assert token not in page.url
        await until_page(page, TURN, what="a first turn", tick=WORLD_TICK, ticks=10)
        await until_page(page, LIVE, what="the badge says live", tick=WORLD_TICK, ticks=10)
        lacking = "honey"  # Vesper holds a jar or so, never 500
        # Offer 1 sells what it does not hold: refused by the market. Offer 2 buys firewood
        # far above the board: filled at the clearing price.
        await page.select_option("[name='side0']", "sell")
        await page.select_option("[name='good0']", lacking)
        await page.fill("[name='qty0']", "500")
        await page.fill("[name='price0']", "5")
        await page.select_option("[name='side1']", "buy")
        await page.select_option("[name='good1']", "firewood")
        await page.fill("[name='qty1']", "1")
        await page.fill("[name='price1']", "30")
        hint = await page.inner_text("[data-offer='1'] .hint")
        assert "board" in hint and "pays at most 30" in hint
        typed = int(await page.get_attribute("[data-offer='1'] .hint", "data-tick") or 0)
        # Standing orders go with every turn from the next one on, without a press.
        await page.check("#standing")
        # (An act that reached the server late on a loaded machine is refused whole, as
        # late: the market's own refusal comes with the next one.)
        refused = await until_page(
            page,
            "[...document.querySelectorAll(\"#log .offer-line[data-result='refused']\")]"
            ".map((l) => l.innerText).find((t) => t.includes('you do not hold that many'))",
            what="the sale of what Vesper lacks, refused",
            tick=TURN,
            ticks=6,
        )
        assert f"sell 500 {lacking}" in refused
        await until_page(
            page,
            "document.querySelector(\"#log .offer-line[data-result='filled']\")",
            what="the standing buy of firewood far above the board, filled",
            tick=TURN,
            ticks=FILL_TICKS,
        )
        text = await page.locator("#log .offer-line[data-result='filled']").first.inner_text()
        assert "buy 1 firewood" in text and "filled 1 at" in text and "from" in text
        # The log lasts: a standing order's entry per tick, each with its own outcome.
        entries = page.locator("#log li.order")
        assert await entries.count() >= 2
        assert await page.locator("#log li.order[data-kind='sent']").count() <= 1
        # Purse and P&L from the last turn.
        purse = await page.inner_text("#purse")
        assert "purse" in purse and "P&L since you took it" in purse
        # Trades read as sentences, not arrows.
        seen = await page.inner_text("#observation")
        assert "←" not in seen
        # The suggested limit follows the live board: ticks after the typing, the hint is
        # the board of the world the page holds now (read in one go), not the one typed against.
        await page.uncheck("#standing")
        hint_tick = "Number(document.querySelector(\"[data-offer='1'] .hint\").dataset.tick)"
        await until_page(
            page, f"{hint_tick} >= {typed + 2}", what="the hint moves on", tick=WORLD_TICK, ticks=6
        )
        hinted, held = await page.evaluate(f"[{hint_tick}, window.smallwood.world.tick]")
        assert hinted == held
        await page.screenshot(path=str(shots("orders")), full_page=True)
        # Let go: the header says so at once.
        await page.click("#leave-button")
        await page.wait_for_selector("#who[data-holding='no']")
        assert "you let go of Vesper" in await page.inner_text("#who")
        assert not await page.is_visible("#purse")
        assert not browser.watch(page).errors
    finally:
        await wood.stop()


async def test_trade_lines_read_from_the_players_side(wood: Any, browser: Any) -> None:
    page = await browser.new_page()
    await page.goto(wood.http + "/play")
    lines = await page.evaluate(
        """async () => {
          const { tradeLine } = await import("./assets/play.js");
          const t = { qty: 2, good: "mushrooms", price: 9.371, buyer: "Vesper", seller: "Hob" };
          return [tradeLine(t, "Hob"), tradeLine(t, "Vesper"), tradeLine(t, "Oona")];
        }"""
    )
    assert lines == [
        "you sold 2 mushrooms to Vesper at 9.37",
        "you bought 2 mushrooms from Hob at 9.37",
        "Vesper bought 2 mushrooms from Hob at 9.37",
    ]


async def test_page_text_from_the_world_cannot_reorder_or_break_a_line(
    wood: Any, browser: Any
) -> None:
    page = await browser.new_page()
    await page.goto(wood.http + "/play")
    out = await page.evaluate(
        """async () => {
          const { h, safeText, tradeLine } = await import("./assets/wood.js")
            .then(async (w) => ({ ...w, ...(await import("./assets/play.js")) }));
          const name = "Mal\\u202e";
          const trade = { qty: 1, good: "honey", price: 1.25, buyer: name, seller: "Oona" };
          const el = h("li", {}, tradeLine(trade, "x"));
          const flag = "\\u{1F3F3}\\uFE0F\\u200D\\u{1F308}";
          return [el.textContent, safeText("a\\nb\\u2066c\\u0007"), safeText(`pride ${flag}`)];
        }"""
    )
    assert out[0] == "Mal bought 1 honey from Oona at 1.25"
    assert out[1] == "a bc"
    assert out[2] == "pride \U0001f3f3\ufe0f\u200d\U0001f308"

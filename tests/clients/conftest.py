"""A real server on loopback that the client tests can restart, and a headless browser.

`Wood` starts the server in-process (as tests/server/conftest.py does) with the web pages
served by the server itself, and restarts it on the same port with the same data dir.
Browser tests are marked `browser`; they skip when Playwright or chromium is missing, except
under CI (env CI set), where they must run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import time
import weakref
from collections.abc import AsyncIterator, Callable, Generator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from clients.bench_viewer import CHROMIUM, CHROMIUM_ARGS
from server.serve import Server, start
from tests.server.conftest import ADMIN, config


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Debian's chromium with Playwright")


class Wood:
    """One world in a data dir, served on one port across restarts."""

    def __init__(self, data_dir: Path, **overrides: Any) -> None:
        self.data_dir = data_dir
        self.overrides = overrides
        self.port = 0
        self.server: Server | None = None

    async def start(self) -> Server:
        self.server = await start(config(self.data_dir, port=self.port, **self.overrides))
        self.port = self.server.port
        return self.server

    async def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()

    async def restart(self, pause: float = 0.3) -> Server:
        await self.stop()
        await asyncio.sleep(pause)
        return await self.start()

    @property
    def running(self) -> Server:
        assert self.server is not None, "the server is not running"
        return self.server

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def token(self, creature: str) -> str:
        return await self.running.relay.issue(creature)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until `condition()` holds; TimeoutError after `timeout` seconds."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


TICK = 0.2
"""Seconds per tick: quick, with room for a loaded CI machine to meet 120 ms deadlines."""


async def open_wood(tmp_path: Path, **overrides: Any) -> Wood:
    wood = Wood(tmp_path / "data", **{"tick": TICK, **overrides})
    await wood.start()
    return wood


@pytest.fixture
async def wood(tmp_path: Path) -> AsyncIterator[Wood]:
    running = await open_wood(tmp_path)
    try:
        yield running
    finally:
        await running.stop()


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return "chromium is not installed (apt-get install -y chromium)"
    return None


class PageWatch:
    """What one page said while a test drove it: console lines, uncaught errors, failed
    requests, websockets opened and closed, crashes; each stamped with seconds since the
    page opened. A failing test prints every page's (see `pytest_runtest_makereport`), so a
    failure that happens once under load says why."""

    def __init__(self, name: str, page: Any) -> None:
        self.name = name
        self.started = time.monotonic()
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.sockets: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.add(f"console.{m.type}: {m.text}"))
        page.on("pageerror", self._page_error)
        page.on("requestfailed", lambda r: self.add(f"request failed: {r.url} ({r.failure})"))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("websocket", self._socket)
        page.on("crash", lambda _: self.add("the page crashed"))
        page.on("framenavigated", lambda f: f.parent_frame or self.add(f"at {f.url}"))

    def add(self, line: str) -> None:
        self.lines.append(f"{time.monotonic() - self.started:7.2f} s  {line}")
        del self.lines[:-MAX_WATCH_LINES]

    def _page_error(self, exc: Any) -> None:
        self.errors.append(str(exc))
        self.add(f"uncaught: {exc}")

    def _socket(self, ws: Any) -> None:
        self.sockets.append(ws.url)
        self.add(f"websocket opened: {ws.url}")
        ws.on("close", lambda _: self.add(f"websocket closed: {ws.url}"))
        ws.on("socketerror", lambda err: self.add(f"websocket error: {ws.url}: {err}"))

    def text(self) -> str:
        return f"-- page {self.name} --\n" + ("\n".join(self.lines) or "(nothing said)")


MAX_WATCH_LINES = 300
THROTTLE = float(os.environ.get("SMALLWOOD_BROWSER_THROTTLE", "1"))
"""Slow every page's CPU this many times (Chrome's own throttling), to play a loaded CI
machine on a quiet one: `SMALLWOOD_BROWSER_THROTTLE=6 pytest -m browser`."""
WATCHES: weakref.WeakKeyDictionary[Any, PageWatch] = weakref.WeakKeyDictionary()
"""Each open page's watch, for `page_state`."""


class WatchedBrowser:
    """Playwright's Browser, whose `new_page` pages are each watched (`PageWatch`)."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser
        self.watches: list[PageWatch] = []

    async def new_page(self, **options: Any) -> Any:
        page = await self._browser.new_page(**options)
        if THROTTLE > 1:
            cdp = await page.context.new_cdp_session(page)
            await cdp.send("Emulation.setCPUThrottlingRate", {"rate": THROTTLE})
        watch = PageWatch(f"#{len(self.watches) + 1}", page)
        self.watches.append(watch)
        WATCHES[page] = watch
        return page

    def watch(self, page: Any) -> PageWatch:
        return WATCHES[page]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


BROWSERS: dict[str, WatchedBrowser] = {}
"""The test (node id) now using a browser, for the failure report."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    watched = BROWSERS.get(item.nodeid)
    if watched is not None and report.failed and watched.watches:
        report.sections.append(
            ("what the pages said", "\n".join(w.text() for w in watched.watches))
        )


@pytest.fixture
async def browser(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    missing = browser_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        watched = BROWSERS[request.node.nodeid] = WatchedBrowser(launched)
        try:
            yield watched
        finally:
            await launched.close()
            BROWSERS.pop(request.node.nodeid, None)


STATE_JS = """() => {
  const text = (sel, n = 300) => document.querySelector(sel)?.innerText?.slice(0, n) ?? null;
  return {
    url: location.href,
    body: { ...document.body.dataset },
    badge: text("#badge"),
    badge_why: document.querySelector("#badge")?.title ?? null,
    who: text("#who"),
    refused: text("#server-refused"),
    hint: text("#dev-hint"),
    log: [...document.querySelectorAll("#log > li")].slice(0, 8).map((li) => li.innerText),
    stream: window.smallwood
      ? { status: window.smallwood.status, tick: window.smallwood.tick, seq: window.smallwood.seq,
          link: window.smallwood.link }
      : null,
  };
}"""


async def page_state(page: Any) -> str:
    """The page's state as a person debugging a failure wants it: address, body data,
    badge, the play page's header and log, the stream, and what the page said lately."""
    try:
        state = json.dumps(await page.evaluate(STATE_JS), indent=1, ensure_ascii=False)
    except Exception as exc:  # a crashed or closed page still gets its story told
        state = f"(state unreadable: {exc})"
    watch = WATCHES.get(page)
    said = "\n".join(watch.lines[-40:]) if watch is not None else ""
    return f"page state: {state}\nlately:\n{said}"


_UNTIL = itertools.count()


async def until_page(
    page: Any,
    condition: str,
    *,
    what: str,
    ticks: int | None = None,
    tick: str = "Number(document.body.dataset.tick)",
    seconds: float = 120.0,
) -> Any:
    """Wait until the JavaScript expression `condition` holds on `page` (checked every
    frame, so a page's state is seen as it changes) and return its value.

    The bound is the page's own progress, not the wall clock: with `ticks`, fail once the
    page's tick (the expression `tick`) has gone `ticks` past where it stood, which means
    the world went on without the awaited thing, however slowly a loaded machine runs it.
    `seconds` only catches a page that stopped moving at all. Either failure says what the
    page showed and said."""
    key = f"w{next(_UNTIL)}"
    probe = f"""([key, ticks]) => {{
      const value = ({condition});
      if (value) return {{ value }};
      if (ticks === null) return false;
      const now = Number({tick}) || 0;
      const starts = (window.__untilStart ??= {{}});
      if (!(key in starts)) {{
        if (!now) return false; // no tick yet: the count starts at the first one
        starts[key] = now;
      }}
      return now > starts[key] + ticks ? {{ late: now, start: starts[key] }} : false;
    }}"""
    try:
        handle = await page.wait_for_function(
            probe, arg=[key, ticks], polling="raf", timeout=seconds * 1000
        )
    except Exception as exc:
        if "Timeout" not in type(exc).__name__:
            raise
        raise AssertionError(
            f"{what}: not seen in {seconds:.0f} s of wall clock: the page stopped moving "
            f"({tick} is the count)\n{await page_state(page)}"
        ) from None
    result = await handle.json_value()
    if "late" in result:
        raise AssertionError(
            f"{what}: not seen within {ticks} ticks of the page's own ({tick}: "
            f"{result['start']} -> {result['late']})\n{await page_state(page)}"
        )
    return result["value"]


ARTIFACTS = Path(os.environ.get("SMALLWOOD_ARTIFACTS", "test-artifacts")) / "screenshots"
"""Where the browser tests write screenshots of what they saw (an artifact, not a golden)."""


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """`shots("name")`: a PNG path for this test's screenshot called `name`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def path(name: str) -> Path:
        return ARTIFACTS / f"{request.node.name}-{name}.png".replace("/", "_")

    return path


async def admin(wood: Wood, method: str, path: str, body: Any = None) -> Any:
    """Call the admin API as an operator; the reply's JSON."""
    async with aiohttp.ClientSession() as http:
        reply = await http.request(
            method, wood.http + path, json=body, headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert reply.status < 300, await reply.text()
        return await reply.json()

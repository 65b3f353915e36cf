"""A real server on loopback that the client tests can restart, and a headless browser.

`Wood` starts the server in-process (as tests/server/conftest.py does) with the web pages
served by the server itself, and restarts it on the same port with the same data dir.
Browser tests are marked `browser`; they skip when Playwright or chromium is missing, except
under CI (env CI set), where they must run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
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


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    missing = browser_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


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

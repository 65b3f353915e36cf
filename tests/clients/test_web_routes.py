"""`clients.web` serves its pages and assets, as the server mounts them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from clients.web import ASSETS_DIR, PAGES, STATIC_DIR, add_routes

Client = TestClient[web.Request, web.Application]


def routed_app() -> web.Application:
    app = web.Application()
    add_routes(app)
    return app


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    app = routed_app()
    async with TestClient(TestServer(app)) as running:
        yield running


def test_the_static_files_are_there() -> None:
    for name in PAGES.values():
        assert (STATIC_DIR / name).is_file()
    for name in ("wood.js", "chart.js", "viewer.js", "overlay.js", "play.js", "style.css"):
        assert (ASSETS_DIR / name).is_file()


async def test_pages_and_assets(client: Client) -> None:
    for route, name in PAGES.items():
        reply = await client.get(route)
        assert reply.status == 200
        assert reply.content_type == "text/html"
        assert await reply.text() == (STATIC_DIR / name).read_text(encoding="utf-8")
    script = await client.get("/assets/wood.js")
    assert script.status == 200
    assert "javascript" in script.content_type
    style = await client.get("/assets/style.css")
    assert style.content_type == "text/css"
    assert (await client.get("/assets/../__init__.py")).status == 404
    assert (await client.get("/assets/nothing.js")).status == 404

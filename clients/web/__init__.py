"""The web pages (viewer, overlay, play) as static files: no build step, no CDN.

The server serves them with `add_routes(app)`: `/`, `/overlay` and `/play` are the pages, and
`/assets/` holds the ES modules and stylesheets they load by relative URLs (so the pages also
work behind a reverse proxy under a path prefix).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent
ASSETS_DIR = STATIC_DIR / "assets"
PAGES: dict[str, str] = {"/": "index.html", "/overlay": "overlay.html", "/play": "play.html"}
"""Route -> page file in `STATIC_DIR`."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def page_handler(name: str) -> Handler:
    path = STATIC_DIR / name

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    return handler


def add_routes(app: web.Application) -> None:
    """Register the pages and `/assets/` on an application whose router is not frozen yet."""
    for route, name in PAGES.items():
        app.router.add_get(route, page_handler(name))
    app.router.add_static("/assets/", ASSETS_DIR, append_version=False)

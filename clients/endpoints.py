"""The server's websocket endpoints from whatever URL a person types.

`http://host:port`, `https://host`, `host:port` and `ws://host:port/ws/bot` all name a server;
a client adds the scheme and the endpoint's path it needs.
"""

from __future__ import annotations

VIEWER_PATH = "ws"
BOT_PATH = "ws/bot"


def websocket_url(url: str, default_path: str) -> str:
    """`ws(s)://host[:port]/PATH`: http(s) becomes ws(s); a URL without a path gets `default_path`.

    A path already given is kept (less a trailing slash); a query string is dropped.
    """
    for scheme, ws_scheme in (("http://", "ws://"), ("https://", "wss://")):
        if url.startswith(scheme):
            url = ws_scheme + url.removeprefix(scheme)
    if "://" not in url:
        url = "ws://" + url
    head, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    path = path.split("?", 1)[0].rstrip("/") or default_path
    return f"{head}://{host}/{path}"

"""`?server=`: a page connects only to servers its own server allows, in chromium.

The rule (clients/web/assets/wood.js `serverChoice`): the page's own origin always; another
only when the server that served the page lists it at `GET /api/origins` (the operator's
`SMALLWOOD_ORIGINS`); anything else, or a value that is not an http(s)/ws(s) URL, is refused
with a message on the page, and nothing connects.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import Wood, until_page

pytestmark = pytest.mark.browser

REFUSED = "document.body.dataset.server === 'refused'"
LIVE = "document.querySelector('#badge').dataset.status === 'live'"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def two_woods(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Two servers on two origins, each letting the other's pages in (SMALLWOOD_ORIGINS)."""
    home, other = Wood(tmp_path / "home", tick=0.2), Wood(tmp_path / "other", tick=0.2)
    home.port, other.port = free_port(), free_port()
    monkeypatch.setenv("SMALLWOOD_ORIGINS", f"{home.http},{other.http}/")
    await home.start()
    await other.start()
    try:
        yield home, other
    finally:
        await home.stop()
        await other.stop()


@pytest.mark.parametrize("page", ["/", "/overlay", "/play"])
async def test_an_allowed_server_is_used(two_woods: Any, browser: Any, page: str) -> None:
    home, other = two_woods
    tab = await browser.new_page()
    await tab.goto(f"{home.http}{page}?server={other.http}")
    await until_page(tab, "window.smallwood?.tick", what="a world from the other server")
    sockets = browser.watch(tab).sockets
    assert sockets and all(url.startswith(f"{other.ws}/ws") for url in sockets), sockets
    assert await tab.get_attribute("body", "data-server") is None
    assert not await tab.locator("#server-refused").count()
    if page != "/overlay":  # the overlay's badge shows on its own terms
        await until_page(tab, LIVE, what="the badge live", tick="window.smallwood.tick", ticks=10)


@pytest.mark.parametrize("page", ["/", "/overlay", "/play"])
async def test_a_server_not_allowed_is_refused_on_the_page(
    wood: Wood, browser: Any, page: str, shots: Callable[[str], Path]
) -> None:
    tab = await browser.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    elsewhere = "http://elsewhere.invalid:8765/"
    await tab.goto(f"{wood.http}{page}?server={elsewhere}")
    await until_page(tab, REFUSED, what="the refusal", seconds=30)
    said = await tab.inner_text("#server-refused")
    assert "Not connected" in said
    assert "does not let its pages connect to http://elsewhere.invalid:8765" in said
    assert f"only to its own ({wood.http})" in said
    assert "SMALLWOOD_ORIGINS" in said
    assert await tab.is_visible("#server-refused")
    await tab.screenshot(path=str(shots("refused")))
    assert any("elsewhere.invalid" in e for e in errors), errors
    if page != "/overlay":
        assert await tab.get_attribute("#badge", "data-status") == "refused"
    # Nothing connected anywhere, and nothing was asked of the other host.
    await tab.wait_for_timeout(500)
    watch = browser.watch(tab)
    assert watch.sockets == []
    assert {urlsplit(u).netloc for u in watch.requests} == {urlsplit(wood.http).netloc}
    assert not watch.errors


async def test_a_token_never_goes_to_a_server_not_allowed(wood: Wood, browser: Any) -> None:
    token = await wood.token("vesper")
    tab = await browser.new_page()
    await tab.goto(f"{wood.http}/play?server=http://elsewhere.invalid/#token={token}")
    await until_page(tab, REFUSED, what="the refusal", seconds=30)
    assert token not in tab.url
    assert await tab.is_disabled("#join-button")
    log = await tab.inner_text("#log")
    assert "not joining" in log and "elsewhere.invalid" in log
    assert await tab.get_attribute("#who", "data-holding") == "no"
    assert browser.watch(tab).sockets == []
    assert "vesper" not in wood.running.relay.sessions


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("not a url", "is not a URL"),
        ("javascript:alert(1)", "is not an http(s) or ws(s) URL"),
        ("http://user:secret@127.0.0.1:1/", "carries a user name or password"),
    ],
)
async def test_a_malformed_server_is_refused_on_the_page(
    wood: Wood, browser: Any, given: str, said: str
) -> None:
    tab = await browser.new_page()
    await tab.goto(f"{wood.http}/?{'server=' + given.replace(' ', '%20')}")
    await until_page(tab, REFUSED, what="the refusal", seconds=30)
    assert said in await tab.inner_text("#server-refused")
    assert await tab.get_attribute("#badge", "data-status") == "refused"
    assert browser.watch(tab).sockets == []


async def test_the_rule_for_every_kind_of_server_url(wood: Wood, browser: Any) -> None:
    tab = await browser.new_page()
    await tab.goto(wood.http + "/")
    own = wood.http
    cases = await tab.evaluate(
        """async (own) => {
          const { serverChoice } = await import("./assets/wood.js");
          const page = own + "/prefix/play?x=1";
          const allowed = ["https://Other.example", "http://also.example:8080/", "junk"];
          const pick = (given, list = allowed) => {
            const c = serverChoice(given, page, list);
            return c.base ?? (c.malformed ? "malformed" : "refused");
          };
          return {
            absent: pick(null),
            own: pick(own + "/deeper"),
            ownWs: pick(own.replace("http", "ws") + "/"),
            listed: pick("wss://other.example/wood?x=1#y"),
            listedPort: pick("http://also.example:8080"),
            otherPort: pick("http://also.example:8081/"),
            otherScheme: pick("http://other.example/"),
            unknownList: pick("https://other.example/", null),
            empty: pick(""),
            relative: pick("/other/"),
            file: pick("file:///etc/passwd"),
          };
        }""",
        own,
    )
    assert cases == {
        "absent": f"{own}/prefix/",
        "own": f"{own}/deeper/",
        "ownWs": f"{own}/",
        "listed": "https://other.example/wood/",
        "listedPort": "http://also.example:8080/",
        "otherPort": "refused",
        "otherScheme": "refused",
        "unknownList": "refused",
        "empty": "malformed",
        "relative": "malformed",
        "file": "malformed",
    }

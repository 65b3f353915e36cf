"""The operators' API: refused without the right bearer token, and steering the world with it."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect

from server.serve import Server
from server.tokens import digest

from .conftest import ADMIN, parked, recv_until, until, ws_url

ROUTES = [
    ("POST", "/api/admin/legend", {"legend": "drought"}),
    ("POST", "/api/admin/pause", None),
    ("POST", "/api/admin/resume", None),
    ("POST", "/api/admin/tick", {"seconds": 0.5}),
    ("GET", "/api/admin/tokens", None),
    ("POST", "/api/admin/tokens", {"creature": "newt"}),
    ("DELETE", "/api/admin/tokens/whatever", None),
]


async def call(
    server: Server, method: str, path: str, body: Any = None, token: str | None = ADMIN
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.request(method, server.url + path, json=body) as resp,
    ):
        return resp.status, await resp.json()


@pytest.mark.parametrize("token", [None, "", "wrong", ADMIN + "x", ADMIN[:-1]])
async def test_the_wrong_token_is_refused_everywhere(server: Server, token: str | None) -> None:
    tick = server.clock.period
    for method, path, body in ROUTES:
        status, reply = await call(server, method, path, body, token)
        assert status == 401, (method, path)
        assert "admin token" in reply["error"]
    assert server.clock.period == tick and not server.clock.paused
    assert not server.relay.tokens


async def test_basic_auth_is_not_a_bearer_token(server: Server) -> None:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Basic {ADMIN}"}) as session,
        session.post(server.url + "/api/admin/pause") as resp,
    ):
        assert resp.status == 401


async def test_pause_resume_and_tick(server: Server) -> None:
    status, reply = await call(server, "POST", "/api/admin/pause")
    assert status == 200 and reply["paused"] is True
    held = await parked(server.clock)  # the tick under way when it came lands first
    await asyncio.sleep(0.25)
    assert server.clock.state.tick == held
    status, _ = await call(server, "POST", "/api/admin/tick", {"seconds": 0.05})
    assert status == 200 and server.clock.period == 0.05
    status, _ = await call(server, "POST", "/api/admin/tick", {"seconds": 0})
    assert status == 400
    status, _ = await call(server, "POST", "/api/admin/tick", {"seconds": "soon"})
    assert status == 400
    status, reply = await call(server, "POST", "/api/admin/resume")
    assert status == 200 and reply["paused"] is False
    await until(lambda: server.clock.state.tick >= held + 4, 10.0, "ticking again")


async def test_a_legend_told_by_the_operator_begins(server: Server) -> None:
    async with connect(ws_url(server)) as ws:
        status, reply = await call(server, "POST", "/api/admin/legend", {"legend": "drought"})
        assert status == 202
        delta = await recv_until(ws, lambda m: m.get("tick") == reply["tick"])
        began = [e for e in delta["events"] if e["type"] == "legend_began"]
        assert [e["key"] for e in began] == ["drought"]
        assert any(leg["key"] == "drought" for leg in delta["patch"]["legends"].values())
    status, reply = await call(server, "POST", "/api/admin/legend", {"legend": "alien_invasion"})
    assert status == 400 and "drought" in reply["error"]
    status, _ = await call(server, "POST", "/api/admin/legend", {"nope": 1})
    assert status == 400


async def test_tokens_issue_list_and_revoke(server: Server) -> None:
    status, issued = await call(server, "POST", "/api/admin/tokens", {"creature": "newt"})
    assert status == 201 and issued["creature"] == "newt"
    status, listed = await call(server, "GET", "/api/admin/tokens")
    assert listed == [{"id": digest(issued["token"]), "creature": "newt", "connected": False}]
    status, _ = await call(server, "POST", "/api/admin/tokens", {"creature": "Not An Id"})
    assert status == 400
    status, _ = await call(server, "DELETE", f"/api/admin/tokens/{issued['token']}")
    assert status == 200
    status, _ = await call(server, "DELETE", f"/api/admin/tokens/{issued['token']}")
    assert status == 404
    status, listed = await call(server, "GET", "/api/admin/tokens")
    assert listed == []

"""The edge: one aiohttp application serving pages, the HTTP API and both websockets.

Routes: `/ws` (viewers), `/ws/bot` (bots), `/`, `/overlay` and `/play` (the pages in
`clients/web`, with their `/assets/`), `/healthz`,
`/metrics`, `/api/snapshot`, `/api/schema`, `/api/history`, and the operators' API under
`/api/admin/` behind a bearer token compared in constant time.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from aiohttp import WSMsgType, web
from pydantic import BaseModel, ValidationError

from clients.web import add_routes as add_pages
from server.world import LEGENDS, RetireCreature, TriggerLegend
from shared import admin
from shared.protocol import CloseCode, protocol_schema

from ..bots import BotRelay, describe
from ..clock import Clock
from ..metrics import Metrics
from .guard import EdgeLimits, origin_allowed
from .history import History
from .hub import Hub
from .limits import BOT_FRAME_BYTES
from .viewers import HEARTBEAT, WebSocketSink, finish_writer, serve_viewer, upgrade

log = logging.getLogger(__name__)

CLOCK = web.AppKey("clock", Clock)
HUB = web.AppKey("hub", Hub)
RELAY = web.AppKey("relay", BotRelay)
METRICS = web.AppKey("metrics", Metrics)
HISTORY = web.AppKey("history", History)
ADMIN_TOKEN = web.AppKey("admin_token", str)
SCHEMA = web.AppKey("schema", bytes)
EXTRA_HEALTH = web.AppKey("extra_health", dict[str, Callable[[], Any]])
"""Name -> report: more sections of `/healthz` (the Redis publisher's); a section's non-empty
`problem` joins `problems` and makes `ok` false."""
LIMITS = web.AppKey("limits", EdgeLimits)
HISTORY_BODY = web.AppKey("history_body", dict)
"""The encoded newest history page per `last`: {last: (newest tick, body, built at)}."""
HISTORY_FRESH_S = 1.0
"""The newest page is rebuilt at most this often, however fast the ticks and the readers."""

JOIN_SECONDS = 10.0
"""A bot connection that has not joined by then is closed (1008)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
B = TypeVar("B", bound=BaseModel)


def build_app(
    *,
    clock: Clock,
    hub: Hub,
    relay: BotRelay,
    metrics: Metrics,
    history: History,
    admin_token: str,
    limits: EdgeLimits | None = None,
) -> web.Application:
    app = web.Application()
    app[LIMITS] = limits = limits if limits is not None else EdgeLimits.from_env()
    relay.limit_loopback = limits.limit_loopback
    app[CLOCK] = clock
    app[HUB] = hub
    app[RELAY] = relay
    app[METRICS] = metrics
    app[HISTORY] = history
    app[HISTORY_BODY] = {}
    app[ADMIN_TOKEN] = admin_token
    app[SCHEMA] = orjson.dumps(protocol_schema(), option=orjson.OPT_INDENT_2)
    add_pages(app)
    app.router.add_get("/ws", viewer_socket)
    app.router.add_get("/ws/bot", bot_socket)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_text)
    app.router.add_get("/api/snapshot", snapshot)
    app.router.add_get("/api/schema", schema)
    app.router.add_get("/api/history", history_series)
    app.router.add_get("/api/origins", allowed_origins)
    app.router.add_post("/api/admin/legend", admin_only(trigger_legend))
    app.router.add_post("/api/admin/pause", admin_only(pause))
    app.router.add_post("/api/admin/resume", admin_only(resume))
    app.router.add_post("/api/admin/tick", admin_only(set_tick))
    app.router.add_post("/api/admin/retire", admin_only(retire))
    app.router.add_get("/api/admin/tokens", admin_only(list_tokens))
    app.router.add_post("/api/admin/tokens", admin_only(issue_token))
    app.router.add_delete("/api/admin/tokens/{token}", admin_only(revoke_token))
    return app


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def problem(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status)


# Websockets


def foreign(request: web.Request) -> web.Response | None:
    """A 403 for a browser page of another origin, or None to go on."""
    if origin_allowed(request, request.app[LIMITS].origins):
        return None
    request.app[METRICS].refused.inc(code="foreign_origin")
    return problem(403, "this server does not take websockets from pages of that origin")


async def viewer_socket(request: web.Request) -> web.StreamResponse:
    if (refused := foreign(request)) is not None:
        return refused
    return await serve_viewer(
        request,
        hub=request.app[HUB],
        metrics=request.app[METRICS],
        hint="bots connect to /ws/bot",
        on_attach=request.app[CLOCK].poke,
    )


async def bot_socket(request: web.Request) -> web.StreamResponse:
    if (refused := foreign(request)) is not None:
        return refused
    ws = web.WebSocketResponse(compress=False, max_msg_size=BOT_FRAME_BYTES, heartbeat=HEARTBEAT)
    if not await upgrade(ws, request, request.app[METRICS]):
        return web.Response(status=400)  # nobody reads it: aiohttp only logs the access
    relay = request.app[RELAY]
    session = relay.connected(WebSocketSink(ws, request.transport), request.remote or "")
    request.app[CLOCK].poke()
    writer = asyncio.create_task(session.outbox.run())

    def join_or_go() -> None:
        if session.creature is None and session.spawning is None:
            request.app[METRICS].closed.inc(reason="unjoined")
            session.outbox.close_after_flush(
                CloseCode.POLICY, f"join within {JOIN_SECONDS:g} s of connecting"
            )

    timer = asyncio.get_running_loop().call_later(JOIN_SECONDS, join_or_go)
    try:
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            try:
                close = await relay.receive(session, msg.data)
            except Exception:
                log.exception("bot frame handling failed")
                continue
            if close is not None:
                code, reason = close
                await ws.close(code=code, message=reason.encode())
                break
    finally:
        timer.cancel()
        relay.disconnected(session)
        await finish_writer(writer)
    return ws


# Reading


async def healthz(request: web.Request) -> web.StreamResponse:
    clock = request.app[CLOCK]
    extra = {name: report() for name, report in request.app.get(EXTRA_HEALTH, {}).items()}
    health = clock.health_report()  # ok: false while a brain is failing, with the reason
    problems = health["problems"] + [s["problem"] for s in extra.values() if s.get("problem")]
    return json_response(
        {
            **health,
            "ok": not problems,  # and while a section (Redis) has a problem
            "problems": problems,
            "status": clock.status,
            "tick": clock.state.tick,
            "paused": clock.paused,
            "parked": clock.parked,  # paused and no tick in progress: nothing moves now
            "idle": clock.idle,
            "period": clock.period,
            "viewers": len(request.app[HUB].viewers),
            "bots": len(request.app[RELAY].sessions),
            "last_tick_ms": round(clock.last_tick_ms, 3),
            **extra,
        }
    )


async def metrics_text(request: web.Request) -> web.StreamResponse:
    return web.Response(
        text=request.app[METRICS].render(),
        content_type="text/plain",
        headers={"X-Content-Type-Options": "nosniff"},
        charset="utf-8",
    )


async def snapshot(request: web.Request) -> web.StreamResponse:
    """The same frame a viewer gets on connect: seq, tick and the world document."""
    _, frame = request.app[HUB].snapshot()
    return web.Response(body=frame, content_type="application/json")


async def schema(request: web.Request) -> web.StreamResponse:
    return web.Response(body=request.app[SCHEMA], content_type="application/json")


def page_query(request: web.Request) -> tuple[int | None, int | None] | web.Response:
    """`?last=` and `?before=` of a history request, or the 400 that refuses them."""
    numbers: dict[str, int] = {}
    for name in ("last", "before"):
        if name in request.query:
            given = request.query[name]
            if not (given.isascii() and given.isdigit() and len(given) < 16):
                return problem(400, f"{name} must be a whole number of ticks")
            numbers[name] = int(given)
    return numbers.get("last"), numbers.get("before")


async def history_series(request: web.Request) -> web.StreamResponse:
    """One page of the chart series (see `History.page`): `?last=N` (at most 2000) and
    `?before=TICK` for older pages. The newest page is encoded at most once a second."""
    asked = page_query(request)
    if isinstance(asked, web.Response):
        return asked
    history = request.app[HISTORY]
    last, before = asked
    if before is None:
        newest = history.ticks[-1] if history.ticks else -1
        bodies = request.app[HISTORY_BODY]
        cached = bodies.get(last)
        now = time.monotonic()
        if cached is None or (cached[0] != newest and now - cached[2] >= HISTORY_FRESH_S):
            if len(bodies) > 16:
                bodies.clear()
            cached = bodies[last] = (newest, orjson.dumps(history.page(last)), now)
        return web.Response(body=cached[1], content_type="application/json")
    return json_response(history.page(last, before))


async def allowed_origins(request: web.Request) -> web.StreamResponse:
    """The origins, beside this server's own, whose pages the operator lets in: the pages
    accept `?server=` only for these (and their own origin)."""
    return json_response({"origins": sorted(request.app[LIMITS].origins)})


# The operators' API


def admin_only(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        expected = request.app[ADMIN_TOKEN].encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            return web.Response(
                body=orjson.dumps({"error": "admin token required (Authorization: Bearer ...)"}),
                status=401,
                content_type="application/json",
                headers={"WWW-Authenticate": 'Bearer realm="smallwood admin"'},
            )
        return await handler(request)

    return guarded


async def _body(request: web.Request, model: type[B]) -> B | web.Response:
    try:
        raw = await request.read()
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        return problem(400, describe(exc))


async def trigger_legend(request: web.Request) -> web.StreamResponse:
    body = await _body(request, admin.TriggerLegend)
    if isinstance(body, web.Response):
        return body
    clock = request.app[CLOCK]
    spec = LEGENDS.get(body.legend)
    if spec is None or not spec.needs_goods <= set(clock.state.scenario.goods):
        known = sorted(
            k for k, s in LEGENDS.items() if s.needs_goods <= set(clock.state.scenario.goods)
        )
        return problem(400, f"unknown legend {body.legend!r}; this Wood knows: {', '.join(known)}")
    tick = clock.command(TriggerLegend(body.legend))
    return json_response({"legend": body.legend, "tick": tick}, 202)


async def pause(request: web.Request) -> web.StreamResponse:
    clock = request.app[CLOCK]
    clock.pause()
    return json_response({"paused": True, "tick": clock.state.tick})


async def resume(request: web.Request) -> web.StreamResponse:
    clock = request.app[CLOCK]
    clock.resume()
    return json_response({"paused": False, "tick": clock.state.tick})


async def set_tick(request: web.Request) -> web.StreamResponse:
    body = await _body(request, admin.SetTick)
    if isinstance(body, web.Response):
        return body
    request.app[CLOCK].set_period(body.seconds)
    return json_response({"seconds": body.seconds})


async def retire(request: web.Request) -> web.StreamResponse:
    body = await _body(request, admin.Retire)
    if isinstance(body, web.Response):
        return body
    clock = request.app[CLOCK]
    if body.creature not in clock.state.creatures:
        return problem(404, f"no creature {body.creature!r} in the Wood")
    tick = clock.command(RetireCreature(body.creature, "retired"))
    return json_response({"creature": body.creature, "tick": tick}, 202)


async def list_tokens(request: web.Request) -> web.StreamResponse:
    relay = request.app[RELAY]
    return json_response(
        [
            {"id": token_digest, "creature": cid, "connected": cid in relay.sessions}
            for token_digest, cid in relay.tokens.items()
        ]
    )


async def issue_token(request: web.Request) -> web.StreamResponse:
    body = await _body(request, admin.IssueToken)
    if isinstance(body, web.Response):
        return body
    token = await request.app[RELAY].issue(body.creature)
    return json_response({"token": token, "creature": body.creature}, 201)


async def revoke_token(request: web.Request) -> web.StreamResponse:
    if not await request.app[RELAY].revoke(request.match_info["token"]):
        return problem(404, "no such live token")
    return json_response({"revoked": True})

"""OpenAIEngine against a fake OpenAI-compatible server: one list request, index mapping,
the chat fallback, and clear errors."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from server.minds.openai_engine import OpenAIEngine, OpenAIEngineError, _messages
from server.minds.prompts import render_chatml

SCHEMA: dict[str, Any] = {"type": "object"}


class FakeServer:
    def __init__(self) -> None:
        self.lists = True
        self.status = 200
        self.bodies: list[tuple[str, dict[str, Any]]] = []

    async def completions(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(("completions", body))
        if self.status != 200:
            return web.json_response({"error": {"message": "boom"}}, status=self.status)
        if not self.lists and isinstance(body["prompt"], list):
            return web.json_response({"error": {"message": "prompt must be a string"}}, status=400)
        # Answer out of order: the client must map by index.
        choices = [{"index": i, "text": f"answer {p[-3:]}"} for i, p in enumerate(body["prompt"])]
        return web.json_response({"choices": choices[::-1]})

    async def chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(("chat", body))
        content = body["messages"][-1]["content"]
        if content.endswith("bad"):
            return web.json_response({"error": {"message": "no"}}, status=400)
        return web.json_response(
            {"choices": [{"index": 0, "message": {"content": f"chat {content}"}}]}
        )


@pytest_asyncio.fixture
async def server() -> AsyncIterator[tuple[FakeServer, str]]:
    fake = FakeServer()
    app = web.Application()
    app.router.add_post("/v1/completions", fake.completions)
    app.router.add_post("/v1/chat/completions", fake.chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_one_list_request_mapped_by_index(server: tuple[FakeServer, str]) -> None:
    fake, url = server
    engine = OpenAIEngine(url, "tiny", api_key="k")
    texts = await engine.generate(["p-001", "p-002", "p-003"], schema=SCHEMA, max_tokens=7)
    assert texts == ["answer 001", "answer 002", "answer 003"]
    assert engine.requests == {"completions": 1}
    ((_kind, body),) = fake.bodies
    assert body["prompt"] == ["p-001", "p-002", "p-003"]
    assert body["structured_outputs"] == {"json": SCHEMA}
    assert body["max_tokens"] == 7
    await engine.aclose()


async def test_refused_lists_fall_back_to_chat(server: tuple[FakeServer, str]) -> None:
    fake, url = server
    fake.lists = False
    engine = OpenAIEngine(url + "/v1/", "tiny")
    prompts = [
        render_chatml([{"role": "system", "content": "rules"}, {"role": "user", "content": "me"}]),
        "plain bad",
    ]
    texts = await engine.generate(prompts, schema=SCHEMA, max_tokens=7)
    assert texts == ["chat me", None]
    assert engine.requests == {"completions": 1, "chat": 2}
    chat_bodies = [b for kind, b in fake.bodies if kind == "chat"]
    assert chat_bodies[0]["messages"] == [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": "me"},
    ]
    assert chat_bodies[0]["response_format"]["type"] == "json_schema"
    await engine.aclose()


async def test_server_errors_and_unreachable_servers_raise_clearly(
    server: tuple[FakeServer, str],
) -> None:
    fake, url = server
    fake.status = 503
    engine = OpenAIEngine(url, "tiny")
    with pytest.raises(OpenAIEngineError, match="HTTP 503: boom"):
        await engine.generate(["x"], schema=SCHEMA, max_tokens=4)
    await engine.aclose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    dead = OpenAIEngine(f"http://127.0.0.1:{free}", "tiny", timeout_s=2)
    with pytest.raises(OpenAIEngineError, match="cannot reach"):
        await dead.generate(["x"], schema=SCHEMA, max_tokens=4)
    await dead.aclose()


def test_chatml_prompts_split_back_into_messages() -> None:
    msgs = [{"role": "system", "content": "a\nb"}, {"role": "user", "content": "c"}]
    assert _messages(render_chatml(msgs)) == msgs
    assert _messages("just text") == [{"role": "user", "content": "just text"}]

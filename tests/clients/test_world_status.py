"""The world's state as the server tells it: `/healthz`'s `status` and `/ws?status=1` frames."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp
import orjson
from websockets.asyncio.client import connect

from server.minds.brain import DecisionResult
from shared.observation import Observation
from shared.protocol import SERVER

from .conftest import Wood, admin


async def health(wood: Wood) -> dict[str, object]:
    async with aiohttp.ClientSession() as http, http.get(wood.http + "/healthz") as reply:
        body: dict[str, object] = await reply.json()
        return body


class FailingBrain:
    """A mind whose every call raises (the fault injected: an engine gone wrong)."""

    name = "scripted"

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        raise RuntimeError("the engine fell over")

    async def aclose(self) -> None:
        return None


async def test_healthz_and_status_frames_tell_paused_live_and_degraded(wood: Wood) -> None:
    server = wood.running
    assert (await health(wood))["status"] == "live"
    frames: list[dict[str, object]] = []
    async with connect(wood.ws + "/ws?status=1") as ws:

        async def read(status: str) -> None:
            while not any(f.get("status") == status for f in frames):
                frames.append(orjson.loads(await ws.recv()))

        async def read_until(status: str) -> None:
            frames.clear()
            await asyncio.wait_for(read(status), 5.0)

        await read_until("live")
        await admin(wood, "POST", "/api/admin/pause")
        await read_until("paused")
        paused = next(f for f in frames if f.get("status") == "paused")
        assert paused["type"] == "status" and "seq" not in paused
        assert paused["period"] == server.clock.period
        assert (await health(wood))["status"] == "paused"
        await admin(wood, "POST", "/api/admin/resume")
        await read_until("live")
        # Minds that fail: the world still ticks, and says it is degraded, and why.
        real = dict(server.clock.brains)
        server.clock.brains["scripted"] = FailingBrain()  # type: ignore[assignment]
        try:
            await read_until("degraded")
            degraded = next(f for f in frames if f.get("status") == "degraded")
            assert "minds failed" in str(degraded["reason"])
            assert (await health(wood))["status"] == "degraded"
        finally:
            server.clock.brains.update(real)
        await read_until("live")
        live = [f for f in frames if f.get("status") == "live"][-1]
        assert "reason" not in live  # absent, never null
    # every status frame is a protocol message (shared.protocol.Status)
    assert all(SERVER.validate_python(f).type == "status" for f in frames if "status" in f)


async def test_a_viewer_that_does_not_ask_gets_no_status_frames(wood: Wood) -> None:
    await admin(wood, "POST", "/api/admin/pause")
    await admin(wood, "POST", "/api/admin/resume")
    async with connect(wood.ws + "/ws") as ws:
        kinds = [orjson.loads(await ws.recv())["type"] for _ in range(4)]
    assert set(kinds) <= {"snapshot", "delta"}

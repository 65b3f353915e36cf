"""The simulation report says each brain's cadence: chosen or set, and what its creatures do
between batches; `simulate` fills it from the start-up plans."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from server.cli import main
from server.minds.brain import ScriptedBrain
from server.minds.cadence import Pace
from server.minds.model_brain import ModelBrain
from server.minds.plans import observations_by_brain, plan_brains
from server.minds.prompts import PromptBuilder
from server.report import ReportRecorder
from server.simulate import Cast, run_world
from server.world import Scenario, load_scenario, new_world

ANSWER = '{"offers":[{"side":"sell","good":"acorns","qty":1,"price":4}],"gossip":"hm"}'


class QuickEngine:
    name = "quick"

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        await asyncio.sleep(0.001)
        return [ANSWER] * len(prompts)

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize(
    ("pace", "cadence", "auto"),
    [(Pace("auto"), 1, True), (Pace(3, "standing"), 3, False)],
)
async def test_the_report_keeps_each_brains_cadence(pace: Pace, cadence: int, auto: bool) -> None:
    data = load_scenario().model_dump(mode="json", by_alias=True)
    data["creatures"][1]["brain"] = "model"  # oona
    state = new_world(Scenario.model_validate(data), 1)
    model = ModelBrain(QuickEngine(), PromptBuilder(state.scenario))
    scripted = ScriptedBrain(1)
    brains, plans = await plan_brains(
        {"model": model, "scripted": scripted},
        observations_by_brain(state),
        {"model": pace},
        period=1.0,
        decide_s=None,
        realtime=False,
    )
    recorder = ReportRecorder(state)
    recorder.planned(plans)
    await run_world(state, Cast(brains=brains, default=scripted), 6, [recorder.record])
    await brains["model"].aclose()
    summary = recorder.report()["summary"]
    assert summary["brains"] == {
        "model": {"engine": "quick", "cadence": cadence, "auto": auto, "between": pace.between},
        "scripted": {"cadence": 1, "auto": False},
    }
    # The report's promise: no wall-clock figure in it (the latencies stay in the plan).
    assert "warm" not in orjson.dumps(summary["brains"]).decode()


@pytest.fixture
def engine_url() -> Iterator[str]:
    """A fake OpenAI-compatible server on loopback, in its own thread (simulate runs its own
    event loop)."""

    async def completions(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {"choices": [{"index": i, "text": ANSWER} for i in range(len(body["prompt"]))]}
        )

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/v1/completions", completions)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


@pytest.mark.parametrize(("flag", "cadence", "auto"), [("2", 2, False), ("auto", 1, True)])
def test_simulate_writes_the_chosen_cadence_into_the_report(
    engine_url: str, tmp_path: Path, flag: str, cadence: int, auto: bool
) -> None:
    report = tmp_path / "report.json"
    args = ["simulate", "--ticks", "4", "--quiet", "--report", str(report)]
    args += ["--brain", "openai", "--base-url", engine_url, "--model", "fake"]
    assert main([*args, "--cadence", flag]) == 0
    brains = orjson.loads(report.read_bytes())["summary"]["brains"]
    assert set(brains) == {"model", "scripted"}
    for name in ("model", "scripted"):  # one --brain engine drives both
        assert brains[name]["cadence"] == cadence and brains[name]["auto"] is auto
        assert brains[name]["between"] == "hold"
        assert brains[name]["engine"].startswith("openai")


def test_a_scripted_run_reports_every_tick(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    assert main(["simulate", "--ticks", "3", "--quiet", "--report", str(report)]) == 0
    summary = orjson.loads(report.read_bytes())["summary"]
    assert summary["brains"] == {"scripted": {"cadence": 1, "auto": False}}

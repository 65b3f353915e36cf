"""Model brains in the live server: one engine, one batched call, never a late tick."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from server.minds.brain import ScriptedBrain
from server.minds.cadence import NeverDecides, auto_cadence
from server.minds.engine import Engine
from server.minds.engines import EngineConfigError, EngineOptions
from server.minds.model_brain import ModelBrain
from server.minds.prompts import Renderer, render_chatml
from server.serve import ServeConfig, build_brains, start
from server.store import Store, db_path
from server.world import load_scenario

from .conftest import config, until

GOOD = '{"offers":[{"side":"sell","good":"acorns","qty":1,"price":4}],"gossip":"hello"}'


class FakeEngine:
    """Answers every prompt after `delay` seconds; counts batches and whether it was closed."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.batches: list[int] = []
        self.closed = False

    name = "fake"
    aborts_on_cancel = False

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        self.batches.append(len(prompts))
        await asyncio.sleep(self.delay)
        return [GOOD] * len(prompts)

    async def aclose(self) -> None:
        self.closed = True


class Starter:
    """Stands in for `start_engine`: hands out one engine and remembers the options."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.options: list[EngineOptions] = []

    def __call__(self, options: EngineOptions) -> tuple[Engine, Renderer]:
        self.options.append(options)
        return self.engine, render_chatml


def traces(data_dir: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db_path(data_dir))
    try:
        rows = conn.execute("SELECT trace FROM traces ORDER BY tick, creature").fetchall()
    finally:
        conn.close()
    return [orjson.loads(blob) for (blob,) in rows]


def test_scripted_serve_starts_no_engine() -> None:
    starter = Starter(FakeEngine())
    scripted = ScriptedBrain(1)
    brains = build_brains(ServeConfig(), scripted, load_scenario(), starter)
    assert brains == {"scripted": scripted}
    assert not starter.options


async def test_a_model_brain_drives_model_and_scripted_creatures_on_one_engine() -> None:
    starter = Starter(FakeEngine())
    cfg = ServeConfig(brain="openai", model="tiny", base_url="http://127.0.0.1:1", max_tokens=64)
    brains = build_brains(cfg, ScriptedBrain(1), load_scenario(), starter)
    assert set(brains) == {"model", "scripted"}
    brain = brains["model"]
    assert brain is brains["scripted"] and isinstance(brain, ModelBrain)
    assert brain.max_tokens == 64
    (options,) = starter.options
    assert (options.kind, options.model, options.base_url) == ("openai", "tiny", cfg.base_url)


def test_an_unknown_brain_is_refused() -> None:
    with pytest.raises(EngineConfigError):
        build_brains(
            ServeConfig(brain="psychic"), ScriptedBrain(1), load_scenario(), Starter(FakeEngine())
        )


async def test_model_creatures_decide_in_one_batch_and_their_traces_keep_the_messages(
    tmp_path: Path,
) -> None:
    engine = FakeEngine()
    server = await start(
        config(tmp_path / "data", brain="openai", model="m", base_url="http://x", tick=0.1),
        engines=Starter(engine),
    )
    try:
        while server.clock.state.tick < 3:
            await asyncio.sleep(0.05)
    finally:
        await server.stop()
    creatures = len(server.clock.state.creatures)
    assert engine.batches and all(n == creatures for n in engine.batches)  # one call a tick
    assert engine.closed
    rows = traces(tmp_path / "data")
    assert rows and all(r["brain"] == "fake" for r in rows)
    ok = [r for r in rows if r["status"] != "noop"]
    assert ok, "the fake engine's answers were parsed"
    roles = [m["role"] for m in ok[0]["messages"]]
    assert roles == ["system", "user"]
    assert ok[0]["raw"] == GOOD


async def test_an_engine_slower_than_the_tick_decides_at_its_cadence(tmp_path: Path) -> None:
    """A batch takes 5 ticks: the clock keeps its pace, model creatures decide every few
    ticks from the observation their batch started on, and nearly every decision lands."""
    period = 0.2
    engine = FakeEngine(delay=5 * period)
    server = await start(
        config(tmp_path / "data", brain="openai", model="m", base_url="http://x", tick=period),
        engines=Starter(engine),
    )
    clock = server.clock
    phases: list[tuple[float, float]] = []  # (decisions, the rest), seconds, per tick
    late: list[float] = []  # seconds past its deadline each decision phase ended
    real_tick = clock.tick

    async def timed_tick(*, deadline: float) -> None:
        began = deadline - clock.period * clock.config.decision_share
        await real_tick(deadline=deadline)
        rest = clock.last_tick_ms / 1000
        decided = time.monotonic() - rest
        phases.append((decided - began, rest))
        late.append(decided - deadline)

    clock.tick = timed_tick  # type: ignore[method-assign]
    try:
        (plan,) = server.plans
        warmups = len(engine.batches)
        first = server.clock.state.tick
        while server.clock.state.tick < first + 40:
            await asyncio.sleep(0.05)
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + "/metrics") as resp:
                text = await resp.text()
            async with session.get(server.url + "/healthz") as resp:
                health = await resp.json()
    finally:
        await server.stop()
    assert warmups == 2 and plan.auto and plan.names == ("model", "scripted")
    assert 0.95 < plan.warm_s < 2.0
    assert plan.cadence == auto_cadence(plan.warm_s, period, 0.6 * period) >= 8  # 1 s: 8
    metrics = server.clock.metrics
    # The clock never waits for the mind: every decision phase ends at its deadline, give or
    # take a loaded machine's wake-up, never at the batch's end (0.9 s after the deadline at a
    # decision tick). Lateness is measured from the deadline, so a clock woken late by the
    # machine does not count as deciding late. A tick overruns only if stepping or the
    # store's commit stalled, or the machine did.
    ordered = sorted(late)
    assert ordered[-3] < 0.1 and ordered[-1] < 0.25, ordered[-10:]
    stalled = sum(1 for d, rest in phases if d + rest > period)
    assert metrics.overruns.get() <= stalled
    assert stalled <= len(phases) // 10, phases
    creatures = len(server.clock.state.creatures)
    assert set(engine.batches) == {creatures}  # one batched call for all, one at a time
    due = sum(metrics.decisions.get(brain="fake", status=s) for s in ("ok", "repaired", "noop"))
    applied = metrics.decisions.get(brain="fake", status="ok")
    assert due >= 40 / plan.cadence * creatures
    assert applied >= 0.9 * due, f"{applied} of {due} decisions applied"
    assert metrics.noops.get(reason="thinking") > due  # held between decisions
    assert metrics.noops.get(reason="deadline") <= 0.1 * due
    assert f'smallwood_decisions_total{{brain="fake",status="ok"}} {applied}' in text
    assert 'smallwood_noops_total{reason="thinking"}' in text
    assert f'smallwood_brain_cadence_ticks{{brain="model"}} {plan.cadence}.0' in text
    assert health["ok"] is True and health["problems"] == []
    assert engine.closed


async def test_a_cadence_that_can_never_decide_is_refused(tmp_path: Path) -> None:
    engine = FakeEngine(delay=0.25)
    with pytest.raises(
        NeverDecides,
        match=r"cadence 2 at a 0\.1 s tick gives it 0\.16 s.*"
        r"set cadence = 5 or more",
    ):
        await start(
            config(tmp_path / "data", brain="openai", model="m", base_url="http://x", cadence=2),
            engines=Starter(engine),
        )
    assert engine.closed
    store = Store.open(tmp_path / "data")  # no world was made, the lock was released
    try:
        assert await store.load() is None
    finally:
        store.close()


async def test_an_engine_that_fails_to_start_leaves_no_world_and_no_lock(tmp_path: Path) -> None:
    def broken(options: EngineOptions) -> tuple[Engine, Renderer]:
        raise EngineConfigError("--brain openai needs --base-url")

    def missing(options: EngineOptions) -> tuple[Engine, Renderer]:
        raise OSError("no such model directory")

    with pytest.raises(EngineConfigError):
        await start(config(tmp_path / "data", brain="openai"), engines=broken)
    with pytest.raises(EngineConfigError, match="--model /nowhere: no such model"):
        await start(config(tmp_path / "data", brain="vllm", model="/nowhere"), engines=missing)
    store = Store.open(tmp_path / "data")  # the lock was released
    try:
        assert await store.load() is None
    finally:
        store.close()


async def test_a_scenario_brain_drives_its_creatures_beside_the_scripted_ones(
    tmp_path: Path,
) -> None:
    data = load_scenario().model_dump(mode="json", by_alias=True)
    data["brains"] = {"qwen": {"engine": "openai", "model": "qwen", "base_url": "http://x"}}
    data["creatures"][1]["brain"] = "qwen"  # oona
    scenario = tmp_path / "mixed.json"
    scenario.write_bytes(orjson.dumps(data))
    engine = FakeEngine()
    starter = Starter(engine)
    running = await start(config(tmp_path / "data", scenario=scenario), engines=starter)
    try:
        await until(lambda: running.clock.state.tick >= 3)
        assert [o.model for o in starter.options] == ["qwen"]
        assert engine.batches and set(engine.batches) == {1}  # one call a tick, oona alone
        drivers = {cid: c["driver"] for cid, c in running.hub.world["creatures"].items()}
        assert drivers["oona"] == "model"
        assert {d for cid, d in drivers.items() if cid != "oona"} == {"script"}
    finally:
        await running.stop()
    assert engine.closed


async def test_a_brain_that_raises_silences_only_its_own_creatures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = load_scenario().model_dump(mode="json", by_alias=True)
    data["brains"] = {"qwen": {"engine": "openai", "model": "qwen", "base_url": "http://x"}}
    data["creatures"][1]["brain"] = "qwen"  # oona
    scenario = tmp_path / "mixed.json"
    scenario.write_bytes(orjson.dumps(data))
    broken = True
    real = ModelBrain.decide

    async def decide(self: ModelBrain, observations: Any, *, deadline: float) -> Any:
        if broken:
            raise RuntimeError("the prompt builder fell over")
        return await real(self, observations, deadline=deadline)

    monkeypatch.setattr(ModelBrain, "decide", decide)
    running = await start(
        config(tmp_path / "data", scenario=scenario), engines=Starter(FakeEngine())
    )
    try:
        async with aiohttp.ClientSession() as session:
            while running.clock.state.tick < 8:
                await asyncio.sleep(0.05)
            async with session.get(running.url + "/healthz") as resp:
                sick = await resp.json()
            async with session.get(running.url + "/metrics") as resp:
                text = await resp.text()
            traded = {t.buyer for t in running.clock.state.trades} | {
                t.seller for t in running.clock.state.trades
            }
            broken = False
            mark = running.clock.state.tick
            while running.clock.state.tick < mark + 3:
                await asyncio.sleep(0.05)
            async with session.get(running.url + "/healthz") as resp:
                well = await resp.json()
    finally:
        await running.stop()
    assert sick["ok"] is False
    assert sick["problems"][0].startswith(
        "brain 'qwen' failing: RuntimeError: the prompt builder fell over"
    )
    # a scenario's model brain is named by the scenario, not by its engine
    assert 'smallwood_brain_errors_total{brain="qwen",error="RuntimeError"}' in text
    assert 'smallwood_brain_failing{brain="qwen"} 1.0' in text
    noops = running.clock.metrics.noops
    assert noops.get(reason="brain_error") >= 7  # oona, once a tick
    assert running.clock.metrics.decisions.get(brain="scripted", status="ok") >= 4 * 8
    assert traded and "oona" not in traded  # the others traded
    assert well["ok"] is True and well["problems"] == []
    reasons = {r.get("noop_reason") for r in traces(tmp_path / "data") if r["brain"] == "qwen"}
    assert "brain_error" in reasons

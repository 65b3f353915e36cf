"""The openai brain against vLLM's own OpenAI-compatible server, started here on the tiny model.

One batched `/v1/completions` request per tick carries every creature's prompt; each answer
is parsed into a decision.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from server.minds.brain import DecisionResult
from server.minds.model_brain import ModelBrain
from server.minds.openai_engine import OpenAIEngine
from server.minds.prompts import PromptBuilder
from server.simulate import Cast, run_world
from server.world import WorldState, load_scenario, new_world
from server.world.events import Event

TIMEOUT_S = 900
"""pytest-timeout's limit for each test here: the first one also starts vLLM's server (a module
fixture) on CPU, so its start-up budget is a share of this."""
pytestmark = [pytest.mark.vllm, pytest.mark.timeout(TIMEOUT_S)]

STARTUP_S = TIMEOUT_S // 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def openai_server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(tiny_model), "--port", str(port), "--host", "127.0.0.1",
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
        print(f"vLLM OpenAI server up in {time.monotonic() - started:.1f}s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_openai_brain_one_batched_request_per_tick(
    openai_server: str, tiny_model: Path
) -> None:
    scenario = load_scenario()
    engine = OpenAIEngine(openai_server, str(tiny_model))
    brain = ModelBrain(engine, PromptBuilder(scenario))
    ticks: list[Mapping[str, DecisionResult]] = []

    def listen(
        state: WorldState, events: Sequence[Event], results: Mapping[str, DecisionResult]
    ) -> None:
        ticks.append(results)

    state = await run_world(new_world(scenario, 3), Cast({"scripted": brain}, brain), 3, [listen])
    await brain.aclose()
    assert state.tick == 3
    assert engine.requests == {"completions": 3}  # one batched request a tick, no fallback
    assert brain.calls == 3
    for results in ticks:
        assert set(results) == {c.id for c in scenario.creatures}
        for result in results.values():
            assert result.brain == f"openai:{tiny_model}"
            assert result.raw.startswith("{")
            assert result.noop_reason not in ("engine_error", "deadline", "no_answer", "no_json")
    assert sum(r.status != "noop" for results in ticks for r in results.values()) >= 10

"""The in-process vLLM engine on the tiny local model: one batch, structured, abortable.

The model is random, so its texts are junk inside a forced JSON shape, often cut off by
max_tokens: every one must still come through the repair layer as a valid decision.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from server.minds.repair import parse_decision
from shared.decision import Decision

if TYPE_CHECKING:
    from server.minds.vllm_engine import VllmEngine

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.timeout(900),  # the module's engine starts vLLM on CPU in the first test
]

GOODS = ("acorns", "berries", "mushrooms", "honey", "firewood")
SHARED = (
    "<|im_start|>system\nYou are a creature of the Wood. Goods: acorns, berries, mushrooms, "
    "honey, firewood. Answer with JSON only.<|im_end|>\n<|im_start|>user\n"
)


def _prompt(name: str) -> str:
    return f"{SHARED}You are {name}. Prices: acorns 4, honey 9.<|im_end|>\n<|im_start|>assistant\n"


PROMPTS = [_prompt(n) for n in ("Mossback", "Oona", "Bramble", "Fennick", "Thistle")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tiny_model: Path) -> AsyncIterator[VllmEngine]:
    from server.minds.vllm_engine import VllmEngine, VllmSettings

    started = time.perf_counter()
    engine = VllmEngine.start(VllmSettings.for_cpu(str(tiny_model)))
    print(f"vllm engine up in {time.perf_counter() - started:.1f}s")
    yield engine
    await engine.aclose()


def _whitespace_outside_strings(text: str) -> int:
    count, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch.isspace():
            count += 1
    return count


async def test_one_batch_of_five_parses(engine: VllmEngine) -> None:
    schema = Decision.model_json_schema()
    started = time.perf_counter()
    texts = await engine.generate(PROMPTS, schema=schema, max_tokens=96)
    print(f"batch of {len(PROMPTS)} in {time.perf_counter() - started:.2f}s")
    assert len(texts) == len(PROMPTS)
    for text in texts:
        assert text is not None
        assert text.startswith("{")  # structured outputs: JSON from the first token
        assert _whitespace_outside_strings(text) == 0  # compact: no free whitespace
        result = parse_decision(text, GOODS, produces="acorns")
        assert isinstance(result.decision, Decision)
        assert result.noop_reason not in ("no_json", "not_a_decision", "internal_error")
    assert engine.in_flight == 0


async def test_a_prompt_too_long_is_none_and_spares_the_batch(engine: VllmEngine) -> None:
    too_long = PROMPTS[0] + "acorns " * 5000
    texts = await engine.generate(
        [PROMPTS[0], too_long], schema=Decision.model_json_schema(), max_tokens=16
    )
    assert texts[0] is not None
    assert texts[1] is None


async def test_cancelling_a_batch_aborts_it_in_the_engine(engine: VllmEngine) -> None:
    endless = {"type": "string", "minLength": 10_000}  # runs until max_tokens
    batch = asyncio.create_task(engine.generate(PROMPTS, schema=endless, max_tokens=4000))
    for _ in range(500):  # the requests enter the engine one by one: wait for all of them
        if engine.in_flight == len(PROMPTS):
            break
        await asyncio.sleep(0.01)
    assert engine.in_flight == len(PROMPTS)
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch
    for _ in range(100):
        if not engine.in_flight:
            break
        await asyncio.sleep(0.01)
    assert engine.in_flight == 0
    texts = await engine.generate(PROMPTS, schema=Decision.model_json_schema(), max_tokens=32)
    assert all(text is not None for text in texts)  # the engine is free for the next tick


async def test_the_vllm_brain_runs_the_world_one_batch_a_tick(engine: VllmEngine) -> None:
    from server.minds.brain import DecisionResult
    from server.minds.model_brain import ModelBrain
    from server.minds.prompts import PromptBuilder
    from server.simulate import Cast, run_world
    from server.world import load_scenario, new_world

    scenario = load_scenario()
    brain = ModelBrain(engine, PromptBuilder(scenario))
    ticks: list[dict[str, DecisionResult]] = []
    state = await run_world(
        new_world(scenario, 2),
        Cast({"scripted": brain}, brain),
        3,
        [lambda _state, _events, results: ticks.append(dict(results))],
    )
    assert state.tick == 3
    assert brain.calls == 3  # one batched engine call per tick
    for results in ticks:
        assert len(results) == len(scenario.creatures)
        for result in results.values():
            assert result.brain == engine.name
            assert result.raw.startswith("{")
            assert result.noop_reason not in ("engine_error", "no_answer", "no_json")
    assert engine.in_flight == 0

"""modal_inference.py's class through Modal's `.local()` path, on the tiny model, on CPU.

`.local()` runs the class on this machine with no Modal account: the same `VllmEngine` the
deployed container starts, entered once, then one batched `generate` per tick.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from server.minds.prompts import PromptBuilder
from server.minds.repair import parse_decision
from server.minds.schema import budget_for, decision_schema
from server.minds.spaces import GuardedSpace
from server.world import load_scenario, new_world, observe_all

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.timeout(900),  # vLLM on CPU, and the tiny model if this module runs first
    pytest.mark.skipif(
        not os.environ.get("CI") and importlib.util.find_spec("modal") is None,
        reason="the Modal client is not installed (pip install modal); CI runs this",
    ),
]


async def test_the_modal_class_answers_a_batch_locally(tiny_model: Path) -> None:
    import modal_inference

    scenario = load_scenario()
    builder = PromptBuilder(scenario)
    observations = observe_all(new_world(scenario, 1))
    prompts = [builder.render(obs) for obs in observations.values()]
    schema = decision_schema(builder.goods)
    inference: Any = modal_inference.Inference(model=str(tiny_model), cpu=True, max_model_len=2048)  # type: ignore[call-arg]
    try:
        started = time.perf_counter()
        texts = await inference.generate.local(prompts, schema, 96)  # enters, then generates
        print(f"first batch (with engine start) {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        again = await inference.generate.local(prompts, schema, 96)
        print(f"second batch {time.perf_counter() - started:.2f}s")
        # Guarded creatures: a schema and a token budget each, still one call and one batch.
        guarded = GuardedSpace(scenario)
        schemas = [guarded.schema(obs) for obs in observations.values()]
        budgets = [budget_for(s, 96) for s in schemas]
        each = await inference.generate_each.local(prompts, schemas, budgets)
    finally:
        # The engine lives on the local instance; Modal's local path runs no @modal.exit.
        engine = getattr(inference._cached_user_cls_instance(), "engine", None)
        if engine is not None:
            await engine.aclose()
    assert len(texts) == len(again) == len(prompts)
    for text, obs in zip(texts + again, [*observations.values()] * 2, strict=True):
        assert text is not None and text.startswith("{")
        result = parse_decision(text, builder.goods, produces=obs.produces)
        assert result.noop_reason not in ("no_json", "not_a_decision", "internal_error")
    # Even a random model's answers follow their own schemas to the end: none is cut off.
    assert len(each) == len(prompts)
    for text, own in zip(each, schemas, strict=True):
        assert text is not None
        jsonschema.validate(json.loads(text), own)

"""`smallwood bench prompt`: how long each creature's prompt is, and how much of it is shared.

For the default scenario (or another) at a given tick of a scripted run, it reports per
creature the prompt's characters (and tokens, by the model's own tokenizer when `--model` is
given), the shared-prefix fraction of both, the output token budget, and how many tokens the
worked example's answer takes (it must fit the budget). With a model it also starts the
in-process vLLM engine and times one batched call of every creature's prompt.
Targets: the shared prefix is at least 60% of each prompt; a decision fits in 96 tokens.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from typing import Any

from server import simulate
from server.minds.prompts import PromptBuilder, tokenizer_renderer
from server.minds.schema import decision_schema
from server.world import Scenario, observe_all

PREFIX_TARGET = 0.6
MAX_TOKENS = 96


def run(
    scenario: Scenario,
    *,
    tick: int = 150,
    seed: int = 1,
    model: str | None = None,
    max_tokens: int = MAX_TOKENS,
    repeats: int = 3,
) -> dict[str, Any]:
    state = simulate.world_at(scenario, tick, seed)
    builder = PromptBuilder(scenario)
    tokenizer: Any = None
    if model is not None:
        from transformers import AutoTokenizer  # noqa: PLC0415

        tokenizer = AutoTokenizer.from_pretrained(model)
        builder = builder.with_renderer(tokenizer_renderer(model))

    def tokens(text: str) -> int | None:
        return None if tokenizer is None else len(tokenizer(text)["input_ids"])

    observations = {cid: o for cid, o in observe_all(state).items() if not o.exiled}
    rows: list[dict[str, Any]] = []
    for cid, obs in observations.items():
        text = builder.render(obs)
        cut = text.rindex(builder.suffix(obs))
        total, shared = tokens(text), tokens(text[:cut])
        rows.append(
            {
                "creature": cid,
                "chars": len(text),
                "prefix_chars": cut,
                "prefix_fraction_chars": round(cut / len(text), 4),
                "tokens": total,
                "prefix_tokens": shared,
                "prefix_fraction_tokens": round(shared / total, 4) if total and shared else None,
            }
        )
    example = builder.prefix.rsplit("\n", 1)[-1]
    figures: dict[str, Any] = {
        "benchmark": "prompt",
        "scenario": scenario.name,
        "tick": tick,
        "model": model,
        "prefix_target": PREFIX_TARGET,
        "max_tokens": max_tokens,
        "example_answer_chars": len(example),
        "example_answer_tokens": tokens(example),
        "min_prefix_fraction_chars": min(r["prefix_fraction_chars"] for r in rows),
        "creatures": rows,
    }
    fractions = [r["prefix_fraction_tokens"] for r in rows if r["prefix_fraction_tokens"]]
    if fractions:
        figures["min_prefix_fraction_tokens"] = min(fractions)
    if model is not None:
        prompts = [builder.render(o) for o in observations.values()]
        figures |= asyncio.run(
            _time_batch(model, prompts, decision_schema(builder.goods), max_tokens, repeats)
        )
    return figures


async def _time_batch(
    model: str, prompts: list[str], schema: dict[str, Any], max_tokens: int, repeats: int
) -> dict[str, Any]:
    from server.minds.engines import EngineOptions, start_engine  # noqa: PLC0415

    started = time.perf_counter()
    engine, _ = start_engine(EngineOptions("vllm", model))
    try:
        start_s = time.perf_counter() - started
        await engine.generate(prompts, schema=schema, max_tokens=max_tokens)  # warm-up
        times = []
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            await engine.generate(prompts, schema=schema, max_tokens=max_tokens)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        await engine.aclose()
    return {
        "engine": engine.name,
        "engine_start_s": round(start_s, 2),
        "batch_size": len(prompts),
        "batch_ms_median": round(statistics.median(times), 1),
        "batch_ms_max": round(max(times), 1),
    }


def render(figures: dict[str, Any]) -> str:
    def show(value: Any, fmt: str = "") -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        return format(value, fmt)

    lines = [
        f"{figures['scenario']}, tick {figures['tick']}"
        + (f", tokens by {figures['model']}" if figures["model"] else " (tokens: pass --model)"),
        f"{'creature':<10} {'chars':>6} {'shared':>7} {'tokens':>7} {'shared':>7}",
    ]
    for r in figures["creatures"]:
        lines.append(
            f"{r['creature']:<10} {r['chars']:>6} {r['prefix_fraction_chars']:>7.0%} "
            f"{show(r['tokens']):>7} {show(r['prefix_fraction_tokens'], '.0%'):>7}"
        )
    lines.append(
        f"shared prefix: at least {figures['min_prefix_fraction_chars']:.0%} of the characters"
        + (
            f", {figures['min_prefix_fraction_tokens']:.0%} of the tokens"
            if "min_prefix_fraction_tokens" in figures
            else ""
        )
        + f" (target {figures['prefix_target']:.0%})"
    )
    lines.append(
        f"output budget: {figures['max_tokens']} tokens; the worked example's answer takes "
        f"{show(figures['example_answer_tokens'])} tokens ({figures['example_answer_chars']} chars)"
    )
    if "batch_ms_median" in figures:
        lines.append(
            f"one batched call of {figures['batch_size']} prompts on {figures['engine']}: "
            f"{figures['batch_ms_median']:.0f} ms median, {figures['batch_ms_max']:.0f} ms max "
            f"(engine start {figures['engine_start_s']:.1f} s)"
        )
    return "\n".join(lines)

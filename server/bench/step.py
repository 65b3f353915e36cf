"""`smallwood bench step`: how long one tick of the world core takes, by world size.

For each size it runs scripted creatures (decisions are made but not timed into `step`) and
reports milliseconds per tick for `step` alone, and separately for `observe_all` and the
scripted decisions, so the core's cost is never confused with the minds'.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from server.minds.scripted import ScriptedMind
from server.minds.translate import to_action
from server.world import large_scenario, load_scenario, new_world, observe_all, step


def bench_size(creatures: int | None, ticks: int, warmup: int, seed: int = 1) -> dict[str, Any]:
    scenario = load_scenario() if creatures is None else large_scenario(creatures)
    state = new_world(scenario, seed)
    mind = ScriptedMind(seed)
    step_ms: list[float] = []
    observe_ms: list[float] = []
    decide_ms: list[float] = []
    for i in range(warmup + ticks):
        t0 = time.perf_counter()
        observations = observe_all(state)
        t1 = time.perf_counter()
        actions = {cid: to_action(mind.decide(obs)) for cid, obs in observations.items()}
        # As in the server, observations are garbage once decided: drop them before the step
        # so the step is measured with the memory a live tick has, not the bench's leftovers.
        del observations
        t2 = time.perf_counter()
        state, _ = step(state, actions)
        t3 = time.perf_counter()
        if i >= warmup:
            observe_ms.append((t1 - t0) * 1000)
            decide_ms.append((t2 - t1) * 1000)
            step_ms.append((t3 - t2) * 1000)
    step_ms.sort()
    return {
        "creatures": len(scenario.creatures),
        "ticks": ticks,
        "step_ms_mean": round(statistics.fmean(step_ms), 3),
        "step_ms_p50": round(step_ms[len(step_ms) // 2], 3),
        "step_ms_p99": round(step_ms[min(len(step_ms) - 1, int(len(step_ms) * 0.99))], 3),
        "step_us_per_creature": round(
            statistics.fmean(step_ms) * 1000 / len(scenario.creatures), 2
        ),
        "observe_ms_mean": round(statistics.fmean(observe_ms), 3),
        "scripted_decide_ms_mean": round(statistics.fmean(decide_ms), 3),
    }


def run(sizes: list[int], ticks: int, warmup: int) -> dict[str, Any]:
    results = [bench_size(None, ticks, warmup)]
    results += [bench_size(n, ticks, warmup) for n in sizes]
    return {"benchmark": "step", "target_ms_at_1000": 20.0, "results": results}


def render(figures: dict[str, Any]) -> str:
    lines = [
        f"{'creatures':>9}  {'step ms':>8}  {'p99 ms':>7}  {'µs/creature':>11}  "
        f"{'observe ms':>10}  {'scripted ms':>11}"
    ]
    for r in figures["results"]:
        lines.append(
            f"{r['creatures']:>9}  {r['step_ms_mean']:>8.3f}  {r['step_ms_p99']:>7.3f}  "
            f"{r['step_us_per_creature']:>11.2f}  {r['observe_ms_mean']:>10.3f}  "
            f"{r['scripted_decide_ms_mean']:>11.3f}"
        )
    lines.append(f"target: 1,000 creatures under {figures['target_ms_at_1000']:.0f} ms per step")
    return "\n".join(lines)

"""`smallwood bench step`: how long one tick of the world core takes, by world size.

For each size it runs scripted creatures (decisions are made but not timed into `step`) and
reports milliseconds per tick for `step` alone, separately for `observe_all` and the
scripted brain's decisions (its results and actions, as `simulate` gets them), so the core's
cost is never confused with the minds', and the full tick (observe, decide, step) that a
headless run pays.

Garbage collection runs as the live server runs it (`server.gcpace`): the interpreter's
automatic full passes are off, and a full pass runs between ticks every `GC_EVERY` ticks
(the server's cadence at one tick a second). Those passes are timed and reported on their
own, amortized per tick, so nothing is hidden; left to the interpreter, a full pass would
land inside most steps of a large world and walk the whole heap each time.
"""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any

from server.gcpace import GcPacer
from server.minds.brain import ScriptedBrain
from server.world import WorldState, large_scenario, load_scenario, new_world, observe_all, step

GC_EVERY = 10
"""Ticks between full collections: the live server's pacer runs one every 10 s at most."""


def bench_size(creatures: int | None, ticks: int, warmup: int, seed: int = 1) -> dict[str, Any]:
    scenario = load_scenario() if creatures is None else large_scenario(creatures)
    state = new_world(scenario, seed)
    brain = ScriptedBrain(seed)
    timings: dict[str, list[float]] = {
        "step": [],
        "observe": [],
        "decide": [],
        "tick": [],
        "gc": [],
    }
    pacer = GcPacer()
    pacer.start()
    try:
        for i in range(warmup + ticks):
            state = _tick(state, brain, timings if i >= warmup else None)
            if (i + 1) % GC_EVERY == 0:
                t = time.perf_counter()
                gc.collect()
                if i >= warmup:
                    timings["gc"].append((time.perf_counter() - t) * 1000)
    finally:
        pacer.stop()
    step_ms = sorted(timings["step"])
    tick_ms = sorted(timings["tick"])
    gc_ms = timings["gc"]
    mean = statistics.fmean(step_ms)
    return {
        "creatures": len(scenario.creatures),
        "ticks": ticks,
        "step_ms_mean": round(mean, 3),
        "step_ms_p50": round(step_ms[len(step_ms) // 2], 3),
        "step_ms_p99": round(_p99(step_ms), 3),
        "step_us_per_creature": round(mean * 1000 / len(scenario.creatures), 2),
        "gc_full_pass_ms_mean": round(statistics.fmean(gc_ms), 3) if gc_ms else 0.0,
        "gc_ms_per_tick": round(sum(gc_ms) / ticks, 3),
        "observe_ms_mean": round(statistics.fmean(timings["observe"]), 3),
        "scripted_decide_ms_mean": round(statistics.fmean(timings["decide"]), 3),
        "tick_ms_mean": round(statistics.fmean(tick_ms), 3),
        "tick_ms_p99": round(_p99(tick_ms), 3),
    }


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _tick(
    state: WorldState, brain: ScriptedBrain, timings: dict[str, list[float]] | None
) -> WorldState:
    t0 = time.perf_counter()
    observations = observe_all(state)
    t1 = time.perf_counter()
    results = brain.decide_now(observations)
    actions = {cid: r.action for cid, r in results.items()}
    # As in the server, observations are garbage once decided: drop them before the step
    # so the step is measured with the memory a live tick has, not the bench's leftovers.
    del observations, results
    t2 = time.perf_counter()
    state, _ = step(state, actions)
    t3 = time.perf_counter()
    if timings is not None:
        timings["observe"].append((t1 - t0) * 1000)
        timings["decide"].append((t2 - t1) * 1000)
        timings["step"].append((t3 - t2) * 1000)
        timings["tick"].append((t3 - t0) * 1000)
    return state


def run(sizes: list[int], ticks: int, warmup: int) -> dict[str, Any]:
    results = [bench_size(None, ticks, warmup)]
    results += [bench_size(n, ticks, warmup) for n in sizes]
    return {
        "benchmark": "step",
        "target_ms_at_1000": 20.0,
        "target_tick_ms_at_1000": 20.0,
        "results": results,
    }


def render(figures: dict[str, Any]) -> str:
    lines = [
        f"{'creatures':>9}  {'step ms':>8}  {'p99 ms':>7}  {'µs/creature':>11}  "
        f"{'gc ms/tick':>10}  {'observe ms':>10}  {'scripted ms':>11}  {'tick ms':>8}  "
        f"{'tick p99':>8}"
    ]
    for r in figures["results"]:
        lines.append(
            f"{r['creatures']:>9}  {r['step_ms_mean']:>8.3f}  {r['step_ms_p99']:>7.3f}  "
            f"{r['step_us_per_creature']:>11.2f}  {r['gc_ms_per_tick']:>10.3f}  "
            f"{r['observe_ms_mean']:>10.3f}  "
            f"{r['scripted_decide_ms_mean']:>11.3f}  {r['tick_ms_mean']:>8.3f}  "
            f"{r['tick_ms_p99']:>8.3f}"
        )
    lines.append(
        f"targets at 1,000 creatures: step under {figures['target_ms_at_1000']:.0f} ms, the full "
        f"tick (observe + scripted decisions + step) under "
        f"{figures['target_tick_ms_at_1000']:.0f} ms"
    )
    return "\n".join(lines)

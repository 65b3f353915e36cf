"""`smallwood bench longrun`: does the Wood stay alive, varied and fair for days?

Runs the scripted world headless (the same loop as `simulate`) for each seed and prints the
long-run figures of `server.longrun` per seed, worst window first, with a verdict on each
promise. Seeds run in parallel processes, one per core.
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Any

from server.longrun import Limits, LongRunRecorder, judge
from server.minds.brain import ScriptedBrain
from server.simulate import Cast, run_world
from server.world import load_scenario, new_world


def run_seed(scenario_path: str | None, seed: int, ticks: int) -> dict[str, Any]:
    """One seed's run and its figures (a top-level function, so it can run in a worker)."""
    scenario = load_scenario(Path(scenario_path) if scenario_path else None)
    state = new_world(scenario, seed)
    recorder = LongRunRecorder.for_state(state)
    brain = ScriptedBrain(seed)
    start = time.perf_counter()
    asyncio.run(run_world(state, Cast({}, brain), ticks, [recorder.record]))
    elapsed = time.perf_counter() - start
    figures = judge(recorder, Limits())
    return {
        "scenario": scenario.name,
        "seed": seed,
        "seconds": round(elapsed, 2),
        "ms_per_tick": round(elapsed * 1000 / ticks, 4),
        **figures,
    }


def run(
    ticks: int, seeds: list[int], scenario: str | None, jobs: int | None = None
) -> dict[str, Any]:
    workers = max(1, min(len(seeds), jobs or os.cpu_count() or 1))
    if workers == 1:
        results = [run_seed(scenario, s, ticks) for s in seeds]
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(run_seed, [scenario] * len(seeds), seeds, [ticks] * len(seeds)))
    return {
        "benchmark": "longrun",
        "ticks": ticks,
        "limits": _limits(),
        "ok": all(r["ok"] for r in results),
        "results": results,
    }


def _limits() -> dict[str, Any]:
    lim = Limits()
    return {f.name: getattr(lim, f.name) for f in fields(lim)}


def render(figures: dict[str, Any], windows: int = 3) -> str:
    lines: list[str] = []
    for r in figures["results"]:
        failed = [k for k, ok in r["verdicts"].items() if not ok]
        lines.append(
            f"{r['scenario']}, seed {r['seed']}: {r['ticks']} ticks in {r['seconds']} s "
            f"({r['ms_per_tick']} ms/tick) - {'OK' if r['ok'] else 'FAILS ' + ', '.join(failed)}"
        )
        lo, hi = r["gini_window_range"]
        lines += [
            f"  brain errors {r['brain_errors']}; trades in >= {r['min_trade_tick_share']:.1%} "
            f"of every window's ticks",
            f"  legends {r['legends']}, >= {r['min_legends_per_window']} a window, longest gap "
            f"{r['longest_legend_gap']} ticks",
            f"  worst price-stuck share {r['worst_price_stuck_share']:.1%}; stock trend "
            + ", ".join(f"{g} {v:.2f}" for g, v in r["stock_trend"].items()),
            f"  window gini {lo:.3f}-{hi:.3f}; richest changed {r['richest_changes']} times, "
            f"top share {r['richest_top_share']:.0%} ({_counts(r['richest_counts'])})",
            "  year-to-year price correlation "
            + ", ".join(f"{g} {v:.2f}" for g, v in r["year_correlation"].items()),
            f"  min mood {r['min_mood']}; windows with a flat mood {r['flat_mood_windows']}",
            "  worst windows:",
        ]
        for w in r["windows"][:windows]:
            lines.append(
                f"    {w['window']:>13}: trades {w['trade_tick_share']:.1%}, legends "
                f"{w['legends_begun']}, stuck {w['worst_stuck']:.1%}, gini {w['gini_mean']:.3f}"
                + (f", flat moods {w['flat_moods']}" if w["flat_moods"] else "")
            )
    lines.append("all promises hold" if figures["ok"] else "SOME PROMISES FAIL")
    return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{cid} {n}" for cid, n in counts.items())

"""The Wood lives for days: 100,000 ticks (about 28 hours at one tick a second) of the default
Wood and of the Wide Wood (eight creatures, two woodcutters), seeds 1 to 5, judged per
1,000-tick window by `server.longrun` (the figures `smallwood bench longrun` prints).

Slow tier: about four minutes on two cores, run in CI. Each Wood's five runs (a module
fixture, 2-3 minutes on two cores) are charged to the first test that asks for them, so the
module's pytest-timeout is sized for that on a machine three or more times slower.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from server.bench import longrun

TIMEOUT_S = 1200
pytestmark = [pytest.mark.slow, pytest.mark.timeout(TIMEOUT_S)]

TICKS = 100_000
SEEDS = [1, 2, 3, 4, 5]
WIDE = "wide_wood"


@pytest.fixture(scope="module", params=[None, WIDE], ids=["the-wood", "the-wide-wood"])
def runs(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    figures = longrun.run(TICKS, SEEDS, request.param, jobs=2)
    print(longrun.render(figures))
    results: list[dict[str, Any]] = figures["results"]
    return results


def failing(runs: list[dict[str, Any]], verdict: str) -> list[tuple[int, Any]]:
    return [(r["seed"], _why(r, verdict)) for r in runs if not r["verdicts"][verdict]]


def _why(r: dict[str, Any], verdict: str) -> Any:
    return {k: v for k, v in r.items() if k not in ("windows", "verdicts", "limits")}


@pytest.mark.parametrize(
    "verdict",
    [
        "no_brain_errors",
        "trades_every_window",
        "legends_every_window",
        "no_long_legend_gap",
        "prices_keep_moving",
        "stocks_do_not_trend",
        "gini_in_band",
        "richest_changes",
        "no_lasting_top",
        "years_differ",
        "moods_above_zero",
        "moods_move",
    ],
)
def test_the_promise_holds_for_every_seed(runs: list[dict[str, Any]], verdict: str) -> None:
    assert [r["ticks"] for r in runs] == [TICKS] * len(SEEDS)
    assert failing(runs, verdict) == []


def test_simulate_runs_a_hundred_thousand_ticks_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "simulate",
            "--ticks",
            str(TICKS),
            "--seed",
            "1",
            "--report",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S - 60,  # fails with its own message before pytest's limit
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "warning" not in done.stdout + done.stderr
    report = orjson.loads(out.read_bytes())
    assert len(report["ticks"]) == TICKS
    last = report["ticks"][-1]
    assert set(last["creatures"]["bram"]["stores"]) == set(last["ref_prices"])
    assert report["summary"]["noop_reasons"] == {}

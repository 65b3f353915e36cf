"""The long-run judge: each figure computed from series whose answer is known."""

from __future__ import annotations

import math

from server.longrun import Limits, LongRunRecorder, judge


def lively(t: int) -> float:
    """A price that wanders: three cycles that rarely line up at their peaks."""
    return 5.0 + 0.8 * math.sin(t / 37) + 0.6 * math.sin(t / 11) + 0.3 * math.sin(t / 3.1)


def recorder(ticks: int, **series: object) -> LongRunRecorder:
    rec = LongRunRecorder(goods=("nuts",), ticks_per_season=25)
    rec.trades = [1] * ticks
    rec.prices = {"nuts": [lively(t) for t in range(ticks)]}
    rec.stocks = {"nuts": [10] * ticks}
    rec.ginis = [0.3] * ticks
    rec.moods = {"a": [0.5 + 0.1 * math.sin(t) for t in range(ticks)]}
    rec.legend_ticks = list(range(100, ticks, 300))
    rec.richest_by_year = ["a", "b"] * (ticks // 200)
    for name, value in series.items():
        setattr(rec, name, value)
    return rec


def test_a_lively_run_keeps_every_promise() -> None:
    figures = judge(recorder(5000))
    assert figures["ok"], {k: v for k, v in figures["verdicts"].items() if not v}
    assert figures["richest_changes"] == 49
    assert figures["longest_legend_gap"] == 300


def test_a_flat_price_sits_at_its_low_and_high() -> None:
    figures = judge(recorder(3000, prices={"nuts": [5.0] * 3000}))
    assert figures["worst_price_stuck_share"] == 1.0
    assert not figures["verdicts"]["prices_keep_moving"]
    # a flat year is as alike as years can be
    assert figures["year_correlation"]["nuts"] == 1.0


def test_silent_windows_and_missing_legends_are_found_worst_first() -> None:
    trades = [1] * 3000
    trades[1000:1200] = [0] * 200  # the second window trades in 80% of its ticks
    figures = judge(recorder(3000, trades=trades, legend_ticks=[100, 2900]))
    assert figures["min_trade_tick_share"] == 0.8
    assert figures["longest_legend_gap"] == 2800
    assert figures["windows"][0]["window"] == "1001-2000"
    assert not figures["verdicts"]["trades_every_window"]
    assert not figures["verdicts"]["no_long_legend_gap"]


def test_a_growing_stock_and_a_lasting_top_fail() -> None:
    figures = judge(
        recorder(4000, stocks={"nuts": list(range(4000))}, richest_by_year=["a"] * 40),
        Limits(),
    )
    assert figures["worst_stock_trend"] > 1.25
    assert figures["richest_top_share"] == 1.0
    assert not figures["verdicts"]["stocks_do_not_trend"]
    assert not figures["verdicts"]["no_lasting_top"]


def test_a_mood_that_never_moves_is_flagged_per_window() -> None:
    moods = {"a": [0.8] * 1000 + [0.5 + 0.1 * math.sin(t) for t in range(1000)]}
    figures = judge(recorder(2000, moods=moods))
    assert figures["flat_mood_windows"] == 1
    assert not figures["verdicts"]["moods_move"]

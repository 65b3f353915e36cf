"""Does the Wood stay alive? A recorder of compact per-tick series and the figures judged on them.

The recorder is fed like any other (state, events, decisions) and keeps only numbers, so a
run of 100,000 ticks costs a few megabytes. `judge` turns the series into the long-run
figures, per 1,000-tick window where the promise is per window, each with its verdict:

- the market trades in most ticks of every window;
- legends keep coming (at least two per window, never 600 ticks without one);
- reference prices keep moving (none sits at its window's low or high for long);
- stocks do not trend, wealth stays spread but unequal, the richest changes over the years;
- years differ from each other, and moods move and never reach zero.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from server.minds.brain import DecisionResult
from server.world.events import Event, LegendBegan, TradeCleared
from server.world.state import WorldState
from server.world.wealth import gini, wealth_of

WINDOW = 1000
"""Ticks per judged window."""
LEGEND_GAP = 600
"""The most ticks that may pass without a legend beginning."""
STUCK_BAND = 0.01
"""A price within this fraction of its window's low or high counts as sitting there."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The promises, as numbers (each figure is judged against one of these)."""

    trade_share: float = 0.9
    legends_per_window: int = 2
    legend_gap: int = LEGEND_GAP
    stuck_share: float = 0.10
    stock_trend: float = 1.25
    gini_low: float = 0.15
    gini_high: float = 0.65
    gini_after: int = 2000
    richest_changes: int = 10
    richest_share: float = 0.6
    year_correlation: float = 0.9


@dataclass(slots=True)
class LongRunRecorder:
    """Per-tick series of one run. `record` matches the simulation's listener signature."""

    goods: tuple[str, ...] = ()
    ticks_per_season: int = 25
    trades: list[int] = field(default_factory=list)
    legend_ticks: list[int] = field(default_factory=list)
    prices: dict[str, list[float]] = field(default_factory=dict)
    stocks: dict[str, list[int]] = field(default_factory=dict)
    ginis: list[float] = field(default_factory=list)
    moods: dict[str, list[float]] = field(default_factory=dict)
    richest_by_year: list[str] = field(default_factory=list)
    noop_reasons: Counter[str] = field(default_factory=Counter)
    decisions: int = 0

    @classmethod
    def for_state(cls, state: WorldState) -> LongRunRecorder:
        goods = tuple(state.scenario.goods)
        return cls(
            goods=goods,
            ticks_per_season=state.scenario.rules.ticks_per_season,
            prices={g: [] for g in goods},
            stocks={g: [] for g in goods},
        )

    def record(
        self,
        state: WorldState,
        events: Sequence[Event],
        results: Mapping[str, DecisionResult],
    ) -> None:
        self.trades.append(sum(1 for e in events if type(e) is TradeCleared))
        self.legend_ticks.extend(state.tick for e in events if type(e) is LegendBegan)
        for g in self.goods:
            self.prices[g].append(state.ref_prices[g])
            self.stocks[g].append(sum(c.stores[g] for c in state.creatures.values()))
        worth = {cid: wealth_of(state, c) for cid, c in state.creatures.items()}
        self.ginis.append(gini(list(worth.values())))
        for cid, c in state.creatures.items():
            series = self.moods.setdefault(cid, [])
            # Creatures that joined late: pad so every series is indexed by tick.
            series.extend([math.nan] * (state.tick - 1 - len(series)))
            series.append(math.nan if c.exiled else c.mood)
        if state.tick % (4 * self.ticks_per_season) == 0:
            # Richest as the report names it: the fullest purse.
            purses = {cid: c.purse for cid, c in state.creatures.items()}
            self.richest_by_year.append(max(purses, key=lambda cid: (purses[cid], cid)))
        self.decisions += len(results)
        self.noop_reasons.update(r.noop_reason for r in results.values() if r.status == "noop")


def _windows(n: int) -> list[range]:
    """0-based index ranges of the full windows (a tail shorter than half a window joins the
    last one)."""
    out = [range(i, min(i + WINDOW, n)) for i in range(0, n, WINDOW)]
    if len(out) > 1 and len(out[-1]) < WINDOW // 2:
        tail = out.pop()
        out[-1] = range(out[-1].start, tail.stop)
    return out


def _stuck_share(path: Sequence[float]) -> float:
    lo, hi = min(path), max(path)
    near = sum(1 for p in path if p - lo <= STUCK_BAND * lo or hi - p <= STUCK_BAND * hi)
    return near / len(path)


def _correlation(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) < 3 or statistics.pstdev(a) == 0 or statistics.pstdev(b) == 0:
        return 1.0  # a flat year is as alike as years can be
    return statistics.correlation(a, b)


def judge(rec: LongRunRecorder, limits: Limits = Limits()) -> dict[str, Any]:
    """Every long-run figure of one run, per window, worst window first, with verdicts."""
    n = len(rec.trades)
    windows = _windows(n)
    rows: list[dict[str, Any]] = []
    for w in windows:
        first, last = w.start + 1, w.stop  # ticks are 1-based
        begun = [t for t in rec.legend_ticks if first <= t <= last]
        stuck = {g: round(_stuck_share(rec.prices[g][w.start : w.stop]), 4) for g in rec.goods}
        flat = [
            cid
            for cid, series in rec.moods.items()
            if _is_flat([m for m in series[w.start : w.stop] if not math.isnan(m)])
        ]
        rows.append(
            {
                "window": f"{first}-{last}",
                "trade_tick_share": round(
                    sum(1 for t in rec.trades[w.start : w.stop] if t) / len(w), 4
                ),
                "legends_begun": len(begun),
                "price_stuck_share": stuck,
                "worst_stuck": max(stuck.values(), default=0.0),
                "gini_mean": round(statistics.fmean(rec.ginis[w.start : w.stop]), 4),
                "flat_moods": flat,
            }
        )
    gaps = _legend_gaps(rec.legend_ticks, n)
    trend = {g: round(_trend(rec.stocks[g]), 3) for g in rec.goods if rec.stocks[g]}
    years = _year_correlations(rec)
    richest = rec.richest_by_year
    changes = sum(1 for a, b in pairwise(richest) if a != b)
    top_share = max(Counter(richest).values()) / len(richest) if richest else 0.0
    moods = [m for series in rec.moods.values() for m in series if not math.isnan(m)]
    late = [r for r, w in zip(rows, windows, strict=True) if w.start >= limits.gini_after]
    figures: dict[str, Any] = {
        "ticks": n,
        "brain_errors": rec.noop_reasons.get("brain_error", 0),
        "noop_reasons": dict(sorted(rec.noop_reasons.items())),
        "min_trade_tick_share": min((r["trade_tick_share"] for r in rows), default=0.0),
        "min_legends_per_window": min((r["legends_begun"] for r in rows), default=0),
        "longest_legend_gap": max(gaps, default=n),
        "legends": len(rec.legend_ticks),
        "worst_price_stuck_share": max((r["worst_stuck"] for r in rows), default=0.0),
        "stock_trend": trend,
        "worst_stock_trend": max(trend.values(), default=0.0),
        "gini_window_range": [
            min((r["gini_mean"] for r in late), default=math.nan),
            max((r["gini_mean"] for r in late), default=math.nan),
        ],
        "richest_changes": changes,
        "richest_top_share": round(top_share, 3),
        "richest_counts": dict(Counter(richest).most_common()),
        "year_correlation": years,
        "worst_year_correlation": max(years.values(), default=0.0),
        "min_mood": round(min(moods), 4) if moods else math.nan,
        "flat_mood_windows": sum(1 for r in rows if r["flat_moods"]),
    }
    figures["verdicts"] = _verdicts(figures, limits)
    figures["ok"] = all(figures["verdicts"].values())
    for row in rows:
        row["margin"] = round(_margin(row, limits), 4)
    figures["windows"] = sorted(rows, key=lambda row: row["margin"])
    return figures


def _is_flat(series: Sequence[float]) -> bool:
    return len(series) > 1 and max(series) - min(series) < 1e-9


def _legend_gaps(ticks: Sequence[int], n: int) -> list[int]:
    marks = [0, *sorted(ticks), n]
    return [b - a for a, b in pairwise(marks)]


def _trend(stock: Sequence[int]) -> float:
    """Mean stock over the run's last tenth against its mean over the second tenth."""
    n = len(stock)
    tenth = max(1, n // 10)
    early = statistics.fmean(stock[tenth : 2 * tenth] or stock)
    late = statistics.fmean(stock[-tenth:])
    return late / early if early > 0 else (1.0 if late == 0 else math.inf)


def _year_correlations(rec: LongRunRecorder) -> dict[str, float]:
    """Per good, the mean correlation of its reference price path in consecutive years."""
    year = 4 * rec.ticks_per_season
    out: dict[str, float] = {}
    for g in rec.goods:
        path = rec.prices[g]
        paths = [path[i : i + year] for i in range(0, len(path) - year + 1, year)]
        pairs = [_correlation(a, b) for a, b in pairwise(paths)]
        if pairs:
            out[g] = round(statistics.fmean(pairs), 4)
    return out


def _verdicts(f: Mapping[str, Any], lim: Limits) -> dict[str, bool]:
    lo, hi = f["gini_window_range"]
    return {
        "no_brain_errors": f["brain_errors"] == 0,
        "trades_every_window": f["min_trade_tick_share"] >= lim.trade_share,
        "legends_every_window": f["min_legends_per_window"] >= lim.legends_per_window,
        "no_long_legend_gap": f["longest_legend_gap"] <= lim.legend_gap,
        "prices_keep_moving": f["worst_price_stuck_share"] <= lim.stuck_share,
        "stocks_do_not_trend": f["worst_stock_trend"] <= lim.stock_trend,
        "gini_in_band": (math.isnan(lo) and math.isnan(hi))
        or (lim.gini_low <= lo and hi <= lim.gini_high),
        "richest_changes": f["richest_changes"] >= lim.richest_changes,
        "no_lasting_top": f["richest_top_share"] <= lim.richest_share,
        "years_differ": f["worst_year_correlation"] < lim.year_correlation,
        "moods_above_zero": f["min_mood"] > 0,
        "moods_move": f["flat_mood_windows"] == 0,
    }


def _margin(row: Mapping[str, Any], lim: Limits) -> float:
    """How far a window is from breaking its nearest promise, as a share of that promise's
    limit (negative when it breaks one); the worst window has the smallest margin."""
    trades: float = row["trade_tick_share"]
    legends: int = row["legends_begun"]
    stuck: float = row["worst_stuck"]
    return min(
        (trades - lim.trade_share) / lim.trade_share,
        (legends - lim.legends_per_window) / lim.legends_per_window,
        (lim.stuck_share - stuck) / lim.stuck_share,
        -1.0 if row["flat_moods"] else 1.0,
    )

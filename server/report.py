"""The simulation report: a recorder fed by each tick's state, events and decisions.

The report's shape is a contract other tools read (see README, "The report"). It holds no
wall-clock figures, so the same seed and scenario give the same report, byte for byte.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from server.minds.brain import DecisionResult
from server.world.events import (
    CreatureExiled,
    Event,
    LegendBegan,
    LegendEnded,
    MarketCleared,
    RumourResolved,
    TradeCleared,
)
from server.world.legend_book import LEGENDS
from server.world.modifiers import in_force
from server.world.seasons import season_of
from server.world.state import WorldState, state_hash
from server.world.units import to_pebbles
from server.world.wealth import gini, wealth_of


class ReportRecorder:
    """Collects one row per tick; `report()` gives the finished document."""

    def __init__(self, state: WorldState) -> None:
        self.scenario = state.scenario.name
        self.seed = state.seed
        self.start_gini = _gini(state)
        self.rows: list[dict[str, Any]] = []
        self.told: list[dict[str, Any]] = []
        self.exiles = 0
        self.decisions: Counter[str] = Counter()
        self.noop_reasons: Counter[str] = Counter()
        self.final: WorldState = state

    def record(
        self,
        state: WorldState,
        events: Sequence[Event],
        results: Mapping[str, DecisionResult],
    ) -> None:
        tps = state.scenario.rules.ticks_per_season
        prices: dict[str, float | None] = dict.fromkeys(state.scenario.goods)
        trades = volume = 0
        for e in events:
            if isinstance(e, MarketCleared) and e.volume:
                prices[e.good] = to_pebbles(e.price)
            elif isinstance(e, TradeCleared):
                trades += 1
                volume += e.qty
            elif isinstance(e, CreatureExiled):
                self.exiles += 1
            elif isinstance(e, LegendBegan):
                self.told.append({"tick": state.tick, "legend": e.key, "title": e.title})
            elif isinstance(e, RumourResolved):
                self.told.append(
                    {"tick": state.tick, "legend": e.key, "resolved": e.true, "outcome": e.outcome}
                )
        counts = Counter(r.status for r in results.values())
        self.decisions.update(counts)
        self.noop_reasons.update(r.noop_reason for r in results.values() if r.status == "noop")
        self.rows.append(
            {
                "tick": state.tick,
                "season": season_of(state.tick, tps).value,
                "legends": _legends_of_tick(state, events),
                "prices": prices,
                "ref_prices": {g: round(p, 3) for g, p in state.ref_prices.items()},
                "trades": trades,
                "volume": volume,
                "gini": round(_gini(state), 4),
                "decisions": {k: counts.get(k, 0) for k in ("ok", "repaired", "noop")},
                "creatures": {
                    cid: {
                        "produces": c.produces,
                        "pebbles": to_pebbles(c.purse),
                        "wealth": round(wealth_of(state, c), 2),
                        "mood": round(c.mood, 3),
                        "exiled": c.exiled,
                    }
                    for cid, c in state.creatures.items()
                },
            }
        )
        self.final = state

    def report(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "ticks": self.rows,
            "summary": self.summary(),
        }

    def summary(self) -> dict[str, Any]:
        rows = self.rows
        state = self.final
        fuel = state.scenario.fuel
        by_season: dict[str, dict[str, float]] = {}
        for good in state.scenario.goods:
            seasonal: dict[str, list[float]] = {}
            for row in rows:
                price = row["prices"][good]
                if price is not None:
                    seasonal.setdefault(row["season"], []).append(price)
            by_season[good] = {s: statistics.median(v) for s, v in sorted(seasonal.items())}
        richest = max(state.creatures.values(), key=lambda c: (c.purse, c.id), default=None)
        out: dict[str, Any] = {
            "ticks": len(rows),
            "ticks_with_trades": sum(1 for r in rows if r["trades"]),
            "trade_tick_share": round(sum(1 for r in rows if r["trades"]) / len(rows), 4)
            if rows
            else 0.0,
            "trades": sum(r["trades"] for r in rows),
            "volume": sum(r["volume"] for r in rows),
            "gini_start": round(self.start_gini, 4),
            "gini_end": rows[-1]["gini"] if rows else round(self.start_gini, 4),
            "median_price_by_season": by_season,
            "legends": self.told,
            "exiles": self.exiles,
            "decisions": {k: self.decisions.get(k, 0) for k in ("ok", "repaired", "noop")},
            "noop_reasons": dict(sorted(self.noop_reasons.items())),
            "richest": richest.id if richest else None,
            "pebbles": {cid: to_pebbles(c.purse) for cid, c in state.creatures.items()},
            "state_hash": state_hash(state),
        }
        if fuel is not None:
            seasons = by_season.get(fuel, {})
            winter, summer = seasons.get("winter"), seasons.get("summer")
            out["fuel_winter_summer_ratio"] = (
                round(winter / summer, 3) if winter is not None and summer else None
            )
        return out


def _legends_of_tick(state: WorldState, events: Sequence[Event]) -> list[str]:
    """Titles of the legends in force during the tick just stepped, including those that
    ended with it (the step has already removed them from the state)."""
    titles = [LEGENDS[leg.key].title for leg in in_force(state, state.tick)]
    titles += [LEGENDS[e.key].title for e in events if isinstance(e, LegendEnded)]
    return titles


def _gini(state: WorldState) -> float:
    return gini([wealth_of(state, c) for c in state.creatures.values()])

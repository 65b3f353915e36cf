"""The simulation report: a recorder fed by each tick's state, events and decisions.

The report's shape is a contract other tools read (see README, "The report"). It holds no
wall-clock figures, so the same seed and scenario give the same report, byte for byte.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

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

if TYPE_CHECKING:
    from server.minds.plans import Plan

_STATUSES = ("ok", "repaired", "noop")


class ReportRecorder:
    """Collects one compact row per tick; `report()` gives the finished document and
    `write(path)` streams it to a file, one tick per line, without building it in memory.

    Rows are kept as tuples (a 100,000-tick run holds a few hundred megabytes less than it
    would as dicts) and turned into the documented JSON shape only when written.
    """

    def __init__(self, state: WorldState) -> None:
        self.scenario = state.scenario.name
        self.seed = state.seed
        self.goods = tuple(state.scenario.goods)
        self.start_gini = _gini(state)
        self.rows: list[tuple[Any, ...]] = []
        self.told: list[dict[str, Any]] = []
        self.exiles = 0
        self.decisions: Counter[str] = Counter()
        self.noop_reasons: Counter[str] = Counter()
        self.final: WorldState = state
        self._produces: dict[str, str] = {}
        self.brains: dict[str, dict[str, Any]] = {
            name: {"cadence": 1, "auto": False}
            for name in sorted({c.brain for c in state.creatures.values()})
        }
        """Each brain name the cast uses, and its pace: every tick unless `planned` says."""

    def planned(self, plans: Sequence[Plan]) -> None:
        """The model brains' cadences, as chosen at start (`server.minds.plans`): the engine,
        the cadence in ticks, whether it was `auto`, and what creatures do between batches.
        No latency is kept: the report holds no wall-clock figures."""
        for plan in plans:
            for name in plan.names:
                self.brains[name] = {
                    "engine": plan.engine,
                    "cadence": plan.cadence,
                    "auto": plan.auto,
                    "between": plan.paced.between,
                }

    def record(
        self,
        state: WorldState,
        events: Sequence[Event],
        results: Mapping[str, DecisionResult],
    ) -> None:
        tps = state.scenario.rules.ticks_per_season
        prices: dict[str, float] = {}
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
        counts: Counter[str] = Counter(r.status for r in results.values())
        self.decisions.update(counts)
        reasons = Counter(r.noop_reason for r in results.values() if r.status == "noop")
        self.noop_reasons.update(reasons)
        ref = state.ref_prices
        goods = self.goods
        creatures = []
        worths = []
        for cid, c in state.creatures.items():
            stores = c.stores
            worth = to_pebbles(c.purse) + sum(stores[g] * ref[g] for g in goods)
            worths.append(worth)
            self._produces[cid] = c.produces
            creatures.append(
                (
                    cid,
                    c.purse,
                    round(worth, 2),
                    round(c.mood, 3),
                    c.exiled,
                    tuple(stores[g] for g in goods),
                )
            )
        self.rows.append(
            (
                state.tick,
                season_of(state.tick, tps).value,
                tuple(_legends_of_tick(state, events)),
                tuple(prices.get(g) for g in goods),
                tuple(round(ref[g], 3) for g in goods),
                trades,
                volume,
                round(gini(worths), 4),
                (*(counts.get(k, 0) for k in _STATUSES), tuple(sorted(reasons.items()))),
                tuple(creatures),
            )
        )
        self.final = state

    def tick_rows(self) -> Iterator[dict[str, Any]]:
        """The report's rows in their documented shape, built one at a time."""
        goods = self.goods
        produces = self._produces
        for tick, season, legends, prices, refs, trades, volume, g, counts, creatures in self.rows:
            yield {
                "tick": tick,
                "season": season,
                "legends": list(legends),
                "prices": dict(zip(goods, prices, strict=True)),
                "ref_prices": dict(zip(goods, refs, strict=True)),
                "trades": trades,
                "volume": volume,
                "gini": g,
                "decisions": _decisions(counts),
                "creatures": {
                    cid: {
                        "produces": produces[cid],
                        "pebbles": to_pebbles(purse),
                        "wealth": worth,
                        "mood": mood,
                        "exiled": exiled,
                        "stores": dict(zip(goods, stores, strict=True)),
                    }
                    for cid, purse, worth, mood, exiled, stores in creatures
                },
            }

    def report(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "ticks": list(self.tick_rows()),
            "summary": self.summary(),
        }

    def write(self, path: Path) -> None:
        """Write the report to `path`: the same document as `report()`, one tick a line.

        Written to a temporary file beside it and renamed into place, so a failure (a full
        disk) never leaves a half-written report under the real name.
        """
        tmp = path.with_name(f".{path.name}.tmp")
        dumps = orjson.dumps
        try:
            with tmp.open("wb") as out:
                head = dumps({"scenario": self.scenario, "seed": self.seed})
                out.write(head[:-1] + b',\n"ticks": [')
                sep = b"\n"
                for row in self.tick_rows():
                    out.write(sep)
                    out.write(dumps(row))
                    sep = b",\n"
                out.write(b'\n],\n"summary": ')
                out.write(dumps(self.summary(), option=orjson.OPT_INDENT_2))
                out.write(b"}\n")
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    def summary(self) -> dict[str, Any]:
        rows = self.rows
        state = self.final
        fuel = state.scenario.fuel
        goods = self.goods
        by_season: dict[str, dict[str, float]] = {}
        for i, good in enumerate(goods):
            seasonal: dict[str, list[float]] = {}
            for row in rows:
                price = row[3][i]
                if price is not None:
                    seasonal.setdefault(row[1], []).append(price)
            by_season[good] = {s: statistics.median(v) for s, v in sorted(seasonal.items())}
        richest = max(state.creatures.values(), key=lambda c: (c.purse, c.id), default=None)
        traded = sum(1 for r in rows if r[5])
        out: dict[str, Any] = {
            "ticks": len(rows),
            "ticks_with_trades": traded,
            "trade_tick_share": round(traded / len(rows), 4) if rows else 0.0,
            "trades": sum(r[5] for r in rows),
            "volume": sum(r[6] for r in rows),
            "gini_start": round(self.start_gini, 4),
            "gini_end": rows[-1][7] if rows else round(self.start_gini, 4),
            "median_price_by_season": by_season,
            "legends": self.told,
            "exiles": self.exiles,
            "brains": {name: self.brains[name] for name in sorted(self.brains)},
            "decisions": {k: self.decisions.get(k, 0) for k in _STATUSES},
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


def _decisions(counts: tuple[Any, ...]) -> dict[str, Any]:
    """A row's decision counts, and why the no-ops were no-ops when there were any."""
    *numbers, reasons = counts
    out: dict[str, Any] = dict(zip(_STATUSES, numbers, strict=True))
    if reasons:
        out["noop_reasons"] = dict(reasons)
    return out


def _legends_of_tick(state: WorldState, events: Sequence[Event]) -> list[str]:
    """Titles of the legends in force during the tick just stepped, including those that
    ended with it (the step has already removed them from the state)."""
    titles = [LEGENDS[leg.key].title for leg in in_force(state, state.tick)]
    titles += [LEGENDS[e.key].title for e in events if isinstance(e, LegendEnded)]
    return titles


def _gini(state: WorldState) -> float:
    return gini([wealth_of(state, c) for c in state.creatures.values()])

"""Price and wealth series for charts, recorded from each tick's world document.

A recorder fed by the clock and read by `/api/history`; each tick's point is also committed
with the tick, so the series survive a restart.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from typing import Any

PAGE = 500
"""Points `/api/history` returns when the request names no `last`."""
MAX_PAGE = 2000
"""The most points one response holds; older ones are read page by page with `before`."""


def history_point(world: dict[str, Any]) -> dict[str, Any]:
    """One tick's point: reference and last prices per good, wealth per creature, the Gini."""
    goods = world["goods"]
    refs = {g: board["ref"] for g, board in goods.items()}
    return {
        "season": world["season"],
        "prices": refs,
        "last": {g: board["last"] for g, board in goods.items() if "last" in board},
        "wealth": {
            cid: round(c["pebbles"] + sum(n * refs.get(g, 0.0) for g, n in c["stores"].items()), 2)
            for cid, c in world["creatures"].items()
        },
        "gini": world["gini"],
    }


class History:
    def __init__(self, limit: int = 10_000) -> None:
        self.points: deque[tuple[int, dict[str, Any]]] = deque(maxlen=limit)
        self.ticks: deque[int] = deque(maxlen=limit)
        self._page: tuple[tuple[int, int | None, int], dict[str, Any]] | None = None

    def add(self, tick: int, point: dict[str, Any]) -> None:
        self.points.append((tick, point))
        self.ticks.append(tick)

    def page(self, last: int | None = None, before: int | None = None) -> dict[str, Any]:
        """At most `last` points (default `PAGE`, at most `MAX_PAGE`) before tick `before`
        (default: up to the newest), as `series` columns, plus `before`: the tick to ask
        for the page before this one, absent when this page starts at the oldest point.

        The cost is bounded by the page, never by the whole history; the newest page is
        built once per tick however many clients ask.
        """
        n = PAGE if last is None else max(0, min(last, MAX_PAGE))
        end = len(self.ticks) if before is None else bisect_left(self.ticks, before)
        start = max(0, end - n)
        newest = self.ticks[-1] if self.ticks else -1
        key = (n, before, newest)
        if before is None and self._page is not None and self._page[0] == key:
            return self._page[1]
        points = [self.points[i] for i in range(start, end)]
        result = self._columns(points)
        if start > 0 and points:
            result["before"] = points[0][0]
        if before is None:
            self._page = (key, result)
        return result

    def series(self, last: int | None = None) -> dict[str, Any]:
        """Every point held (or the `last` ones) as columns; see `_columns`."""
        points = list(self.points)
        if last is not None:
            points = points[-last:] if last > 0 else []
        return self._columns(points)

    @staticmethod
    def _columns(points: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
        """Columns for charting: `ticks`, then one list per series aligned with it (null
        where a creature was not yet in the Wood or a good had not traded)."""
        goods: dict[str, None] = {}
        creatures: dict[str, None] = {}
        for _, p in points:
            goods.update(dict.fromkeys(p["prices"]))
            creatures.update(dict.fromkeys(p["wealth"]))
        return {
            "ticks": [t for t, _ in points],
            "season": [p["season"] for _, p in points],
            "prices": {g: [p["prices"].get(g) for _, p in points] for g in goods},
            "last": {g: [p["last"].get(g) for _, p in points] for g in goods},
            "wealth": {c: [p["wealth"].get(c) for _, p in points] for c in creatures},
            "gini": [p["gini"] for _, p in points],
        }

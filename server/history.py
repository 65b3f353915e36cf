"""Price and wealth series for charts, recorded from each tick's world document.

A recorder fed by the clock and read by `/api/history`; each tick's point is also committed
with the tick, so the series survive a restart.
"""

from __future__ import annotations

from collections import deque
from typing import Any


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

    def add(self, tick: int, point: dict[str, Any]) -> None:
        self.points.append((tick, point))

    def series(self, last: int | None = None) -> dict[str, Any]:
        """Columns for charting: `ticks`, then one list per series aligned with it (null
        where a creature was not yet in the Wood or a good had not traded)."""
        points = list(self.points)
        if last is not None:
            points = points[-last:] if last > 0 else []
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

"""Traces expire after their retention; the world stays replayable from tick 0."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

import server.store
from server.store import RETENTION, Store, StoreError, db_path, replay, trace_days_from_env
from server.world import load_scenario, new_world

from .conftest import make_clock


def trace_ticks(data_dir: Path) -> list[int]:
    conn = sqlite3.connect(db_path(data_dir))
    try:
        return [t for (t,) in conn.execute("SELECT DISTINCT tick FROM traces ORDER BY tick")]
    finally:
        conn.close()


class WallClock:
    """Stands in for the store's `time` module: the wall clock moves only when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


async def test_old_traces_are_pruned_and_replay_still_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wall = WallClock()  # the ticks' commit times, apart from how fast this machine ticks
    monkeypatch.setattr(server.store, "time", wall)
    store = Store.open(tmp_path, snapshot_every=10, trace_days=0.6 / 86400)  # 0.6 s
    store.prune_every = 10
    try:
        state = new_world(load_scenario(), 3)
        await store.create(state)
        clock = make_clock(store, state)
        for _ in range(15):
            await clock.tick(deadline=time.monotonic() + 0.05)
        wall.now += 1.0  # ticks 1-15 are now older than the retention
        for _ in range(15):  # tick 20 prunes
            await clock.tick(deadline=time.monotonic() + 0.05)
    finally:
        store.close()
    kept = trace_ticks(tmp_path)
    assert kept and kept[0] == 16 and kept[-1] == 30
    report = replay(tmp_path)
    assert report.ok and report.ticks == 30


async def test_traces_are_kept_forever_with_zero_days(tmp_path: Path) -> None:
    store = Store.open(tmp_path, trace_days=0)
    store.prune_every = 2
    try:
        state = new_world(load_scenario(), 3)
        await store.create(state)
        clock = make_clock(store, state)
        for _ in range(4):
            await clock.tick(deadline=time.monotonic() + 0.05)
    finally:
        store.close()
    assert trace_ticks(tmp_path) == [1, 2, 3, 4]


def test_the_retention_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMALLWOOD_TRACE_DAYS", raising=False)
    assert trace_days_from_env() == 1.0
    monkeypatch.setenv("SMALLWOOD_TRACE_DAYS", "2.5")
    assert trace_days_from_env() == 2.5
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv("SMALLWOOD_TRACE_DAYS", bad)
        with pytest.raises(StoreError, match="number of days"):
            trace_days_from_env()
    assert "94 MB a day" in RETENTION

"""A damaged database and a full disk: clear words, a way out, nothing lost."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.salvage import salvage
from server.serve import start
from server.store import Store, StoreError, db_path, replay
from server.world import load_scenario, new_world

from .conftest import config, make_clock

PAGE = 4096


async def make_world(data_dir: Path, ticks: int) -> None:
    store = Store.open(data_dir, snapshot_every=20)
    try:
        state = new_world(load_scenario(), 5)
        await store.create(state)
        clock = make_clock(store, state)
        for _ in range(ticks):
            await clock.tick(deadline=time.monotonic() + 0.05)
    finally:
        store.close()
    conn = sqlite3.connect(db_path(data_dir))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file
    conn.close()


def zero_pages(path: Path, first: int, count: int) -> None:
    with path.open("r+b") as f:
        f.seek(first * PAGE)
        f.write(b"\0" * PAGE * count)


def ticks_root_page(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        (root,) = conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'ticks'").fetchone()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    finally:
        conn.close()
    return int(root) + (pages - int(root)) // 2


async def test_a_damaged_database_is_refused_and_salvaged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await make_world(data, 120)
    path = db_path(data)
    zero_pages(path, ticks_root_page(path), 2)
    with pytest.raises(StoreError) as refused:
        await start(config(data))
    message = str(refused.value)
    assert "damaged" in message and "smallwood salvage" in message
    with pytest.raises(StoreError, match="damaged"):
        replay(data)

    done = salvage(data, tmp_path / "new")
    assert 0 <= done.snapshot <= done.last <= 120 and done.lost == 120 - done.last
    report = replay(tmp_path / "new")
    assert report.ok and report.ticks == done.last - done.snapshot
    running = await start(config(tmp_path / "new"))
    try:
        assert running.clock.state.tick == done.last
    finally:
        await running.stop()


def test_the_cli_says_what_to_do(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(make_world(data, 60))
    path = db_path(data)
    zero_pages(path, ticks_root_page(path), 1)
    cli = [sys.executable, "-m", "server"]
    done = subprocess.run(
        [*cli, "replay", "--data-dir", str(data)], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0 and "smallwood salvage" in done.stderr
    assert "Traceback" not in done.stderr
    new = tmp_path / "new"
    done = subprocess.run(
        [*cli, "salvage", "--data-dir", str(data), "--to", str(new)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and f"--data-dir {new}" in done.stdout, done.stderr
    done = subprocess.run(
        [*cli, "replay", "--data-dir", str(new)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


async def test_a_full_disk_stops_the_world_in_one_line_and_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    running = await start(config(data, tick=0.05))
    try:
        while running.clock.state.tick < 5:
            await asyncio.sleep(0.05)

        def fill(conn: sqlite3.Connection) -> None:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")

        await running.store.call(fill)
        assert running.task is not None
        await asyncio.wait_for(asyncio.shield(running.task), 10)
    except StoreError:
        pass
    finally:
        caplog.clear()
        caplog.set_level(logging.ERROR)
        await running.stop()
    stopped = running.clock.state.tick
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "the disk is full" in errors[0].getMessage()
    assert errors[0].exc_info is None
    again = await start(config(data))
    try:
        assert again.clock.state.tick == stopped  # every published tick was committed
    finally:
        await again.stop()
    assert replay(data).ok

"""The world on disk: every tick committed, resumed with hashes checked, replayed from 0."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import orjson
import pytest

from server import store as store_module
from server.store import FORMAT, Store, StoreError, db_path, replay
from server.world import (
    SpawnCreature,
    TriggerLegend,
    load_scenario,
    new_world,
    state_hash,
)

from .conftest import make_clock


async def run_ticks(data_dir: Path, n: int, *, snapshot_every: int = 10) -> str:
    store = Store.open(data_dir, snapshot_every=snapshot_every)
    try:
        resumed = await store.load()
        if resumed is None:
            state = new_world(load_scenario(), 3)
            await store.create(state)
        else:
            state = resumed.state
        clock = make_clock(store, state)
        for i in range(n):
            if i == 4:
                clock.command(TriggerLegend("drought"))
                clock.command(SpawnCreature("newt", "Newt", "newt", "honey"))
            await clock.tick(deadline=time.monotonic() + 0.05)
        return state_hash(clock.state)
    finally:
        store.close()


async def test_a_world_resumes_where_it_stopped(tmp_path: Path) -> None:
    digest = await run_ticks(tmp_path, 25)
    store = Store.open(tmp_path)
    try:
        resumed = await store.load()
        assert resumed is not None
        assert resumed.state.tick == 25
        assert (resumed.snapshot_tick, resumed.replayed) == (20, 5)
        assert state_hash(resumed.state) == digest
        assert "newt" in resumed.state.creatures
        history = await store.history(10)
        assert [t for t, _ in history] == list(range(16, 26))
    finally:
        store.close()
    await run_ticks(tmp_path, 7)
    report = replay(tmp_path)
    assert report.ok and report.ticks == report.verified == 32
    assert report.snapshots == 3


async def test_a_damaged_hash_is_caught(tmp_path: Path) -> None:
    await run_ticks(tmp_path, 15)
    with sqlite3.connect(db_path(tmp_path)) as conn:
        conn.execute("UPDATE ticks SET hash = 'bad' WHERE tick = 13")
    store = Store.open(tmp_path)
    try:
        with pytest.raises(StoreError, match="tick 13"):
            await store.load()
    finally:
        store.close()
    report = replay(tmp_path)
    assert not report.ok and report.mismatches == (13,)


async def test_one_server_per_data_dir(tmp_path: Path) -> None:
    first = Store.open(tmp_path)
    try:
        with pytest.raises(StoreError, match="another smallwood server"):
            Store.open(tmp_path)
    finally:
        first.close()
    Store.open(tmp_path).close()


async def test_tokens_outlive_the_process(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    await store.issue_token("t1", "newt")
    await store.issue_token("t2", "toad")
    assert await store.revoke_token("t1")
    assert not await store.revoke_token("t1")
    store.close()
    store = Store.open(tmp_path)
    try:
        assert await store.tokens() == {"t2": "toad"}
    finally:
        store.close()


def test_replay_needs_a_world(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no world"):
        replay(tmp_path)


def set_format(data_dir: Path, value: str | None) -> None:
    conn = sqlite3.connect(db_path(data_dir))
    with conn:
        conn.execute("DELETE FROM meta WHERE key = 'format'")
        if value is not None:
            conn.execute("INSERT INTO meta VALUES ('format', ?)", (value,))
    conn.close()


def stored_format(data_dir: Path) -> str:
    conn = sqlite3.connect(db_path(data_dir))
    row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    conn.close()
    return str(row[0])


async def test_a_data_dir_records_its_format(tmp_path: Path) -> None:
    await run_ticks(tmp_path, 2)
    assert stored_format(tmp_path) == str(FORMAT)


async def test_a_data_dir_of_another_format_is_refused_with_both_versions(tmp_path: Path) -> None:
    await run_ticks(tmp_path, 2)
    set_format(tmp_path, str(FORMAT + 1))
    with pytest.raises(StoreError) as opened:
        Store.open(tmp_path)
    message = str(opened.value)
    assert f"format {FORMAT + 1}" in message and "reads formats 1, 2 only" in message
    with pytest.raises(StoreError, match=f"format {FORMAT + 1}"):
        replay(tmp_path)
    store = Store.open(tmp_path / "elsewhere")  # the refusal left no lock behind
    store.close()
    set_format(tmp_path, str(FORMAT))
    Store.open(tmp_path).close()


async def test_a_data_dir_from_before_format_numbers_reads_as_format_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as old_build:
        old_build.setattr(store_module, "pack", orjson.dumps)  # format 1: plain JSON blobs
        await run_ticks(tmp_path, 2)
    set_format(tmp_path, None)
    digest = await run_ticks(tmp_path, 1)
    assert stored_format(tmp_path) == str(FORMAT)  # upgraded: new rows are compressed
    assert replay(tmp_path).ok and digest

"""`smallwood salvage`: a damaged world copied, up to its last good state, into a new data dir.

It reads the damaged file row by row (so one bad page costs only what lies on it), takes the
latest snapshot that still reads, replays the stored ticks after it while each one reads and
reproduces its hash, and writes that snapshot and those ticks, with the live bot tokens, into
a new database. The new world resumes at the last good tick and replays (from the salvaged
snapshot) with every hash verified. The damaged file is never written.
"""

from __future__ import annotations

import sqlite3
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.world import WorldState, state_from_dict, state_hash, step

from .records import read_actions, read_commands
from .store import Store, StoreError, db_path, unpack
from .tokens import digest

READ_ERRORS = (sqlite3.DatabaseError, ValueError, KeyError, TypeError, zlib.error)


@dataclass(frozen=True, slots=True)
class Salvaged:
    snapshot: int
    """The tick of the snapshot the new world starts from."""
    last: int
    """The last tick carried over (the new world resumes here)."""
    lost: int
    """Stored ticks after `last` that could not be read or did not replay."""


def salvage(source: str | Path, target: str | Path) -> Salvaged:
    """Copy the world in data dir `source` up to its last good tick into `target` (new)."""
    src = db_path(source)
    if not src.exists():
        raise StoreError(f"{src}: no world here")
    if db_path(target).exists():
        raise StoreError(f"{db_path(target)}: already holds a world; give a new --to")
    conn = sqlite3.connect(src)
    try:
        found = _best(conn)
        if found is None:
            raise StoreError(f"{src}: no snapshot reads any more; nothing can be salvaged")
        snap_tick, snap_blob, rows, lost = found
        meta = _rows(conn, "SELECT key, value FROM meta")
        tokens = _rows(conn, "SELECT token, creature, issued, revoked FROM tokens")
        if not any(key == "tokens" for key, _ in meta):  # an older build's plain tokens
            tokens = [(digest(t), *rest) for t, *rest in tokens]
    finally:
        conn.close()
    store = Store.open(target)
    try:
        _write(store, meta, snap_tick, snap_blob, rows, tokens)
    finally:
        store.close()
    return Salvaged(snap_tick, rows[-1][0] if rows else snap_tick, lost)


def _rows(conn: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.DatabaseError:
        return []


def _best(
    conn: sqlite3.Connection,
) -> tuple[int, bytes, list[tuple[Any, ...]], int] | None:
    """The latest snapshot that reads, and the ticks after it that read and replay."""
    try:
        snaps = [t for (t,) in conn.execute("SELECT tick FROM snapshots ORDER BY tick DESC")]
    except sqlite3.DatabaseError:
        snaps = []
    try:
        last = conn.execute("SELECT MAX(tick) FROM ticks").fetchone()[0] or 0
    except sqlite3.DatabaseError:
        last = max(snaps, default=0)
    for snap_tick in snaps:
        try:
            blob = conn.execute("SELECT state FROM snapshots WHERE tick = ?", (snap_tick,))
            snap_blob = blob.fetchone()[0]
            state: WorldState = state_from_dict(unpack(snap_blob))
        except READ_ERRORS:
            continue
        rows: list[tuple[Any, ...]] = []
        for tick in range(snap_tick + 1, last + 1):
            try:
                row = conn.execute("SELECT * FROM ticks WHERE tick = ?", (tick,)).fetchone()
                if row is None:
                    break
                _, actions, commands, _, stored, _, _ = row
                state, _ = step(
                    state, read_actions(unpack(actions)), read_commands(unpack(commands))
                )
            except READ_ERRORS:
                break
            if state_hash(state) != stored:
                break
            rows.append(row)
        return snap_tick, snap_blob, rows, last - snap_tick - len(rows)
    return None


def _write(
    store: Store,
    meta: list[tuple[Any, ...]],
    snap_tick: int,
    snap_blob: bytes,
    rows: list[tuple[Any, ...]],
    tokens: list[tuple[Any, ...]],
) -> None:
    def write(conn: sqlite3.Connection) -> None:
        for key, value in meta:
            if key not in ("format", "tokens"):
                conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('salvaged', ?)", (f"{time.time()} {snap_tick}",)
        )
        conn.execute("INSERT INTO snapshots VALUES (?, ?)", (snap_tick, snap_blob))
        conn.executemany("INSERT INTO ticks VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT OR IGNORE INTO tokens VALUES (?, ?, ?, ?)", tokens)

    store.submit(write).result()

"""The world on disk: one SQLite file (WAL) in the data dir.

Every tick is committed in one transaction: its actions and commands (enough to replay it),
its events, the hash of the state it produced, its history point and its decision traces,
plus a full snapshot every `snapshot_every` ticks. All writes run on one writer thread, so
the event loop only ever waits on a future. A crash loses at most the tick being committed:
`load` resumes from the last snapshot, replaying the stored actions up to the last
committed tick and checking every hash on the way; `replay` checks them all from tick 0.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson

from server.world import WorldState, state_from_dict, state_hash, state_to_dict, step

from .records import (
    TickRecord,
    read_actions,
    read_commands,
    write_actions,
    write_commands,
    write_trace,
)
from .tokens import digest

log = logging.getLogger(__name__)

T = TypeVar("T")
DB_NAME = "world.sqlite3"
LOCK_NAME = "lock"
FORMAT = 2
"""The data-dir format this build writes (`meta.format`); bump it on any change an older
build could not read. Databases written before the number was stored are format 1.
Format 2 compresses the ticks' blobs and snapshots (`pack`); format 1 files are read as they
are and become format 2 when this build opens them for writing."""
READS = (1, 2)
"""Formats this build reads."""
COMPRESSED = b"x"
"""The first byte of a zlib stream; no JSON document starts with it."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ticks (
    tick INTEGER PRIMARY KEY,
    actions BLOB NOT NULL,
    commands BLOB NOT NULL,
    events BLOB NOT NULL,
    hash TEXT NOT NULL,
    stats BLOB NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (tick INTEGER PRIMARY KEY, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS traces (
    tick INTEGER NOT NULL,
    creature TEXT NOT NULL,
    trace BLOB NOT NULL,
    PRIMARY KEY (tick, creature)
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, -- the token's SHA-256, never the token
    creature TEXT NOT NULL,
    issued REAL NOT NULL,
    revoked REAL
);
"""


PRUNE_EVERY = 600
"""Ticks between two passes that delete expired traces."""
TRACE_DAYS_ENV = "SMALLWOOD_TRACE_DAYS"
RETENTION = """\
What the data dir keeps (measured on the default world, seed 1, 1,500 ticks):
- every tick's actions, commands, events, hash and history point, compressed: 1.0 KB a tick
  (94 MB a day at one tick a second), kept for good: `smallwood replay` verifies the world
  from tick 0;
- a snapshot every `snapshot_every` ticks (100): under 0.1 KB a tick;
- decision traces (prompts, raw answers, latencies): 2.4 KB a tick, kept
  `SMALLWOOD_TRACE_DAYS` days (default 1) and deleted every 600 ticks after that, so they
  hold about 210 MB at one tick a second and no more; 0 keeps them forever. Replay needs none.
SQLite reuses the pages pruning frees, so the file grows by the kept rows only: 94 MB a day.
"""


def trace_days_from_env() -> float:
    raw = os.environ.get(TRACE_DAYS_ENV, "1")
    try:
        days = float(raw)
    except ValueError:
        raise StoreError(f"{TRACE_DAYS_ENV}={raw!r}: give a number of days (0: forever)") from None
    if not days >= 0:
        raise StoreError(f"{TRACE_DAYS_ENV}={raw!r}: give a number of days (0: forever)")
    return days


class StoreError(RuntimeError):
    """The data dir cannot be used as it is; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Resumed:
    state: WorldState
    snapshot_tick: int
    """The tick of the snapshot the state was rebuilt from."""
    replayed: int
    """Ticks replayed (and hash-checked) on top of that snapshot."""


def db_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / DB_NAME


def connect(path: Path) -> sqlite3.Connection:
    """Open the database for writing, creating its tables; raises `StoreError` when it holds
    another data-dir format than this build's."""
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        check_integrity(conn, path)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives any crash of this process (only power loss may cost the
        # last transactions), and keeps commits free of an fsync each.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        with conn:
            found = check_format(conn, path)
            if found != FORMAT:
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (str(FORMAT),))
            _hash_tokens(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def damaged(path: Path, detail: str) -> StoreError:
    """The error for a damaged database, with the way out."""
    return StoreError(
        f"{path}: the database is damaged ({detail[:200]}). Nothing was changed. To go on, "
        f"copy the world up to its last good snapshot into a new data dir: `smallwood salvage "
        f"--data-dir {path.parent} --to NEW_DIR`, then serve NEW_DIR"
    )


def check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """Raise `damaged` unless SQLite's quick check passes (it reads every page once)."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise damaged(path, str(exc)) from None
    if [r[0] for r in rows] != ["ok"]:
        raise damaged(path, "; ".join(str(r[0]) for r in rows[:3]))


def pack(value: Any) -> bytes:
    """A JSON value as a stored blob: compressed (JSON rows shrink three to five times)."""
    return zlib.compress(orjson.dumps(value), 6)


def unpack(blob: bytes | str) -> Any:
    """A stored blob back to its JSON value, compressed (format 2) or not (format 1)."""
    if isinstance(blob, bytes) and blob[:1] == COMPRESSED:
        return orjson.loads(zlib.decompress(blob))
    return orjson.loads(blob)


def _hash_tokens(conn: sqlite3.Connection) -> None:
    """Replace tokens stored in the clear (by builds before digests) with their digests."""
    if conn.execute("SELECT 1 FROM meta WHERE key = 'tokens'").fetchone() is not None:
        return
    conn.create_function("sw_digest", 1, digest, deterministic=True)
    conn.execute("UPDATE tokens SET token = sw_digest(token)")
    conn.execute("INSERT INTO meta VALUES ('tokens', 'sha256')")


def check_format(conn: sqlite3.Connection, path: Path) -> int | None:
    """The stored format (None: none stored yet); raises `StoreError` unless this build
    reads it (`READS`)."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    except sqlite3.OperationalError:
        return None  # no meta table: nothing written yet
    if row is None:
        return None
    try:
        found = int(row[0])
    except ValueError:
        found = -1
    if found not in READS:
        raise StoreError(
            f"{path.parent}: this data dir has format {row[0]}, and this build of smallwood "
            f"reads formats {', '.join(map(str, READS))} only; run the smallwood version that "
            "wrote it, or start a new world with another --data-dir"
        )
    return found


def _private(path: Path) -> None:
    """Create `path` if needed, readable and writable by this user only (0600).

    SQLite gives its -wal and -shm files the database file's mode, so they follow."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def _lock(path: Path) -> IO[bytes]:
    """Hold the data dir for this process (released by the OS however the process ends)."""
    _private(path)
    handle = path.open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StoreError(
            f"{path.parent}: another smallwood server is using this data dir"
        ) from None
    return handle


class Store:
    """The database, written by one thread. Construct with `Store.open(data_dir)`."""

    def __init__(
        self, path: Path, *, snapshot_every: int = 100, trace_days: float | None = None
    ) -> None:
        self.path = path
        self.snapshot_every = snapshot_every
        self.trace_days = trace_days_from_env() if trace_days is None else trace_days
        """Decision traces older than this are deleted (0: kept forever); see `RETENTION`."""
        self.prune_every = PRUNE_EVERY
        self._lock = _lock(path.with_name(LOCK_NAME))
        for name in (path.name, path.name + "-wal", path.name + "-shm"):
            if name == path.name or path.with_name(name).exists():
                _private(path.with_name(name))
        self._jobs: queue.SimpleQueue[
            tuple[Callable[[sqlite3.Connection], Any], concurrent.futures.Future[Any]] | None
        ] = queue.SimpleQueue()
        try:
            self._conn = connect(path)
        except BaseException:
            self._lock.close()
            raise
        self._thread = threading.Thread(target=self._work, name="smallwood-store", daemon=True)
        self._thread.start()

    @classmethod
    def open(
        cls, data_dir: str | Path, *, snapshot_every: int = 100, trace_days: float | None = None
    ) -> Store:
        path = db_path(data_dir)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            return cls(path, snapshot_every=snapshot_every, trace_days=trace_days)
        except StoreError:
            raise
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{path}: cannot open the world database ({exc})") from None

    # The writer thread

    def _work(self) -> None:
        conn = self._conn
        while True:
            job = self._jobs.get()
            if job is None:
                break
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                with conn:
                    result = fn(conn)
            except BaseException as exc:  # handed to the caller, never lost in the thread
                future.set_exception(exc)
            else:
                future.set_result(result)
        conn.close()

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> concurrent.futures.Future[T]:
        """Run `fn(connection)` on the writer thread, in one transaction."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((fn, future))
        return future

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.wrap_future(self.submit(fn))

    def close(self) -> None:
        """Finish every queued write, then close the database."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        self._lock.close()

    # The world

    async def create(self, state: WorldState) -> None:
        """Start a new world in an empty database: its scenario, seed and tick-0 snapshot."""
        blob = pack(state_to_dict(state))

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO meta VALUES ('created', ?), ('seed', ?), ('scenario', ?)",
                (str(time.time()), str(state.seed), state.scenario.name),
            )
            conn.execute("INSERT INTO snapshots VALUES (?, ?)", (state.tick, blob))

        await self.call(write)

    async def load(self) -> Resumed | None:
        """The world as of the last committed tick, or None for an empty database.

        Raises `StoreError` when a replayed tick does not reproduce its stored hash, or a
        row cannot be read.
        """
        try:
            return await self.call(_load)
        except (sqlite3.DatabaseError, ValueError, KeyError, TypeError, zlib.error) as exc:
            raise damaged(self.path, f"{type(exc).__name__}: {exc}") from None

    async def begin_run(self) -> int:
        """Count one more server start on this data dir; returns its number (0 for the first).

        The hub numbers its deltas from it (`server.live.hub.run_seq`), so a viewer's `since` from
        an earlier run is never taken for one of this run's.
        """

        def write(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT value FROM meta WHERE key = 'runs'").fetchone()
            runs = int(row[0]) if row is not None else 0
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('runs', ?)", (str(runs + 1),))
            return runs

        return await self.call(write)

    async def commit(self, record: TickRecord) -> None:
        """Commit one tick; returns once it is durable against a crash of this process.

        Every `prune_every` ticks the same transaction also deletes expired traces."""
        keep = self.trace_days * 86400.0
        prune = keep > 0 and record.tick % self.prune_every == 0

        def write(conn: sqlite3.Connection) -> None:
            _write_tick(conn, record)
            if prune:
                _prune_traces(conn, time.time() - keep)

        try:
            await self.call(write)
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc):
                raise
            raise StoreError(
                f"{self.path}: the disk is full: tick {record.tick} was not committed and the "
                f"world stopped at tick {record.tick - 1} with nothing lost; free some space "
                "and start the server again"
            ) from None

    async def history(self, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """The last `limit` ticks' history points, oldest first."""

        def read(conn: sqlite3.Connection) -> list[tuple[int, dict[str, Any]]]:
            rows = conn.execute(
                "SELECT tick, stats FROM ticks ORDER BY tick DESC LIMIT ?", (limit,)
            ).fetchall()
            return [(tick, unpack(stats)) for tick, stats in reversed(rows)]

        return await self.call(read)

    # Bot tokens

    async def tokens(self) -> dict[str, str]:
        """Every live token's digest (`server.tokens.digest`) and its creature."""

        def read(conn: sqlite3.Connection) -> dict[str, str]:
            rows = conn.execute("SELECT token, creature FROM tokens WHERE revoked IS NULL")
            return dict(rows.fetchall())

        return await self.call(read)

    async def issue_token(self, token: str, creature: str) -> None:
        """Record a token by its digest (`token` here is `server.tokens.digest(...)`)."""
        await self.call(
            lambda conn: conn.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, NULL)", (token, creature, time.time())
            )
        )

    async def revoke_token(self, token: str) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE tokens SET revoked = ? WHERE token = ? AND revoked IS NULL",
                (time.time(), token),
            )
            return cur.rowcount > 0

        return await self.call(write)

    async def forget_token(self, token: str) -> None:
        """Delete a token's row outright (a refused newcomer's, never used to hold anything:
        unlike a revocation, nothing about it is worth keeping)."""
        await self.call(lambda conn: conn.execute("DELETE FROM tokens WHERE token = ?", (token,)))


def _write_tick(conn: sqlite3.Connection, r: TickRecord) -> None:
    """One tick's rows; the snapshot is there when the clock chose to take one."""
    conn.execute(
        "INSERT INTO ticks VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            r.tick,
            pack(write_actions(r.actions)),
            pack(write_commands(r.commands)),
            pack(r.events),
            r.state_hash,
            pack(r.stats),
            time.time(),
        ),
    )
    if r.traces:
        conn.executemany(
            "INSERT INTO traces VALUES (?, ?, ?)",
            [(r.tick, cid, orjson.dumps(write_trace(t))) for cid, t in r.traces.items()],
        )
    if r.snapshot is not None:
        conn.execute("INSERT INTO snapshots VALUES (?, ?)", (r.tick, pack(r.snapshot)))


def _prune_traces(conn: sqlite3.Connection, before: float) -> int:
    """Delete the traces of ticks committed before the time `before`; returns how many.

    A tick's `at` grows with its number, so a binary search on the primary key finds the
    first tick to keep without scanning the table."""
    bounds = conn.execute("SELECT MIN(tick), MAX(tick) FROM ticks").fetchone()
    if bounds is None or bounds[0] is None:
        return 0
    lo, hi = bounds
    while lo < hi:
        mid = (lo + hi) // 2
        row = conn.execute(
            "SELECT at FROM ticks WHERE tick >= ? ORDER BY tick LIMIT 1", (mid,)
        ).fetchone()
        if row is not None and row[0] < before:
            lo = mid + 1
        else:
            hi = mid
    return conn.execute("DELETE FROM traces WHERE tick < ?", (lo,)).rowcount


def _load(conn: sqlite3.Connection) -> Resumed | None:
    row = conn.execute("SELECT tick, state FROM snapshots ORDER BY tick DESC LIMIT 1").fetchone()
    if row is None:
        return None
    snap_tick, blob = row
    state = state_from_dict(unpack(blob))
    rows = conn.execute(
        "SELECT tick, actions, commands, hash FROM ticks WHERE tick > ? ORDER BY tick",
        (snap_tick,),
    )
    replayed = 0
    for tick, actions, commands, stored in rows:
        state, _ = step(state, read_actions(unpack(actions)), read_commands(unpack(commands)))
        if state.tick != tick or state_hash(state) != stored:
            raise StoreError(
                f"tick {tick} does not replay to its stored hash: the database is damaged or "
                "the world code changed; run `smallwood replay` to see where, or start a new "
                "world with another --data-dir"
            )
        replayed += 1
    return Resumed(state, snap_tick, replayed)


@dataclass(frozen=True, slots=True)
class ReplayReport:
    ticks: int
    """Ticks replayed from tick 0."""
    verified: int
    """Ticks whose state hash matched the stored one."""
    mismatches: tuple[int, ...]
    """Ticks whose hash did not match (replay goes on from the stored actions regardless)."""
    snapshots: int
    """Stored snapshots checked against the replayed state."""
    bad_snapshots: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.bad_snapshots and self.verified == self.ticks


def replay(data_dir: str | Path, *, on_tick: Callable[[int], None] | None = None) -> ReplayReport:
    """Replay every stored tick from the tick-0 snapshot and check every stored hash.

    Reads only; safe beside a running server. Raises `StoreError` when there is no world.
    """
    path = db_path(data_dir)
    if not path.exists():
        raise StoreError(f"{path}: no world here (start one with `smallwood serve --data-dir`)")
    conn = sqlite3.connect(path)
    try:
        check_integrity(conn, path)
        check_format(conn, path)
        return _replay(conn, path, on_tick)
    except (sqlite3.DatabaseError, ValueError, KeyError, TypeError, zlib.error) as exc:
        raise damaged(path, f"{type(exc).__name__}: {exc}") from None
    finally:
        conn.close()


def _replay(
    conn: sqlite3.Connection, path: Path, on_tick: Callable[[int], None] | None
) -> ReplayReport:
    first = conn.execute("SELECT tick, state FROM snapshots ORDER BY tick LIMIT 1").fetchone()
    if first is None:
        raise StoreError(f"{path}: the database holds no snapshot to replay from")
    snaps = dict(conn.execute("SELECT tick, state FROM snapshots WHERE tick > ?", (first[0],)))
    state = state_from_dict(unpack(first[1]))
    ticks = verified = 0
    mismatches: list[int] = []
    bad: list[int] = []
    checked = 0
    for tick, actions, commands, stored in conn.execute(
        "SELECT tick, actions, commands, hash FROM ticks WHERE tick > ? ORDER BY tick",
        (first[0],),
    ):
        state, _ = step(state, read_actions(unpack(actions)), read_commands(unpack(commands)))
        ticks += 1
        digest = state_hash(state)
        if state.tick == tick and digest == stored:
            verified += 1
        else:
            mismatches.append(tick)
        if tick in snaps:
            checked += 1
            if state_hash(state_from_dict(unpack(snaps[tick]))) != digest:
                bad.append(tick)
        if on_tick is not None:
            on_tick(tick)
    return ReplayReport(ticks, verified, tuple(mismatches), checked, tuple(bad))

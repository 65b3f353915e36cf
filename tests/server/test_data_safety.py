"""The data dir keeps no secret in the clear and lets no other user read it."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from server.serve import banner, start
from server.store import Store, db_path
from server.tokens import digest

from .conftest import bot, config, recv_until

NEWT = {"name": "Newt", "species": "newt", "produces": "berries"}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_tokens_are_kept_as_digests_and_still_work(tmp_path: Path) -> None:
    data = tmp_path / "data"
    running = await start(config(data))
    try:
        ws, joined = await bot(running, **NEWT)
        token = joined["token"]
        await recv_until(ws, lambda m: m["type"] == "turn")  # in the Wood
        await ws.close()
    finally:
        await running.stop()
    for path in data.iterdir():
        assert token.encode() not in path.read_bytes(), path.name
    conn = sqlite3.connect(db_path(data))
    assert conn.execute("SELECT token FROM tokens").fetchall() == [(digest(token),)]
    conn.close()
    again = await start(config(data))
    try:
        ws, joined = await bot(again, token=token)
        assert joined["type"] == "joined" and joined["creature"] == "newt"
        await ws.close()
        assert await again.relay.revoke(token)
    finally:
        await again.stop()


async def test_tokens_stored_in_the_clear_by_older_builds_become_digests(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.close()
    conn = sqlite3.connect(db_path(tmp_path))
    with conn:
        conn.execute("DELETE FROM meta WHERE key = 'tokens'")
        conn.execute("INSERT INTO tokens VALUES ('plain-old-token', 'newt', 0, NULL)")
    conn.close()
    store = Store.open(tmp_path)
    try:
        assert await store.tokens() == {digest("plain-old-token"): "newt"}
    finally:
        store.close()
    store = Store.open(tmp_path)  # and only once
    try:
        assert await store.tokens() == {digest("plain-old-token"): "newt"}
    finally:
        store.close()


async def test_the_data_dir_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMALLWOOD_ADMIN_TOKEN", raising=False)
    data = tmp_path / "data"
    running = await start(config(data, admin_token=None))
    try:
        await running.clock.tick(deadline=0)
        assert mode(data) == 0o700
        names = {p.name for p in data.iterdir()}
        assert {"world.sqlite3", "world.sqlite3-wal", "lock", "admin_token"} <= names
        for path in data.iterdir():
            assert mode(path) == 0o600, path.name
        lines = banner(running)
        assert f"  admin token {running.admin_token}" in lines  # made now: said once
    finally:
        await running.stop()
    again = await start(config(data, admin_token=None))
    try:
        lines = banner(again)
        assert not any(again.admin_token in line for line in lines)
        assert f"  admin token: from {data / 'admin_token'}" in lines
    finally:
        await again.stop()
    monkeypatch.setenv("SMALLWOOD_ADMIN_TOKEN", "from-the-environment")
    third = await start(config(data, admin_token=None))
    try:
        assert not any("from-the-environment" in line for line in banner(third))
    finally:
        await third.stop()


def test_the_default_data_dir_is_ignored_by_git() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        ["git", "check-ignore", "-q", "smallwood-data/world.sqlite3"], cwd=root, check=False
    )
    assert done.returncode == 0

"""The bots in docs/bots.md run as written against a real server."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from clients.bot import BotRunner
from clients.bot_cli import load_bot

from .conftest import Wood, until

DOC = Path(__file__).parents[2] / "docs" / "bots.md"


def block(language: str) -> str:
    blocks = re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return next(code for lang, code in blocks if lang == language)


def test_the_first_bot_is_twenty_lines() -> None:
    assert len(block("python").strip().splitlines()) <= 20


async def test_the_first_python_bot_trades(wood: Wood, tmp_path: Path) -> None:
    path = tmp_path / "my_bot.py"
    path.write_text(block("python"), encoding="utf-8")
    runner = BotRunner(load_bot(f"{path}:MyBot"), wood.ws, await wood.token("hob"))
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: runner.stats.accepted >= 5)
    finally:
        runner.stop()
        await asyncio.wait_for(task, 5)
    assert set(runner.stats.errors) <= {"late"}, runner.stats.errors
    assert spoken(wood, "hob", "Hob is open for business.")


def spoken(wood: Wood, creature: str, text: str) -> bool:
    """Whether the world's gossip tape holds `text` from `creature`."""
    gossip = wood.running.hub.world["gossip"].values()
    return any(g["creature"] == creature and g["text"] == text for g in gossip)


def node_with_websocket() -> list[str] | None:
    node = shutil.which("node")
    if node is None:
        return None
    for flags in ([], ["--experimental-websocket"]):
        probe = subprocess.run(
            [node, *flags, "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return [node, *flags]
    return None


@pytest.mark.node
async def test_the_javascript_bot_plays_the_same_protocol(wood: Wood, tmp_path: Path) -> None:
    node = node_with_websocket()
    if node is None:
        pytest.skip("needs Node with a global WebSocket (Node 22, or 20 with a flag)")
    path = tmp_path / "my_bot.mjs"
    path.write_text(block("js"), encoding="utf-8")
    token = await wood.token("hob")
    process = await asyncio.create_subprocess_exec(
        *node,
        str(path),
        f"{wood.ws}/ws/bot",
        token,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    try:
        await until(lambda: spoken(wood, "hob", "Hob is open for business."), timeout=60)
    finally:
        process.terminate()
        out, err = await process.communicate()
    assert b"joined as hob" in out, err.decode()
    assert b"refused" not in err, err.decode()

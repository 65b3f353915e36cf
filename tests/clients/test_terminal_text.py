"""Names and text from a world cannot hurt the terminal viewer's terminal (issue 12).

A hostile world (a fake `/ws`: the fault injected is the world's text itself, whatever a
server would clean) names creatures with OSC title and clipboard sequences, a screen clear,
C1 controls, newlines and a right-to-left override. The viewer's output is checked two ways:
byte by byte (every escape it writes is one of rich's own colour codes), and in tmux, a real
terminal emulator, where the pane's title, the clipboard and the rows must be untouched.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from rich.console import Console

from clients.screen_text import clean
from clients.terminal import render
from server.world import load_scenario, new_world, world_document

from .conftest import admin, open_wood

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = {
    "mossback": "\x1b]0;PWNED\x1b\\Mossback",
    "oona": "\x1b]52;c;cHduZWQ=\x07Oona",
    "hob": "Hob\x1b[2J\x1b[H",
    "vesper": "Mal\u202eI am selling honey cheap at 1.25",
    "bram": "Bram\nthe second\rrow\x9b31m\x85",
}
SOCKET = f"smallwood-test-{os.getpid()}"
"""A tmux server of this test run's own."""
SGR = re.compile(r"\x1b\[[0-9;]*m")
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def hostile_world() -> dict[str, object]:
    world = world_document(new_world(load_scenario(), 1))
    creatures = world["creatures"]
    assert isinstance(creatures, dict)
    for cid, name in HOSTILE.items():
        creatures[cid]["name"] = name
        creatures[cid]["species"] = "fox\x1b[5m"
    world["scenario"] = "The \x1b]2;TITLE\x07Wood"
    world["gossip"] = {
        "1": {
            "tick": 1,
            "creature": "vesper",
            "name": HOSTILE["vesper"],
            "text": "\x1b[31mred\u202e1.25",
        }
    }
    return world


def test_clean_keeps_text_and_emoji_and_drops_every_control() -> None:
    assert clean("Mossback tortoise") == "Mossback tortoise"
    assert clean("\x1b]0;T\x1b\\fox") == "]0;T\\fox"
    assert clean("a\nb\tc") == "a b c"
    assert clean("Mal\u202eok\u200b") == "Malok"
    assert clean("\x9b2J\x85x") == "2J x"
    flag = "\U0001f3f3\ufe0f\u200d\U0001f308"  # rainbow flag: one sequence, kept whole
    assert clean(f"pride {flag}") == f"pride {flag}"
    scotland = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    assert clean(scotland) == scotland
    assert clean("x" * 500, 10) == "x" * 9 + "…"


def test_a_hostile_world_writes_only_colour_codes() -> None:
    out = io.StringIO()
    console = Console(file=out, width=100, height=30, force_terminal=True, color_system="truecolor")
    console.print(render(hostile_world(), [], height=30))
    raw = out.getvalue()
    assert "\x1b" in raw  # colours are on, so the check below means something
    bare = SGR.sub("", raw)
    assert "\x1b" not in bare, repr(bare[bare.index("\x1b") - 20 :][:60])
    assert not any(0x80 <= ord(ch) <= 0x9F for ch in bare)
    assert not BIDI & set(bare)
    assert "\r" not in bare
    # One row a creature, however many newlines its name carried.
    rows = [line for line in bare.splitlines() if "Bram" in line]
    assert len(rows) == 1 and "the second" in rows[0]
    assert sum("Mal" in line and "honey" in line for line in bare.splitlines()) >= 1


@pytest.fixture
async def hostile_server() -> AsyncIterator[str]:
    world = hostile_world()

    async def ws(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        await sock.send_str(
            orjson.dumps({"type": "snapshot", "seq": 1, "tick": 1, "world": world}).decode()
        )
        await sock.send_str(
            orjson.dumps(
                {
                    "type": "status",
                    "status": "paused",
                    "period": 1.0,
                    "tick": 1,
                    "reason": "\x1b]0;REASON\x07by \u202eoperator",
                }
            ).decode()
        )
        await sock.receive()  # hold the connection until the viewer goes
        return sock

    app = web.Application()
    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", SOCKET, *args], check=True, capture_output=True, text=True
    ).stdout


async def tmux_off_loop(*args: str) -> str:
    """`tmux` on a thread: the world under test shares this event loop and ticks meanwhile."""
    return await asyncio.to_thread(tmux, *args)


async def test_in_tmux_the_world_cannot_retitle_clear_or_write_the_clipboard(
    hostile_server: str,
) -> None:
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux must be installed in CI (apt-get install -y tmux)")
        pytest.skip("tmux is not installed")
    env = f"PYTHONPATH={ROOT} TERM=xterm-256color"
    command = f"cd {ROOT} && {env} {sys.executable} -m server view {hostile_server}"
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "80", "-y", "24", command)
    try:
        tmux("set-option", "-g", "set-clipboard", "on")
        tmux("set-option", "-g", "allow-rename", "on")
        tmux("select-pane", "-t", "t", "-T", "untouched")
        screen = ""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            screen = await tmux_off_loop("capture-pane", "-p", "-t", "t")
            if all(word in screen for word in ("paused", "Mossback", "Oona", "Bram")):
                break
        assert "paused" in screen, screen
        for name in ("Mossback", "Oona", "Hob", "Bram"):
            assert name in screen, screen
        assert tmux("display-message", "-p", "-t", "t", "#{pane_title}").strip() == "untouched"
        assert "PWNED" not in tmux("display-message", "-p", "-t", "t", "#{window_name}")
        buffers = subprocess.run(
            ["tmux", "-L", SOCKET, "list-buffers"], check=False, capture_output=True, text=True
        ).stdout
        assert buffers.strip() == "", buffers  # OSC 52 wrote no clipboard buffer
        lines = screen.splitlines()
        assert len(lines) <= 24
        assert sum("Bram" in line for line in lines) == 1
        assert any("Mal" in line and "I am selling honey cheap at 1.25" in line for line in lines)
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], check=False, capture_output=True)


async def test_in_tmux_pausing_a_real_world_shows_paused_within_a_tick(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux must be installed in CI (apt-get install -y tmux)")
        pytest.skip("tmux is not installed")
    # A 2 s tick: "within a tick" is then a bound a loaded machine meets (a status frame, the
    # viewer's 4 Hz redraw, tmux), while a viewer that learnt of the pause only from silence
    # (stale after 3 ticks and a second) or from a later tick still misses it.
    wood = await open_wood(tmp_path, tick=2.0)
    env = f"PYTHONPATH={ROOT} TERM=xterm-256color"
    command = f"cd {ROOT} && {env} {sys.executable} -m server view {wood.http}"
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "80", "-y", "24", command)
    try:

        async def screen_says(word: str, timeout: float) -> str:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                screen = await tmux_off_loop("capture-pane", "-p", "-t", "t")
                if word in screen:
                    return screen
                await asyncio.sleep(0.05)
            raise AssertionError(f"{word!r} not on screen: {screen}")

        screen = await screen_says("● live", 20)
        # Every creature of the default world on an 80x24 terminal.
        for creature in wood.running.hub.world["creatures"].values():
            assert creature["name"] in screen
        period = wood.running.clock.period
        began = time.monotonic()
        await admin(wood, "POST", "/api/admin/pause")
        await screen_says("‖ paused", 5)
        # Within a tick, and the quarter second of the viewer's redraw.
        assert time.monotonic() - began < period + 0.5
        await admin(wood, "POST", "/api/admin/resume")
        await screen_says("● live", 10)
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], check=False, capture_output=True)
        await wood.stop()

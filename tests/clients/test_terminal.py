"""The terminal viewer draws a frame without a terminal, and follows a real server."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from clients.stream import WorldView, follow, viewer_url
from clients.terminal import brain_kind, num, render, watch
from server.world import large_scenario, load_scenario, new_world, step, world_document
from server.world.actions import NOOP

from .conftest import Wood, open_wood, until


def frame(world: dict[str, object], width: int = 140) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(render(world, []))
    return console.export_text()


def test_a_frame_shows_every_creature_and_good() -> None:
    state = new_world(load_scenario(), 3)
    for _ in range(30):
        state, _events = step(state, dict.fromkeys(state.creatures, NOOP))
    world = world_document(state)
    text = frame(world)
    assert world["scenario"] in text
    assert f"tick {world['tick']}" in text
    for creature in world["creatures"].values():
        assert creature["name"] in text
    for good in world["goods"]:
        assert good in text
    assert "fuel ██" in text


def test_a_large_world_lists_all_fifty() -> None:
    world = world_document(new_world(large_scenario(50), 1))
    text = frame(world, width=160)
    for creature in world["creatures"].values():
        assert creature["name"] in text


def test_a_stale_world_says_so() -> None:
    world = world_document(new_world(load_scenario(), 1))
    console = Console(record=True, width=120, color_system=None)
    console.print(render(world, [], status="stale"))
    assert "stale" in console.export_text()
    console.print(render(None, status="connecting"))
    assert "waiting" in console.export_text()


def test_viewer_urls() -> None:
    assert viewer_url("http://h:1") == "ws://h:1/ws?status=1"
    assert viewer_url("https://h/", 5) == "wss://h/ws?status=1&since=5"
    assert viewer_url("ws://h:2/ws", 7) == "ws://h:2/ws?status=1&since=7"
    assert viewer_url("h:3") == "ws://h:3/ws?status=1"


async def test_following_a_server_reproduces_its_snapshot(wood: Wood) -> None:
    view = WorldView()
    server = wood.running

    async def watch() -> None:
        async for _ in follow(wood.http, view):
            pass

    task = asyncio.create_task(watch())
    try:
        start = server.hub.seq
        await until(lambda: view.seq is not None and view.seq >= start + 5)
        server.clock.pause()
        await until(lambda: view.seq == server.hub.seq)
        _, body = server.hub.snapshot()
        assert orjson.loads(body)["world"] == view.world
        assert view.status == "live"
        assert any(event.get("type") == "trade_cleared" for _, event in view.events)
    finally:
        task.cancel()


async def test_view_draws_the_live_world(wood: Wood) -> None:
    names = [c["name"] for c in wood.running.hub.world["creatures"].values()]
    # Off a terminal the view draws its last frame when it stops: a machine too loaded to
    # connect and hear the status within a second gets a longer look.
    for seconds in (1.0, 4.0, 15.0):
        console = Console(record=True, width=140, file=io.StringIO(), color_system=None)
        task = asyncio.create_task(watch(wood.http, console=console))
        await asyncio.sleep(seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        text = console.export_text()
        if "● live" in text and all(name in text for name in names):
            break
    for name in names:
        assert name in text
    assert "● live" in text


def busy_world() -> dict[str, object]:
    state = new_world(load_scenario(), 3)
    for _ in range(30):
        state, _events = step(state, dict.fromkeys(state.creatures, NOOP))
    return world_document(state)


@pytest.mark.parametrize("width", [80, 140])
def test_every_name_and_price_is_whole_at_80_and_140_columns(width: int) -> None:
    world = busy_world()
    text = frame(world, width=width)
    assert "0…" not in text
    for creature in world["creatures"].values():  # type: ignore[attr-defined]
        assert creature["name"] in text
    for good, board in world["goods"].items():  # type: ignore[attr-defined]
        assert good in text
        assert num(board["ref"]) in text
        assert num(board["opening"]) in text
    assert max(len(line) for line in text.splitlines()) <= width


@pytest.mark.parametrize(
    ("creature", "kind"),
    [
        ({"brain": "scripted"}, "script"),
        ({"brain": "bot"}, "bot"),
        ({"brain": "qwen3-0.6b"}, "model (qwen3-0.6b)"),
        ({"brain": "scripted", "driver": "bot"}, "bot"),
        ({"brain": "qwen3-0.6b", "driver": "model"}, "model (qwen3-0.6b)"),
        ({"brain": "qwen3-0.6b", "driver": "script"}, "script"),
    ],
)
def test_who_decides_prefers_driver_and_falls_back_to_brain(
    creature: dict[str, str], kind: str
) -> None:
    assert brain_kind(creature) == kind


def test_a_frame_shows_the_driver_when_the_world_has_one() -> None:
    world = busy_world()
    creatures = world["creatures"]
    assert isinstance(creatures, dict)
    for c in creatures.values():
        c["driver"] = "bot"
    text = frame(world, width=140)
    assert "script" not in text


async def test_a_dead_url_says_it_cannot_reach_it(caplog: pytest.LogCaptureFixture) -> None:
    view = WorldView()
    url = "http://127.0.0.1:9"  # the discard port: nothing listens
    with caplog.at_level(logging.WARNING, logger="smallwood.stream"):
        async for _ in follow(url, view):
            break
    assert view.problem == f"cannot reach {url}, retrying"
    assert any(
        r.levelno == logging.WARNING and "cannot reach" in r.getMessage() for r in caplog.records
    )
    console = Console(record=True, width=80, color_system=None)
    console.print(render(None, status="connecting", problem=view.problem))
    assert "cannot reach http://127.0.0.1:9, retrying" in console.export_text()


def sized_frame(world: dict[str, object], width: int, height: int) -> list[str]:
    console = Console(record=True, width=width, height=height, color_system=None)
    console.print(render(world, [], height=height))
    return console.export_text().rstrip("\n").splitlines()


def test_at_80x24_the_frame_fits_and_shows_every_creature_and_good() -> None:
    world = busy_world()
    lines = sized_frame(world, 80, 24)
    text = "\n".join(lines)
    assert len(lines) <= 24
    assert max(len(line) for line in lines) <= 80
    for creature in world["creatures"].values():  # type: ignore[attr-defined]
        assert creature["name"] in text
    for good in world["goods"]:  # type: ignore[attr-defined]
        assert good in text
    assert lines[0].startswith("● live")


def test_a_bigger_terminal_shows_more_of_a_big_cast_richest_first() -> None:
    world = world_document(new_world(large_scenario(50), 1))
    small = "\n".join(sized_frame(world, 80, 24))
    big = "\n".join(sized_frame(world, 160, 60))
    shown = [c["name"] for c in world["creatures"].values()]

    def count(text: str) -> int:
        return sum(1 for name in shown if f"{name} (" in text)

    assert 3 <= count(small) < count(big)
    assert "of 50" in small
    assert len(big.splitlines()) <= 60


@pytest.mark.parametrize(
    ("status", "word"),
    [
        ("paused", "‖ paused"),
        ("idle", "○ idle"),
        ("degraded", "▲ degraded"),
        ("stale", "■ stale"),
        ("reconnecting", "↻ reconnecting"),
    ],
)
def test_each_world_state_has_its_own_word(status: str, word: str) -> None:
    console = Console(record=True, width=80, color_system=None)
    console.print(render(busy_world(), [], status=status, height=24))  # type: ignore[arg-type]
    assert console.export_text().startswith(word)


async def test_pausing_the_world_shows_paused_within_a_tick_and_resuming_live(
    tmp_path: Path,
) -> None:
    # A 1.5 s tick: "within a tick" is then a bound a loaded machine meets (the status frame
    # through the outbox and socket), while a viewer that inferred the pause from silence
    # (stale after 3 ticks and a second) still misses it by seconds.
    wood = await open_wood(tmp_path, tick=1.5)
    view = WorldView()
    server = wood.running

    async def watch_it() -> None:
        async for _ in follow(wood.http, view):
            pass

    task = asyncio.create_task(watch_it())
    try:
        await until(lambda: view.status == "live" and view.server is not None)
        loop = asyncio.get_running_loop()
        paused_at = loop.time()
        server.clock.pause()
        await until(lambda: view.status == "paused", timeout=server.clock.period)
        assert loop.time() - paused_at <= server.clock.period
        console = Console(record=True, width=80, color_system=None)
        console.print(render(view.world, [], status=view.status, height=24))
        assert console.export_text().startswith("‖ paused")
        server.clock.resume()
        await until(lambda: view.status == "live", timeout=2 * server.clock.period)
        assert view.server is not None and view.server["status"] == "live"
    finally:
        task.cancel()
        await wood.stop()


def test_silence_turns_a_running_world_stale_and_a_drop_reconnecting() -> None:
    view = WorldView(world={"tick": 1}, seq=1, link="open")
    view.server = {"status": "live", "period": 0.5}
    assert view.status == "live"
    view.last_delta -= 0.5 * 3 + 1.1
    assert view.status == "stale"
    assert "no tick for" in view.reason
    view.server = {"status": "paused", "period": 0.5, "reason": None}
    assert view.status == "paused"  # a paused world is silent on purpose
    view.link = "down"
    assert view.status == "reconnecting"

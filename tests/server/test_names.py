"""Names and species that reach a screen are clean, distinct, and ids follow from them."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.serve import Server, start

from .conftest import bot, config, recv_until

RAINBOW = "\U0001f3f3\ufe0f\u200d\U0001f308"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    running = await start(config(tmp_path / "data", tick=0.1))
    try:
        yield running
    finally:
        await running.stop()


async def spawn(server: Server, name: str, species: str = "newt") -> dict[str, object]:
    ws, reply = await bot(server, name=name, species=species, produces="berries")
    if reply["type"] == "joined":
        reply = await recv_until(ws, lambda m: m["type"] in ("turn", "error"))
        if reply["type"] == "turn":
            reply = {"type": "in", "creature": reply["observation"]["creature"]}
    await ws.close()
    return reply


async def test_escapes_and_bidi_never_reach_the_document(server: Server) -> None:
    reply = await spawn(server, "\x1b]0;TITLE\x1b\\Fox\u202e\n" + RAINBOW, "\x1b[2Jfox\u200b")
    assert reply["type"] == "in"
    cid = str(reply["creature"])
    card = server.hub.world["creatures"][cid]
    assert card["name"] == "]0;TITLE\\Fox " + RAINBOW
    assert card["species"] == "[2Jfox"
    for text in (card["name"], card["species"]):
        assert all(unicodedata.category(c)[0] != "C" or c == "\u200d" for c in text)


async def test_a_lookalike_of_a_creature_in_the_wood_is_refused(server: Server) -> None:
    for fake in ("Mossback", "mossback", "M\u043essback", "Moss\u200bback", "MOSS BACK"):
        reply = await spawn(server, fake, "tortoise")
        assert reply["type"] == "error" and reply["code"] == "spawn_rejected", fake
        assert "looks like 'Mossback'" in str(reply["message"])
    assert (await spawn(server, "Mossbeak"))["type"] == "in"


async def test_a_name_with_nothing_readable_is_refused(server: Server) -> None:
    reply = await spawn(server, "\u200b\u3164\x1b")
    assert reply["type"] == "error" and reply["code"] == "bad_message"


async def test_ids_follow_from_names(server: Server) -> None:
    assert (await spawn(server, "\u00c9clair du Bois"))["creature"] == "eclair-du-bois"
    assert (await spawn(server, "\u0401\u0436"))["creature"] == "bot"
    assert (await spawn(server, "42 Wren"))["creature"] == "wren"

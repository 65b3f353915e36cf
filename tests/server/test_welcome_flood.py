"""A flood of newcomers over real sockets: the Wood takes in its welcome's worth, tells the
others why, and takes a refused one in once the welcome has room again."""

from __future__ import annotations

import asyncio
from typing import Any

from server.serve import Server
from server.world.welcome import AT_ONCE, REFUSED

from .conftest import bot, recv_until, send


def admitted_or_refused(message: dict[str, Any]) -> bool:
    return message["type"] == "turn" or message.get("code") == "spawn_rejected"


async def test_a_flood_gets_the_welcome_and_no_more(server: Server) -> None:
    # Loopback is exempt from the per-address limit here: as many addresses as the flood likes.
    joins = [
        bot(server, name=f"Flood {i}", species="gnat", produces="berries")
        for i in range(AT_ONCE + 2)
    ]
    bots = await asyncio.gather(*joins)
    assert all(reply["type"] == "joined" and reply["spawning"] for _, reply in bots)
    outcomes = await asyncio.gather(*(recv_until(ws, admitted_or_refused) for ws, _ in bots))
    refused = [
        (ws, reply)
        for (ws, reply), out in zip(bots, outcomes, strict=True)
        if out["type"] != "turn"
    ]
    assert len(refused) == 2
    assert all(REFUSED in out["message"] for out in outcomes if out["type"] != "turn")
    creatures = server.clock.state.creatures
    assert sum(1 for _, reply in bots if reply["creature"] in creatures) == AT_ONCE
    # A season later the welcome has room for one: the refused bot comes back with its token.
    ws, reply = refused[0]
    await ws.close()
    every = server.clock.state.scenario.rules.ticks_per_season
    reopens = server.clock.state.tick + every
    while server.clock.state.tick < reopens:  # ticks, not seconds: a loaded machine is slow
        await asyncio.sleep(server.clock.period)
    season = every * server.clock.period
    again, _ = await bot(
        server,
        token=reply["token"],
        name=reply["creature"].title(),
        species="gnat",
        produces="berries",
    )
    turn = await recv_until(again, admitted_or_refused, timeout=season + 5)
    assert turn["type"] == "turn", turn
    assert reply["creature"] in server.clock.state.creatures
    await send(again, {"type": "leave"})
    for ws, _ in bots:
        await ws.close()


async def test_a_flood_of_refused_joins_keeps_only_the_newest_tokens(server: Server) -> None:
    """Refused newcomers keep their tokens to come back with, but only so many: a flood from
    any number of addresses cannot grow the token table (in memory and on disk) for ever."""
    relay = server.relay
    relay.unclaimed_limit = 3
    before = len(await server.store.tokens())
    joins = [
        bot(server, name=f"Swarm {i}", species="gnat", produces="berries")
        for i in range(AT_ONCE + 6)
    ]
    bots = await asyncio.gather(*joins)
    outcomes = await asyncio.gather(*(recv_until(ws, admitted_or_refused) for ws, _ in bots))
    refused = [r for (_, r), out in zip(bots, outcomes, strict=True) if out["type"] != "turn"]
    assert len(refused) == 6

    def unclaimed(stored: dict[str, str]) -> list[str]:
        return [cid for cid in stored.values() if cid not in server.clock.state.creatures]

    for _ in range(50):  # the server forgets them just after it sends the refusals
        stored = await server.store.tokens()
        if len(unclaimed(stored)) <= relay.unclaimed_limit:
            break
        await asyncio.sleep(0.1)
    assert len(unclaimed(stored)) == relay.unclaimed_limit
    assert len(stored) - before <= AT_ONCE + relay.unclaimed_limit
    rows = await server.store.call(lambda c: c.execute("SELECT COUNT(*) FROM tokens").fetchone())
    assert rows[0] - before <= AT_ONCE + relay.unclaimed_limit  # deleted, not only revoked
    # Whoever was refused last can still come back with its token; the oldest cannot.
    assert relay.tokens.creature(refused[-1]["token"]) == refused[-1]["creature"]
    assert relay.tokens.creature(refused[0]["token"]) is None
    for ws, _ in bots:
        await ws.close()

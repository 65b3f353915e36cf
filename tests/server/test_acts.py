"""One rule for a bot's offers, over real sockets: the reply says at once which offers stand
and which were refused; the market's refusals and the fills come in the next turn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from server.serve import Server

from .conftest import (
    BOTS_IN_TIME,
    NEWT,
    act_in_time,
    bot,
    is_turn,
    recv_until,
    send,
    serving,
    ws_url,
)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with serving(tmp_path / "data", **BOTS_IN_TIME) as running:
        yield running


def offer(side: str, good: str, qty: object, price: object) -> dict[str, object]:
    return {"side": side, "good": good, "qty": qty, "price": price}


async def test_the_reply_lists_standing_and_refused_offers(server: Server) -> None:
    ws, _ = await bot(server, **NEWT)
    turn = await recv_until(ws, is_turn)
    offers = [
        offer("buy", "acorns", 1, 1.234),  # stands, at 1.23
        offer("buy", "gold", 1, 2),
        offer("buy", "berries", 1, 2),  # its own good
    ]
    _, reply = await act_in_time(ws, turn, offers=offers, gossip="hi\x1b[2J")
    assert reply["type"] == "accepted"
    assert reply["offers"] == [
        {"index": 0, "side": "buy", "good": "acorns", "qty": 1, "price": 1.23}
    ]
    assert [(r["index"], r["reason"]) for r in reply["refused"]] == [
        (1, "unknown_good"),
        (2, "own_good"),
    ]
    assert reply["gossip"] == "hi[2J"
    turn = await recv_until(ws, is_turn)
    offers = [
        offer("sell", "honey", 1, 0.004),  # rounds to 0.00
        offer("buy", "acorns", "2", 3),  # no coercion
        offer("sell", "berries", 999, 3),  # stands; the market refuses it
        offer("buy", "acorns", 1, 3),  # the fourth
    ]
    turn, reply = await act_in_time(ws, turn, offers=offers)
    assert [o["index"] for o in reply["offers"]] == [2]
    assert [(r["index"], r["reason"]) for r in reply["refused"]] == [
        (0, "invalid_price"),
        (1, "invalid_qty"),
        (3, "too_many_offers"),
    ]
    tick = turn["tick"]
    turn = await recv_until(ws, is_turn)
    assert {
        "type": "offer_rejected",
        "creature": "newt",
        "index": 2,
        "reason": "insufficient_goods",
    } in turn["events"]
    assert turn["tick"] == tick + 1
    await ws.close()


async def test_crossed_offers_keep_the_first(server: Server) -> None:
    ws, _ = await bot(server, **NEWT)
    turn = await recv_until(ws, is_turn)
    offers = [offer("sell", "acorns", 1, 9), offer("buy", "acorns", 1, 2)]
    _, reply = await act_in_time(ws, turn, offers=offers)
    assert [o["index"] for o in reply["offers"]] == [0]
    assert reply["refused"][0]["reason"] == "crossed_own_offer"
    await ws.close()


async def test_the_fills_of_a_bots_last_act_reach_it_when_it_comes_back(server: Server) -> None:
    watcher = await connect(ws_url(server))
    ws, joined = await bot(server, **NEWT)
    token = joined["token"]
    for _ in range(30):
        turn = await recv_until(ws, is_turn)
        tick = turn["tick"]
        buy = [offer("buy", "acorns", 1, 15)]
        await send(ws, {"type": "act", "tick": tick, "offers": buy})
        reply = await recv_until(ws, lambda m: not is_turn(m))
        if reply["type"] != "accepted":
            assert reply["code"] == "late"  # a loaded machine: try the next tick
            continue
        await ws.close()  # gone before the market clears
        delta = await recv_until(watcher, lambda m: m.get("tick") == tick)  # noqa: B023
        fills = [
            e for e in delta["events"] if e["type"] == "trade_cleared" and e["buyer"] == "newt"
        ]
        await recv_until(watcher, lambda m: m.get("tick") == tick + 2)  # noqa: B023 - away a while
        ws, again = await bot(server, token=token)
        assert again["type"] == "joined"
        if fills:
            break
    else:
        pytest.fail("no fill in 30 ticks")
    turn = await recv_until(ws, is_turn)
    assert all(f in turn["events"] for f in fills)
    await ws.close()
    await watcher.close()


async def test_joined_tick_is_the_last_completed_one(server: Server) -> None:
    ws, joined = await bot(server, **NEWT)
    turn = await recv_until(ws, is_turn)
    assert turn["tick"] > joined["tick"] + 1  # spawning: it entered first
    await ws.close()
    ws, joined = await bot(server, token=joined["token"])
    assert joined["tick"] <= server.clock.state.tick
    turn = await recv_until(ws, is_turn)
    assert turn["tick"] >= joined["tick"] + 1
    assert turn["observation"]["tick"] == turn["tick"]
    await ws.close()

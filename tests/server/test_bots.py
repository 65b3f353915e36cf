"""Bots over real sockets: join, act, miss, misbehave, lose the line and come back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson
import pytest
from websockets.asyncio.client import connect

from server.bots import TURN_QUEUE, BotRelay, BotSession
from server.commands import PendingCommands
from server.metrics import Metrics
from server.serve import Server, banner, start
from server.store import Store
from server.tokens import digest
from server.world import SpawnCreature, load_scenario, new_world
from shared.protocol import SERVER, CloseCode, Turn

from .conftest import (
    ADMIN,
    BOTS_IN_TIME,
    NEWT,
    act_in_time,
    bot,
    closed_code,
    config,
    is_turn,
    issue,
    recv,
    recv_until,
    send,
    serving,
    until,
    ws_url,
)
from .test_hub import Sink


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with serving(tmp_path / "data", **BOTS_IN_TIME) as running:
        yield running


async def test_a_newcomer_joins_acts_and_trades(server: Server) -> None:
    watcher = await connect(ws_url(server))
    ws, joined = await bot(server, **NEWT)
    assert joined["type"] == "joined" and joined["spawning"] is True
    cid, token = joined["creature"], joined["token"]
    assert cid == "newt" and token
    turn = await recv(ws)  # one `joined`, then its turns once it is in the Wood
    assert isinstance(SERVER.validate_python(turn), Turn)
    assert turn["observation"]["creature"] == cid
    assert 0 < turn["deadline_ms"] <= 120
    traded = False
    for _ in range(30):
        offers = [{"side": "buy", "good": "acorns", "qty": 1, "price": 9.0}]
        turn, ack = await act_in_time(ws, turn, offers=offers, gossip="hi")
        assert ack == {
            "type": "accepted",
            "tick": turn["tick"],
            "offers": [{"index": 0, **offers[0]}],
            "refused": [],
            "gossip": "hi",
        }
        tick = turn["tick"]
        delta = await recv_until(watcher, lambda m: bool(m.get("tick") == tick))  # noqa: B023
        if any(e["type"] == "trade_cleared" and e["buyer"] == cid for e in delta["events"]):
            traded = True
            break
        turn = await recv_until(ws, is_turn)
    assert traded
    assert any(
        e == {"type": "gossip_spoken", "creature": cid, "text": "hi"} for e in delta["events"]
    )
    turn = await recv_until(ws, is_turn)
    assert any(e["type"] == "trade_cleared" for e in turn["events"])  # its own news
    await ws.close()
    await watcher.close()


async def test_late_duplicate_foreign_and_future_acts_are_refused(server: Server) -> None:
    ws, _joined = await bot(server, **NEWT)
    turn = await recv_until(ws, is_turn)
    tick = turn["tick"]
    await send(ws, {"type": "act", "tick": tick, "creature": "mossback"})
    error = await recv_until(ws, lambda m: m["type"] == "error")
    assert error["code"] == "not_your_creature" and error["tick"] == tick
    await send(ws, {"type": "act", "tick": tick + 5})
    assert (await recv_until(ws, lambda m: m["type"] == "error"))["code"] == "wrong_tick"
    turn, reply = await act_in_time(ws, turn)
    assert reply["type"] == "accepted"
    tick = turn["tick"]
    await send(ws, {"type": "act", "tick": tick})
    assert (await recv_until(ws, lambda m: m["type"] == "error"))["code"] == "duplicate"
    turn = await recv_until(ws, lambda m: is_turn(m) and m["tick"] > tick)
    await send(ws, {"type": "act", "tick": tick})  # the old tick again
    assert (await recv_until(ws, lambda m: m["type"] == "error"))["code"] == "duplicate"
    # Sleep through the next deadline, then answer it.
    await asyncio.sleep(turn["deadline_ms"] / 1000 + 0.02)
    await send(ws, {"type": "act", "tick": turn["tick"]})
    late = await recv_until(ws, lambda m: m["type"] in ("error", "accepted"))
    assert late["code"] == "late"
    await ws.close()
    noops = server.clock.metrics.noops
    assert noops.get(reason="no_act") >= 1


async def test_garbage_gets_typed_errors_and_the_line_stays_up(server: Server) -> None:
    ws = await connect(ws_url(server, "/ws/bot"))
    cases = [
        ("not json", "bad_json"),
        ("[1,2,3]", "bad_json"),
        ('{"type":"dance"}', "unknown_type"),
        ('{"no":"type"}', "unknown_type"),
        ('{"type":"join","token":7}', "bad_message"),
        ('{"type":"join"}', "bad_message"),
        ('{"type":"act","tick":1}', "not_joined"),
        ('{"type":"act","tick":"soon"}', "invalid_act"),  # any malformed act, tick or not
        ('{"type":"join","token":"nope"}', "bad_token"),
        ('{"type":"join","name":"Z","species":"z","produces":"gold"}', "spawn_rejected"),
    ]
    for frame, code in cases:
        await ws.send(frame)
        reply = await recv(ws)
        assert (reply["type"], reply["code"]) == ("error", code), frame
    await ws.send(b"\x00binary")
    assert (await recv(ws))["code"] == "bad_json"
    await send(ws, {"type": "join", **NEWT})
    assert (await recv(ws))["type"] == "joined"
    await send(ws, {"type": "join", **NEWT})
    assert (await recv(ws))["code"] == "already_joined"
    turn = await recv_until(ws, is_turn)
    _, accepted = await act_in_time(ws, turn, offers=[{"side": "buy", "good": "acorns"}])
    assert accepted["type"] == "accepted"  # a broken offer is refused alone
    assert accepted["refused"][0]["reason"] == "invalid_qty"
    for _ in range(10):  # the refusal and its correction in one tick (a late one: again)
        turn = await recv_until(ws, is_turn)
        turn, error = await act_in_time(ws, turn, gossip=5)
        assert error["code"] == "invalid_act" and "corrected" in error["message"]
        await send(ws, {"type": "act", "tick": turn["tick"]})  # nothing stood: welcome
        corrected = await recv_until(ws, lambda m: not is_turn(m))
        if corrected.get("code") != "late":
            break
    assert corrected["type"] == "accepted", corrected
    await ws.close()


async def test_a_burst_of_garbage_then_a_join_gets_every_reply(server: Server) -> None:
    ws = await connect(ws_url(server, "/ws/bot"))
    for _ in range(20):
        await ws.send("not json")
    await send(ws, {"type": "join", **NEWT})
    replies = [await recv(ws) for _ in range(21)]
    assert [r["type"] for r in replies] == ["error"] * 20 + ["joined"]
    assert {r["code"] for r in replies[:20]} == {"bad_json"}
    await ws.close()


async def test_a_bot_that_overflows_its_queue_is_closed_not_silently_dropped() -> None:
    sink = Sink()
    session = BotSession(sink, Metrics())
    writer = asyncio.create_task(session.outbox.run())
    for _ in range(5):
        await asyncio.sleep(0)
    sink.gate.clear()  # a bot that stops reading
    for n in range(TURN_QUEUE + 2):
        session.send({"type": "error", "n": n})
    sink.gate.set()
    await asyncio.wait_for(writer, 1)
    assert sink.closed is not None and sink.closed[0] == CloseCode.POLICY
    assert "overflow" in sink.closed[1]


async def test_a_spawn_the_world_refuses_is_told_to_its_bot(tmp_path: Path) -> None:
    state = new_world(load_scenario(), 1)
    store = Store.open(tmp_path)
    commands = PendingCommands()
    relay = BotRelay(
        state, tokens={}, store=store, commands=commands, metrics=Metrics(), fallback=None
    )
    sink = Sink()
    session = relay.connected(sink)
    writer = asyncio.create_task(session.outbox.run())
    await relay.receive(session, orjson.dumps({"type": "join", **NEWT}).decode())
    taken = commands.take()
    assert [c.id for c in taken if isinstance(c, SpawnCreature)] == ["newt"]
    # The world refused it (as it would a newcomer whose id was taken meanwhile).
    refusal = {"type": "command_rejected", "command": "spawn newt", "reason": "id_taken"}
    relay.settle(state, [refusal], taken)
    for _ in range(20):
        await asyncio.sleep(0)
    relay.disconnected(session)
    await asyncio.wait_for(writer, 1)
    joined, error = sink.messages()
    assert joined["type"] == "joined" and joined["spawning"] is True
    assert error["code"] == "spawn_rejected" and "id_taken" in error["message"]
    assert relay.spawning == {} and session.spawning is None
    store.close()


async def test_the_document_says_when_a_bot_drives_a_creature(server: Server) -> None:
    watcher = await connect(ws_url(server))
    snapshot = await recv(watcher)
    assert snapshot["world"]["creatures"]["mossback"]["driver"] == "script"
    token = await issue(server, "mossback")
    ws, joined = await bot(server, token=token)
    assert joined["creature"] == "mossback"
    after = joined["tick"]
    delta = await recv_until(watcher, lambda m: m["type"] == "delta" and m["tick"] > after)
    assert delta["patch"]["creatures"]["mossback"]["driver"] == "bot"
    await ws.close()
    delta = await recv_until(
        watcher, lambda m: "driver" in m["patch"].get("creatures", {}).get("mossback", {})
    )
    assert delta["patch"]["creatures"]["mossback"]["driver"] == "script"
    await watcher.close()


async def test_a_token_claims_a_creature_and_rejoins_after_a_drop(server: Server) -> None:
    token = await issue(server, "mossback")
    ws, joined = await bot(server, token=token)
    assert joined == {
        "type": "joined",
        "creature": "mossback",
        "token": token,
        "tick": joined["tick"],
        "spawning": False,
    }
    turn = await recv_until(ws, is_turn)
    assert turn["observation"]["name"] == "Mossback"
    await ws.close()
    # Mossback trades on its own brain meanwhile, for two ticks at least.
    await until(lambda: server.clock.state.tick >= turn["tick"] + 2)
    assert "mossback" not in server.relay.sessions
    ws, joined = await bot(server, token=token)
    assert joined["creature"] == "mossback"
    later = await recv_until(ws, is_turn)
    assert later["tick"] > turn["tick"] + 1
    # A second connection with the same token takes over; the first is told why.
    ws2, joined2 = await bot(server, token=token)
    assert joined2["creature"] == "mossback"
    assert await closed_code(ws) == 4000
    await recv_until(ws2, is_turn)
    # Revoked: cut off, and the token no longer works.
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {ADMIN}"}) as session,
        session.delete(server.url + f"/api/admin/tokens/{token}") as resp,
    ):
        assert resp.status == 200
    assert await closed_code(ws2) == 4001
    ws3, refused = await bot(server, token=token)
    assert refused["code"] == "bad_token"
    await ws3.close()


async def test_a_spawned_creature_survives_its_bot(server: Server) -> None:
    ws, joined = await bot(server, **NEWT)
    await recv_until(ws, is_turn)
    await ws.close()
    await asyncio.sleep(0.3)
    creature = server.clock.state.creatures["newt"]
    assert creature.brain == "bot"
    ws, again = await bot(server, token=joined["token"])
    assert again["creature"] == "newt" and again["spawning"] is False
    await recv_until(ws, is_turn)
    await ws.close()


async def test_flooding_and_oversized_bots_are_closed(server: Server) -> None:
    ws = await connect(ws_url(server, "/ws/bot"), max_size=None)
    await ws.send("x" * 70_000)
    assert await closed_code(ws) == 1009
    ws = await connect(ws_url(server, "/ws/bot"))
    for _ in range(100):
        await ws.send("{}")
    assert await closed_code(ws) == 1008


async def test_bot_creatures_of_a_scenario_get_tokens_at_startup(tmp_path: Path) -> None:
    from server.world import load_scenario

    data = load_scenario().model_dump(mode="json", by_alias=True)
    data["creatures"][3]["brain"] = "bot"
    scenario = tmp_path / "wood.json"
    scenario.write_bytes(orjson.dumps(data))
    running = await start(config(tmp_path / "data", scenario=scenario))
    try:
        assert list(running.bot_tokens.values()) == ["vesper"]
        (token,) = running.minted
        assert list(running.bot_tokens) == [digest(token)]  # the server keeps digests only
        lines = banner(running)
        assert f"  new bot token for vesper: {token}" in lines
        assert f"  play     {running.url}/play" in lines
        assert any("/api/admin/tokens" in line for line in lines)
        mossback = await issue(running, "mossback")
        ws, joined = await bot(running, token=token)
        assert joined["creature"] == "vesper"
        await ws.close()
    finally:
        await running.stop()
    again = await start(config(tmp_path / "data"))
    try:
        assert again.bot_tokens == {**running.bot_tokens, digest(mossback): "mossback"}
        assert again.minted == {}  # nothing new to say: no token is printed again
        assert not any(token in line or mossback in line for line in banner(again))
    finally:
        await again.stop()


@pytest.mark.parametrize("allow_join", [False])
async def test_a_closed_wood_takes_no_newcomers(tmp_path: Path, allow_join: bool) -> None:
    from server.world import load_scenario

    data = load_scenario().model_dump(mode="json", by_alias=True)
    data["rules"]["allow_join"] = allow_join
    scenario = tmp_path / "closed.json"
    scenario.write_bytes(orjson.dumps(data))
    running = await start(config(tmp_path / "data", scenario=scenario))
    try:
        ws, reply = await bot(running, **NEWT)
        assert reply["code"] == "joining_closed"
        await ws.close()
    finally:
        await running.stop()


@pytest.mark.parametrize(("fallback", "trades"), [("scripted", True), ("noop", False)])
async def test_the_scenario_says_what_an_absent_bots_creature_does(
    tmp_path: Path, fallback: str, trades: bool
) -> None:
    from server.world import load_scenario

    data = load_scenario().model_dump(mode="json", by_alias=True)
    data["creatures"][3]["brain"] = "bot"  # vesper, a berry-picking speculator
    data["rules"]["bot_fallback"] = fallback
    scenario = tmp_path / "wood.json"
    scenario.write_bytes(orjson.dumps(data))
    running = await start(config(tmp_path / "data", scenario=scenario))
    try:
        traded = False
        async with connect(ws_url(running)) as ws:
            await recv(ws)  # the snapshot
            for _ in range(25):
                delta = await recv(ws)
                traded |= any(
                    e["type"] == "trade_cleared" and "vesper" in (e["buyer"], e["seller"])
                    for e in delta["events"]
                )
        assert traded is trades
    finally:
        await running.stop()

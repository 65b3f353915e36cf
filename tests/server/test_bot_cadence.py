"""Bots that ask for a cadence, over real sockets: one turn every k ticks, acts landing on the
next tick to decide, the creature holding in between, late acts kept for the next due tick."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection

from clients.bot import BotRunner
from clients.bot_cli import BotLoadError, add_arguments, join_message
from server.minds.brain import DecisionResult
from server.minds.cadence import THINKING, Adaptive, TurnPace
from server.serve import Server
from shared.decision import Decision
from shared.protocol import SERVER, Accepted, Join, Joined, Turn

from .conftest import (
    NEWT,
    bot,
    connect,
    is_turn,
    not_turn,
    recv,
    recv_until,
    send,
    serving,
    ws_url,
)

PERIOD = 0.2
"""Roomy enough that an act sent at once lands within its window on a loaded machine (the
tests ask where acts land, tick by tick, so a round trip must fit well inside a tick)."""


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with serving(tmp_path / "data", tick=PERIOD, decision_share=0.6) as running:
        yield running


async def joined_paced(server: Server, **asked: Any) -> tuple[ClientConnection, dict[str, Any]]:
    ws, joined = await bot(server, **NEWT, **asked)
    assert joined["type"] == "joined", joined
    return ws, joined


async def deltas_until(viewer: ClientConnection, tick: int) -> dict[int, dict[str, Any]]:
    """Every delta up to `tick`, by tick."""
    out: dict[int, dict[str, Any]] = {}
    while True:
        message = await recv(viewer)
        if message["type"] == "delta":
            out[message["tick"]] = message
            if message["tick"] >= tick:
                return out


def spoke(delta: dict[str, Any], cid: str = "newt") -> list[str]:
    return [
        e["text"] for e in delta["events"] if e["type"] == "gossip_spoken" and e["creature"] == cid
    ]


def refused(delta: dict[str, Any], cid: str = "newt") -> list[str]:
    return [
        e["reason"]
        for e in delta["events"]
        if e["type"] == "offer_rejected" and e["creature"] == cid
    ]


async def test_a_bot_with_a_cadence_gets_a_turn_every_k_ticks_and_holds_between(
    server: Server,
) -> None:
    viewer = await connect(ws_url(server))
    ws, joined = await joined_paced(server, cadence=3)
    assert isinstance(SERVER.validate_python(joined), Joined)
    assert (joined["cadence"], joined["between"]) == (3, "hold")
    turns: list[dict[str, Any]] = []
    landed: dict[int, int] = {}
    for n in range(4):
        turn = await recv_until(ws, is_turn)
        assert isinstance(SERVER.validate_python(turn), Turn)
        assert turn["due"] == turn["tick"] + 2
        # The deadline reaches to the due tick's: two whole ticks and the last one's share.
        assert 2 * PERIOD * 1000 <= turn["deadline_ms"] <= (2 + 0.6) * PERIOD * 1000
        turns.append(turn)
        await send(ws, {"type": "act", "tick": turn["tick"], "gossip": f"turn {n}"})
        ack = await recv_until(ws, not_turn)
        assert ack["type"] == "accepted", ack
        assert isinstance(SERVER.validate_python(ack), Accepted)
        assert turn["tick"] <= ack["lands"] <= turn["due"]
        landed[ack["lands"]] = n
    ticks = [t["tick"] for t in turns]
    assert [b - a for a, b in itertools.pairwise(ticks)] == [3, 3, 3]
    deltas = await deltas_until(viewer, turns[-1]["due"])
    for tick in range(ticks[0], turns[-1]["due"] + 1):
        expected = [f"turn {landed[tick]}"] if tick in landed else []
        assert spoke(deltas[tick]) == expected, tick  # no act between: the creature holds
    assert server.clock.metrics.noops.get(reason=THINKING) >= 8
    await ws.close()
    await viewer.close()


async def test_standing_orders_keep_the_last_act_on_the_book_between_turns(
    server: Server,
) -> None:
    viewer = await connect(ws_url(server))
    ws, joined = await joined_paced(server, cadence=3, between="standing")
    assert joined["between"] == "standing"
    turn = await recv_until(ws, is_turn)
    turn = await recv_until(ws, is_turn)  # a whole window of its own, after the first
    offers = [{"side": "sell", "good": "berries", "qty": 999, "price": 5}]  # the market refuses
    await send(ws, {"type": "act", "tick": turn["tick"], "offers": offers, "gossip": "once"})
    ack = await recv_until(ws, not_turn)
    assert ack["type"] == "accepted" and turn["tick"] <= ack["lands"] < turn["due"], ack
    lands = ack["lands"]
    deltas = await deltas_until(viewer, turn["due"])
    assert all(refused(deltas[t]) == [] for t in range(turn["tick"], lands))
    for tick in range(lands, turn["due"] + 1):
        assert refused(deltas[tick]) == ["insufficient_goods"], tick  # on the book each tick
    assert spoke(deltas[lands]) == ["once"]
    assert all(spoke(deltas[t]) == [] for t in range(lands + 1, turn["due"] + 1))
    nxt = await recv_until(ws, is_turn)
    assert nxt["tick"] == turn["due"] + 1
    # The standing repeats' refusals come back with the act's own index.
    assert {"type": "offer_rejected", "creature": "newt", "index": 0,
            "reason": "insufficient_goods"} in nxt["events"]  # fmt: skip
    assert server.clock.metrics.standing.get(brain="bot") >= turn["due"] - lands
    await ws.close()
    await viewer.close()


async def test_a_late_act_lands_by_the_next_due_tick_instead_of_being_dropped(
    server: Server,
) -> None:
    viewer = await connect(ws_url(server))
    ws, _ = await joined_paced(server, cadence=2)
    turn = await recv_until(ws, is_turn)
    deltas = await deltas_until(viewer, turn["due"])  # its due tick is over: the act is late
    await send(ws, {"type": "act", "tick": turn["tick"], "gossip": "late but here"})
    ack = await recv_until(ws, not_turn)
    assert ack["type"] == "accepted", ack
    assert turn["due"] < ack["lands"] <= turn["due"] + 2  # the next due tick at the latest
    deltas.update(await deltas_until(viewer, ack["lands"]))
    assert spoke(deltas[ack["lands"]]) == ["late but here"]
    assert all(spoke(deltas[t]) == [] for t in range(turn["tick"], ack["lands"]))
    nxt = await recv_until(ws, is_turn)
    assert nxt["tick"] >= turn["due"] + 3  # the window ran on to the next due tick
    noops = server.clock.metrics.noops  # the due tick it missed (or the clock gave up on)
    assert noops.get(reason="no_act") + noops.get(reason="deadline") >= 1
    await ws.close()
    await viewer.close()


async def test_an_act_past_the_second_due_tick_is_late_and_a_new_turn_follows(
    server: Server,
) -> None:
    ws, _ = await joined_paced(server, cadence=2)
    turn = await recv_until(ws, is_turn)
    nxt = await recv_until(ws, is_turn, timeout=10)  # said nothing: given up after one more window
    # Given up after the next due tick (turn["due"] + 2); a fresh turn follows the tick after.
    assert nxt["tick"] >= turn["due"] + 3 and nxt["due"] == nxt["tick"] + 1
    await send(ws, {"type": "act", "tick": turn["tick"]})
    error = await recv_until(ws, lambda m: m["type"] == "error")
    assert error["code"] == "late"
    await send(ws, {"type": "act", "tick": nxt["tick"]})
    assert (await recv_until(ws, not_turn))["type"] == "accepted"
    await ws.close()


async def test_auto_cadence_follows_the_bots_answer_times(server: Server) -> None:
    ws, joined = await joined_paced(server, cadence="auto")
    assert joined["cadence"] == "auto"
    turn = await recv_until(ws, is_turn)
    assert turn["due"] == turn["tick"]  # auto starts at one tick
    windows = []
    for _ in range(3):  # a bot that takes three ticks to answer
        await asyncio.sleep(3 * PERIOD)
        await send(ws, {"type": "act", "tick": turn["tick"]})
        ack = await recv_until(ws, not_turn)
        assert ack["type"] == "accepted", ack  # a miss lengthens the window: never dropped
        turn = await recv_until(ws, is_turn)
        windows.append(turn["due"] - turn["tick"] + 1)
    assert min(windows) >= 4  # it learnt: room for three ticks and a margin
    for _ in range(30):  # now it answers at once: the cadence comes down again
        await send(ws, {"type": "act", "tick": turn["tick"]})
        await recv_until(ws, not_turn)
        turn = await recv_until(ws, is_turn)
        if turn["due"] - turn["tick"] + 1 < min(windows):
            break
    assert turn["due"] - turn["tick"] + 1 < min(windows)
    await ws.close()


@pytest.mark.parametrize(
    ("asked", "says"),
    [
        ({"cadence": 0}, "cadence: a whole number of ticks from 1 to 3600"),
        ({"cadence": 3601}, "not 3601"),
        ({"cadence": "3"}, "not '3'"),
        ({"cadence": 2.0}, "not 2.0"),
        ({"cadence": True}, "not True"),
        ({"cadence": "fast"}, "not 'fast'"),
        ({"between": "standing"}, "between: only with a cadence"),
        ({"cadence": 2, "between": "sometimes"}, "between: Input should be 'hold' or 'standing'"),
    ],
)
async def test_a_bad_cadence_is_refused_with_a_clear_message(
    server: Server, asked: dict[str, Any], says: str
) -> None:
    ws, reply = await bot(server, **NEWT, **asked)
    assert reply["type"] == "error" and reply["code"] == "bad_message"
    assert says in reply["message"]
    await ws.close()


async def test_a_bot_rejoining_without_a_cadence_gets_a_turn_every_tick(server: Server) -> None:
    ws, joined = await joined_paced(server, cadence=4)
    await recv_until(ws, is_turn)
    await ws.close()
    ws, again = await bot(server, token=joined["token"])
    assert "cadence" not in again and "between" not in again
    first = await recv_until(ws, is_turn)
    second = await recv_until(ws, is_turn)
    assert "due" not in first and second["tick"] == first["tick"] + 1
    await ws.close()


# The rule itself, without sockets


def landed(tick: int, latency_ms: float = 10.0) -> DecisionResult:
    return DecisionResult(Decision(gossip=f"from {tick}"), "ok", "bot", latency_ms)


def test_a_turn_pace_holds_lands_and_runs_on_once() -> None:
    pace = TurnPace(3)
    assert pace.opens(1)
    pace.start(1, now=0.0)
    assert (pace.due, pace.waiting) == (3, True)
    assert pace.close(1, "bot").noop_reason == THINKING
    pace.arrived(landed(1))
    assert pace.close(2, "bot").decision.gossip == "from 1"
    assert not pace.opens(3) and pace.close(3, "bot").noop_reason == THINKING
    assert pace.opens(4)
    pace.start(4, now=0.0)
    for tick in (4, 5):
        assert pace.close(tick, "bot").noop_reason == THINKING
    assert pace.close(6, "bot").noop_reason == "no_act"  # missed its due tick: runs on
    assert (pace.turn, pace.due) == (4, 9)
    pace.arrived(landed(4))
    assert pace.close(7, "bot").decision.gossip == "from 4"
    assert not pace.opens(9) and pace.opens(10)
    pace.start(10, now=0.0)
    reasons = [pace.close(t, "bot").noop_reason for t in range(10, 16)]
    assert reasons == [THINKING, THINKING, "no_act", THINKING, THINKING, "no_act"]
    assert pace.turn is None and pace.opens(16)  # given up after one more window


def test_a_standing_pace_repeats_the_offers_without_the_gossip() -> None:
    pace = TurnPace(2, "standing")
    pace.start(1, now=0.0)
    assert pace.close(1, "bot").noop_reason == THINKING  # nothing to stand on yet
    pace.arrived(landed(1))
    assert not pace.close(2, "bot").standing
    pace.start(3, now=0.0)
    held = pace.close(3, "bot")
    assert held.standing and held.status == "ok" and held.decision.gossip == ""


def test_an_auto_pace_lengthens_at_a_miss_and_follows_the_answers() -> None:
    pace = TurnPace(1, adaptive=Adaptive(period=1.0, decide_s=0.6, estimate_s=0.0))
    pace.start(1, now=0.0)
    assert pace.close(1, "bot").noop_reason == "no_act"
    assert (pace.cadence, pace.due) == (2, 3)
    assert pace.close(2, "bot").noop_reason == THINKING
    assert pace.close(3, "bot").noop_reason == "no_act"  # missed twice: lengthened twice
    assert (pace.cadence, pace.due) == (3, 6)
    pace.arrived(landed(1, latency_ms=4500))
    assert pace.close(4, "bot").status == "ok"
    assert pace.cadence == 8  # 1.5 x 4.5 s within (k - 1) ticks and a 0.6 s share
    assert pace.opens(7)
    pace.start(7, now=0.0)
    for _ in range(2):
        due = pace.due
        for tick in range(pace.turn or 0, due):
            assert pace.close(tick, "bot").noop_reason == THINKING
        assert pace.close(due, "bot").noop_reason == "no_act"
        assert pace.turn == 7 and pace.due > due
    assert pace.extended == 2
    pace.close(pace.due, "bot")  # a third miss gives the turn up
    assert pace.turn is None and pace.opens(pace.next_turn)


def test_join_echoes_only_what_it_was_asked() -> None:
    assert Join(token="t").model_dump(exclude_none=True) == {"type": "join", "token": "t"}
    assert Join(token="t", cadence="auto").cadence == "auto"


# The Python SDK


class Slow:
    """Answers a little after each turn's deadline."""

    def act(self, turn: Turn) -> Decision:
        time.sleep(turn.deadline_ms / 1000 + 0.03)
        return Decision(gossip="slow but sure")


async def test_the_sdk_sends_a_paced_bots_late_answers_and_keeps_its_cadence(
    server: Server,
) -> None:
    join = Join(name="Pip", species="wren", produces="berries", cadence=2)
    runner = BotRunner(Slow(), ws_url(server, "/ws/bot"), join=join)
    task = asyncio.create_task(runner.run())
    try:
        for _ in range(600):  # 30 s at most
            if runner.stats.accepted >= 2:
                break
            await asyncio.sleep(0.05)
        assert runner.stats.accepted >= 2 and runner.stats.late >= 2
        assert "late" not in runner.stats.errors  # each late answer was kept, none refused
        assert runner.join.token and runner.join.cadence == 2  # a reconnect asks again
        pace = server.relay.sessions["pip"].pace
        assert pace is not None and pace.cadence == 2
    finally:
        runner.stop()
        await asyncio.wait_for(task, 5)


def test_the_bot_command_asks_for_a_cadence() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["x.py:Bot", "--token", "t", "--cadence", "3", "--between", "standing"]
    )
    assert join_message(args) == Join(token="t", cadence=3, between="standing")
    assert join_message(parser.parse_args(["x.py:Bot", "--cadence", "auto"])).cadence == "auto"
    with pytest.raises(BotLoadError, match="--cadence: a whole number of ticks"):
        join_message(parser.parse_args(["x.py:Bot", "--cadence", "0"]))


@settings(max_examples=200, deadline=None)
@given(
    cadence=st.integers(1, 6),
    answers=st.lists(st.one_of(st.none(), st.integers(0, 14)), min_size=1, max_size=12),
)
def test_a_pace_lands_every_answer_in_its_window_and_spaces_its_turns(
    cadence: int, answers: list[int | None]
) -> None:
    """Turn n's answer comes `answers[n]` ticks after it starts (None: never)."""
    pace = TurnPace(cadence)
    starts: list[int] = []
    landed: dict[int, int] = {}
    tick = 0
    while len(starts) <= len(answers) and tick < 40 * cadence:
        tick += 1
        if pace.opens(tick):
            pace.start(tick, now=0.0)
            starts.append(tick)
        n = len(starts) - 1
        after = answers[n] if 0 <= n < len(answers) else None
        if pace.waiting and after is not None and tick == starts[-1] + after:
            pace.arrived(landed_result(n))
        result = pace.close(tick, "bot")
        if result.status == "ok":
            landed[int(result.decision.gossip)] = tick
    for a, b in itertools.pairwise(starts):
        assert b - a >= cadence  # at most one turn every k ticks
    for n, start in enumerate(starts[: len(answers)]):
        after = answers[n]
        if after is not None and after <= 2 * cadence - 1:
            assert landed[n] == start + after  # on the tick it came, never dropped
        else:
            assert n not in landed  # never came, or past the window run on once


def landed_result(n: int) -> DecisionResult:
    return DecisionResult(Decision(gossip=str(n)), "ok", "bot")

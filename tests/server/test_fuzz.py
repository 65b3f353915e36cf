"""Random, malformed, oversized and flooding frames against a live server.

The server runs on its own thread and loop; hypothesis drives plain blocking clients at it.
Meanwhile a watcher follows `/ws`: whatever the fuzzing does, it must see every delta in
order, and the world on disk must still replay hash for hash. One fuzz joins first: a bot
that holds a creature answers each turn with a malformed or world-refused act for the right
tick, so bad offers reach the act and decision path and the world's own validation.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from server.serve import Server, start
from server.store import replay

from .conftest import config


class Threaded:
    """A server on a thread of its own, so blocking test code can hammer it."""

    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        # A roomy tick: the server shares the GIL with hypothesis and the blocking clients, and
        # the joined bot must answer a turn within its decision window (160 ms here).
        cfg = config(data_dir, tick=0.2, decision_share=0.8)
        started = asyncio.run_coroutine_threadsafe(start(cfg), self.loop)
        self.server: Server = started.result(10)
        self.host = self.server.url.removeprefix("http://")

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Watcher(threading.Thread):
    """A viewer that checks it gets every delta, in order, from its one snapshot on."""

    def __init__(self, host: str) -> None:
        super().__init__(daemon=True)
        self.host = host
        self.stop = threading.Event()
        self.seqs: list[int] = []
        self.problems: list[str] = []

    def run(self) -> None:
        with connect(f"ws://{self.host}/ws") as ws:
            first = orjson.loads(ws.recv(timeout=5))
            if first["type"] != "snapshot":
                self.problems.append(f"began with {first['type']}")
            self.seqs.append(first["seq"])
            while not self.stop.is_set():
                try:
                    message = orjson.loads(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue
                if message["type"] != "delta" or message["seq"] != self.seqs[-1] + 1:
                    self.problems.append(f"got {message['type']} {message.get('seq')}")
                self.seqs.append(message["seq"])


class Errors(logging.Handler):
    """Every error the server logs (a frame that made it fail would show up here)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


ERRORS = Errors()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Threaded, Watcher]]:
    data = tmp_path_factory.mktemp("fuzz")
    logger = logging.getLogger("server")
    logger.addHandler(ERRORS)
    server = Threaded(data)
    watcher = Watcher(server.host)
    watcher.start()
    try:
        yield server, watcher
    finally:
        watcher.stop.set()
        watcher.join(5)
        server.close()
        logger.removeHandler(ERRORS)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
offers = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "side": st.sampled_from(["buy", "sell", "hold", ""]) | json_values,
            "good": st.sampled_from(["acorns", "honey", "gold"]) | json_values,
            "qty": st.integers(-5, 2000) | json_values,
            "price": st.floats() | json_values,
        },
    ),
    max_size=5,
)
messages = st.fixed_dictionaries(
    {"type": st.sampled_from(["join", "act", "turn", "snapshot", "", "ACT"]) | json_values},
    optional={
        "tick": st.integers(-3, 10**12) | json_values,
        "offers": offers | json_values,
        "gossip": st.text(max_size=300) | json_values,
        "token": st.text(max_size=80) | json_values,
        "name": st.text(max_size=50) | json_values,
        "species": st.text(max_size=50) | json_values,
        "produces": st.sampled_from(["acorns", "gold"]) | json_values,
        "creature": st.sampled_from(["mossback", "newt"]) | json_values,
        "extra": json_values,
    },
)
frames = st.one_of(
    messages.map(lambda m: orjson.dumps(m).decode()),
    st.text(max_size=300),
    st.binary(max_size=300),
    json_values.map(lambda v: orjson.dumps(v).decode()),
    st.sampled_from(["x", "[", '{"type":"act","tick":1}']).map(lambda unit: unit * 70_000),
)


def alive(host: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{host}/healthz", timeout=5) as resp:
        health: dict[str, Any] = orjson.loads(resp.read())
        return health


def hammer(host: str, path: str, batch: list[str | bytes]) -> None:
    try:
        with connect(f"ws://{host}{path}", max_size=None, open_timeout=5) as ws:
            for frame in batch:
                ws.send(frame)
            ws.send('{"type":"act","tick":0}')
            while True:  # read the replies until the server has answered everything
                ws.recv(timeout=0.05)
    except (TimeoutError, ConnectionClosed, WebSocketException, OSError):
        pass


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=st.sampled_from(["/ws/bot", "/ws/bot", "/ws"]), batch=st.lists(frames, max_size=12))
def test_no_frame_harms_the_server(
    live: tuple[Threaded, Watcher], path: str, batch: list[str | bytes]
) -> None:
    server, _ = live
    hammer(server.host, path, batch)
    assert alive(server.host)["ok"] is True


def test_a_flood_is_cut_off_and_the_world_goes_on(live: tuple[Threaded, Watcher]) -> None:
    server, _watcher = live
    for path in ("/ws/bot", "/ws"):
        with pytest.raises(ConnectionClosed) as closed, connect(f"ws://{server.host}{path}") as ws:
            for _ in range(2000):
                ws.send('{"type":"act","tick":1}')
            while True:
                ws.recv(timeout=2)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert alive(server.host)["ok"] is True


# Offers that pass the protocol's schema but that the world may refuse (an unknown good,
# goods the newcomer does not hold, pebbles it lacks), and acts the schema refuses.
world_offers = st.lists(
    st.fixed_dictionaries(
        {
            "side": st.sampled_from(["buy", "sell"]),
            "good": st.sampled_from(["acorns", "berries", "honey", "firewood", "gold"]),
            "qty": st.integers(1, 999),
            "price": st.floats(0.01, 10_000),
        }
    ),
    max_size=3,
)
acts = st.one_of(
    st.fixed_dictionaries({"offers": world_offers, "gossip": st.text(max_size=120)}),
    st.fixed_dictionaries(
        {"offers": offers},
        optional={
            "gossip": st.text(max_size=300) | json_values,
            "thought": json_values,
            "creature": st.sampled_from(["mossback", "newt"]) | json_values,
            "extra": json_values,
        },
    ),
)


class JoinedBot:
    """A bot holding a newcomer, answering turns over one blocking connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: Counter[str] = Counter()
        self.ws.send(
            orjson.dumps(
                {"type": "join", "name": "Fuzz", "species": "newt", "produces": "berries"}
            ).decode()
        )
        joined = self.next("joined")
        self.creature: str = joined["creature"]

    def next(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = orjson.loads(self.ws.recv(timeout=timeout))
            if message["type"] == "turn":
                for event in message["events"]:
                    self.seen[f"event:{event['type']}:{event.get('reason', '')}"] += 1
            if message["type"] == kind:
                return message
            if message["type"] == "error":
                self.seen[f"error:{message['code']}"] += 1
                assert kind != "joined", message
            if message["type"] == "accepted":
                self.seen["accepted"] += 1

    def turn(self) -> dict[str, Any]:
        """The newest turn: the one still open. Turns that queued up while the bot was busy
        are read (their news counted) and passed over, so a slow moment never leaves it
        answering closed ticks for ever."""
        turn = self.next("turn")
        while True:
            try:
                turn = self.next("turn", timeout=0)
            except TimeoutError:
                return turn

    def answer(self, turn: dict[str, Any], act: dict[str, Any]) -> str:
        self.ws.send(orjson.dumps({**act, "type": "act", "tick": turn["tick"]}).decode())
        while True:
            reply: dict[str, Any] = orjson.loads(self.ws.recv(timeout=5))
            if reply["type"] == "accepted":
                self.seen["accepted"] += 1
                for refused in reply.get("refused", []):
                    self.seen[f"refused:{refused['reason']}"] += 1
                return "accepted"
            if reply["type"] == "error":
                self.seen[f"error:{reply['code']}"] += 1
                return str(reply["code"])


def test_malformed_acts_from_a_joined_bot_reach_the_world(
    live: tuple[Threaded, Watcher],
) -> None:
    server, _ = live
    answers: Counter[str] = Counter()
    with connect(f"ws://{server.host}/ws/bot", open_timeout=5) as ws:
        bot = JoinedBot(ws)
        _fuzz_turns(bot, answers)
    assert alive(server.host)["ok"] is True
    assert not [r.getMessage() for r in ERRORS.records]
    # Both kinds reached the decision path for the tick they named: taken, or a no-op.
    assert answers["accepted"] >= 10, answers
    assert answers["invalid_act"] >= 5, answers
    # An unknown good is refused at once, in the act's reply (what the edge can know)...
    assert bot.seen["refused:unknown_good"] >= 1, bot.seen
    # ...and the accepted offers reached the world's market, which refused what it must
    refused = {k for k in bot.seen if k.startswith("event:offer_rejected:")}
    assert len(refused) >= 2, bot.seen


def _fuzz_turns(bot: JoinedBot, answers: Counter[str]) -> None:

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(act=acts)
    def fuzz(act: dict[str, Any]) -> None:
        for _ in range(10):  # a loaded machine made it late: the same act on a later turn
            answer = bot.answer(bot.turn(), act)
            if answer != "late":
                break
        answers[answer] += 1

    fuzz()
    bot.turn()  # the last act's news


def test_the_world_came_through_unharmed(live: tuple[Threaded, Watcher]) -> None:
    """Whatever ran before it in this module (in any order, or nothing): frames of each
    refused kind still leave the watcher's record whole and the stored world replaying."""
    server, watcher = live
    hammer(server.host, "/ws/bot", ["not json", '{"type":"dance"}'])
    hammer(server.host, "/ws", ['{"type":"act","tick":1}'])
    while len(watcher.seqs) < 10:
        watcher.stop.wait(0.05)
    assert not [r.getMessage() for r in ERRORS.records]
    refused = server.server.clock.metrics.refused.values
    assert {dict(k)["code"] for k in refused} >= {"bad_json", "unknown_type", "not_expected"}
    assert not watcher.problems
    seen = watcher.seqs[-1]
    report = replay(server.server.store.path.parent)
    assert report.ok and report.ticks >= seen

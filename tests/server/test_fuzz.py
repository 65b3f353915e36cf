"""Random, malformed, oversized and flooding frames against a live server.

The server runs on its own thread and loop; hypothesis drives plain blocking clients at it.
Meanwhile a watcher follows `/ws`: whatever the fuzzing does, it must see every delta in
order, and the world on disk must still replay hash for hash.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import connect

from server.serve import Server, start
from server.store import replay

from .conftest import config


class Threaded:
    """A server on a thread of its own, so blocking test code can hammer it."""

    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        started = asyncio.run_coroutine_threadsafe(start(config(data_dir, tick=0.05)), self.loop)
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


def test_zz_the_world_came_through_unharmed(live: tuple[Threaded, Watcher]) -> None:
    """Runs last in this module: the watcher's record and the stored hashes."""
    server, watcher = live
    assert not [r.getMessage() for r in ERRORS.records]
    refused = server.server.clock.metrics.refused.values
    assert {dict(k)["code"] for k in refused} >= {"bad_json", "unknown_type", "not_expected"}
    assert not watcher.problems
    assert len(watcher.seqs) >= 10
    seen = watcher.seqs[-1]
    report = replay(server.server.store.path.parent)
    assert report.ok and report.ticks >= seen

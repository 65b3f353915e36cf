"""Fan-out without waiting on anyone: one encoding, bounded queues, fresh snapshots."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from server.live.hub import Hub
from server.live.outbox import Outbox, text_frame
from server.metrics import Metrics


def payload(wire: bytes) -> bytes:
    """The payload of one whole unmasked websocket frame."""
    n = wire[1] & 0x7F
    return wire[2 + {126: 2, 127: 8}.get(n, 0) :]


class Sink:
    """A viewer's socket; `gate` holds its writes back to play a slow reader."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.closed: tuple[int, str] | None = None
        self.direct = 0
        """Frames written on the fast path."""
        self.wires: list[bytes] = []

    async def send(self, frame: bytes) -> None:
        await self.gate.wait()
        self.frames.append(frame)

    def write_now(self, wire: bytes) -> bool:
        if not self.gate.is_set():
            return False  # a full buffer
        self.frames.append(payload(wire))
        self.wires.append(wire)
        self.direct += 1
        return True

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def messages(self) -> list[dict[str, Any]]:
        return [orjson.loads(f) for f in self.frames]


def world(tick: int) -> dict[str, Any]:
    return {"tick": tick, "creatures": {"a": {"pebbles": tick}}}


def make_hub(**kw: Any) -> Hub:
    return Hub(seq=0, tick=0, world=world(0), metrics=Metrics(), **kw)


async def drain() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def publish(hub: Hub, tick: int) -> None:
    hub.publish(tick, {"tick": tick, "creatures": {"a": {"pebbles": tick}}}, [], world(tick))


async def run(hub: Hub, sink: Sink, since: int | None = None) -> tuple[Outbox, asyncio.Task[None]]:
    viewer = hub.attach(sink, since)
    return viewer, asyncio.create_task(viewer.run())


async def test_each_delta_is_encoded_once_for_every_viewer() -> None:
    hub = make_hub()
    sinks = [Sink() for _ in range(50)]
    tasks = [await run(hub, s) for s in sinks]
    await drain()
    publish(hub, 1)
    await drain()
    deltas = [s.wires[0] for s in sinks]  # framed once, too: the very same bytes object
    assert all(d is deltas[0] for d in deltas)
    assert [m["type"] for m in sinks[0].messages()] == ["snapshot", "delta"]
    for viewer, task in tasks:
        hub.detach(viewer)
        await task


async def test_a_slow_viewer_loses_its_backlog_not_the_others() -> None:
    hub = make_hub(queue_limit=4)
    slow, quick = Sink(), Sink()
    slow_viewer, slow_task = await run(hub, slow)
    quick_viewer, quick_task = await run(hub, quick)
    await drain()
    slow.gate.clear()
    for tick in range(1, 21):
        publish(hub, tick)  # never waits, however stuck the slow viewer is
        await drain()
    assert [m["seq"] for m in quick.messages()] == list(range(21))
    slow.gate.set()
    await drain()
    seen = slow.messages()
    assert hub.metrics.dropped.get() >= 1
    assert seen[-1]["type"] == "snapshot" and seen[-1]["seq"] == 20
    assert seen[-1]["world"] == world(20)
    publish(hub, 21)
    await drain()
    assert slow.messages()[-1] == {**slow.messages()[-1], "type": "delta", "seq": 21}
    for viewer, task in ((slow_viewer, slow_task), (quick_viewer, quick_task)):
        hub.detach(viewer)
        await task


async def test_since_resumes_from_the_ring_or_falls_back_to_a_snapshot() -> None:
    hub = make_hub(ring_size=5)
    for tick in range(1, 9):
        publish(hub, tick)
    assert hub.deltas_after(8) == []
    backlog = hub.deltas_after(5)
    assert backlog is not None and [seq for seq, _ in backlog] == [6, 7, 8]
    assert hub.deltas_after(3) is not None  # ring holds 4..8
    assert hub.deltas_after(2) is None
    assert hub.deltas_after(99) is None
    sink = Sink()
    viewer, task = await run(hub, sink, since=6)
    await drain()
    assert [m["seq"] for m in sink.messages()] == [7, 8]
    assert all(m["type"] == "delta" for m in sink.messages())
    old = Sink()
    viewer2, task2 = await run(hub, old, since=1)
    await drain()
    assert [m["type"] for m in old.messages()] == ["snapshot"]
    for v, t in ((viewer, task), (viewer2, task2)):
        hub.detach(v)
        await t


async def test_close_all_flushes_then_closes() -> None:
    hub = make_hub()
    sink = Sink()
    viewer, task = await run(hub, sink)
    await drain()
    publish(hub, 1)
    hub.close_all(1001, "bye")
    publish(hub, 2)  # after the goodbye: not sent
    await asyncio.wait_for(task, 1)
    assert [(m["type"], m["seq"]) for m in sink.messages()] == [("snapshot", 0), ("delta", 1)]
    assert sink.closed == (1001, "bye")
    hub.detach(viewer)


async def test_a_snapshot_covers_the_deltas_queued_before_it() -> None:
    hub = make_hub()
    sink = Sink()
    viewer, task = await run(hub, sink)  # its snapshot is not written yet
    publish(hub, 1)
    publish(hub, 2)
    await drain()
    assert [(m["type"], m["seq"]) for m in sink.messages()] == [("snapshot", 2)]
    hub.detach(viewer)
    await task


async def test_a_gone_viewer_stops_its_writer() -> None:
    class Gone(Sink):
        async def send(self, frame: bytes) -> None:
            raise ConnectionResetError

    hub = make_hub()
    viewer, task = await run(hub, Gone())
    await asyncio.wait_for(task, 1)
    assert viewer.closed
    publish(hub, 1)  # still never raises
    hub.detach(viewer)


def test_text_frames_carry_their_payload_whole() -> None:
    for size in (0, 125, 126, 65535, 65536):
        data = b"x" * size
        wire = text_frame(data)
        assert wire[0] == 0x81
        assert payload(wire) == data


async def test_an_idle_viewer_takes_deltas_on_the_fast_path_in_order() -> None:
    hub = make_hub()
    sink = Sink()
    viewer = hub.attach(sink)
    writer = asyncio.create_task(viewer.run())
    await asyncio.sleep(0.01)  # the snapshot goes through the writer
    for t in range(1, 6):
        hub.publish(t, {"tick": t}, [], world(t))
    await asyncio.sleep(0.01)
    assert [m["seq"] for m in sink.messages()] == [0, 1, 2, 3, 4, 5]
    assert sink.direct == 5
    sink.gate.clear()  # the buffer fills: frames queue behind, still in order
    hub.publish(6, {"tick": 6}, [], world(6))
    hub.publish(7, {"tick": 7}, [], world(7))
    sink.gate.set()
    await asyncio.sleep(0.01)
    hub.publish(8, {"tick": 8}, [], world(8))
    await asyncio.sleep(0.01)
    assert [m["seq"] for m in sink.messages()] == list(range(9))
    hub.detach(viewer)
    await writer

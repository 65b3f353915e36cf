"""The viewer bench's arithmetic on a trace and on long animation frames (no browser)."""

from __future__ import annotations

import json
from typing import Any

from clients.bench_viewer import PROBE_FUNCTION, frame_work, where_time_went

PAGE, OTHER = (7, 7), (9, 9)


def probe(ts: int, thread: tuple[int, int] = PAGE) -> dict[str, Any]:
    data = {"functionName": PROBE_FUNCTION}
    return {"name": "FunctionCall", "ph": "X", "pid": thread[0], "tid": thread[1], "ts": ts,
            "dur": 50, "tdur": 40, "args": {"data": data}}  # fmt: skip


def task(ts: int, dur: int, tdur: int, thread: tuple[int, int] = PAGE) -> dict[str, Any]:
    return {"name": "RunTask", "ph": "X", "pid": thread[0], "tid": thread[1], "ts": ts,
            "dur": dur, "tdur": tdur}  # fmt: skip


def test_each_frame_gets_the_page_work_that_began_in_it() -> None:
    events = [
        probe(1_000_000),
        task(1_000_000, 2_000, 1_500),  # the probe's own task: in the first frame
        task(1_005_000, 6_000, 5_000),
        probe(1_016_700),
        # A frame of 200 ms in which the page did almost nothing: the machine's.
        task(1_020_000, 1_000, 800),
        task(1_030_000, 9_000, 9_000, thread=OTHER),  # another thread's work is not the page's
        probe(1_216_700),
        # A frame the page filled: 60 ms of its own CPU.
        task(1_217_000, 90_000, 60_000),
        probe(1_310_000),
        task(1_400_000, 5_000, 5_000),  # after the last frame: in no frame
    ]
    frames = frame_work(json.dumps({"traceEvents": events}).encode())
    assert frames == [
        {"gap_ms": 16.7, "busy_ms": 8.0, "cpu_ms": 6.5},
        {"gap_ms": 200.0, "busy_ms": 1.0, "cpu_ms": 0.8},
        {"gap_ms": 93.3, "busy_ms": 90.0, "cpu_ms": 60.0},
    ]


def test_a_trace_without_the_probe_has_no_frames() -> None:
    events = [task(1_000, 5_000, 5_000)]
    assert frame_work(json.dumps({"traceEvents": events}).encode()) == []


def test_long_frames_name_the_scripts_that_ran_longest() -> None:
    loaf = [
        {"scripts": [{"what": "onmessage wood.js", "ms": 30.0, "layout": 0.0},
                     {"what": "render viewer.js", "ms": 12.0, "layout": 2.5}]},
        {"scripts": [{"what": "render viewer.js", "ms": 25.0, "layout": 1.0}]},
        {"scripts": []},
    ]  # fmt: skip
    assert where_time_went(loaf) == [
        {"script": "render viewer.js", "total_ms": 37.0, "longest_ms": 25.0,
         "forced_layout_ms": 3.5},
        {"script": "onmessage wood.js", "total_ms": 30.0, "longest_ms": 30.0,
         "forced_layout_ms": 0.0},
    ]  # fmt: skip

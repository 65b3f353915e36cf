"""Probes a benchmark server runs beside itself, to tell its own work from the machine's.

- `LoopProbe`: a heartbeat task on the event loop and a sampler thread. The task wakes every
  `BEAT_S` and records how late it woke (the loop's lag) and how much CPU the loop's thread
  spent meanwhile, so a stall is split into the server's own work (CPU while the loop did
  not come round) and time the process waited for a core (a loaded machine). While the
  heartbeat is overdue by more than `STALL_S`, the thread samples the loop thread's stack:
  the stalls' stacks, counted, say what blocked the loop.
- `handler_ms`: the time of one call to an aiohttp handler on the live app, without a
  socket (the handler's own work, apart from accept and the loop's queue).
- `MemoryProbe`: tracemalloc snapshots, the growth between two of them by source line
  (the probe's own allocations and the benchmark's records left out).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
import tracemalloc
from array import array
from collections import Counter
from collections.abc import Awaitable
from typing import Any

BEAT_S = 0.005
"""The heartbeat's sleep: its lag is the loop's lag at that resolution."""
STALL_S = 0.05
"""A heartbeat this overdue is a stall: the sampler records the loop thread's stack."""
SAMPLE_S = 0.005
"""The sampler's period while it watches (each sample stands for this much stalled time)."""
STACK_FRAMES = 4
"""Frames of a stall's stack kept for its key (innermost first)."""
OWN_FILES = ("/bench/probes.py", "/bench/live.py", "/tracemalloc.py", "/threading.py")


class LoopProbe:
    """Loop lag, CPU during stalls, and the stacks that stalled the loop (see the module)."""

    def __init__(self) -> None:
        self.lags_ms = array("f")
        """Each heartbeat's lateness, in ms."""
        self.stall_wall_ms = 0.0
        """Heartbeat intervals longer than `STALL_S`, summed (wall time)."""
        self.stall_cpu_ms = 0.0
        """The loop thread's CPU time within those intervals: the server's own work."""
        self.stalls = 0
        self.stacks: Counter[str] = Counter()
        self._beat = time.perf_counter()
        self._ident = threading.get_ident()
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._sample, name="loop-probe", daemon=True)

    def start(self) -> None:
        """Call in the loop's thread, inside the running loop."""
        self._ident = threading.get_ident()
        self._task = asyncio.get_running_loop().create_task(self._heartbeat())
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._thread.join(1.0)

    async def _heartbeat(self) -> None:
        cpu = time.thread_time()
        while True:
            began = time.perf_counter()
            self._beat = began
            await asyncio.sleep(BEAT_S)
            now = time.perf_counter()
            now_cpu = time.thread_time()
            wall = now - began
            self.lags_ms.append((wall - BEAT_S) * 1000)
            if wall > STALL_S:
                self.stalls += 1
                self.stall_wall_ms += wall * 1000
                self.stall_cpu_ms += (now_cpu - cpu) * 1000
            cpu = now_cpu

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            if time.perf_counter() - self._beat < STALL_S:
                continue
            frame = sys._current_frames().get(self._ident)
            if frame is None:
                continue
            self.stacks[_stack_key(frame)] += 1

    def report(self, top: int = 12) -> dict[str, Any]:
        lags = sorted(self.lags_ms)

        def at(q: float) -> float:
            return round(lags[min(len(lags) - 1, int(q * len(lags)))], 2) if lags else 0.0

        return {
            "lag_ms": {"p50": at(0.5), "p99": at(0.99), "max": round(lags[-1], 1) if lags else 0},
            "stalls": self.stalls,
            "stall_wall_ms": round(self.stall_wall_ms),
            "stall_cpu_ms": round(self.stall_cpu_ms),
            "stall_stacks": [
                f"{round(n * SAMPLE_S * 1000)} ms: {key}" for key, n in self.stacks.most_common(top)
            ],
        }


def _stack_key(frame: Any) -> str:
    """The innermost frames of a stack, as `file:line function` (site-packages shortened)."""
    parts: list[str] = []
    while frame is not None and len(parts) < STACK_FRAMES:
        code = frame.f_code
        path = code.co_filename
        for marker in ("site-packages/", "/server/", "/shared/", "/lib/python3"):
            at = path.rfind(marker)
            if at >= 0:
                path = path[at + 1 :]
                break
        parts.append(f"{path}:{frame.f_lineno} {code.co_name}")
        frame = frame.f_back
    return " < ".join(parts)


async def handler_ms(call: Awaitable[object]) -> float:
    """Milliseconds to await `call` (a handler's coroutine on a mocked request): its own
    work, when it does not wait."""
    began = time.perf_counter()
    await call
    return (time.perf_counter() - began) * 1000


class MemoryProbe:
    """tracemalloc from `start()`; `mark()` takes the baseline, `growth()` diffs against it.

    Start it well before the mark (at the server's start): what is allocated before tracing
    starts is invisible, so a bounded buffer refilled after a late start would look like
    growth."""

    def __init__(self, frames: int = 4) -> None:
        self.frames = frames
        self.baseline: tracemalloc.Snapshot | None = None

    def start(self) -> None:
        tracemalloc.start(self.frames)

    def mark(self) -> None:
        self.baseline = self._snapshot()

    def _snapshot(self) -> tracemalloc.Snapshot:
        keep = [tracemalloc.Filter(False, f"*{name}") for name in OWN_FILES]
        return tracemalloc.take_snapshot().filter_traces(keep)

    def growth(self, top: int = 15) -> list[str]:
        """The lines whose live allocations grew most since `mark()`, largest first."""
        if self.baseline is None or not tracemalloc.is_tracing():
            return []
        now = self._snapshot()
        stats = now.compare_to(self.baseline, "traceback")
        traced = tracemalloc.get_traced_memory()[0]
        total = sum(stat.size_diff for stat in stats)
        lines = [f"traced now {traced // 1024} KiB, {total / 1024:+.1f} KiB since the mark"]
        for stat in stats[:top]:
            frames = list(stat.traceback)  # innermost first
            # The line that allocated, and the project's own frame that asked for it.
            ours = next((f for f in frames if "/server/" in f.filename), None)
            where = f"{_short(frames[0].filename)}:{frames[0].lineno}"
            if ours is not None and ours is not frames[0]:
                where += f" < {_short(ours.filename)}:{ours.lineno}"
            lines.append(f"{stat.size_diff / 1024:+.1f} KiB ({stat.count_diff:+d} blocks) {where}")
        tracemalloc.stop()
        return lines


def _short(path: str) -> str:
    for marker in ("site-packages/", "/server/", "/shared/", "/lib/python3"):
        at = path.rfind(marker)
        if at >= 0:
            return path[at + 1 :]
    return path

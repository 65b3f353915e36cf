"""The benchmark probes: a blocked loop is seen with its stack and its CPU, growth is found
by line, and a server's error lines are kept with where they broke."""

from __future__ import annotations

import asyncio
import logging
import time

from server.bench import probes
from server.bench.live import _ErrorCount


def spin(seconds: float) -> None:
    """Work on the loop's thread for `seconds` of its CPU time without yielding (what a
    stall of the server's own is; a loaded machine makes it longer in wall time)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def test_a_blocked_loop_is_a_stall_of_its_own_work_with_its_stack() -> None:
    probe = probes.LoopProbe()
    probe.start()
    await asyncio.sleep(0.05)
    spin(0.3)
    await asyncio.sleep(0.05)
    await probe.stop()
    report = probe.report()
    assert report["stalls"] >= 1
    assert report["lag_ms"]["max"] >= 250
    assert report["stall_wall_ms"] >= report["stall_cpu_ms"] >= 290  # the spin is all CPU
    assert any("spin" in line for line in report["stall_stacks"]), report


async def test_a_waiting_loop_is_no_stall() -> None:
    probe = probes.LoopProbe()
    probe.start()
    await asyncio.sleep(0.6)
    await probe.stop()
    report = probe.report()
    assert len(probe.lags_ms) > 10  # a 5 ms beat: a loaded machine still beats 10 in 0.6 s
    assert report["stall_stacks"] == [] or report["stall_cpu_ms"] < report["stall_wall_ms"]


async def test_handler_ms_times_the_awaited_call() -> None:
    async def work() -> None:
        spin(0.02)

    assert 15 <= await probes.handler_ms(work()) < 1000


def test_memory_growth_names_the_line_that_grew() -> None:
    memory = probes.MemoryProbe()
    memory.start()
    memory.mark()
    kept = [bytes(1000) for _ in range(2000)]  # about 2 MB, from this line
    lines = memory.growth()
    assert lines[0].startswith("traced now")
    assert "test_probes.py" in lines[1], lines
    assert float(lines[1].split()[0]) > 1500  # KiB
    assert len(kept) == 2000


def test_error_lines_keep_the_message_and_where_it_broke() -> None:
    handler = _ErrorCount()
    logger = logging.getLogger("test.probes")
    logger.addHandler(handler)
    try:
        try:
            {}["missing"]
        except KeyError:
            logger.exception("handling failed for %s", "someone")
        logger.warning("not an error")
    finally:
        logger.removeHandler(handler)
    assert handler.count == 1
    (line,) = handler.lines
    assert line.startswith("ERROR test.probes: handling failed for someone (KeyError: 'missing'")
    assert "test_probes.py" in line

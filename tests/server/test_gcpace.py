"""Full garbage collections paced between ticks."""

from __future__ import annotations

import gc

from server.gcpace import NEVER, GcPacer


def test_the_pacer_takes_full_passes_over_and_gives_them_back() -> None:
    before = gc.get_threshold()
    pacer = GcPacer(every=0.0)
    pacer.start()
    try:
        assert gc.get_threshold()[2] == NEVER
        assert pacer.due()
        assert pacer.between_ticks(next_tick_in=1.0)
        assert pacer.passes == 1
    finally:
        pacer.stop()
    assert gc.get_threshold() == before
    assert not pacer.due()


def test_a_pass_that_would_not_fit_before_the_next_tick_waits() -> None:
    pacer = GcPacer(every=0.0, every_max=3600.0)
    pacer.start()
    try:
        pacer.last_pause = 0.5
        assert not pacer.between_ticks(next_tick_in=0.2)
        assert pacer.between_ticks(next_tick_in=2.0)
    finally:
        pacer.stop()


def test_nested_pacers_never_leave_full_passes_off() -> None:
    before = gc.get_threshold()
    outer, inner = GcPacer(), GcPacer()
    outer.start()
    inner.start()
    outer.stop()
    inner.stop()
    assert gc.get_threshold()[2] != NEVER
    gc.set_threshold(*before)

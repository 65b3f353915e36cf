"""Full garbage collections between ticks, never in the middle of one.

CPython's cycle collector runs a full (oldest generation) pass whenever enough long-lived
objects pile up; with thousands of viewers connected that pass walks every connection's
objects and stops the process for a few hundred milliseconds, and when it lands inside a
tick every viewer gets that tick's delta that much later. The pacer turns automatic full
passes off while the clock runs and runs them itself, right after a tick's fan-out, when
the next tick is far enough away, at most every `every` seconds (and at the latest every
`every_max` seconds, quiet or not, so garbage stays bounded). The young generations are
left to the interpreter: their passes are short.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)

NEVER = 1 << 30
"""An oldest-generation threshold no run reaches: automatic full passes are off."""


class GcPacer:
    def __init__(self, every: float = 10.0, every_max: float = 60.0) -> None:
        self.every = every
        self.every_max = every_max
        self.last_pause = 0.05
        """Seconds the last full pass took: the room it needs before the next tick."""
        self.passes = 0
        self._last = time.monotonic()
        self._saved: tuple[int, int, int] | None = None

    def start(self) -> None:
        """Take full passes over from the interpreter (undone by `stop`)."""
        if self._saved is None:
            young, middle, old = gc.get_threshold()
            # Another pacer in this process (tests run several servers) may hold it already.
            self._saved = (young, middle, 10 if old == NEVER else old)
            gc.set_threshold(young, middle, NEVER)
            self._last = time.monotonic()

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def due(self) -> bool:
        return (
            self._saved is not None
            and gc.isenabled()
            and time.monotonic() - self._last >= self.every
        )

    def between_ticks(self, next_tick_in: float) -> bool:
        """Run a full pass if one is due and fits before the next tick; True if it ran."""
        if not self.due():
            return False
        fits = next_tick_in >= 2 * self.last_pause + 0.01
        if not fits and time.monotonic() - self._last < self.every_max:
            return False
        began = time.perf_counter()
        gc.collect()
        self.last_pause = time.perf_counter() - began
        self._last = time.monotonic()
        self.passes += 1
        log.debug("full collection between ticks: %.1f ms", self.last_pause * 1000)
        return True

"""Prometheus text exposition, by hand: counters, gauges and histograms, nothing more.

A recorder, not logic: the clock, the hub and the bot relay feed it; `/metrics` renders it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class Counter:
    kind = "counter"

    def __init__(self, name: str, help_: str) -> None:
        self.name = name
        self.help = help_
        self.values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items())) if labels else ()
        self.values[key] = self.values.get(key, 0.0) + amount

    def get(self, **labels: str) -> float:
        return self.values.get(tuple(sorted(labels.items())), 0.0)

    def samples(self) -> Iterable[str]:
        if not self.values:
            yield f"{self.name} 0"
        for key, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(key)} {_num(value)}"


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        self.values[tuple(sorted(labels.items()))] = value


class Histogram:
    kind = "histogram"

    def __init__(self, name: str, help_: str, buckets: tuple[float, ...]) -> None:
        self.name = name
        self.help = help_
        self.buckets = buckets
        self.series: dict[Labels, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        counts, sums = self.series.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
        counts[bisect.bisect_left(self.buckets, value)] += 1
        sums[0] += value

    def count(self, **labels: str) -> int:
        series = self.series.get(tuple(sorted(labels.items())))
        return sum(series[0]) if series else 0

    def samples(self) -> Iterable[str]:
        for key, (counts, sums) in sorted(self.series.items()):
            running = 0
            for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
                running += n
                le = 'le="' + _num(bound) + '"'
                yield f"{self.name}_bucket{_labels(key, le)} {running}"
            yield f"{self.name}_sum{_labels(key)} {_num(sums[0])}"
            yield f"{self.name}_count{_labels(key)} {running}"


_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Everything the server exposes at `/metrics`."""

    def __init__(self) -> None:
        self.ticks = Counter("smallwood_ticks_total", "Ticks completed.")
        self.world_tick = Gauge("smallwood_world_tick", "The last tick the world completed.")
        self.tick_seconds = Histogram(
            "smallwood_tick_duration_seconds",
            "Tick overhead after decisions: step, commit and publish.",
            _SECONDS,
        )
        self.phase_seconds = Histogram(
            "smallwood_tick_phase_seconds",
            "Tick overhead by phase: step (the world and its documents), commit, publish.",
            _SECONDS,
        )
        self.overruns = Counter(
            "smallwood_tick_overruns_total", "Ticks that ended after the next one was due."
        )
        self.decision_seconds = Histogram(
            "smallwood_decision_latency_seconds",
            "Decision latency per creature, by brain.",
            _SECONDS,
        )
        self.noops = Counter("smallwood_noops_total", "Creatures that did nothing, by reason.")
        self.viewers = Gauge("smallwood_viewers", "Connected viewers.")
        self.bots = Gauge("smallwood_bots", "Bots holding a creature.")
        self.bytes_out = Counter("smallwood_bytes_out_total", "Websocket payload bytes sent.")
        self.deltas = Counter("smallwood_deltas_published_total", "Deltas published.")
        self.dropped = Counter(
            "smallwood_dropped_backlogs_total",
            "Viewer backlogs dropped for a fresh snapshot (slow readers).",
        )
        self.refused = Counter("smallwood_frames_refused_total", "Frames refused, by error code.")
        self.closed = Counter(
            "smallwood_connections_closed_total", "Connections closed by the server, by reason."
        )
        self.paused = Gauge("smallwood_paused", "1 while the clock is paused.")

    def render(self) -> str:
        lines: list[str] = []
        for metric in (
            self.ticks,
            self.world_tick,
            self.tick_seconds,
            self.phase_seconds,
            self.overruns,
            self.decision_seconds,
            self.noops,
            self.viewers,
            self.bots,
            self.bytes_out,
            self.deltas,
            self.dropped,
            self.refused,
            self.closed,
            self.paused,
        ):
            lines.append(f"# HELP {metric.name} {metric.help}")
            lines.append(f"# TYPE {metric.name} {metric.kind}")
            lines.extend(metric.samples())
        return "\n".join(lines) + "\n"

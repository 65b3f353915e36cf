"""What the server counts, exposed at `/metrics` through `prometheus_client`.

A recorder, not logic: the clock, the hub and the bot relay feed it; `/metrics` renders it.
The recorders are plain dicts (an increment is one dict update, cheap enough for every
creature of every tick); a `prometheus_client` collector turns them into metric families at
scrape time, and `prometheus_client` writes the exposition. Each `Metrics` has its own
registry, so tests and benchmarks can run many servers in one process.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

if TYPE_CHECKING:
    from server.minds.failsafe import BrainHealth

Labels = tuple[tuple[str, str], ...]


def _key(labels: dict[str, str]) -> Labels:
    return tuple(sorted(labels.items())) if labels else ()


class Counter:
    kind = "counter"

    def __init__(
        self, name: str, help_: str, labels: Sequence[str] = (), known: Iterable[str] = ()
    ) -> None:
        """`known`: values of the one label that are shown at 0 before they first happen."""
        self.name = name
        self.help = help_
        self.labelnames = tuple(labels)
        self.values: dict[Labels, float] = {}
        for value in known:
            self.values[((self.labelnames[0], value),)] = 0.0

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = _key(labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def get(self, **labels: str) -> float:
        return self.values.get(_key(labels), 0.0)

    def _label_values(self, key: Labels) -> list[str]:
        found = dict(key)
        return [found.get(name, "") for name in self.labelnames]

    def family(self) -> Metric:
        family = CounterMetricFamily(self.name, self.help, labels=self.labelnames)
        if not self.values and not self.labelnames:
            family.add_metric([], 0.0)
        for key, value in sorted(self.values.items()):
            family.add_metric(self._label_values(key), value)
        return family


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        self.values[_key(labels)] = value

    def family(self) -> Metric:
        family = GaugeMetricFamily(self.name, self.help, labels=self.labelnames)
        if not self.values and not self.labelnames:
            family.add_metric([], 0.0)
        for key, value in sorted(self.values.items()):
            family.add_metric(self._label_values(key), value)
        return family


class Histogram:
    kind = "histogram"

    def __init__(
        self, name: str, help_: str, buckets: tuple[float, ...], labels: Sequence[str] = ()
    ) -> None:
        self.name = name
        self.help = help_
        self.buckets = buckets
        self.labelnames = tuple(labels)
        self.series: dict[Labels, tuple[list[int], list[float]]] = {}
        """Labels -> (count per bucket, not cumulative, the last one +Inf; [sum])."""

    def observe(self, value: float, **labels: str) -> None:
        counts, sums = self.series.setdefault(_key(labels), ([0] * (len(self.buckets) + 1), [0.0]))
        counts[bisect.bisect_left(self.buckets, value)] += 1
        sums[0] += value

    def count(self, **labels: str) -> int:
        series = self.series.get(_key(labels))
        return sum(series[0]) if series else 0

    def family(self) -> Metric:
        family = HistogramMetricFamily(self.name, self.help, labels=self.labelnames)
        for key, (counts, sums) in sorted(self.series.items()):
            running = 0
            buckets: list[tuple[str, float]] = []
            for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
                running += n
                buckets.append(("+Inf" if math.isinf(bound) else repr(float(bound)), running))
            found = dict(key)
            family.add_metric([found.get(n, "") for n in self.labelnames], buckets, sums[0])
        return family


_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_DECISION_SECONDS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
NOOP_REASONS = ("thinking", "deadline", "brain_error", "engine_error", "backoff", "engine_busy")
"""No-op reasons shown at 0 from the start (others appear when they first happen)."""
DECISION_STATUSES = ("ok", "repaired", "noop")


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
            labels=("phase",),
        )
        self.overruns = Counter(
            "smallwood_tick_overruns_total", "Ticks that ended after the next one was due."
        )
        self.decision_seconds = Histogram(
            "smallwood_decision_latency_seconds",
            "Decision latency per creature, by brain (a model brain's: its whole batch).",
            _DECISION_SECONDS,
            labels=("brain",),
        )
        self.decisions = Counter(
            "smallwood_decisions_total",
            "Decisions that came due, by brain and status: ok, repaired, or noop (late, "
            "failed or unusable: smallwood_noops_total has the reasons). A creature "
            "thinking between its decisions is not counted here.",
            labels=("brain", "status"),
        )
        self.noops = Counter(
            "smallwood_noops_total",
            "Creatures that did nothing, by reason (thinking: a slow mind between decisions).",
            labels=("reason",),
            known=NOOP_REASONS,
        )
        self.standing = Counter(
            "smallwood_standing_orders_total",
            "Creatures that repeated their last offers while their mind was thinking.",
            labels=("brain",),
        )
        self.cadence = Gauge(
            "smallwood_brain_cadence_ticks",
            "Ticks a model brain's batch may take: its creatures decide at most this often.",
            labels=("brain",),
        )
        self.warm_latency = Gauge(
            "smallwood_brain_warm_latency_seconds",
            "A model brain's warm batch latency, measured at start.",
            labels=("brain",),
        )
        self.viewers = Gauge("smallwood_viewers", "Connected viewers.")
        self.bots = Gauge("smallwood_bots", "Bots holding a creature.")
        self.bytes_out = Counter("smallwood_bytes_out_total", "Websocket payload bytes sent.")
        self.deltas = Counter("smallwood_deltas_published_total", "Deltas published.")
        self.dropped = Counter(
            "smallwood_dropped_backlogs_total",
            "Viewer backlogs dropped for a fresh snapshot (slow readers).",
        )
        self.refused = Counter(
            "smallwood_frames_refused_total", "Frames refused, by error code.", labels=("code",)
        )
        self.closed = Counter(
            "smallwood_connections_closed_total",
            "Connections closed by the server, by reason.",
            labels=("reason",),
        )
        self.retired = Counter(
            "smallwood_creatures_retired_total",
            "Creatures that left the Wood, by reason (left, retired, absent).",
            labels=("reason",),
        )
        self.paused = Gauge("smallwood_paused", "1 while the clock is paused.")
        self.health: BrainHealth | None = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def watch(self, health: BrainHealth) -> None:
        """Expose the brains' failures (`smallwood_brain_errors_total`, `..._failing`)."""
        self.health = health

    def collect(self) -> Iterator[Metric]:
        """The `prometheus_client` collector protocol: every family, read now."""
        for metric in (
            self.ticks,
            self.world_tick,
            self.tick_seconds,
            self.phase_seconds,
            self.overruns,
            self.decision_seconds,
            self.decisions,
            self.noops,
            self.standing,
            self.cadence,
            self.warm_latency,
            self.viewers,
            self.bots,
            self.bytes_out,
            self.deltas,
            self.dropped,
            self.refused,
            self.closed,
            self.retired,
            self.paused,
        ):
            yield metric.family()
        errors = CounterMetricFamily(
            "smallwood_brain_errors_total",
            "Calls in which a brain raised (its creatures no-op: brain_error), by error type.",
            labels=("brain", "error"),
        )
        failing = GaugeMetricFamily(
            "smallwood_brain_failing", "1 while a brain's last call raised.", labels=("brain",)
        )
        if self.health is not None:
            for (brain, error), n in sorted(self.health.errors.items()):
                errors.add_metric([brain, error], n)
            for brain in sorted({b for b, _ in self.health.errors}):
                failing.add_metric([brain], 1.0 if brain in self.health.failing else 0.0)
        yield errors
        yield failing

    def render(self) -> str:
        return generate_latest(self.registry).decode()

"""The tick loop: decide, step, commit, publish, on a fixed clock that does not drift.

Each tick starts on a deadline computed from the first (`start + n * period`), never from
when the last one happened to finish. Every brain decides at once for its creatures until
the decision deadline; what is not in by then is a no-op with its reason, and a brain still
busy from an earlier tick is skipped rather than waited for, so neither a slow engine nor a
stuck bot nor a slow viewer can push the next tick back. The world steps (pure), the tick is
committed, and only then is its delta published, so no viewer ever sees a tick that a crash
could take back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from server.minds.brain import Brain, DecisionResult, noop
from server.minds.cadence import THINKING
from server.minds.failsafe import BrainHealth, FailsafeBrain
from server.world import (
    Action,
    Command,
    WorldState,
    observe_all,
    state_hash,
    state_to_dict,
    step,
    world_document,
)
from server.world.observe import Observation
from shared.merge_patch import diff
from shared.world import Driver

from .bots import BotRelay
from .commands import PendingCommands
from .events_wire import events_to_wire
from .gcpace import GcPacer
from .live.history import History, history_point
from .live.hub import Hub
from .metrics import Metrics
from .records import TickRecord
from .store import Store

log = logging.getLogger(__name__)

MIN_PERIOD = 0.02
MAX_PERIOD = 3600.0
BRAIN_FAILURES = frozenset(
    {
        "brain_error",
        "brain_busy",
        "deadline",
        "missing",
        "engine_error",
        "engine_busy",
        "backoff",
        "fallback_error",
    }
)
"""No-op reasons that mean a mind failed (a bot that does not answer is not a failure)."""


@dataclass(slots=True)
class ClockConfig:
    period: float = 1.0
    """Seconds per tick."""
    decision_share: float = 0.6
    """Part of each tick given to decisions; the rest is for stepping and publishing."""
    grace: float = 0.005
    """Seconds past the decision deadline the clock waits for a brain's answer to arrive."""
    idle_after: float = 0.0
    """Seconds without any viewer or bot before the idle policy applies (0: never)."""
    idle: Literal["pause", "scripted"] = "pause"
    """When idle: stop the clock, or keep it running with model creatures on the fallback."""
    gc_pacing: bool = True
    """Run the garbage collector's full passes between ticks (see `server.gcpace`)."""


class Clock:
    def __init__(
        self,
        state: WorldState,
        *,
        store: Store,
        hub: Hub,
        history: History,
        metrics: Metrics,
        commands: PendingCommands,
        brains: Mapping[str, Brain],
        fallback: Brain,
        relay: BotRelay | None = None,
        config: ClockConfig | None = None,
        health: BrainHealth | None = None,
    ) -> None:
        """Every brain's `decide` runs inside a `FailsafeBrain` reporting to `health`: a
        brain that raises costs its own creatures that tick, never the others'."""
        self.state = state
        self.store = store
        self.hub = hub
        self.history = history
        self.metrics = metrics
        self.commands = commands
        self.brains = dict(brains)
        self.fallback = fallback
        self.relay = relay
        self.config = config or ClockConfig()
        if relay is not None:  # paced bots' turns reach ahead to later ticks' deadlines
            relay.timing = lambda: (self.period, self.period * self.config.decision_share)
        self.paused = False
        self.idle = False
        self.ticking = False
        """A tick is in progress (deciding, stepping, committing or publishing)."""
        self.last_tick_ms = 0.0
        self._stopping = False
        self._wake = asyncio.Event()
        self._busy: dict[int, asyncio.Task[dict[str, DecisionResult]]] = {}
        self._warned: set[str] = set()
        self.health = health or BrainHealth()
        self._guards: dict[int, FailsafeBrain] = {}
        metrics.watch(self.health)
        self._last_start = time.monotonic()
        self._next_at = self._last_start
        self._commands_for = state.tick + 1
        """The tick a command queued now applies to."""
        self._last_audience = time.monotonic()
        self.pacer = GcPacer()
        self.failing = ""
        """Why the world is degraded (brains failing last tick), or "" when it is not."""
        self._announced: tuple[str, float, str] | None = None

    @property
    def period(self) -> float:
        return self.config.period

    # Operator commands

    @property
    def status(self) -> str:
        """The world's state for viewers: paused, idle, degraded or live."""
        if self.paused:
            return "paused"
        if self.idle:
            return "idle"
        return "degraded" if self.failing else "live"

    def announce(self) -> None:
        """Tell viewers the status (a `status` frame) when it or the period changed."""
        now = (self.status, self.period, self.failing)
        if now != self._announced:
            self._announced = now
            frame: dict[str, Any] = {
                "type": "status",
                "status": now[0],
                "tick": self.state.tick,
                "period": now[1],
            }
            if now[2]:
                frame["reason"] = now[2]  # absent, never null, when nothing is failing
            self.hub.announce(frame)

    @property
    def parked(self) -> bool:
        """Paused, with no tick in progress: nothing moves until `resume()` (a tick under way
        when `pause()` came is committed and published first)."""
        return self.paused and not self.ticking

    def pause(self) -> None:
        self.paused = True
        self.metrics.paused.set(1)
        self.announce()
        self._wake.set()

    def resume(self) -> None:
        self.paused = False
        self.metrics.paused.set(0)
        self.announce()
        self._wake.set()

    def set_period(self, seconds: float) -> None:
        """Change the tick rate from the next tick on; raises ValueError out of bounds."""
        if not MIN_PERIOD <= seconds <= MAX_PERIOD or math.isnan(seconds):
            raise ValueError(f"a tick lasts between {MIN_PERIOD} and {MAX_PERIOD} seconds")
        self.config.period = seconds
        self._next_at = self._last_start + seconds
        self.announce()
        self._wake.set()

    def command(self, command: Command) -> int:
        """Queue a command for the next tick; returns that tick."""
        self.commands.add(command)
        return self._commands_for

    def stop(self) -> None:
        """Stop after the tick in progress is committed and published."""
        self._stopping = True
        self._wake.set()

    def poke(self) -> None:
        """Someone connected: wake an idle world."""
        self._last_audience = time.monotonic()
        if self.idle:
            self._wake.set()

    # The loop

    async def run(self) -> None:
        """Tick until `stop()`. Returns once the last tick is committed."""
        if self.config.gc_pacing:
            self.pacer.start()
        try:
            await self._run()
        finally:
            self.pacer.stop()

    async def _run(self) -> None:
        self._next_at = time.monotonic()
        while not self._stopping:
            if self.paused or self._idle_now():
                self.pacer.between_ticks(math.inf)  # no tick to delay: collect when due
                await self._sleep(self.pacer.every if self.paused else 0.25)
                self._next_at = time.monotonic()
                continue
            delay = self._next_at - time.monotonic()
            if delay > 0:
                await self._sleep(delay)
                continue
            start = self._next_at
            self._last_start = start
            self.ticking = True
            try:
                await self.tick(deadline=start + self.period * self.config.decision_share)
            finally:
                self.ticking = False
            self._next_at = start + self.period
            now = time.monotonic()
            if now > self._next_at:
                self.metrics.overruns.inc()
                self._next_at += math.ceil((now - self._next_at) / self.period) * self.period
            if self.pacer.due():
                await asyncio.sleep(0)  # the writers this tick woke go first
                self.pacer.between_ticks(self._next_at - time.monotonic())

    async def _sleep(self, seconds: float | None) -> None:
        """Sleep for `seconds` (None: until woken), or until a command wakes the loop."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _idle_now(self) -> bool:
        cfg = self.config
        if cfg.idle_after <= 0:
            return False
        audience = len(self.hub.viewers) + (len(self.relay.sessions) if self.relay else 0)
        now = time.monotonic()
        if audience:
            self._last_audience = now
        idle = now - self._last_audience > cfg.idle_after
        if idle != self.idle:
            self.idle = idle
            log.info("world %s", "idle" if idle else "awake")
            self.announce()
        return idle and cfg.idle == "pause"

    async def tick(self, *, deadline: float) -> None:
        """One whole tick: decide by `deadline`, step, commit, publish."""
        state = self.state
        observations = observe_all(state)
        results = await self._decide(observations, deadline)
        began = time.perf_counter()
        actions: dict[str, Action] = {
            cid: r.action for cid, r in results.items() if r.status != "noop"
        }
        commands = self.commands.take()
        self._commands_for = state.tick + 2  # this tick's are taken: later ones go to the next
        new_state, events = step(state, actions, commands)
        wire = events_to_wire(events)
        world = self.document(new_state)
        point = history_point(world)
        every = self.store.snapshot_every
        record = TickRecord(
            tick=new_state.tick,
            actions=actions,
            commands=commands,
            events=wire,
            state_hash=state_hash(new_state),
            stats=point,
            traces=results,
            snapshot=state_to_dict(new_state) if new_state.tick % every == 0 else None,
        )
        patch = diff(self.hub.world, world)
        stepped = time.perf_counter()
        await self.store.commit(record)
        committed = time.perf_counter()
        self.state = new_state
        if self.relay is not None:
            self.relay.settle(new_state, wire, commands)
        self.hub.publish(new_state.tick, patch, wire, world)
        failed = [r for r in results.values() if r.noop_reason in BRAIN_FAILURES]
        self.failing = f"{len(failed)} of {len(results)} minds failed" if failed else ""
        self.announce()
        self.history.add(new_state.tick, point)
        done = time.perf_counter()
        self.last_tick_ms = (done - began) * 1000
        phases = self.metrics.phase_seconds
        phases.observe(stepped - began, phase="step")
        phases.observe(committed - stepped, phase="commit")
        phases.observe(done - committed, phase="publish")
        self.metrics.tick_seconds.observe(done - began)
        self.metrics.ticks.inc()
        self.metrics.world_tick.set(new_state.tick)
        self._count(results)

    def _count(self, results: Mapping[str, DecisionResult]) -> None:
        metrics = self.metrics
        for r in results.values():
            if r.standing:
                metrics.standing.inc(brain=r.brain)
                continue
            # A no-op's latency is not a decision's (a missed deadline reports 0 ms): count
            # it by reason only, so a failing engine cannot look fast in /metrics.
            if r.status == "noop":
                reason = r.noop_reason or "unspecified"
                metrics.noops.inc(reason=reason)
                if reason == THINKING:
                    continue  # between two decisions of a slow mind: none was due
            else:
                metrics.decision_seconds.observe(r.latency_ms / 1000, brain=r.brain)
            metrics.decisions.inc(brain=r.brain, status=r.status)

    def health_report(self) -> dict[str, Any]:
        """For `/healthz`: ok while no brain is failing, else what fails."""
        problems = self.health.problems()
        return {"ok": not problems, "problems": problems}

    def document(self, state: WorldState) -> dict[str, Any]:
        """The world document the server publishes: the core's, plus each creature's `driver`
        (who decides for it now, which only the server knows: a bot may hold any creature)."""
        world = world_document(state)
        for cid, card in world["creatures"].items():
            card["driver"] = self.driver(cid, state)
        return world

    def driver(self, cid: str, state: WorldState | None = None) -> Driver:
        """`bot` while a connected bot holds `cid`, `model` when it routes to a model brain,
        else `script` (the scripted brain, or the fallback for an absent bot or when idle)."""
        relay = self.relay
        if relay is not None and cid in relay.sessions:
            return "bot"
        brain = self._brain_for(cid, (state or self.state).creatures[cid].brain, set())
        if brain is relay or brain is self.fallback or brain.name == "scripted":
            return "script"
        return "model"

    # Decisions

    def _route(
        self, observations: Mapping[str, Observation]
    ) -> dict[Brain, dict[str, Observation]]:
        groups: dict[Brain, dict[str, Observation]] = {}
        relay = self.relay
        claimed = relay.claimed() if relay is not None else set()
        for cid, obs in observations.items():
            brain = self._brain_for(cid, self.state.creatures[cid].brain, claimed)
            groups.setdefault(brain, {})[cid] = obs
        return groups

    def _brain_for(self, cid: str, name: str, claimed: set[str]) -> Brain:
        relay = self.relay
        if relay is not None and (cid in claimed or name == "bot"):
            return relay
        if self.idle and self.config.idle == "scripted":
            return self.fallback
        return self.brains.get(name) or self._unknown(name)

    def _unknown(self, name: str) -> Brain:
        if name not in self._warned:
            self._warned.add(name)
            log.warning("no brain %r here: its creatures run on %r", name, self.fallback.name)
        return self.fallback

    async def _decide(
        self, observations: Mapping[str, Observation], deadline: float
    ) -> dict[str, DecisionResult]:
        results: dict[str, DecisionResult] = {}
        tasks: dict[asyncio.Task[dict[str, DecisionResult]], tuple[Brain, dict[str, Observation]]]
        tasks = {}
        for brain, obs in self._route(observations).items():
            if id(brain) in self._busy:
                results.update((cid, noop(brain.name, "brain_busy")) for cid in obs)
                continue
            task = asyncio.ensure_future(self._guard(brain).decide(obs, deadline=deadline))
            tasks[task] = (brain, obs)
        if not tasks:
            return results
        timeout = max(0.0, deadline + self.config.grace - time.monotonic())
        done, _ = await asyncio.wait(tasks, timeout=timeout)
        for task, (brain, obs) in tasks.items():
            if task not in done:
                task.cancel()
                self._busy[id(brain)] = task
                task.add_done_callback(self._free(id(brain)))
                results.update((cid, noop(brain.name, "deadline")) for cid in obs)
                continue
            exc = task.exception()
            if exc is not None:
                log.error("brain %r failed", brain.name, exc_info=exc)
                results.update((cid, noop(brain.name, "brain_error")) for cid in obs)
                continue
            got = task.result()
            for cid in obs:
                results[cid] = got.get(cid) or noop(brain.name, "missing")
        return results

    def _guard(self, brain: Brain) -> Brain:
        guard = self._guards.get(id(brain))
        if guard is None:
            guard = self._guards[id(brain)] = FailsafeBrain(brain, self.health)
        return guard

    def _free(self, key: int) -> Callable[[asyncio.Task[dict[str, DecisionResult]]], None]:
        def done(task: asyncio.Task[dict[str, DecisionResult]]) -> None:
            self._busy.pop(key, None)
            if not task.cancelled():
                with contextlib.suppress(BaseException):
                    task.exception()

        return done

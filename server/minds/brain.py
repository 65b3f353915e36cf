"""The one seam every source of decisions plugs into.

A brain decides for a set of creatures at once, by a deadline: scripted minds, a language
model engine (one batched call for all its creatures), or the bots connected over the
websocket. Whatever it cannot decide in time, or cannot make sense of, comes back as a no-op
that carries its reason, so the tick always has one result per creature.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from server.world.observe import Observation
from shared.decision import Decision

from .prompts import PromptBuilder
from .scripted import ScriptedMind

Status = Literal["ok", "repaired", "noop"]


@dataclass(frozen=True, slots=True)
class DecisionResult:
    """A decision with everything its trace needs."""

    decision: Decision
    status: Status
    brain: str
    latency_ms: float = 0.0
    repairs: tuple[str, ...] = ()
    noop_reason: str = ""
    prompt: str = ""
    raw: str = ""
    messages: tuple[dict[str, str], ...] = ()
    """The chat messages the prompt was rendered from (system, user), for datasets."""
    standing: bool = False
    """A standing order: the creature's last offers repeated while its mind is thinking
    (see `server.minds.cadence`), not a new decision."""


def noop(
    brain: str,
    reason: str,
    *,
    latency_ms: float = 0.0,
    prompt: str = "",
    messages: tuple[dict[str, str], ...] = (),
) -> DecisionResult:
    return DecisionResult(
        Decision(), "noop", brain, latency_ms, noop_reason=reason, prompt=prompt, messages=messages
    )


class Brain(Protocol):
    name: str

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        """One result per observation, by `deadline` (a `time.monotonic()` instant)."""
        ...

    async def aclose(self) -> None: ...


class ScriptedBrain:
    """The embedded default: heuristic creatures, instant and deterministic.

    Given a prompt builder, each result also carries the chat messages a model would have
    been shown, so the scripted baseline's trades can become a fine-tuning dataset.
    """

    name = "scripted"
    separable = True
    """Decides creature by creature: a failsafe may retry one creature at a time."""

    def __init__(self, seed: int = 0, *, prompts: PromptBuilder | None = None) -> None:
        self.mind = ScriptedMind(seed)
        self.prompts = prompts

    def decide_now(self, observations: Mapping[str, Observation]) -> dict[str, DecisionResult]:
        out: dict[str, DecisionResult] = {}
        for cid, obs in observations.items():
            start = time.perf_counter()
            decision = self.mind.decide(obs)
            elapsed = (time.perf_counter() - start) * 1000
            messages = tuple(self.prompts.messages(obs)) if self.prompts else ()
            out[cid] = DecisionResult(decision, "ok", self.name, elapsed, messages=messages)
        return out

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        return self.decide_now(observations)

    async def aclose(self) -> None:
        return None


class TimedBrain:
    """Wraps a brain so every call has a deadline `seconds` from when it is made.

    For loops that await their brains with no deadline of their own (a headless simulation);
    an earlier deadline passed in still wins.
    """

    def __init__(self, brain: Brain, seconds: float) -> None:
        self.brain = brain
        self.seconds = seconds
        self.name = brain.name

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        own = time.monotonic() + self.seconds
        return await self.brain.decide(observations, deadline=min(deadline, own))

    async def aclose(self) -> None:
        await self.brain.aclose()

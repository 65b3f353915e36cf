"""The one seam every source of decisions plugs into.

A brain decides for a set of creatures at once, by a deadline: scripted minds, a language
model engine (one batched call for all its creatures), or the bots connected over the
websocket. Whatever it cannot decide in time, or cannot make sense of, comes back as a no-op
that carries its reason, so the tick always has one result per creature.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Literal, Protocol

from server.world.actions import Action
from server.world.observe import Observation
from shared.decision import Decision, Offer

from .prompts import PromptBuilder
from .scripted import ScriptedMind
from .translate import to_action, to_decision

Status = Literal["ok", "repaired", "noop"]


class DecisionResult:
    """A decision with everything its trace needs.

    A brain hands over its decision either as a protocol `Decision` (a model's parsed answer,
    a bot's act) or as the world's `Action` with a way to word its private thought (scripted
    minds, which decide in the world's terms). Either form is derived from the other the first
    time it is read, so a headless run of a thousand scripted creatures never builds the
    pydantic decisions and thoughts that no trace reads. Treat a result as immutable.
    """

    __slots__ = (
        "_action",
        "_decision",
        "_explain",
        "brain",
        "intended",
        "latency_ms",
        "messages",
        "noop_reason",
        "observation",
        "prompt",
        "raw",
        "repairs",
        "standing",
        "status",
    )

    def __init__(
        self,
        decision: Decision | None = None,
        status: Status = "ok",
        brain: str = "",
        latency_ms: float = 0.0,
        *,
        action: Action | None = None,
        explain: Callable[[], str] | None = None,
        repairs: tuple[str, ...] = (),
        noop_reason: str = "",
        prompt: str = "",
        raw: str = "",
        messages: tuple[dict[str, str], ...] = (),
        standing: bool = False,
        observation: Observation | None = None,
        intended: tuple[Offer, ...] | None = None,
    ) -> None:
        if decision is None and action is None:
            raise TypeError("a DecisionResult needs a decision or an action")
        self._decision = decision
        self._action = action
        self._explain = explain
        """Words the private thought of a decision given as an action; called once, if the
        decision is read."""
        self.status = status
        self.brain = brain
        self.latency_ms = latency_ms
        self.repairs = repairs
        self.noop_reason = noop_reason
        self.prompt = prompt
        self.raw = raw
        self.messages = messages
        """The chat messages the prompt was rendered from (system, user), for datasets."""
        self.standing = standing
        """A standing order: the creature's last offers repeated while its mind is thinking
        (see `server.minds.cadence`), not a new decision."""
        self.observation = observation
        """What the creature saw (model brains), for judging the decision against it."""
        self.intended = intended
        """The offers the model asked for, before any guard or drop; None when not known."""

    @property
    def decision(self) -> Decision:
        if self._decision is None:
            assert self._action is not None
            thought = self._explain() if self._explain is not None else None
            self._decision = to_decision(self._action, thought)
        return self._decision

    @property
    def action(self) -> Action:
        """What the world is asked to do: the decision without its thought, in bits."""
        if self._action is None:
            assert self._decision is not None
            self._action = to_action(self._decision)
        return self._action

    def __repr__(self) -> str:
        return (
            f"DecisionResult({self.decision!r}, {self.status!r}, {self.brain!r}, "
            f"{self.latency_ms!r}, noop_reason={self.noop_reason!r})"
        )


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
        act, explain, prompts = self.mind.act, self.mind.thought, self.prompts
        clock = time.perf_counter
        for cid, obs in observations.items():
            start = clock()
            action = act(obs)
            elapsed = (clock() - start) * 1000
            out[cid] = DecisionResult(
                None,
                "ok",
                self.name,
                elapsed,
                action=action,
                explain=None if obs.exiled else partial(explain, obs, action),
                messages=tuple(prompts.messages(obs)) if prompts else (),
            )
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

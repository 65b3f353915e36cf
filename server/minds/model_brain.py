"""A brain that asks a language model: one batched engine call per tick, under the deadline.

Every creature it drives gets its prompt from the same `PromptBuilder`; all prompts go to the
engine in ONE `generate` call. Whatever the engine does, `decide` returns one result per
creature by the deadline (plus the few milliseconds parsing takes):

- an answer is parsed and repaired (`repair.parse_decision`): status ok, repaired or noop;
- no answer by the deadline: no-op "deadline"; the late answers are discarded;
- the engine refused one prompt (it gave None): no-op "no_answer" for that creature;
- the engine raised: no-op "engine_error" for all, logged, and the brain backs off
  exponentially (1 s, 2 s, 4 s... up to a minute): calls inside the back-off window are not
  made at all, their creatures no-op "backoff"; the first success resets it;
- no answer by the deadline from an engine that has never answered, or for the
  `SILENT_MISSES`th batch in a row: that counts as an engine failure too, so an engine that
  never answers (a crash-looping container) is backed off rather than handed a batch every
  tick, while a slow one merely misses; any answer, even a late one, ends the back-off;
- the previous batch is still running when the next tick comes (a non-abortable engine past
  its deadline): no-op "engine_busy" for all, the engine is not handed a second batch. An
  engine that aborts on cancel (`aborts_on_cancel`) is cancelled at the deadline instead, so
  it is free for the next tick.

It never raises into the tick loop except for its own cancellation.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from server.world.observe import Observation

from .batch import generate_batch
from .brain import DecisionResult, noop
from .engine import Engine
from .prompts import PromptBuilder

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0
SILENT_MISSES = 3
"""Missed batches in a row, with no answer between, after which each miss is a failure."""


class ModelBrain:
    """A `Brain` over one `Engine`. Create one per engine; creatures may share it."""

    def __init__(
        self,
        engine: Engine,
        builder: PromptBuilder,
        *,
        goods: Sequence[str] | None = None,
        max_tokens: int = 96,
        thought: bool | None = None,
        own_good_buys: Literal["drop", "keep"] = "drop",
        backoff_first_s: float = BACKOFF_FIRST_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        clock: Callable[[], float] = time.monotonic,
        name: str | None = None,
    ) -> None:
        self.engine = engine
        self.name = name or engine.name
        self.builder = builder
        self.goods = tuple(goods) if goods is not None else builder.goods
        self.max_tokens = max_tokens
        self.thought = builder.thought if thought is None else thought
        self.own_good_buys = own_good_buys
        self.backoff_first_s = backoff_first_s
        self.backoff_max_s = backoff_max_s
        self.clock = clock
        self.failures = 0
        self.backoff_until = -math.inf
        self.calls = 0
        """Batches handed to the engine (one per tick at most)."""
        self._batch: asyncio.Task[list[str | None]] | None = None
        self._answered = False
        """Whether the engine ever answered a batch (the warm-up's included)."""
        self._misses = 0
        """Batches missed since the engine's last answer."""

    @property
    def busy(self) -> bool:
        """Whether a batch handed to the engine has not finished yet."""
        return self._batch is not None and not self._batch.done()

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        """One result per observation by `deadline` (a `time.monotonic()` instant)."""
        if not observations:
            return {}
        started = time.monotonic()
        ids = list(observations)
        messages = {cid: tuple(self.builder.messages(observations[cid])) for cid in ids}
        prompts = {cid: self.builder.renderer(list(messages[cid])) for cid in ids}

        def all_noop(reason: str) -> dict[str, DecisionResult]:
            ms = (time.monotonic() - started) * 1000
            return {
                cid: noop(
                    self.name, reason, latency_ms=ms, prompt=prompts[cid], messages=messages[cid]
                )
                for cid in ids
            }

        previous = self._batch
        if previous is not None and not previous.done():
            if not self.engine.aborts_on_cancel:
                return all_noop("engine_busy")
            previous.cancel()
        if self.clock() < self.backoff_until:
            return all_noop("backoff")
        if deadline <= time.monotonic():
            return all_noop("deadline")  # no time left: a call now could only be late

        self.calls += 1
        batch = asyncio.create_task(
            self._generate([prompts[cid] for cid in ids], [observations[cid] for cid in ids])
        )
        batch.add_done_callback(self._settled)
        self._batch = batch
        timeout = None if math.isinf(deadline) else max(0.0, deadline - time.monotonic())
        try:
            done, _ = await asyncio.wait({batch}, timeout=timeout)
        except asyncio.CancelledError:
            if self.engine.aborts_on_cancel:
                batch.cancel()
            self._missed()
            raise
        if not done:
            log.info("%s: no answer by the deadline for %d creatures", self.name, len(ids))
            self._missed()
            if self.engine.aborts_on_cancel:
                batch.cancel()  # the answers would be discarded: free the engine now
            return all_noop("deadline")
        error = batch.exception() if not batch.cancelled() else asyncio.CancelledError()
        if error is not None:
            self._fail(error)
            return all_noop("engine_error")
        self.failures = 0
        texts = batch.result()
        ms = (time.monotonic() - started) * 1000
        out: dict[str, DecisionResult] = {}
        for i, cid in enumerate(ids):
            text = texts[i] if i < len(texts) else None
            if text is None:
                out[cid] = noop(
                    self.name,
                    "no_answer",
                    latency_ms=ms,
                    prompt=prompts[cid],
                    messages=messages[cid],
                )
                continue
            reading = self.builder.space.interpret(
                text, observations[cid], drop_own_buys=self.own_good_buys == "drop"
            )
            parsed = reading.parsed
            out[cid] = DecisionResult(
                decision=parsed.decision,
                status=parsed.status,
                brain=self.name,
                latency_ms=ms,
                repairs=parsed.repairs,
                noop_reason=parsed.noop_reason or "",
                prompt=prompts[cid],
                raw=text,
                messages=messages[cid],
                observation=observations[cid],
                intended=reading.intended,
            )
        return out

    async def warm_up(
        self, observations: Mapping[str, Observation], *, timeout_s: float
    ) -> tuple[float, float]:
        """Two batches of these creatures' prompts straight to the engine, as a tick would
        send them: (cold, warm) seconds. Raises what the engine raises, or `TimeoutError`
        when a batch takes over `timeout_s`."""
        seen = list(observations.values())
        prompts = [self.builder.renderer(self.builder.messages(o)) for o in seen]
        took: list[float] = []
        for _ in range(2):
            began = time.monotonic()
            async with asyncio.timeout(timeout_s):
                await self._generate(prompts, seen)
            took.append(time.monotonic() - began)
            self._answered, self._misses = True, 0
        return took[0], took[1]

    async def _generate(
        self, prompts: list[str], observations: list[Observation]
    ) -> list[str | None]:
        """The one batched engine call, the same for a tick's batch and the warm-up: one
        schema for all in the free space, each creature's own in the guarded and menu ones."""
        space = self.builder.space
        return await generate_batch(
            self.engine,
            prompts,
            [space.schema(obs) for obs in observations],
            max_tokens=self.max_tokens,
        )

    def _missed(self) -> None:
        """A batch got no answer in time: a failure if the engine never answered, or has
        not for `SILENT_MISSES` batches."""
        self._misses += 1
        if not self._answered:
            self._fail(TimeoutError("the engine has never answered a batch"))
        elif self._misses >= SILENT_MISSES:
            self._fail(TimeoutError(f"no answer from the engine for {self._misses} batches"))

    def _settled(self, task: asyncio.Task[list[str | None]]) -> None:
        """A batch ended: an answer, even a late one, shows the engine alive."""
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.debug("a batch ended with %r", error)  # read, so it is not reported unread
            return
        self._answered, self._misses = True, 0
        self.failures = 0
        self.backoff_until = -math.inf

    def _fail(self, error: BaseException) -> None:
        self.failures += 1
        delay = min(self.backoff_first_s * 2 ** (self.failures - 1), self.backoff_max_s)
        self.backoff_until = self.clock() + delay
        log.warning(
            "%s failed (%s: %s); backing off %.1fs (failure %d in a row)",
            self.name,
            type(error).__name__,
            error,
            delay,
            self.failures,
        )

    async def aclose(self) -> None:
        """Cancel a running batch and close the engine."""
        if self._batch is not None and not self._batch.done():
            self._batch.cancel()
        await self.engine.aclose()

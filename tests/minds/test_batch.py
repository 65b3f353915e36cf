"""generate_batch: one call for a shared schema, one per distinct schema otherwise, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from server.minds.batch import generate_batch


class Recorder:
    """An engine that answers each prompt with its schema's title, after a short wait."""

    name = "recorder"
    aborts_on_cancel = True

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.running = 0
        self.most_running = 0

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        self.calls.append(list(prompts))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        await asyncio.sleep(0.05)
        self.running -= 1
        return [f"{p}:{schema['title']}" for p in prompts]

    async def aclose(self) -> None:
        return None


class PerPrompt(Recorder):
    budgets: list[list[int]]

    async def generate_each(
        self,
        prompts: Sequence[str],
        *,
        schemas: Sequence[dict[str, Any]],
        max_tokens: Sequence[int],
    ) -> list[str | None]:
        self.calls.append(list(prompts))
        self.budgets = [*getattr(self, "budgets", []), list(max_tokens)]
        return [f"{p}:{s['title']}" for p, s in zip(prompts, schemas, strict=True)]


async def test_a_shared_schema_is_one_call() -> None:
    engine = Recorder()
    shared = {"title": "s"}
    texts = await generate_batch(engine, ["a", "b", "c"], [shared] * 3, max_tokens=8)
    assert texts == ["a:s", "b:s", "c:s"]
    assert engine.calls == [["a", "b", "c"]]


async def test_distinct_schemas_go_together_one_call_each_in_order() -> None:
    engine = Recorder()
    x, y = {"title": "x"}, {"title": "y"}
    texts = await generate_batch(
        engine, ["a", "b", "c", "d"], [x, y, {"title": "x"}, y], max_tokens=8
    )
    assert texts == ["a:x", "b:y", "c:x", "d:y"]
    assert sorted(engine.calls) == [["a", "c"], ["b", "d"]]  # equal schemas share a call
    assert engine.most_running == 2  # sent together, not one after another


async def test_an_engine_taking_a_schema_per_prompt_gets_one_call() -> None:
    engine = PerPrompt()
    texts = await generate_batch(engine, ["a", "b"], [{"title": "x"}, {"title": "y"}], max_tokens=8)
    assert texts == ["a:x", "b:y"]
    assert engine.calls == [["a", "b"]]
    assert engine.budgets == [[8, 8]]  # unbounded schemas: the caller's budget each

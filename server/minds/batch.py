"""One tick's prompts to an engine when each prompt may carry its own JSON schema.

An engine that takes a schema per prompt (`generate_each`, as the in-process vLLM engine
does) gets the whole batch in one call. Any other engine gets one `generate` call per
distinct schema, all sent together (for an OpenAI-compatible server: one request per
schema, concurrently); prompts sharing one schema (the free space) make exactly one call.

Each answer asks for `schema.budget_for(its schema, max_tokens)` tokens: a bounded schema's
(guarded, menu) longest answer fits, so no answer under it is ever cut off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import orjson

from .engine import Engine
from .schema import budget_for


@runtime_checkable
class PerPromptEngine(Protocol):
    async def generate_each(
        self,
        prompts: Sequence[str],
        *,
        schemas: Sequence[dict[str, Any]],
        max_tokens: Sequence[int],
    ) -> list[str | None]:
        """As `Engine.generate`, with `schemas[i]` and `max_tokens[i]` for `prompts[i]`, in
        one batch."""
        ...


async def generate_batch(
    engine: Engine,
    prompts: Sequence[str],
    schemas: Sequence[dict[str, Any]],
    *,
    max_tokens: int,
) -> list[str | None]:
    """One raw text per prompt, in order, each prompt under its own schema."""
    if len(schemas) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts but {len(schemas)} schemas")
    if not prompts:
        return []
    if all(s is schemas[0] for s in schemas):
        budget = budget_for(schemas[0], max_tokens)
        return await engine.generate(prompts, schema=schemas[0], max_tokens=budget)
    if isinstance(engine, PerPromptEngine):
        budgets = [budget_for(s, max_tokens) for s in schemas]
        return await engine.generate_each(prompts, schemas=schemas, max_tokens=budgets)
    groups: dict[bytes, list[int]] = {}
    for i, schema in enumerate(schemas):
        groups.setdefault(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS), []).append(i)
    members = list(groups.values())
    answers = await asyncio.gather(
        *(
            engine.generate(
                [prompts[i] for i in group],
                schema=schemas[group[0]],
                max_tokens=budget_for(schemas[group[0]], max_tokens),
            )
            for group in members
        )
    )
    texts: list[str | None] = [None] * len(prompts)
    for group, got in zip(members, answers, strict=True):
        for i, text in zip(group, got, strict=False):
            texts[i] = text
    return texts

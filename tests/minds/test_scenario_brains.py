"""One world, several models: the scenario names model brains and creatures choose them.

Each named brain runs over its own engine and makes one batched call per tick for exactly
its creatures; the engines are called concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from server.minds.brain import ScriptedBrain
from server.minds.engines import EngineOptions, start_scenario_brains
from server.minds.prompts import Renderer, template_renderer
from server.simulate import Cast, run_world
from server.world import ScenarioError, load_scenario, new_world, parse_scenario

GOOD = '{"offers":[{"side":"sell","good":"acorns","qty":2,"price":4.5}],"gossip":"hi"}'


class FakeEngine:
    """Answers every prompt at once; records its batches. With a `meeting`, each call waits
    until every engine sharing it is inside `generate` at the same time (so only engines
    called concurrently can finish)."""

    name = "fake"
    aborts_on_cancel = False

    def __init__(self, meeting: Meeting | None = None) -> None:
        self.batches: list[list[str]] = []
        self.meeting = meeting

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        self.batches.append(list(prompts))
        if self.meeting is not None:
            await self.meeting.arrive()
        return [GOOD] * len(prompts)

    async def aclose(self) -> None:
        return None


class Meeting:
    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.inside = 0
        self.everyone = asyncio.Event()

    async def arrive(self) -> None:
        self.inside += 1
        if self.inside == self.parties:
            self.everyone.set()
        await asyncio.wait_for(self.everyone.wait(), timeout=5)
        self.inside -= 1
        if self.inside == 0:
            self.everyone.clear()


def mixed_scenario(**extra_brains: dict[str, Any]) -> dict[str, Any]:
    data = load_scenario().model_dump(mode="json", by_alias=True)
    data["brains"] = {
        "qwen": {"engine": "openai", "model": "qwen", "base_url": "http://127.0.0.1:9"},
        "tiny": {"engine": "vllm", "model": "/models/tiny", "max_tokens": 64},
        **extra_brains,
    }
    data["creatures"][0]["brain"] = "qwen"  # mossback
    data["creatures"][1]["brain"] = "qwen"  # oona
    data["creatures"][2]["brain"] = "tiny"  # bram
    return data


def test_creatures_may_only_name_known_brains() -> None:
    data = mixed_scenario()
    data["creatures"][4]["brain"] = "gpt-9"
    with pytest.raises(ScenarioError, match=r"creatures\[4\]\.brain: unknown brain 'gpt-9'"):
        parse_scenario(data)
    data = mixed_scenario(bot={"engine": "openai"})
    with pytest.raises(ScenarioError, match=r"brains\.bot: a brain's name"):
        parse_scenario(data)
    data = mixed_scenario()
    data["brains"]["qwen"]["engine"] = "llamafile"
    with pytest.raises(ScenarioError, match=r"brains\.qwen\.engine"):
        parse_scenario(data)


async def test_each_used_brain_gets_its_own_engine() -> None:
    scenario = parse_scenario(mixed_scenario(unused={"engine": "modal"}))
    started: dict[str, FakeEngine] = {}

    def starter(options: EngineOptions) -> tuple[FakeEngine, Renderer]:
        engine = FakeEngine()
        started[f"{options.kind}:{options.model}"] = engine
        return engine, template_renderer("chatml")

    brains = await start_scenario_brains(scenario, starter=starter)  # type: ignore[arg-type]
    assert set(brains) == {"qwen", "tiny"}  # "unused" is named by no creature: not started
    assert set(started) == {"openai:qwen", "vllm:/models/tiny"}
    assert brains["tiny"].max_tokens == 64
    assert brains["qwen"].engine is started["openai:qwen"]


async def test_a_brain_that_fails_to_start_closes_the_ones_before_it() -> None:
    scenario = parse_scenario(mixed_scenario())
    closed: list[str] = []

    class Closing(FakeEngine):
        async def aclose(self) -> None:
            closed.append("closed")

    def starter(options: EngineOptions) -> tuple[FakeEngine, Renderer]:
        if options.kind == "vllm":
            raise OSError("no such model")
        return Closing(), template_renderer("chatml")

    with pytest.raises(OSError):
        await start_scenario_brains(scenario, starter=starter)  # type: ignore[arg-type]
    assert closed == ["closed"]


async def test_one_batched_call_per_engine_per_tick_all_at_once() -> None:
    scenario = parse_scenario(mixed_scenario())
    engines: dict[str, FakeEngine] = {}

    meeting = Meeting(parties=2)

    def starter(options: EngineOptions) -> tuple[FakeEngine, Renderer]:
        engine = engines[str(options.model)] = FakeEngine(meeting)
        return engine, template_renderer("chatml")

    brains = await start_scenario_brains(scenario, starter=starter)  # type: ignore[arg-type]
    scripted = ScriptedBrain(1)
    cast = Cast(brains={"scripted": scripted, **brains}, default=scripted)
    # Each engine's call only returns once both are in flight: sequential calls would time out.
    await run_world(new_world(scenario, 1), cast, 3)
    qwen, tiny = engines["qwen"], engines["/models/tiny"]
    assert [len(batch) for batch in qwen.batches] == [2, 2, 2]  # mossback and oona
    assert [len(batch) for batch in tiny.batches] == [1, 1, 1]  # bram
    assert all("You are Mossback" in b[0] or "You are Mossback" in b[1] for b in qwen.batches)
    assert all("You are Bram" in b[0] for b in tiny.batches)

"""The decision space is chosen per brain in the scenario and reaches its prompts and schemas."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from server.cli import build_parser
from server.minds.engines import EngineOptions, start_scenario_brains
from server.minds.prompts import Renderer, template_renderer
from server.serve import ServeConfig, start
from server.simulate import Cast, run_world
from server.world import ScenarioError, load_scenario, new_world, parse_scenario


class SchemaEngine:
    """Answers {"choice":"A"} to menus and a guarded sell to the rest; records schemas."""

    name = "schemas"
    aborts_on_cancel = True

    def __init__(self) -> None:
        self.calls: list[tuple[int, dict[str, Any]]] = []

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        self.calls.append((len(prompts), schema))
        if "choice" in schema["properties"]:
            return ['{"choice":"A","gossip":"acorns here"}'] * len(prompts)
        return ['{"offers":[],"gossip":""}'] * len(prompts)

    async def aclose(self) -> None:
        return None


def _scenario(**spaces: str) -> dict[str, Any]:
    data = load_scenario().model_dump(mode="json", by_alias=True)
    data["brains"] = {
        name: {"engine": "openai", "model": name, "base_url": "http://127.0.0.1:9", "space": s}
        for name, s in spaces.items()
    }
    names = list(spaces)
    for i, creature in enumerate(data["creatures"]):
        creature["brain"] = names[i % len(names)]
    return data


async def test_each_brain_uses_its_own_space_one_call_per_distinct_schema() -> None:
    scenario = parse_scenario(_scenario(careful="guarded", chooser="menu", loose="free"))
    engines: dict[str, SchemaEngine] = {}

    def starter(options: EngineOptions) -> tuple[SchemaEngine, Renderer]:
        engine = engines[str(options.model)] = SchemaEngine()
        return engine, template_renderer("chatml")

    brains = await start_scenario_brains(scenario, starter=starter)  # type: ignore[arg-type]
    assert {n: b.builder.space.name for n, b in brains.items()} == {
        "careful": "guarded",
        "chooser": "menu",
        "loose": "free",
    }
    assert {n: b.name for n, b in brains.items()} == {n: n for n in brains}  # brain names
    results: list[dict[str, Any]] = []
    cast = Cast(brains=dict(brains), default=brains["loose"])
    await run_world(new_world(scenario, 1), cast, 1, [lambda s, e, r: results.append(dict(r))])
    # free: one call with the shared schema; guarded and menu: each creature its own schema.
    assert [n for n, _ in engines["loose"].calls] == [1]
    assert sorted(n for n, _ in engines["careful"].calls) == [1, 1]
    # Menus of equal length have equal schemas: they share one request.
    assert sum(n for n, _ in engines["chooser"].calls) == 2
    assert len(engines["chooser"].calls) == len({str(s) for _, s in engines["chooser"].calls})
    chosen = [r for r in results[0].values() if r.brain == "chooser"]
    assert chosen and all(r.decision.offers and r.decision.gossip == "acorns here" for r in chosen)


def test_an_unknown_space_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="space"):
        parse_scenario(_scenario(odd="wild"))


async def test_serve_space_gives_the_brain_its_space_in_the_live_server(tmp_path: Path) -> None:
    options = "--brain openai --model m --base-url http://127.0.0.1:9 --space guarded"
    options += " --port 0 --tick 0.1 --seed 1 --data-dir"
    args = build_parser().parse_args(["serve", *options.split(), str(tmp_path / "data")])
    cfg = ServeConfig.from_args(args)
    assert cfg.space == "guarded"
    engine = SchemaEngine()
    server = await start(
        replace(cfg, admin_token="t"), engines=lambda _o: (engine, template_renderer("chatml"))
    )
    try:
        while server.clock.state.tick < 2:
            await asyncio.sleep(0.05)
    finally:
        await server.stop()
    state = server.clock.state
    deciding = [c for c in state.creatures.values() if c.brain in ("model", "scripted")]
    assert engine.calls and all(n == 1 for n, _ in engine.calls)  # a schema per creature
    schemas = [s for _, s in engine.calls]
    assert len({json.dumps(s, sort_keys=True) for s in schemas[: len(deciding)]}) > 1
    assert all("offers" in s["properties"] and "choice" not in s["properties"] for s in schemas)
    buys = [
        item
        for s in schemas
        for item in s["properties"]["offers"].get("items", {}).get("anyOf", [])
        if item["properties"]["side"] == {"const": "buy"}
    ]
    assert buys, "guarded buys were offered"


def test_serve_space_defaults_to_free_and_refuses_an_unknown_space() -> None:
    parser = build_parser()
    assert ServeConfig.from_args(parser.parse_args(["serve"])).space == "free"
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--space", "wild"])

"""A creature driven by your own language model, through the server's own prompt builder.

The bot turns its turn's observation into exactly the prompt a model creature gets inside
the server (`server.minds.prompts.PromptBuilder`), asks an `Engine` for one completion under
the decision's JSON schema, and salvages a decision from the text with the same
parse-and-repair layer (`server.minds.repair.parse_decision`). Bring any engine: by default
an OpenAI-compatible server (vLLM, llama.cpp, Ollama, SGLang) named by the environment:

    SMALLWOOD_ENGINE_URL=http://127.0.0.1:8000/v1 SMALLWOOD_MODEL=Qwen/Qwen2.5-0.5B-Instruct \\
        smallwood bot run clients/examples/local_model.py:LocalModelBot --token TOKEN

or pass one in Python: `LocalModelBot(engine=my_engine)`; an engine is anything with
`async generate(prompts, *, schema, max_tokens) -> list[str | None]` (see
`server.minds.engine.Engine`). The scenario's rules shape the shared prompt prefix: pass
`scenario=` (a `Scenario` or a file) when the server runs another Wood than the default.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from server.minds.engine import Engine
from server.minds.prompts import PromptBuilder
from server.minds.repair import parse_decision
from server.minds.schema import decision_schema
from server.world import load_scenario
from server.world.observe import BoardGossip, BoardTrade, HeardLegend
from server.world.observe import Observation as WorldObservation
from server.world.scenario import Scenario
from shared.decision import Decision
from shared.observation import Observation
from shared.protocol import Turn

log = logging.getLogger("smallwood.examples.local_model")

MAX_TOKENS = 96
URL_ENV = "SMALLWOOD_ENGINE_URL"
MODEL_ENV = "SMALLWOOD_MODEL"


def engine_from_environment() -> Engine:
    """An OpenAI-compatible engine at $SMALLWOOD_ENGINE_URL serving $SMALLWOOD_MODEL."""
    from server.minds.openai_engine import OpenAIEngine  # noqa: PLC0415

    url = os.environ.get(URL_ENV)
    model = os.environ.get(MODEL_ENV)
    if not url or not model:
        raise RuntimeError(f"set {URL_ENV} and {MODEL_ENV}, or pass an engine to LocalModelBot")
    return OpenAIEngine(url, model, api_key=os.environ.get("SMALLWOOD_API_KEY"))


def to_world_observation(obs: Observation) -> WorldObservation:
    """The wire observation as the prompt builder takes it: the same fields, one for one.

    Only the nested records and the one tuple need their world types; the rest carries over.
    """
    fields = obs.model_dump()
    fields.update(
        never_buy=tuple(obs.never_buy),
        trades=tuple(BoardTrade(**t) for t in fields["trades"]),
        gossip=tuple(BoardGossip(**g) for g in fields["gossip"]),
        legends=tuple(HeardLegend(**leg) for leg in fields["legends"]),
    )
    return WorldObservation(**fields)


class LocalModelBot:
    def __init__(
        self, engine: Engine | None = None, scenario: Scenario | str | Path | None = None
    ) -> None:
        self.engine = engine if engine is not None else engine_from_environment()
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.prompts = PromptBuilder(self.scenario)
        self.goods = tuple(self.scenario.goods)
        self.schema = decision_schema(self.goods)
        self.last_prompt = ""
        self.last_text: str | None = None

    async def act(self, turn: Turn) -> Decision | None:
        obs = turn.observation
        if obs.exiled:
            return None
        self.last_prompt = self.prompts.render(to_world_observation(obs))
        texts = await self.engine.generate(
            [self.last_prompt], schema=self.schema, max_tokens=MAX_TOKENS
        )
        self.last_text = texts[0] if texts else None
        if self.last_text is None:
            log.warning("tick %d: the engine gave no answer", turn.tick)
            return None
        parsed = parse_decision(self.last_text, self.goods, produces=obs.produces)
        if parsed.repairs or parsed.noop_reason:
            log.info(
                "tick %d: %s (repairs: %s)",
                turn.tick,
                parsed.status,
                ", ".join(parsed.repairs) or parsed.noop_reason,
            )
        return parsed.decision

    def on_late(self, turn: Turn) -> None:
        log.warning("tick %d: the model was too slow for the deadline", turn.tick)

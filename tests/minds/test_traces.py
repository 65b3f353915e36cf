"""Traces: one record per decision, read back, exported as jsonl or chat."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from server.minds.brain import DecisionResult, ScriptedBrain
from server.minds.traces import TraceRecord, TraceWriter, export, read_traces, sensible
from server.simulate import Cast, run_world
from server.world import load_scenario, new_world
from shared.decision import Decision, Offer, Side

MESSAGES = [{"role": "system", "content": "rules"}, {"role": "user", "content": "me"}]


def _record(**kw: object) -> TraceRecord:
    base: dict[str, object] = {
        "tick": 3,
        "creature": "oona",
        "brain": "fake",
        "produces": "honey",
        "messages": MESSAGES,
        "raw": "{}",
        "decision": Decision(offers=[Offer(side=Side.SELL, good="honey", qty=2, price=9.0)]),
        "status": "ok",
        "trades_made": 1,
    }
    return TraceRecord.model_validate(base | kw)


def test_sensible_decisions() -> None:
    assert sensible(_record())
    assert sensible(_record(trades_made=None))
    assert not sensible(_record(trades_made=0))
    assert not sensible(_record(status="noop", decision=Decision()))
    assert not sensible(_record(decision=Decision()))
    assert not sensible(_record(repairs=["own_good_buy", "dropped_offer:own_good_buy"]))
    buy_own = Decision(offers=[Offer(side=Side.BUY, good="honey", qty=1, price=9.0)])
    assert not sensible(_record(decision=buy_own, status="repaired"))


def test_chat_export_is_system_user_assistant() -> None:
    rows = list(export([_record(), _record(trades_made=0), _record(messages=[])], "chat"))
    assert len(rows) == 1
    messages = rows[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    answer = orjson.loads(messages[2]["content"])
    assert answer == {
        "offers": [{"side": "sell", "good": "honey", "qty": 2, "price": 9.0}],
        "gossip": "",
    }
    with pytest.raises(ValueError, match="jsonl or chat"):
        list(export([_record()], "csv"))  # type: ignore[arg-type]


async def test_the_writer_records_every_decision_of_a_run(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    brain = ScriptedBrain(1)
    with TraceWriter(path) as writer:
        await run_world(new_world(load_scenario(), 1), Cast({}, brain), 30, [writer.record])
    records = list(read_traces(path))
    assert len(records) == writer.written == 30 * 5
    assert [r.tick for r in records[:6]] == [1, 1, 1, 1, 1, 2]
    assert {r.brain for r in records} == {"scripted"}
    assert any(r.trades_made for r in records)
    rows = list(export(records, "jsonl"))
    assert rows[0]["creature"] == records[0].creature
    # Scripted decisions carry no prompt messages: nothing to teach a model from.
    assert list(export(records, "chat")) == []


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(orjson.dumps(_record().model_dump(mode="json")) + b"\nnot json\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        list(read_traces(path))


def test_records_keep_the_results_fields() -> None:
    from server.minds.traces import trace_records
    from server.world.events import TradeCleared

    state = new_world(load_scenario(), 1)
    result = DecisionResult(
        Decision(),
        "noop",
        "fake",
        12.3456,
        noop_reason="deadline",
        prompt="p",
        messages=tuple(MESSAGES),
    )
    (rec,) = trace_records(state, [TradeCleared("honey", 1, 900, "bram", "oona")], {"oona": result})
    assert rec.noop_reason == "deadline" and rec.prompt == "p" and rec.latency_ms == 12.346
    assert rec.trades_made == 1 and rec.produces == "honey" and rec.messages == MESSAGES


class _BuyOwnEngine:
    """Answers every creature by buying its own good and selling what it lacks."""

    name = "fake-engine:/some/where/model"
    aborts_on_cancel = True

    def __init__(self) -> None:
        self.schemas: list[dict[str, object]] = []

    async def generate(
        self, prompts: list[str], *, schema: dict[str, object], max_tokens: int
    ) -> list[str | None]:
        self.schemas.append(schema)
        return [_FOOLISH] * len(prompts)

    async def aclose(self) -> None:
        return None


_FOOLISH = (
    '{"offers":[{"side":"buy","good":"acorns","qty":2,"price":4.0},'
    '{"side":"sell","good":"honey","qty":40,"price":9.0}],"gossip":"hm"}'
)


async def test_records_carry_the_observation_and_the_intended_offers(tmp_path: Path) -> None:
    from server.minds.model_brain import ModelBrain
    from server.minds.prompts import PromptBuilder

    scenario = load_scenario(None)
    engine = _BuyOwnEngine()
    brain = ModelBrain(engine, PromptBuilder(scenario, space="free"), name="smollm2")
    path = tmp_path / "traces.jsonl"
    with TraceWriter(path) as writer:
        await run_world(new_world(scenario, 1), Cast(brains={}, default=brain), 1, [writer.record])
    records = list(read_traces(path))
    assert len(engine.schemas) == 1  # free: one schema for all, one call
    mossback = next(r for r in records if r.creature == "mossback")
    assert mossback.brain == "smollm2"
    assert mossback.observation is not None
    assert mossback.observation.produces == "acorns"
    assert mossback.observation.stores == new_world(scenario, 1).creatures["mossback"].stores
    # What it asked for, before the own-good buy was dropped...
    assert mossback.intended is not None
    assert [(o.side, o.good, o.qty) for o in mossback.intended] == [
        (Side.BUY, "acorns", 2),
        (Side.SELL, "honey", 40),
    ]
    # ...beside what was submitted.
    assert [(o.side, o.good) for o in mossback.decision.offers] == [(Side.SELL, "honey")]

"""The schema engines follow: Decision's own, narrowed to one scenario's goods."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from server.minds.schema import decision_schema
from shared.decision import GOSSIP_CHARS, MAX_OFFERS, Decision

GOODS = ("acorns", "berries", "honey")


def test_offers_and_gossip_are_required_and_nothing_else_allowed() -> None:
    schema = decision_schema(GOODS, thought=False)
    assert schema["required"] == ["offers", "gossip"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"offers", "gossip"}
    assert schema["properties"]["gossip"]["maxLength"] == GOSSIP_CHARS
    offers = schema["properties"]["offers"]
    assert offers["maxItems"] == MAX_OFFERS
    offer = offers["items"]
    assert offer["additionalProperties"] is False
    assert offer["required"] == ["side", "good", "qty", "price"]
    assert offer["properties"]["good"] == {"enum": list(GOODS)}
    assert offer["properties"]["side"]["enum"] == ["buy", "sell"]
    assert offer["properties"]["qty"]["minimum"] == 1
    assert offer["properties"]["price"]["minimum"] == 0.01


def test_thought_only_when_enabled_and_first() -> None:
    schema = decision_schema(GOODS, thought=True)
    assert list(schema["properties"]) == ["thought", "offers", "gossip"]
    assert schema["properties"]["thought"]["type"] == "string"
    assert "thought" in schema["required"]


def test_compact_no_refs_or_titles() -> None:
    text = str(decision_schema(GOODS, thought=True))
    for noise in ("$ref", "$defs", "title", "description"):
        assert noise not in text


def test_anything_the_schema_admits_validates_as_a_decision() -> None:
    answer = {"offers": [{"side": "buy", "good": "honey", "qty": 2, "price": 9.5}], "gossip": "hi"}
    assert TypeAdapter(Decision).validate_python(answer).offers[0].good == "honey"


def test_no_goods_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one good"):
        decision_schema((), thought=False)

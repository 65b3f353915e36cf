"""Protocol v1 models: what parses, what is refused, and the schema that describes them."""

from __future__ import annotations

import dataclasses

import orjson
import pytest
from pydantic import ValidationError

from server.world import load_scenario, new_world, observe_all, world_document
from server.world.observe import Observation as CoreObservation
from shared.observation import Observation
from shared.protocol import (
    CLIENT,
    SERVER,
    Act,
    BotOffer,
    CloseCode,
    Delta,
    Error,
    ErrorCode,
    Join,
    Snapshot,
    Turn,
    protocol_schema,
)
from shared.world import WorldDocument


def test_a_bot_frame_parses_into_its_message() -> None:
    act = CLIENT.validate_json(
        b'{"type":"act","tick":4,"offers":[{"side":"sell","good":"acorns","qty":2,"price":4.5}],'
        b'"gossip":"cheap acorns"}'
    )
    assert isinstance(act, Act)
    assert act.offers == [{"side": "sell", "good": "acorns", "qty": 2, "price": 4.5}]
    assert BotOffer.model_validate(act.offers[0]).qty == 2
    assert act.gossip == "cheap acorns"
    join = CLIENT.validate_python({"type": "join", "token": "abc"})
    assert isinstance(join, Join) and join.name is None


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "act", "tick": 1, "offers": [], "extra": 1},
        {"type": "act", "tick": "one"},
        {"type": "act", "tick": "1"},  # no coercion: a tick is a JSON integer
        {"type": "act", "tick": 1.0},
        {"type": "act", "tick": True},
        {"type": "act", "tick": 1, "offers": {}},
        {"type": "act", "tick": 1, "gossip": "x" * 500},
        {"type": "act", "tick": 1, "gossip": 7},
        {"type": "act", "tick": 1, "offers": [{}] * 11},
        {"type": "join", "token": "t" * 65},
        {"type": "join", "name": ""},
        {"type": "dance"},
        {"tick": 1},
    ],
)
def test_a_bad_bot_frame_is_refused(frame: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CLIENT.validate_python(frame)


def test_server_messages_round_trip() -> None:
    state = new_world(load_scenario(), 1)
    obs = observe_all(state)["mossback"]
    frames = [
        {"type": "snapshot", "seq": 0, "tick": 0, "world": world_document(state)},
        {"type": "delta", "seq": 1, "tick": 1, "patch": {"tick": 1}, "events": []},
        {"type": "turn", "tick": 1, "deadline_ms": 600, "observation": obs},
        {"type": "error", "code": "late", "message": "too late", "tick": 3},
        {"type": "joined", "creature": "mossback", "token": "t", "tick": 0},
        {"type": "accepted", "tick": 1},
    ]
    kinds = [Snapshot, Delta, Turn, Error]
    for frame, kind in zip(frames, kinds, strict=False):
        assert isinstance(SERVER.validate_json(orjson.dumps(frame)), kind)
    for frame in frames[4:]:
        assert SERVER.validate_json(orjson.dumps(frame)).type == frame["type"]


def test_server_messages_are_read_leniently() -> None:
    """A client keeps working when a newer server adds a field."""
    msg = SERVER.validate_python({"type": "accepted", "tick": 2, "new_field": True})
    assert msg.type == "accepted"


def test_the_wire_observation_mirrors_the_core_one() -> None:
    core = [f.name for f in dataclasses.fields(CoreObservation)]
    assert core == list(Observation.model_fields)
    state = new_world(load_scenario(), 1)
    for obs in observe_all(state).values():
        wire = Observation.model_validate_json(orjson.dumps(obs))
        assert wire == Observation.model_validate(dataclasses.asdict(obs))


def test_the_world_document_model_covers_the_document() -> None:
    doc = world_document(new_world(load_scenario(), 1))
    model = WorldDocument.model_validate(doc)
    assert set(doc) <= set(WorldDocument.model_fields)
    for cid, card in doc["creatures"].items():
        assert set(card) <= set(type(model.creatures[cid]).model_fields)
    for good, board in doc["goods"].items():
        assert set(board) <= set(type(model.goods[good]).model_fields)
    assert model.fuel is not None and set(doc["fuel"]) <= set(type(model.fuel).model_fields)


def test_the_schema_names_every_message_and_code() -> None:
    schema = protocol_schema()
    orjson.dumps(schema)  # plain JSON
    types = {
        d["properties"]["type"]["const"]
        for d in schema["$defs"].values()
        if "const" in d.get("properties", {}).get("type", {})
    }
    messages = {
        "snapshot",
        "delta",
        "status",
        "join",
        "joined",
        "turn",
        "act",
        "accepted",
        "leave",
        "error",
    }
    assert messages <= types
    assert set(schema["x-client-messages"]) | set(schema["x-server-messages"]) == messages
    assert schema["x-error-codes"] == [c.value for c in ErrorCode]
    assert schema["x-close-codes"]["4000"] == CloseCode.REPLACED.name.lower()
    for name in ("Snapshot", "Delta", "Join", "Act", "Turn", "Error"):
        assert schema["$defs"][name]["required"][0] == "type"


@pytest.mark.parametrize(
    "offer",
    [
        {"side": "buy", "good": "acorns", "qty": "2", "price": 1},
        {"side": "buy", "good": "acorns", "qty": 2.0, "price": 1},
        {"side": "buy", "good": "acorns", "qty": True, "price": 1},
        {"side": "buy", "good": "acorns", "qty": 1, "price": "1.5"},
        {"side": "buy", "good": "acorns", "qty": 1, "price": 0},
        {"side": "buy", "good": "acorns", "qty": 1, "price": 10_000.01},
        {"side": "hold", "good": "acorns", "qty": 1, "price": 1},
        {"side": "buy", "good": "acorns", "qty": 1, "price": 1, "note": "x"},
    ],
)
def test_offers_are_not_coerced(offer: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        BotOffer.model_validate(offer)


def test_a_json_integer_is_a_price() -> None:
    assert BotOffer.model_validate({"side": "buy", "good": "a", "qty": 1, "price": 2}).price == 2


def test_the_schema_never_offers_null_in_what_the_server_sends() -> None:
    import jsonschema

    schema = protocol_schema()
    for name, definition in schema["$defs"].items():
        for field, prop in definition.get("properties", {}).items():
            if "null" in orjson.dumps(prop).decode():
                assert name in ("Join", "Act"), (name, field)  # only clients send null
    validator = jsonschema.Draft202012Validator(schema)
    state = new_world(load_scenario(), 1)
    snap = {"type": "snapshot", "seq": 0, "tick": 0, "world": world_document(state)}
    validator.validate(orjson.loads(orjson.dumps(snap)))
    assert not validator.is_valid({"type": "error", "code": "late", "message": "m", "tick": None})
    assert validator.is_valid({"type": "error", "code": "late", "message": "m"})

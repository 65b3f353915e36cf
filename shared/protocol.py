"""Protocol v1: every message the server and its clients exchange, as pydantic models.

JSON text frames over websockets, each an object with a `type`:

- viewers, `GET /ws[?since=SEQ]`: the server sends one `snapshot`, then one `delta` per tick;
- bots, `GET /ws/bot`: the bot sends `join`, the server answers `joined`; each tick the
  server sends a `turn` and the bot answers one `act`, acknowledged by `accepted`;
- anything refused is answered with an `error` carrying one of `ErrorCode`.

Messages the server accepts are strict (unknown fields are refused); messages it sends are
read leniently, so a client keeps working when a newer server adds a field.
`docs/protocol.md` explains the whole exchange with examples.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .decision import GOSSIP_CHARS, MAX_OFFERS, THOUGHT_CHARS, Decision, Offer
from .events import WireEvent
from .observation import Observation
from .world import WorldDocument

VERSION = 1
TOKEN_CHARS = 64


class ErrorCode(StrEnum):
    """Why a frame was refused. The connection stays open for every one of them."""

    BAD_JSON = "bad_json"
    """The frame is not a JSON object (or not text)."""
    UNKNOWN_TYPE = "unknown_type"
    """Its `type` is missing or not one this endpoint accepts."""
    BAD_MESSAGE = "bad_message"
    """Its fields do not match the message's schema; `message` says which."""
    NOT_JOINED = "not_joined"
    """An `act` before a successful `join`."""
    ALREADY_JOINED = "already_joined"
    """A second `join` on one connection."""
    BAD_TOKEN = "bad_token"
    """The token is unknown or revoked."""
    JOINING_CLOSED = "joining_closed"
    """No token was given and this world does not let newcomers in."""
    SPAWN_REJECTED = "spawn_rejected"
    """The world refused the new creature (bad name, unknown good, no room)."""
    UNKNOWN_CREATURE = "unknown_creature"
    """The token's creature is not in the world and the join did not say how to spawn it."""
    LATE = "late"
    """The `act` arrived after its tick's deadline: that tick was a no-op."""
    DUPLICATE = "duplicate"
    """A second `act` for a tick: the first one stands."""
    WRONG_TICK = "wrong_tick"
    """An `act` for a tick that has not been asked for."""
    NOT_YOUR_CREATURE = "not_your_creature"
    """An `act` naming a creature this connection does not hold."""
    INVALID_ACT = "invalid_act"
    """An `act` for the current tick that breaks the schema: that tick is a no-op."""
    NOT_EXPECTED = "not_expected"
    """A frame sent to an endpoint that expects none (viewers send nothing)."""


class CloseCode(IntEnum):
    """Websocket close codes the server uses, beside the standard ones."""

    GOING_AWAY = 1001
    """The server is shutting down; reconnect later."""
    POLICY = 1008
    """Flooding: more frames than the rate limit allows."""
    TOO_BIG = 1009
    """A frame over the size limit."""
    REPLACED = 4000
    """Another connection joined with the same token."""
    REVOKED = 4001
    """The operator revoked this connection's token."""


class _In(BaseModel):
    # What the server accepts: strict, so a typo is an error rather than silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# Viewers


class Snapshot(_Out):
    """The whole world document as of `seq`; the first frame on `/ws`."""

    type: Literal["snapshot"] = "snapshot"
    seq: int
    tick: int
    world: WorldDocument


class Delta(_Out):
    """One tick's change: apply `patch` (RFC 7396) to the document of `seq - 1`."""

    type: Literal["delta"] = "delta"
    seq: int
    tick: int
    patch: dict[str, Any]
    events: list[WireEvent]


# Bots


class Join(_In):
    """Claim a creature, or bring a new one into the Wood.

    With a token: claim that token's creature (spawning it from the fields below if it does
    not exist yet). Without one: spawn a new creature, where the world allows newcomers;
    `joined` then carries a fresh token to rejoin with.
    """

    type: Literal["join"] = "join"
    token: Annotated[str, Field(max_length=TOKEN_CHARS)] = ""
    name: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    species: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    produces: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    personality: Literal["steady", "hoarder", "speculator", "shrewd", "generous"] | None = None
    """How the scripted mind trades for it while no bot is connected."""


class Joined(_Out):
    type: Literal["joined"] = "joined"
    creature: str
    token: str
    """Keep it: `join` with it again after a disconnect to take the creature back."""
    tick: int
    """The last tick the world completed."""
    spawning: bool = False
    """True when the creature enters the Wood at the next tick; turns begin after it."""


class Turn(_Out):
    """Decide tick `tick`: answer with one `act` within `deadline_ms`."""

    type: Literal["turn"] = "turn"
    tick: int
    deadline_ms: int
    """Milliseconds from when the server sent this turn to the decision deadline."""
    observation: Observation
    events: list[WireEvent] = []
    """Last tick's events about this creature: its trades, its refused offers, its exile."""


class Act(_In):
    """A creature's decision for one tick: up to three offers and one public gossip line."""

    type: Literal["act"] = "act"
    tick: int
    offers: Annotated[list[Offer], Field(max_length=MAX_OFFERS)] = []
    gossip: Annotated[str, Field(max_length=GOSSIP_CHARS)] = ""
    thought: Annotated[str, Field(max_length=THOUGHT_CHARS)] | None = None
    """Private: kept in the decision trace, never shown in the world."""
    creature: Annotated[str, Field(max_length=64)] | None = None
    """Optional check: the creature this act is for; must be the one this connection holds."""

    def decision(self) -> Decision:
        return Decision(offers=self.offers, gossip=self.gossip, thought=self.thought)


class Accepted(_Out):
    """The `act` for `tick` arrived in time and will be traded."""

    type: Literal["accepted"] = "accepted"
    tick: int


# Both


class Error(_Out):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    tick: int | None = None
    """The tick the refused frame was about, when it named one."""


ClientMessage = Annotated[Join | Act, Field(discriminator="type")]
"""What a bot may send on `/ws/bot`."""

ServerMessage = Annotated[
    Snapshot | Delta | Joined | Turn | Accepted | Error, Field(discriminator="type")
]
"""What the server sends, on `/ws` and `/ws/bot`."""

CLIENT: TypeAdapter[Join | Act] = TypeAdapter(ClientMessage)
SERVER: TypeAdapter[Snapshot | Delta | Joined | Turn | Accepted | Error] = TypeAdapter(
    ServerMessage
)


def protocol_schema() -> dict[str, Any]:
    """The JSON Schema of every protocol message, as served at `/api/schema`.

    The document validates any one message; `x-client-messages` and `x-server-messages` name
    which side sends which.
    """
    adapter: TypeAdapter[Any] = TypeAdapter(
        Annotated[
            Snapshot | Delta | Join | Joined | Turn | Act | Accepted | Error,
            Field(discriminator="type"),
        ]
    )
    schema = adapter.json_schema(ref_template="#/$defs/{model}")
    for definition in schema["$defs"].values():
        # `type` has a default for building messages in Python, yet every frame must carry it.
        if "type" in definition.get("properties", {}):
            required = definition.setdefault("required", [])
            if "type" not in required:
                required.insert(0, "type")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"smallwood protocol v{VERSION}",
        "description": (
            "JSON text frames over websockets. Viewers: GET /ws. Bots: GET /ws/bot. "
            "See docs/protocol.md."
        ),
        "x-protocol-version": VERSION,
        "x-client-messages": ["join", "act"],
        "x-server-messages": ["snapshot", "delta", "joined", "turn", "accepted", "error"],
        "x-error-codes": [code.value for code in ErrorCode],
        "x-close-codes": {str(code.value): code.name.lower() for code in CloseCode},
        **schema,
    }

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

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from .decision import GOSSIP_CHARS, MAX_PRICE, MAX_QTY, THOUGHT_CHARS
from .events import WireEvent
from .observation import Observation
from .world import WorldDocument

VERSION = 1
TOKEN_CHARS = 64
NAME_CHARS = 40
"""Longest name or species, in characters (cleaned after, by `shared.text.clean_text`)."""
OFFERS_IN_ACT = 10
"""Most items an act's `offers` may hold; only the first `MAX_OFFERS` can stand."""
MAX_CADENCE = 3600
"""The longest cadence, in ticks, a bot may ask for (and a model brain be given)."""


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
    """A second `act` for a tick that already has an accepted one: the first one stands."""
    WRONG_TICK = "wrong_tick"
    """An `act` for a tick that has not been asked for."""
    NOT_YOUR_CREATURE = "not_your_creature"
    """An `act` naming a creature this connection does not hold."""
    INVALID_ACT = "invalid_act"
    """An `act` that breaks the schema; nothing of it counts, and a corrected act for the
    current tick may still be sent before the deadline."""
    NOT_EXPECTED = "not_expected"
    """A frame sent to an endpoint that expects none (viewers send nothing)."""
    CANNOT_LEAVE = "cannot_leave"
    """A `leave` for a creature of the scenario's own cast (not a bot's): disconnect instead."""


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
    RETIRED = 4002
    """The creature left the Wood for good (its bot's `leave`, or an operator)."""


class _In(BaseModel):
    # What the server accepts: strict, so a typo is an error rather than silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Strict(_In):
    # No coercion: "2" is not 2, 2.5 is not a quantity, true is not a number.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


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


class Status(_Out):
    """The world's state, sent on `/ws?status=1` when it changes (and after the first
    frame): `live`, `paused`, `idle` or `degraded` (a mind failed last tick, `reason` says
    which). Clients tell `stale` and `reconnecting` themselves. Carries no seq."""

    type: Literal["status"] = "status"
    status: Literal["live", "paused", "idle", "degraded"]
    tick: int
    period: float
    """Seconds per tick."""
    reason: str | None = None
    """Why the world is degraded; absent otherwise."""


# Bots


class Join(_In):
    """Claim a creature, or bring a new one into the Wood.

    With a token: claim that token's creature (spawning it from the fields below if it does
    not exist yet). Without one: spawn a new creature, where the world allows newcomers;
    `joined` then carries a fresh token to rejoin with.
    """

    type: Literal["join"] = "join"
    token: Annotated[str, Field(max_length=TOKEN_CHARS)] = ""
    name: Annotated[str, Field(min_length=1, max_length=NAME_CHARS)] | None = None
    """At most 40 characters, then cleaned (control, bidi and invisible characters dropped,
    spaces collapsed); must not look like the name of a creature already in the Wood."""
    species: Annotated[str, Field(min_length=1, max_length=NAME_CHARS)] | None = None
    produces: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    personality: Literal["steady", "hoarder", "speculator", "shrewd", "generous"] | None = None
    """How the scripted mind trades for it while no bot is connected."""
    cadence: Annotated[int, Field(ge=1, le=MAX_CADENCE)] | Literal["auto"] | None = None
    """Decide every this many ticks, as model brains do (`server.minds.cadence`): one turn
    every `cadence` ticks, each due by the decision deadline of its tick + cadence - 1, an act
    applied on the next tick to decide (`accepted.lands`), a late act kept for the next due
    tick. `auto`: the
    server chooses from the bot's answer times, from 1 up. Absent: a turn every tick, and a
    late act is refused."""
    between: Literal["hold", "standing"] | None = None
    """With a cadence, what the creature does on the ticks its act does not land: `hold`
    (the default: nothing, a `thinking` no-op) or `standing` (its last act's offers again)."""

    @field_validator("cadence", mode="before")
    @classmethod
    def _cadence(cls, value: object) -> object:
        if value is None or value == "auto":
            return value
        if type(value) is int and 1 <= value <= MAX_CADENCE:
            return value
        raise PydanticCustomError(
            "cadence",
            'a whole number of ticks from 1 to {most}, or "auto"; not {given}',
            {"most": MAX_CADENCE, "given": repr(value)[:24]},
        )

    @field_validator("between")
    @classmethod
    def _between(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and "cadence" in info.data and info.data["cadence"] is None:
            raise PydanticCustomError(
                "between", 'only with a cadence: add cadence (a number of ticks, or "auto")'
            )
        return value


class Leave(_In):
    """Take this connection's creature out of the Wood for good (a creature a bot brought
    in, or a scenario `bot` creature): it leaves at the next tick, its pebbles go back to the
    commons, its tokens are revoked, and the connection is closed with 4002."""

    type: Literal["leave"] = "leave"


class Joined(_Out):
    type: Literal["joined"] = "joined"
    creature: str
    token: str
    """Keep it: `join` with it again after a disconnect to take the creature back."""
    tick: int
    """The last tick the world completed."""
    spawning: bool = False
    """True when the creature enters the Wood at the next tick; turns begin after it."""
    cadence: int | Literal["auto"] | None = None
    """The cadence the join asked for; absent when it asked for none."""
    between: Literal["hold", "standing"] | None = None
    """With a cadence: what the creature does on the ticks its act does not land."""


class Turn(_Out):
    """Decide tick `tick`: answer with one `act` within `deadline_ms`."""

    type: Literal["turn"] = "turn"
    tick: int
    deadline_ms: int
    """Milliseconds from when the server sent this turn to the decision deadline (of tick
    `due`, for a bot that joined with a cadence)."""
    due: int | None = None
    """For a bot with a cadence: the tick by whose decision deadline the act must arrive
    (`tick + cadence - 1`); absent otherwise."""
    observation: Observation
    events: list[WireEvent] = []
    """Last tick's events about this creature: its trades, its refused offers, its exile."""


class BotOffer(_Strict):
    """One offer as a bot sends it; checked one by one (see `server.offers`)."""

    side: Literal["buy", "sell"]
    good: Annotated[str, Field(min_length=1, max_length=32)]
    qty: Annotated[int, Field(ge=1, le=MAX_QTY)]
    price: Annotated[float, Field(gt=0, le=MAX_PRICE, allow_inf_nan=False)]
    """Pebbles per unit, rounded to the nearest hundredth; must come to at least 0.01."""


class Act(_Strict):
    """A creature's decision for one tick: up to three offers and one public gossip line.

    `offers` items are checked one by one: each stands or is refused in the reply."""

    type: Literal["act"] = "act"
    tick: int
    offers: Annotated[list[Any], Field(max_length=OFFERS_IN_ACT)] = []
    gossip: Annotated[str, Field(max_length=GOSSIP_CHARS)] = ""
    thought: Annotated[str, Field(max_length=THOUGHT_CHARS)] | None = None
    """Private: kept in the decision trace, never shown in the world."""
    creature: Annotated[str, Field(max_length=64)] | None = None
    """Optional check: the creature this act is for; must be the one this connection holds."""


class StandingOffer(_Out):
    """An offer of the act that goes to the market, as it will be booked."""

    index: int
    """Its place in the act's `offers`."""
    side: Literal["buy", "sell"]
    good: str
    qty: int
    price: float
    """Rounded to the cent."""


class RefusedOffer(_Out):
    """An offer refused before the market opened; it never reaches the world."""

    index: int
    reason: str
    """`too_many_offers`, `not_an_offer`, `invalid_side`, `unknown_good`, `invalid_qty`,
    `invalid_price`, `exiled`, `own_good` or `crossed_own_offer`."""
    message: str


class Accepted(_Out):
    """The `act` for `tick` arrived in time; `offers` go to the market, `refused` do not.

    The market's own refusals (`insufficient_pebbles`, `insufficient_goods`) and the fills
    arrive in the next turn's `events`, their `index` the one of this act."""

    type: Literal["accepted"] = "accepted"
    tick: int
    offers: list[StandingOffer] = []
    refused: list[RefusedOffer] = []
    gossip: str = ""
    """The gossip as it will be spoken (cleaned), "" for none."""
    lands: int | None = None
    """For a bot with a cadence: the tick the act is applied at; absent otherwise (the
    act's own tick)."""


# Both


class Error(_Out):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    tick: int | None = None
    """The tick the refused frame was about, when it named one."""


ClientMessage = Annotated[Join | Act | Leave, Field(discriminator="type")]
"""What a bot may send on `/ws/bot`."""

ServerMessage = Annotated[
    Snapshot | Delta | Status | Joined | Turn | Accepted | Error, Field(discriminator="type")
]
"""What the server sends, on `/ws` and `/ws/bot`."""

CLIENT: TypeAdapter[Join | Act | Leave] = TypeAdapter(ClientMessage)
SERVER: TypeAdapter[Snapshot | Delta | Status | Joined | Turn | Accepted | Error] = TypeAdapter(
    ServerMessage
)


CLIENT_MODELS = frozenset({"Join", "Act", "BotOffer", "Leave"})
"""What clients send: these may carry null for an absent field; the server never sends null."""


def _never_null(definition: dict[str, Any]) -> None:
    """A field the server may leave out is absent, never null: say so in the schema."""
    for prop in definition.get("properties", {}).values():
        options = prop.get("anyOf")
        if not options or not any(o.get("type") == "null" for o in options):
            continue
        rest = [o for o in options if o.get("type") != "null"]
        del prop["anyOf"]
        if len(rest) == 1:
            prop.update(rest[0])
        else:
            prop["anyOf"] = rest
        if prop.get("default", 0) is None:
            del prop["default"]


def protocol_schema() -> dict[str, Any]:
    """The JSON Schema of every protocol message, as served at `/api/schema`.

    The document validates any one message; `x-client-messages` and `x-server-messages` name
    which side sends which.
    """
    adapter: TypeAdapter[Any] = TypeAdapter(
        Annotated[
            Snapshot | Delta | Status | Join | Joined | Turn | Act | Accepted | Leave | Error,
            Field(discriminator="type"),
        ]
    )
    schema = adapter.json_schema(ref_template="#/$defs/{model}")
    for name, definition in schema["$defs"].items():
        if name not in CLIENT_MODELS:
            _never_null(definition)
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
        "x-client-messages": ["join", "act", "leave"],
        "x-server-messages": ["snapshot", "delta", "status", "joined", "turn", "accepted", "error"],
        "x-error-codes": [code.value for code in ErrorCode],
        "x-close-codes": {str(code.value): code.name.lower() for code in CloseCode},
        **schema,
    }

"""What one tick leaves behind, and how its inputs are written down so they replay exactly.

Actions and commands are stored as plain JSON and read back into the very same values, so
`step(state, read_actions(write_actions(a)), ...)` gives the same world byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from server.minds.brain import DecisionResult
from server.world import Action, Command, Order, RetireCreature, SpawnCreature, TriggerLegend


@dataclass(frozen=True, slots=True)
class TickRecord:
    """Everything committed for one tick, in one transaction."""

    tick: int
    actions: Mapping[str, Action]
    commands: tuple[Command, ...]
    events: list[dict[str, Any]]
    """The tick's events as the wire carries them."""
    state_hash: str
    stats: dict[str, Any]
    """The tick's point on the history charts (see `server.live.history`)."""
    traces: Mapping[str, DecisionResult] = field(default_factory=dict)
    snapshot: dict[str, Any] | None = None
    """`state_to_dict` of the state after this tick, on snapshot ticks."""


def write_actions(actions: Mapping[str, Action]) -> dict[str, Any]:
    return {
        cid: {
            "orders": [[o.side, o.good, o.qty, o.price] for o in action.orders],
            "gossip": action.gossip,
        }
        for cid, action in actions.items()
    }


def read_actions(data: Mapping[str, Any]) -> dict[str, Action]:
    return {
        cid: Action(
            orders=tuple(Order(side, good, qty, price) for side, good, qty, price in a["orders"]),
            gossip=a["gossip"],
        )
        for cid, a in data.items()
    }


def write_commands(commands: Iterable[Command]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for cmd in commands:
        if isinstance(cmd, TriggerLegend):
            out.append({"legend": cmd.legend})
        elif isinstance(cmd, RetireCreature):
            out.append({"retire": asdict(cmd)})
        else:
            out.append({"spawn": asdict(cmd)})
    return out


def read_commands(data: Iterable[Mapping[str, Any]]) -> tuple[Command, ...]:
    out: list[Command] = []
    for item in data:
        if "legend" in item:
            out.append(TriggerLegend(item["legend"]))
        elif "retire" in item:
            out.append(RetireCreature(**item["retire"]))
        else:
            out.append(SpawnCreature(**item["spawn"]))
    return tuple(out)


def write_trace(result: DecisionResult) -> dict[str, Any]:
    return {
        "brain": result.brain,
        "status": result.status,
        "latency_ms": round(result.latency_ms, 3),
        "noop_reason": result.noop_reason,
        "repairs": list(result.repairs),
        "decision": result.decision.model_dump(mode="json", exclude_none=True),
        "prompt": result.prompt,
        "raw": result.raw,
        "messages": [dict(m) for m in result.messages],
    }

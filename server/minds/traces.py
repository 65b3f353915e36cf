"""Decision traces: every decision with its prompt, raw answer, repairs and outcome.

`TraceWriter` is a tick listener (see `server.simulate.run_world`): it appends one JSON line
per decision to a file. `read_traces` loads them back; `export` turns them into a dataset:

- "jsonl": every record as it was written;
- "chat": {"messages": [system, user, assistant]} for the decisions that traded sensibly,
  ready for fine-tuning a small model on the Wood's own good decisions. The assistant turn is
  the parsed, cleaned decision as compact JSON (what the model should have written).

A decision is sensible when it parsed (ok or repaired), made at least one offer, tried to
buy nothing its creature produces, had no offer refused by the world, and (when known) its
creature traded that tick.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from server.world.events import Event, OfferRejected, TradeCleared
from server.world.state import WorldState
from shared.decision import Decision, Offer, Side
from shared.observation import Observation

from .brain import DecisionResult, Status

ExportFormat = Literal["jsonl", "chat"]


class TraceRecord(BaseModel):
    """One creature's decision for one tick, and what came of it."""

    model_config = ConfigDict(frozen=True)

    tick: int
    creature: str
    brain: str
    produces: str | None = None
    prompt: str = ""
    messages: list[dict[str, str]] = []
    """The chat messages the prompt was rendered from (model brains only)."""
    raw: str = ""
    decision: Decision
    status: Status
    repairs: list[str] = []
    noop_reason: str = ""
    latency_ms: float = 0.0
    trades_made: int | None = None
    """Trades the creature took part in that tick; None when not known."""
    rejected: list[str] = []
    """Why the world refused any of its offers that tick (OfferRejected reasons)."""
    observation: Observation | None = None
    """What the creature saw, as a bot's turn holds it (model brains)."""
    intended: list[Offer] | None = None
    """The offers the model asked for, salvaged from `raw` before any guard or drop."""


def trace_records(
    state: WorldState, events: Sequence[Event], results: Mapping[str, DecisionResult]
) -> list[TraceRecord]:
    """The records of one tick: `state` and `events` are what `step` returned."""
    trades: Counter[str] = Counter()
    rejected: dict[str, list[str]] = {}
    for event in events:
        if isinstance(event, TradeCleared):
            trades[event.buyer] += 1
            trades[event.seller] += 1
        elif isinstance(event, OfferRejected):
            rejected.setdefault(event.creature, []).append(event.reason)
    records = []
    for cid, result in results.items():
        creature = state.creatures.get(cid)
        records.append(
            TraceRecord(
                tick=state.tick,
                creature=cid,
                brain=result.brain,
                produces=creature.produces if creature is not None else None,
                prompt=result.prompt,
                messages=[dict(m) for m in result.messages],
                raw=result.raw,
                decision=result.decision,
                status=result.status,
                repairs=list(result.repairs),
                noop_reason=result.noop_reason,
                latency_ms=round(result.latency_ms, 3),
                trades_made=trades[cid],
                rejected=rejected.get(cid, []),
                observation=(
                    None
                    if result.observation is None
                    else Observation.model_validate(asdict(result.observation))
                ),
                intended=None if result.intended is None else list(result.intended),
            )
        )
    return records


class TraceWriter:
    """A tick listener appending each decision as one JSON line. Close it when done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] = path.open("wb")
        self.written = 0

    def record(
        self, state: WorldState, events: Sequence[Event], results: Mapping[str, DecisionResult]
    ) -> None:
        for rec in trace_records(state, events, results):
            self._file.write(orjson.dumps(rec.model_dump(mode="json")) + b"\n")
            self.written += 1
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_traces(path: Path) -> Iterator[TraceRecord]:
    """The records of a trace file, in order. ValueError naming the line if one is bad."""
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield TraceRecord.model_validate_json(line)
            except ValueError as error:
                raise ValueError(f"{path}:{number}: not a trace record: {error}") from None


def sensible(record: TraceRecord) -> bool:
    """Whether a decision is one worth teaching a model (see the module docstring)."""
    if record.status == "noop" or not record.decision.offers:
        return False
    if "own_good_buy" in record.repairs or record.rejected:
        return False
    if record.produces is not None and any(
        o.side is Side.BUY and o.good == record.produces for o in record.decision.offers
    ):
        return False
    return record.trades_made is None or record.trades_made > 0


def export(
    records: Iterable[TraceRecord], format: ExportFormat = "jsonl"
) -> Iterator[dict[str, Any]]:
    """The dataset rows of `records` in `format`."""
    if format == "jsonl":
        for record in records:
            yield record.model_dump(mode="json")
        return
    if format != "chat":
        raise ValueError(f"unknown export format {format!r}; choose jsonl or chat")
    for record in records:
        if not sensible(record) or len(record.messages) < 2:
            continue
        answer = record.decision.model_dump(mode="json", exclude_none=True)
        if record.decision.thought is None:
            answer.pop("thought", None)
        yield {
            "messages": [
                *record.messages[:2],
                {"role": "assistant", "content": orjson.dumps(answer).decode()},
            ]
        }


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[bytes]) -> int:
    """Write rows as JSON lines; return how many."""
    count = 0
    for row in rows:
        out.write(orjson.dumps(row) + b"\n")
        count += 1
    return count

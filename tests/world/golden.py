"""Golden state hashes: a few seeded Woods, hashed at a few ticks, kept in golden_hashes.json.

The same seed, scenario and minds must give the same world in any process, on any machine,
whatever PYTHONHASHSEED is: tests/world/test_golden.py compares fresh runs (in this process
and in subprocesses with different hash seeds) against the stored hashes and each other.

When the world's rules change on purpose, the stored hashes change with them. Regenerate them
with one command, from the repository root, and commit the file:

    python -m tests.world.golden --update

`python -m tests.world.golden` (no flag) prints this process's hashes as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import orjson

from server.minds.scripted import ScriptedMind
from server.world import (
    Command,
    SpawnCreature,
    TriggerLegend,
    load_scenario,
    new_world,
    parse_scenario,
    state_hash,
    step,
)
from server.world.events import Event
from server.world.scenario import Scenario

from .conftest import SMALL_SCENARIO, scripted_actions

GOLDEN_FILE = Path(__file__).with_name("golden_hashes.json")
CHECKPOINTS = (1, 25, 80, 160)
CASES: tuple[tuple[str, int], ...] = (("default", 1), ("default", 42), ("small", 7))
"""(scenario, seed): the default Wood twice, and the small Wood whose calendar runs every
legend in its first ten ticks and whose ruined cub is exiled and comes back."""

TOLD: dict[int, tuple[Command, ...]] = {
    5: (TriggerLegend("great_acorn_mania"),),
    12: (SpawnCreature("newt", "Newt", "newt", "berries", yields={"summer": 2.0}),),
    40: (TriggerLegend("hollow_log_company"), TriggerLegend("run_on_the_hoard")),
    90: (SpawnCreature("toad", "Toad", "toad", "honey", personality="hoarder"),),
}


def scenario_named(name: str) -> Scenario:
    return load_scenario() if name == "default" else parse_scenario(SMALL_SCENARIO)


def _event_blob(events: tuple[Event, ...]) -> bytes:
    return orjson.dumps([[type(e).__name__, dataclasses.asdict(e)] for e in events])


def run_case(name: str, seed: int) -> dict[str, dict[str, str]]:
    """Per checkpoint tick: the state hash, and a hash of every event up to that tick in
    order (so an order that follows set iteration shows even where the state sorts it)."""
    state = new_world(scenario_named(name), seed)
    mind = ScriptedMind(seed)
    events_digest = hashlib.sha256()
    out: dict[str, dict[str, str]] = {}
    while state.tick < max(CHECKPOINTS):
        told = TOLD.get(state.tick + 1, ())
        state, events = step(state, scripted_actions(state, mind), told)
        events_digest.update(_event_blob(events))
        if state.tick in CHECKPOINTS:
            out[str(state.tick)] = {
                "state": state_hash(state),
                "events": events_digest.hexdigest(),
            }
    return out


def compute() -> dict[str, Any]:
    return {f"{name}/{seed}": run_case(name, seed) for name, seed in CASES}


def stored() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.world.golden", description=__doc__)
    parser.add_argument(
        "--update", action="store_true", help=f"rewrite {GOLDEN_FILE.name} from this run"
    )
    args = parser.parse_args(argv)
    hashes = compute()
    if args.update:
        GOLDEN_FILE.write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n", "utf-8")
        print(f"wrote {GOLDEN_FILE}", file=sys.stderr)
    else:
        print(json.dumps(hashes, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

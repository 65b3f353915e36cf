"""The state of one Wood at the end of a tick.

A `WorldState` holds everything the next tick depends on, the seeded generator included, so
`step(state, actions)` is a pure function of its arguments. `step` never mutates the state it
is given: it works on `state.copy()`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

import orjson

from .scenario import CreatureSpec, Scenario, parse_scenario
from .units import to_bits


@dataclass(slots=True)
class Creature:
    id: str
    name: str
    species: str
    produces: str
    personality: str
    brain: str
    purse: int
    """Pebbles held, in bits (hundredths of a pebble)."""
    stores: dict[str, int]
    mood: float = 0.7
    fuel_debt: float = 0.0
    """Fuel owed to the hearth and not yet burned; warm while it stays under one unit."""
    fed: bool = True
    warm: bool = True
    exiled_until: int = 0
    """Tick on which an exiled creature returns; 0 when it is in the Wood."""
    yields: dict[str, float] = field(default_factory=dict)
    """Units produced per tick by season name."""

    @property
    def exiled(self) -> bool:
        return self.exiled_until > 0

    def copy(self) -> Creature:
        return Creature(
            self.id,
            self.name,
            self.species,
            self.produces,
            self.personality,
            self.brain,
            self.purse,
            dict(self.stores),
            self.mood,
            self.fuel_debt,
            self.fed,
            self.warm,
            self.exiled_until,
            self.yields,  # never mutated after creation: shared between copies
        )


@dataclass(slots=True)
class ActiveLegend:
    id: str
    key: str
    began: int
    ends: int
    """The last tick it is in force."""
    truth: bool
    """Whether a rumour is true. Hidden: never in an observation or the world document."""
    target: str = ""
    """Creature at the centre of the legend (the hoarder of a Run on the Hoard), if any."""
    pot: int = 0
    """Bits gathered by a toll while it runs."""

    def copy(self) -> ActiveLegend:
        return ActiveLegend(
            self.id, self.key, self.began, self.ends, self.truth, self.target, self.pot
        )


@dataclass(frozen=True, slots=True)
class Trade:
    tick: int
    good: str
    qty: int
    price: int
    """Clearing price in bits."""
    buyer: str
    seller: str


@dataclass(frozen=True, slots=True)
class Gossip:
    tick: int
    creature: str
    text: str


@dataclass(frozen=True, slots=True)
class Lore:
    """The storyteller's memory: when the last legend began and ended, and which it was."""

    began: int = 0
    ended: int = 0
    key: str = ""


@dataclass(slots=True)
class WorldState:
    scenario: Scenario
    seed: int
    tick: int
    """The last tick completed; 0 before the first step."""
    rng: random.Random
    creatures: dict[str, Creature]
    ref_prices: dict[str, float]
    """Reference price per good, in pebbles: the board's belief, drifting with the market."""
    last_prices: dict[str, int]
    """Clearing price in bits per good from the last tick it traded."""
    commons: int
    """Bits held by the Wood itself."""
    legends: list[ActiveLegend]
    trades: tuple[Trade, ...] = ()
    """The most recent trades, newest last (the public tape)."""
    gossip: tuple[Gossip, ...] = ()
    """The most recent gossip lines, newest last."""
    next_legend: int = 1
    lore: Lore = Lore()
    """What the storyteller remembers of the legends told so far."""
    harvest: dict[str, float] = field(default_factory=dict)
    """This season's luck per good: a multiplier on every maker's yield, drawn each season."""
    welcome_at: int = 0
    """The tick at which the Wood's welcome of newcomers is whole again (`welcome.py`)."""

    def copy(self) -> WorldState:
        # A bare generator given the state directly: seeding one first (from the OS's
        # entropy) would cost several times the copy itself, every tick.
        rng = random.Random.__new__(random.Random)
        rng.setstate(self.rng.getstate())
        return WorldState(
            self.scenario,
            self.seed,
            self.tick,
            rng,
            {cid: c.copy() for cid, c in self.creatures.items()},
            dict(self.ref_prices),
            dict(self.last_prices),
            self.commons,
            [leg.copy() for leg in self.legends],
            self.trades,
            self.gossip,
            self.next_legend,
            self.lore,
            dict(self.harvest),
            self.welcome_at,
        )


def creature_from_spec(spec: CreatureSpec, scenario: Scenario) -> Creature:
    stores = dict.fromkeys(scenario.goods, 0)
    stores.update(spec.stores)
    return Creature(
        id=spec.id,
        name=spec.name,
        species=spec.species,
        produces=spec.produces,
        personality=spec.personality,
        brain=spec.brain,
        purse=to_bits(spec.pebbles),
        stores=stores,
        yields={str(season): float(n) for season, n in spec.yield_.items()},
    )


def new_world(scenario: Scenario, seed: int) -> WorldState:
    """The Wood before its first tick."""
    return WorldState(
        scenario=scenario,
        seed=seed,
        tick=0,
        rng=random.Random(seed),
        creatures={c.id: creature_from_spec(c, scenario) for c in scenario.creatures},
        ref_prices={name: g.price for name, g in scenario.goods.items()},
        last_prices={},
        commons=to_bits(scenario.rules.commons),
        legends=[],
    )


def state_to_dict(state: WorldState) -> dict[str, Any]:
    """Everything in the state, hidden facts included, as plain JSON-able data."""
    version, internal, gauss = state.rng.getstate()
    return {
        "scenario": state.scenario.model_dump(mode="json", by_alias=True),
        "seed": state.seed,
        "tick": state.tick,
        "rng": [version, list(internal), gauss],
        # A list, not a mapping: the phases walk creatures in this order and roll the dice in
        # it, so the order is part of the state (and of its hash).
        "creatures": [
            {
                "id": c.id,
                "name": c.name,
                "species": c.species,
                "produces": c.produces,
                "personality": c.personality,
                "brain": c.brain,
                "purse": c.purse,
                "stores": dict(c.stores),
                "mood": c.mood,
                "fuel_debt": c.fuel_debt,
                "fed": c.fed,
                "warm": c.warm,
                "exiled_until": c.exiled_until,
                "yields": dict(c.yields),
            }
            for c in state.creatures.values()
        ],
        "ref_prices": state.ref_prices,
        "last_prices": state.last_prices,
        "commons": state.commons,
        "legends": [
            {
                "id": leg.id,
                "key": leg.key,
                "began": leg.began,
                "ends": leg.ends,
                "truth": leg.truth,
                "target": leg.target,
                "pot": leg.pot,
            }
            for leg in state.legends
        ],
        "trades": [[t.tick, t.good, t.qty, t.price, t.buyer, t.seller] for t in state.trades],
        "gossip": [[g.tick, g.creature, g.text] for g in state.gossip],
        "next_legend": state.next_legend,
        "lore": [state.lore.began, state.lore.ended, state.lore.key],
        "harvest": state.harvest,
        # Absent while 0, so a world that never took a newcomer keeps its hashes.
        **({"welcome_at": state.welcome_at} if state.welcome_at else {}),
    }


def state_from_dict(data: dict[str, Any], scenario: Scenario | None = None) -> WorldState:
    """Inverse of `state_to_dict`. Pass the scenario to share one parsed instance."""
    scn = scenario if scenario is not None else parse_scenario(data["scenario"])
    version, internal, gauss = data["rng"]
    rng = random.Random()
    rng.setstate((version, tuple(internal), gauss))
    return WorldState(
        scenario=scn,
        seed=data["seed"],
        tick=data["tick"],
        rng=rng,
        creatures={
            c["id"]: Creature(**{**c, "stores": dict(c["stores"]), "yields": dict(c["yields"])})
            for c in data["creatures"]
        },
        ref_prices=dict(data["ref_prices"]),
        last_prices=dict(data["last_prices"]),
        commons=data["commons"],
        legends=[ActiveLegend(**leg) for leg in data["legends"]],
        trades=tuple(Trade(*t) for t in data["trades"]),
        gossip=tuple(Gossip(*g) for g in data["gossip"]),
        next_legend=data["next_legend"],
        # States saved before the storyteller have no lore: it starts with a clean memory.
        lore=Lore(*data.get("lore", ())),
        harvest=dict(data.get("harvest", {})),
        welcome_at=data.get("welcome_at", 0),
    )


def state_hash(state: WorldState) -> str:
    """SHA-256 of the whole state (hidden facts and generator included), hex."""
    blob = orjson.dumps(state_to_dict(state), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(blob).hexdigest()

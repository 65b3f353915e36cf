"""Shared woods, runners and hypothesis strategies for the world core's tests.

Test modules import the plain helpers from here (`from .conftest import ...`); the fixtures
are found by pytest as usual.
"""

from __future__ import annotations

import copy
import functools
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import strategies as st

from server.minds.scripted import ScriptedMind
from server.world import (
    LEGENDS,
    Action,
    Command,
    Order,
    Scenario,
    SpawnCreature,
    TriggerLegend,
    WorldState,
    load_scenario,
    new_world,
    observe_all,
    parse_scenario,
    step,
)
from server.world.events import Event, GoodsConsumed, GoodsLost, GoodsProduced, GoodsSpoiled

T = TypeVar("T")

GOODS = ("acorns", "berries", "mushrooms", "honey", "firewood")
REJECTION_REASONS = frozenset(
    {
        "insufficient_goods",
        "insufficient_pebbles",
        "crossed_own_offer",
        "too_many_offers",
        "unknown_good",
        "invalid_qty",
        "invalid_price",
        "invalid_side",
        "unknown_creature",
        "exiled",
        "not_an_order",
    }
)

# A Wood with the default goods (so every legend applies), four creatures, seasons of three
# ticks (a year in twelve), every legend on the calendar in its first ten ticks, and one
# creature ("cub") ruined on its first tick so exile and return happen early.
SMALL_SCENARIO: dict[str, Any] = {
    "name": "Small Wood",
    "goods": {
        "acorns": {"price": 4.0, "spoil": 0.05},
        "berries": {"price": 5.0, "spoil": 0.3},
        "mushrooms": {"price": 6.0, "spoil": 0.1},
        "honey": {"price": 9.0, "spoil": 0.01},
        "firewood": {"food": False, "fuel": True, "price": 5.0},
    },
    "creatures": [
        {
            "id": "ash",
            "name": "Ash",
            "species": "beaver",
            "produces": "firewood",
            "personality": "shrewd",
            "pebbles": 60.0,
            "stores": {"firewood": 6, "acorns": 2, "berries": 2},
            "yield": {"spring": 2.0, "summer": 2.0, "autumn": 2.5, "winter": 1.5},
        },
        {
            "id": "bee",
            "name": "Bee",
            "species": "owl",
            "produces": "honey",
            "personality": "hoarder",
            "pebbles": 50.0,
            "stores": {"honey": 9, "mushrooms": 2, "firewood": 2},
            "yield": {"spring": 1.5, "summer": 3.0, "autumn": 1.0, "winter": 0.5},
        },
        {
            "id": "cub",
            "name": "Cub",
            "species": "fox",
            "produces": "berries",
            "personality": "speculator",
            "pebbles": 0.5,
            "yield": {"summer": 3.0, "autumn": 1.0},
        },
        {
            "id": "dot",
            "name": "Dot",
            "species": "badger",
            "produces": "mushrooms",
            "personality": "generous",
            "pebbles": 80.0,
            "stores": {"acorns": 12, "berries": 6, "mushrooms": 10, "firewood": 5},
            "yield": {"spring": 2.0, "summer": 1.0, "autumn": 3.0, "winter": 1.0},
        },
    ],
    "rules": {
        "ticks_per_season": 3,
        "exile_ticks": 2,
        "return_stake": 4.0,
        "commons": 10.0,
        "legend_chance": 0.2,
    },
    "legends": [
        {"tick": 1, "legend": "hollow_log_company"},
        {"tick": 2, "legend": "run_on_the_hoard"},
        {"tick": 3, "legend": "drought"},
        {"tick": 4, "legend": "early_frost"},
        {"tick": 5, "legend": "great_acorn_mania"},
        {"tick": 7, "legend": "bumper_harvest"},
        {"tick": 9, "legend": "flood_at_the_ford"},
    ],
}


def creature(
    cid: str,
    produces: str,
    *,
    pebbles: float = 100.0,
    stores: Mapping[str, int] | None = None,
    yields: Mapping[str, float] | None = None,
    personality: str = "steady",
) -> dict[str, Any]:
    """One creature entry of a scenario document."""
    return {
        "id": cid,
        "name": cid.capitalize(),
        "species": "vole",
        "produces": produces,
        "personality": personality,
        "pebbles": pebbles,
        "stores": dict(stores or {}),
        "yield": dict(yields or {}),
    }


NEUTRAL_RULES: dict[str, Any] = {
    "harvest_swing": 0.0,
    "effort_floor": 1.0,
    "overflow_rot": 0.0,
    "glut_slowdown": False,
    "upkeep": 0.0,
    "commons_share": 0.0,
}
"""The long-run correctives (season luck, effort, overflow rot, upkeep, sharing), off."""


def neutral(scenario: Scenario, **rules: Any) -> Scenario:
    """The scenario with the long-run correctives off (and any other rules given)."""
    update = {**NEUTRAL_RULES, **rules}
    return scenario.model_copy(update={"rules": scenario.rules.model_copy(update=update)})


def make_scenario(
    creatures: list[dict[str, Any]],
    *,
    goods: Mapping[str, Mapping[str, Any]] | None = None,
    rules: Mapping[str, Any] | None = None,
    legends: list[dict[str, Any]] | None = None,
    storyteller: Mapping[str, Any] | None = None,
) -> Scenario:
    """A validated scenario from its parts: unless given, the five default goods (none
    rotting), the tuned rules with the long-run correctives switched off (`NEUTRAL_RULES`),
    and legends from the calendar alone, so each test sees only the mechanism it is about."""
    base_goods = copy.deepcopy(SMALL_SCENARIO["goods"])
    for spec in base_goods.values():
        spec["spoil"] = 0.0
    return parse_scenario(
        {
            "name": "Test Wood",
            "goods": dict(goods) if goods is not None else base_goods,
            "creatures": creatures,
            "rules": {**NEUTRAL_RULES, **(rules or {})},
            "legends": list(legends or []),
            "storyteller": dict(storyteller or {"mode": "calendar"}),
        }
    )


# A Wood where only trades move anything: nothing is produced, nothing rots, nothing is
# burned, and the only food ("bread") is held by nobody, so nobody eats.
MARKET_GOODS: dict[str, dict[str, Any]] = {
    "bread": {"price": 1.0},
    "acorns": {"food": False, "price": 5.0},
    "honey": {"food": False, "price": 9.0},
}


def market_scenario(
    cast: Mapping[str, tuple[float, Mapping[str, int]]],
    rules: Mapping[str, Any] | None = None,
) -> Scenario:
    """Creatures given as id -> (pebbles, stores), in the market-only Wood."""
    return make_scenario(
        [
            creature(cid, "bread", pebbles=pebbles, stores=stores)
            for cid, (pebbles, stores) in cast.items()
        ],
        goods=MARKET_GOODS,
        # The drift and pull are pinned here so hand-computed prices do not follow tuning.
        rules={
            "fuel_need": {},
            "winter_rise": 0.0,
            "price_drift": 0.1,
            "price_pull": 0.3,
            **(rules or {}),
        },
    )


@pytest.fixture(scope="session")
def default_scenario() -> Scenario:
    return load_scenario()


@pytest.fixture(scope="session")
def small_scenario() -> Scenario:
    return parse_scenario(SMALL_SCENARIO)


CHECKPOINTS = (0, 70, 99, 140, 229, 262, 419, 438)
"""Ticks of a scripted default run (seed 3) that random play starts from: spring, autumn,
the end of winter, a Drought, a Run on the Hoard, an Early Frost, the Hollow Log Company,
and just before the Company's rumour resolves."""


@pytest.fixture(scope="session")
def checkpoints(default_scenario: Scenario) -> dict[int, WorldState]:
    """States of one scripted default run at `CHECKPOINTS` (shared: never mutate them)."""
    state = new_world(default_scenario, 3)
    out = {0: state}
    for t in run_scripted(state, max(CHECKPOINTS)):
        if t.after.tick in CHECKPOINTS:
            out[t.after.tick] = t.after
    return out


@dataclass(frozen=True, slots=True)
class Tick:
    before: WorldState
    actions: dict[str, Action]
    commands: tuple[Command, ...]
    after: WorldState
    events: tuple[Event, ...]


def scripted_actions(state: WorldState, mind: ScriptedMind) -> dict[str, Action]:
    """What the scripted minds do with this state's observations."""
    return {cid: mind.act(obs) for cid, obs in observe_all(state).items()}


def run_scripted(
    state: WorldState,
    ticks: int,
    *,
    mind: ScriptedMind | None = None,
    commands: Mapping[int, tuple[Command, ...]] | None = None,
) -> Iterator[Tick]:
    """Step `ticks` times with scripted minds; `commands` maps a tick to what is told on it."""
    mind = mind if mind is not None else ScriptedMind(state.seed)
    for _ in range(ticks):
        actions = scripted_actions(state, mind)
        told = tuple((commands or {}).get(state.tick + 1, ()))
        after, events = step(state, actions, told)
        yield Tick(state, actions, told, after, events)
        state = after


def pebbles_total(state: WorldState) -> int:
    return sum(c.purse for c in state.creatures.values()) + state.commons


def goods_totals(state: WorldState) -> Counter[str]:
    totals: Counter[str] = Counter(dict.fromkeys(state.scenario.goods, 0))
    for c in state.creatures.values():
        totals.update(c.stores)
    return totals


def net_goods(events: tuple[Event, ...]) -> Counter[str]:
    """Units made minus units eaten, burned, rotted and lost to legends, per good, by the
    tick's events."""
    net: Counter[str] = Counter()
    for e in events:
        if isinstance(e, GoodsProduced):
            net[e.good] += e.qty
        elif isinstance(e, GoodsConsumed | GoodsSpoiled | GoodsLost):
            net[e.good] -= e.qty
    return net


def of_type(events: tuple[Event, ...] | list[Event], cls: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, cls)]


def all_keys(obj: Any) -> Iterator[str]:
    """Every dict key anywhere inside a JSON-like value."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from all_keys(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from all_keys(v)


def none_paths(obj: Any, path: str = "") -> Iterator[str]:
    """Where a JSON-like value holds a None, as dotted paths."""
    if obj is None:
        yield path or "(root)"
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from none_paths(v, f"{path}.{k}")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from none_paths(v, f"{path}[{i}]")


# ---- hypothesis strategies: anything a creature or an operator might send ------------------

UNKNOWN_IDS = ("ghost", "", "Mossback", "zz-top")

junk_sides = st.one_of(
    st.sampled_from(["buy", "sell", "BUY", "Sell", "hold", " buy", ""]),
    st.text(max_size=4),
    st.sampled_from([None, 1, b"buy"]),
)
junk_quantities = st.one_of(
    st.integers(1, 12),
    st.sampled_from([0, -1, -500, 999, 1000, 10**12, -(10**12)]),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, False, "3", None, 2.0]),
)
junk_prices = st.one_of(
    st.integers(50, 1500),
    st.sampled_from([0, -1, -400, 1_000_000, 1_000_001, 10**15]),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, "5", None, 500.0]),
)


@functools.cache
def goods_named(goods: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(goods),
        st.sampled_from(["gold", "", "Acorns", "pebbles"]),
    )


@functools.cache
def valid_orders(goods: tuple[str, ...]) -> st.SearchStrategy[Order]:
    """Orders that pass validation (they may still fail for want of goods or pebbles)."""
    return st.builds(
        Order,
        st.sampled_from(["buy", "sell"]),
        st.sampled_from(goods),
        st.integers(1, 6),
        st.integers(100, 1100),
    )


@functools.cache
def junk_orders(goods: tuple[str, ...]) -> st.SearchStrategy[Order]:
    """Orders with any field possibly wrong: bad sides, unknown goods, odd numbers."""
    return st.builds(Order, junk_sides, goods_named(goods), junk_quantities, junk_prices)


@functools.cache
def orders(
    goods: tuple[str, ...], held: tuple[tuple[str, int], ...] = ()
) -> st.SearchStrategy[Order]:
    """Mostly well-formed orders likely to cross (sales of what is `held`, priced low; small
    bids priced high), so markets clear, with any-order junk mixed in."""
    bids = st.builds(
        Order, st.just("buy"), st.sampled_from(goods), st.integers(1, 3), st.integers(300, 900)
    )
    choices = [bids, bids, valid_orders(goods), junk_orders(goods)]
    if held:
        sales = st.sampled_from(held).flatmap(
            lambda gn: st.builds(
                Order, st.just("sell"), st.just(gn[0]), st.integers(1, gn[1]), st.integers(100, 800)
            )
        )
        choices += [sales, sales]
    return st.one_of(*choices)


@functools.cache
def action_strategy(
    goods: tuple[str, ...], held: tuple[tuple[str, int], ...] = ()
) -> st.SearchStrategy[Action]:
    return st.builds(
        Action,
        orders=st.lists(orders(goods, held), max_size=4).map(tuple),
        gossip=st.one_of(st.just(""), st.text(max_size=160)),
    )


@functools.cache
def commands(goods: tuple[str, ...], taken: tuple[str, ...]) -> st.SearchStrategy[Command]:
    trigger = st.builds(TriggerLegend, st.sampled_from([*LEGENDS, "plague", "", "DROUGHT"]))
    spawn = st.builds(
        SpawnCreature,
        id=st.one_of(
            st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True),
            st.sampled_from(["", "Bad Id", "x" * 40, *taken]),
        ),
        name=st.sampled_from(["Newt", "", "N" * 41]),
        species=st.sampled_from(["newt", "toad"]),
        produces=st.sampled_from([*goods, "gold"]),
        personality=st.sampled_from(["steady", "hoarder", "grumpy"]),
        yields=st.dictionaries(
            st.sampled_from(["spring", "summer", "autumn", "winter"]),
            st.one_of(st.floats(-5, 2000), st.just(float("nan"))),
            max_size=4,
        ),
    )
    return st.one_of(trigger, spawn)


def draw_tick(
    data: st.DataObject, state: WorldState
) -> tuple[dict[str, Action], tuple[Command, ...]]:
    """Random actions for a random subset of the creatures (and now and then for an unknown
    id), and now and then a command or two."""
    goods = tuple(state.scenario.goods)
    ids = data.draw(st.lists(st.sampled_from(list(state.creatures)), unique=True))
    ids += data.draw(st.lists(st.sampled_from(UNKNOWN_IDS), unique=True, max_size=1))
    actions = {}
    for cid in ids:
        c = state.creatures.get(cid)
        held = tuple((g, n) for g, n in c.stores.items() if n > 0) if c is not None else ()
        actions[cid] = data.draw(action_strategy(goods, held))
    told = data.draw(
        st.one_of(
            st.just(()),
            st.just(()),
            st.lists(commands(goods, tuple(state.creatures)), max_size=2).map(tuple),
        )
    )
    return actions, told

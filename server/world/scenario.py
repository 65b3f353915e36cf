"""Scenario files: the cast, the goods and the rules of one Wood.

A scenario is TOML or JSON validated by pydantic. Anything malformed or inconsistent is
refused with a `ScenarioError` whose lines each name the offending field, e.g.
``creatures[2].produces: 'honney' is not a good of this scenario (acorns, berries, ...)``.
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .legend_book import LEGENDS
from .seasons import SEASONS, Season

ID_PATTERN = r"[a-z][a-z0-9_-]{0,31}"
"""Creature ids: a lowercase letter, then up to 31 lowercase letters, digits, '-' or '_'."""
Slug = Annotated[str, Field(pattern=f"^{ID_PATTERN}$")]
Personality = Literal["steady", "hoarder", "speculator", "shrewd", "generous"]
SeasonTable = dict[Season, Annotated[float, Field(ge=0, le=1000)]]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names every bad field."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class GoodSpec(_Frozen):
    """One good of the Wood."""

    food: bool = True
    fuel: bool = False
    price: Annotated[float, Field(gt=0, le=1000)]
    """Opening reference price, in pebbles."""
    spoil: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Fraction of a creature's stored units that rot each tick."""
    storage: Annotated[int, Field(ge=1, le=1_000_000)] = 40
    """Units one creature can keep well. Beyond it the excess rots at `rules.overflow_rot`
    a tick, and its maker slows down from half of it (no pile grows without bound)."""


class CreatureSpec(_Frozen):
    """One member of the cast."""

    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=40)]
    species: Annotated[str, Field(min_length=1, max_length=40)]
    produces: str
    personality: Personality = "steady"
    brain: Annotated[str, Field(min_length=1, max_length=40)] = "scripted"
    pebbles: Annotated[float, Field(ge=0, le=1_000_000)] = 40.0
    stores: dict[str, Annotated[int, Field(ge=0, le=1_000_000)]] = {}
    yield_: Annotated[SeasonTable, Field(alias="yield")] = {}
    """Units produced per tick in each season (fractions are rounded by the seeded dice)."""


class Rules(_Frozen):
    """The knobs of the world. Defaults are the tuned Wood."""

    ticks_per_season: Annotated[int, Field(ge=1, le=10_000)] = 25
    appetite: Annotated[int, Field(ge=1, le=10)] = 2
    """Different foods a creature eats per tick, one unit of each; fed needs `fed_foods`."""
    fed_foods: Annotated[int, Field(ge=1, le=10)] = 2
    fuel_need: SeasonTable = {
        Season.SPRING: 0.3,
        Season.SUMMER: 0.0,
        Season.AUTUMN: 0.4,
        Season.WINTER: 1.0,
    }
    """Firewood burned per tick in each season."""
    winter_rise: Annotated[float, Field(ge=0, le=100)] = 1.0
    """Extra firewood per tick by the last day of winter (the need ramps up through it)."""
    max_offers: Annotated[int, Field(ge=0, le=3)] = 3
    gossip_chars: Annotated[int, Field(ge=0, le=280)] = 120
    price_drift: Annotated[float, Field(ge=0, le=1)] = 0.04
    """How far the reference price moves per tick on a fully one-sided book."""
    price_pull: Annotated[float, Field(ge=0, le=1)] = 0.3
    """How far the reference price moves toward the clearing price each trading tick."""
    mood_floor: Annotated[float, Field(gt=0, lt=1)] = 0.05
    mood_reversion: Annotated[float, Field(gt=0, le=1)] = 0.15
    exile_ticks: Annotated[int, Field(ge=1, le=10_000)] = 12
    return_stake: Annotated[float, Field(ge=0, le=1_000_000)] = 15.0
    """Pebbles a creature gets from the commons when it returns from exile."""
    commons: Annotated[float, Field(ge=0, le=1_000_000_000)] = 100.0
    """Pebbles held by the Wood itself at the start (exile stakes, Company tolls)."""
    legend_chance: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Chance per tick that a random legend begins when none is active."""
    allow_join: bool = True
    """Whether bots may spawn new creatures."""
    join_pebbles: Annotated[float, Field(ge=0, le=1_000_000)] = 20.0
    bot_fallback: Literal["scripted", "noop"] = "scripted"
    """What a bot's creature does while no bot drives it: trade as a scripted mind, or idle."""
    own_good_buys: Literal["drop", "keep"] = "drop"
    """What the minds do with an offer to buy what the creature itself produces."""
    history: Annotated[int, Field(ge=1, le=1000)] = 12
    """How many recent trades and gossip lines the public board keeps."""
    harvest_swing: Annotated[float, Field(ge=0, lt=1)] = 0.4
    """How far a season's luck moves each good's yields: a factor drawn evenly from
    1 - swing to 1 + swing at each season's start, so no two years are alike."""
    glut_slowdown: bool = True
    """Whether a maker slows down as its own stock nears the good's `storage`."""
    effort_floor: Annotated[float, Field(ge=0, le=1)] = 0.5
    """The least share of its yield a maker still makes when its good fetches next to nothing
    (effort follows the reference price below the opening price)."""
    overflow_rot: Annotated[float, Field(ge=0, le=1)] = 0.1
    """Fraction of the units held beyond a good's `storage` that rot each tick."""
    upkeep: Annotated[float, Field(ge=0, le=1)] = 0.35
    """Share of a creature's wealth (pebbles and goods at the board's prices) above
    `upkeep_free` pebbles that it pays to the commons, from its purse, at each season's end."""
    upkeep_free: Annotated[float, Field(ge=0, le=1_000_000)] = 40.0
    commons_share: Annotated[float, Field(ge=0, le=1)] = 0.05
    """Share of the commons above its opening pebbles given out equally every tick."""


class Storyteller(_Frozen):
    """Who tells the Wood's legends once (or while) its calendar is silent.

    `storyteller` (the default) keeps legends coming for as long as the world runs, paced by
    the world's state; `calendar` tells only the scheduled legends; `off` tells none (not even
    the calendar's). Operators can always trigger legends by hand.
    """

    mode: Literal["storyteller", "calendar", "off"] = "storyteller"
    with_calendar: bool = False
    """Whether the storyteller also speaks while the calendar still has legends to come
    (by default it waits until the calendar's last one has begun)."""
    quiet: Annotated[int, Field(ge=0, le=100_000)] = 30
    """Ticks of calm after a legend ends before the storyteller may tell another."""
    mean_gap: Annotated[int, Field(ge=1, le=100_000)] = 160
    """Mean ticks between legends on a calm, even world; shocks come sooner to a lopsided
    or stagnant one."""
    max_gap: Annotated[int, Field(ge=1, le=100_000)] = 420
    """A legend begins at the latest this many ticks after the last one began."""


class ScheduledLegend(_Frozen):
    tick: Annotated[int, Field(ge=1)]
    legend: str


BUILTIN_BRAINS = ("scripted", "model", "bot")
"""Brain names every scenario knows: the scripted mind, whatever model brain the server or
`simulate` was started with (`--brain`), and a bot over the websocket."""


class BrainSpec(_Frozen):
    """A named model brain of the scenario: its own engine and model. Creatures naming it
    are decided together, in one batched call per tick to that engine."""

    engine: Literal["vllm", "openai", "modal"]
    model: Annotated[str, Field(min_length=1, max_length=400)] | None = None
    base_url: Annotated[str, Field(min_length=1, max_length=400)] | None = None
    max_tokens: Annotated[int, Field(ge=1, le=4096)] = 96
    thought: bool = False
    cadence: Annotated[int, Field(ge=1, le=3600)] | Literal["auto"] = "auto"
    """Ticks one batch may take (its creatures decide every `cadence` ticks at most); auto:
    chosen at start from the engine's measured warm batch latency."""
    between: Literal["hold", "standing"] = "hold"
    """What its creatures do while their batch is out: hold (no-op `thinking`), or repeat
    their last offers (standing orders)."""
    space: Literal["free", "guarded", "menu"] = "free"
    """How much freedom the model gets (server.minds.spaces): one schema for all, each
    creature's own guarded schema, or a menu of plans to choose from."""


class Scenario(_Frozen):
    """A whole Wood: validated, immutable, shared by every state of one world.

    Build one with `parse_scenario` or `load_scenario`, which also run the cross-field checks.
    """

    name: Annotated[str, Field(min_length=1, max_length=80)]
    description: str = ""
    goods: dict[str, GoodSpec]
    creatures: list[CreatureSpec]
    rules: Rules = Rules()
    legends: list[ScheduledLegend] = []
    storyteller: Storyteller = Storyteller()
    brains: dict[str, BrainSpec] = {}
    """Named model brains, so one world can mix models (`brain = "NAME"` on a creature)."""

    @cached_property
    def fuel(self) -> str | None:
        """The good burned for warmth, if the scenario has one."""
        return next((name for name, g in self.goods.items() if g.fuel), None)

    @cached_property
    def foods(self) -> tuple[str, ...]:
        return tuple(name for name, g in self.goods.items() if g.food)


def parse_scenario(data: Any, *, source: str = "scenario") -> Scenario:
    """Validate a scenario document (already decoded) or raise `ScenarioError`."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, source)) from None
    problems = _inconsistencies(scenario)
    if problems:
        lines = [f"{source}: {len(problems)} problem(s)", *(f"  {p}" for p in problems)]
        raise ScenarioError("\n".join(lines))
    return scenario


def _inconsistencies(s: Scenario) -> list[str]:
    """Cross-field checks that pydantic's per-field validation cannot express."""
    problems: list[str] = []
    names = ", ".join(s.goods)
    for good in s.goods:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", good):
            problems.append(f"goods.{good}: a good's name must be lowercase letters and digits")
    if not any(g.food for g in s.goods.values()):
        problems.append("goods: at least one good must be food")
    if sum(g.fuel for g in s.goods.values()) > 1:
        problems.append("goods: at most one good can be fuel")
    problems.extend(
        f"goods.{name}: a fuel cannot also be food (set food = false)"
        for name, g in s.goods.items()
        if g.fuel and g.food
    )
    if not s.creatures:
        problems.append("creatures: a Wood needs at least one creature")
    seen: set[str] = set()
    for i, c in enumerate(s.creatures):
        where = f"creatures[{i}]"
        if c.id in seen:
            problems.append(f"{where}.id: {c.id!r} is used twice")
        seen.add(c.id)
        if c.produces not in s.goods:
            problems.append(
                f"{where}.produces: {c.produces!r} is not a good of this scenario ({names})"
            )
        problems.extend(
            f"{where}.stores.{good}: not a good of this scenario ({names})"
            for good in c.stores
            if good not in s.goods
        )
    brains = (*BUILTIN_BRAINS, *s.brains)
    for name in s.brains:
        if name in BUILTIN_BRAINS or not re.fullmatch(ID_PATTERN, name):
            problems.append(
                f"brains.{name}: a brain's name must be a lowercase slug other than "
                f"{', '.join(BUILTIN_BRAINS)}"
            )
    problems.extend(
        f"creatures[{i}].brain: unknown brain {c.brain!r} ({', '.join(brains)})"
        for i, c in enumerate(s.creatures)
        if c.brain not in brains
    )
    teller = s.storyteller
    if teller.mean_gap > teller.max_gap:
        problems.append(
            f"storyteller.mean_gap: {teller.mean_gap} is more than max_gap ({teller.max_gap})"
        )
    if teller.quiet >= teller.max_gap:
        problems.append(
            f"storyteller.quiet: {teller.quiet} must be less than max_gap ({teller.max_gap})"
        )
    for i, sched in enumerate(s.legends):
        if sched.legend not in LEGENDS:
            known = ", ".join(LEGENDS)
            problems.append(f"legends[{i}].legend: unknown legend {sched.legend!r} ({known})")
            continue
        missing = LEGENDS[sched.legend].needs_goods - set(s.goods)
        if missing:
            problems.append(f"legends[{i}].legend: {sched.legend!r} needs goods {sorted(missing)}")
    return problems


MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_FILE_CREATURES = 1000
"""A scenario file's limits (the benches build bigger Woods in code, `large_scenario`)."""


def bundled_scenarios() -> tuple[str, ...]:
    """Names of the scenarios that ship with smallwood (`default`, `wide_wood`, ...)."""
    folder = resources.files("server.world").joinpath("scenarios")
    return tuple(
        sorted(f.name.removesuffix(".toml") for f in folder.iterdir() if f.name.endswith(".toml"))
    )


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read a scenario from a .toml or .json file, or a bundled one by name (`wide_wood`);
    None gives the default Wood.

    A file over `MAX_FILE_BYTES`, with more than `MAX_FILE_CREATURES` creatures, or nested
    too deeply to decode is refused with a `ScenarioError` that says so."""
    name = "default" if path is None else str(path)
    if name in bundled_scenarios() and (path is None or not Path(path).exists()):
        text = resources.files("server.world").joinpath(f"scenarios/{name}.toml").read_text()
        return parse_scenario(tomllib.loads(text), source=f"{name}.toml")
    assert path is not None
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        known = ", ".join(bundled_scenarios())
        raise ScenarioError(
            f"{path}: cannot read the scenario file ({exc.strerror}); bundled scenarios: {known}"
        ) from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}: a scenario file holds at most {MAX_FILE_BYTES} bytes")
    try:
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(
            f"{path}: not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}"
        ) from None
    except RecursionError:
        raise ScenarioError(f"{path}: nested too deeply to be a scenario") from None
    cast = data.get("creatures") if isinstance(data, dict) else None
    if isinstance(cast, list) and len(cast) > MAX_FILE_CREATURES:
        raise ScenarioError(
            f"{path}: {len(cast)} creatures; a scenario file holds at most {MAX_FILE_CREATURES}"
        )
    try:
        return parse_scenario(data, source=str(path))
    except RecursionError:
        raise ScenarioError(f"{path}: nested too deeply to be a scenario") from None


def _describe(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: {exc.error_count()} problem(s)"]
    for err in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"  {loc or '(top level)'}: {msg}" if loc else f"  {msg}")
    return "\n".join(lines)


def large_scenario(creatures: int, *, base: Scenario | None = None) -> Scenario:
    """The default goods and rules with `creatures` creatures, cast round-robin from the
    default cast (so every good keeps its producers in the same proportions)."""
    base = base or load_scenario()
    cast: list[dict[str, Any]] = []
    for i in range(creatures):
        template = base.creatures[i % len(base.creatures)]
        spec = template.model_dump(by_alias=True)
        suffix = f"-{i}"
        spec["id"] = template.id[: 32 - len(suffix)] + suffix
        spec["name"] = f"{template.name[: 39 - len(str(i))]} {i}"
        cast.append(spec)
    data = base.model_dump(by_alias=True)
    data["name"] = f"{base.name} ({creatures} creatures)"
    data["creatures"] = cast
    rules = dict(data["rules"])
    rules["commons"] = base.rules.commons * max(1, creatures // len(base.creatures))
    data["rules"] = rules
    return parse_scenario(data, source=f"large_scenario({creatures})")


__all__ = [
    "BUILTIN_BRAINS",
    "SEASONS",
    "BrainSpec",
    "CreatureSpec",
    "GoodSpec",
    "Rules",
    "Scenario",
    "ScenarioError",
    "ScheduledLegend",
    "Storyteller",
    "bundled_scenarios",
    "large_scenario",
    "load_scenario",
    "parse_scenario",
]

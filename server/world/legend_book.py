"""Wood Legends: historical market episodes retold as folklore.

Each legend is data: what the creatures hear, how long it lasts, and how it bends the rules
(production, fuel, tolls) or the beliefs (reference prices) while it runs. A legend may be a
rumour: the world draws, in secret, whether it is true, and only its resolution tells.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Kind = Literal["threat", "opportunity", "rumour"]


def _empty() -> Mapping[str, float]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class LegendSpec:
    key: str
    title: str
    story: str
    """What the creatures hear when it begins (never says whether a rumour is true)."""
    duration: int
    rumour: bool = False
    p_true: float = 1.0
    """For rumours: the chance, drawn in secret at the start, that it is true."""
    production: Mapping[str, float] = field(default_factory=_empty)
    """Multipliers on production per good while it runs."""
    fuel_extra: float = 0.0
    """Extra fuel burned per tick while it runs."""
    toll: float = 0.0
    """Fraction of each trade's pebbles taken from the seller into the commons."""
    belief: Mapping[str, float] = field(default_factory=_empty)
    """Shock to reference prices when it begins."""
    if_true_belief: Mapping[str, float] = field(default_factory=_empty)
    if_false_belief: Mapping[str, float] = field(default_factory=_empty)
    hoard_rot: float = 0.0
    """If true: fraction of the biggest hoard of `hoard_good` that rots at the end."""
    hoard_good: str | None = None
    dividends: bool = False
    """If true: the tolls gathered are paid back equally to every creature at the end."""
    strike: float = 0.0
    """Fraction of the target's stores lost when it begins: of `strike_good` for the biggest
    holder of that good, or of every good for the richest creature when no good is named."""
    strike_good: str | None = None
    kind: Kind = "threat"
    """For the storyteller's pacing, as RimWorld's storytellers sort their incidents."""
    weight: float = 1.0
    """How often the storyteller chooses it, relative to the others."""
    needs_goods: frozenset[str] = field(default_factory=frozenset)

    @property
    def aims_at_the_top(self) -> bool:
        """Whether it strikes whoever holds most (the storyteller's answer to a lopsided Wood)."""
        return self.strike > 0 or self.hoard_good is not None


def _legend(**kw: object) -> LegendSpec:
    goods: set[str] = set()
    for name in ("production", "belief", "if_true_belief", "if_false_belief"):
        table = kw.get(name)
        if isinstance(table, dict):
            goods |= set(table)
            kw[name] = MappingProxyType(table)
    for name in ("hoard_good", "strike_good"):
        if isinstance(kw.get(name), str):
            goods.add(str(kw[name]))
    if kw.get("rumour"):
        kw.setdefault("kind", "rumour")
    return LegendSpec(needs_goods=frozenset(goods), **kw)  # type: ignore[arg-type]


LEGENDS: Mapping[str, LegendSpec] = MappingProxyType(
    {
        spec.key: spec
        for spec in (
            _legend(
                key="great_acorn_mania",
                title="The Great Acorn Mania",
                story="Word runs through the Wood that acorns will soon be the only coin "
                "worth holding, and that whoever hoards them now will be rich by spring.",
                duration=15,
                rumour=True,
                p_true=0.1,
                belief={"acorns": 1.8},
                if_false_belief={"acorns": 0.45},
            ),
            _legend(
                key="hollow_log_company",
                title="The Hollow Log Trading Company",
                story="A company in the hollow log takes a tenth of every sale, promising "
                "to pay it all back as dividends when its barges come home.",
                duration=20,
                rumour=True,
                p_true=0.5,
                toll=0.1,
                dividends=True,
            ),
            _legend(
                key="run_on_the_hoard",
                title="The Run on the Hoard",
                story="They whisper that the great honey hoard is rotten through, "
                "and every creature rushes to get honey while there is any.",
                duration=8,
                rumour=True,
                p_true=0.5,
                belief={"honey": 1.5},
                if_false_belief={"honey": 0.8},
                hoard_rot=0.7,
                hoard_good="honey",
            ),
            _legend(
                key="drought",
                title="The Drought",
                story="No rain has fallen for weeks: berries shrivel, mushrooms will not "
                "rise, and the oaks drop fewer acorns.",
                duration=20,
                production={"berries": 0.3, "mushrooms": 0.4, "acorns": 0.7},
                belief={"berries": 1.2, "mushrooms": 1.2},
            ),
            _legend(
                key="early_frost",
                title="The Early Frost",
                story="Frost bites before its time: every hearth burns more wood, and the "
                "berries blacken on the branch.",
                duration=10,
                fuel_extra=1.0,
                production={"berries": 0.0},
                belief={"firewood": 1.3},
            ),
            _legend(
                key="bumper_harvest",
                title="The Bumper Harvest",
                story="The Wood overflows: acorns, berries and mushrooms everywhere you look.",
                duration=10,
                production={"acorns": 2.0, "berries": 2.0, "mushrooms": 2.0},
                belief={"acorns": 0.85, "berries": 0.85, "mushrooms": 0.85},
                kind="opportunity",
            ),
            _legend(
                key="flood_at_the_ford",
                title="The Flood at the Ford",
                story="The river has burst its banks and the woodcutter cannot reach "
                "the far groves.",
                duration=12,
                production={"firewood": 0.3},
                belief={"firewood": 1.2},
            ),
            _legend(
                key="termites",
                title="The Termites in the Woodpile",
                story="Termites have found {target}'s woodpile, the biggest in the Wood, and "
                "half of it crumbles to dust before anyone can burn it.",
                duration=6,
                strike=0.5,
                strike_good="firewood",
                belief={"firewood": 1.1},
            ),
            _legend(
                key="magpie_raid",
                title="The Magpies' Raid",
                story="A flock of magpies falls on {target}'s larder, the richest in the Wood, "
                "and carries off a third of everything in it.",
                duration=6,
                strike=0.35,
            ),
            _legend(
                key="warm_spell",
                title="The Warm Spell",
                story="A soft wind from the south: hearths can burn low for a while, and the "
                "berry canes flower again.",
                duration=12,
                fuel_extra=-0.6,
                production={"berries": 1.5},
                belief={"firewood": 0.85},
                kind="opportunity",
            ),
        )
    }
)

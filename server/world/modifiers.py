"""How the legends in force bend this tick's rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from .legend_book import LEGENDS
from .state import ActiveLegend, WorldState


@dataclass(frozen=True, slots=True)
class Modifiers:
    production: dict[str, float] = field(default_factory=dict)
    fuel_extra: float = 0.0
    toll: float = 0.0
    toll_legend: ActiveLegend | None = None
    """The legend that collects the toll (its pot grows with every trade)."""


def in_force(state: WorldState, tick: int) -> list[ActiveLegend]:
    """Legends that shape `tick` (each begins the tick after it is told)."""
    return [leg for leg in state.legends if leg.began < tick <= leg.ends]


def modifiers(state: WorldState, tick: int | None = None) -> Modifiers:
    """The bends in force on `tick` (default: `state.tick`)."""
    production: dict[str, float] = {}
    fuel_extra = 0.0
    toll = 0.0
    toll_legend = None
    for leg in in_force(state, state.tick if tick is None else tick):
        spec = LEGENDS[leg.key]
        for good, mult in spec.production.items():
            production[good] = production.get(good, 1.0) * mult
        fuel_extra += spec.fuel_extra
        if spec.toll > toll:
            toll, toll_legend = spec.toll, leg
    return Modifiers(production, fuel_extra, toll, toll_legend)

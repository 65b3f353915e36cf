"""Production follows the season's luck, slows on a glut and follows the price."""

from __future__ import annotations

import statistics

from server.world import new_world, step
from server.world.events import GoodsProduced
from server.world.modifiers import Modifiers
from server.world.production import produce

from .conftest import creature, make_scenario, of_type

ALWAYS = dict.fromkeys(("spring", "summer", "autumn", "winter"), 4.0)


def maker(held: int, **rules: object) -> object:
    return make_scenario(
        [creature("m", "acorns", stores={"acorns": held}, yields=ALWAYS)],
        rules={"ticks_per_season": 10, **rules},
    )


def made(scenario: object, *, ref: float | None = None, tick: int = 1, seed: int = 1) -> int:
    state = new_world(scenario, seed)  # type: ignore[arg-type]
    if ref is not None:
        state.ref_prices["acorns"] = ref
    state.tick = tick
    events: list = []  # type: ignore[type-arg]
    produce(state, Modifiers(), events)
    return sum(e.qty for e in of_type(events, GoodsProduced))


def test_a_glutted_maker_slows_down_and_stops_at_storage() -> None:
    storage = 40
    assert made(maker(0, glut_slowdown=True)) == 4
    assert made(maker(storage // 2, glut_slowdown=True)) == 4
    assert made(maker(30, glut_slowdown=True)) == 2  # halfway from half to full: half speed
    assert made(maker(storage, glut_slowdown=True)) == 0
    assert made(maker(storage, glut_slowdown=False)) == 4


def test_a_good_that_fetches_little_gets_less_effort() -> None:
    scenario = maker(0, effort_floor=0.5)
    assert made(scenario, ref=4.0) == 4  # at its opening price: full effort
    assert made(scenario, ref=8.0) == 4  # dear: no more than full effort
    assert made(scenario, ref=3.0) == 3
    assert made(scenario, ref=0.8) == 2  # next to nothing: the floor


def test_each_season_draws_its_own_luck() -> None:
    scenario = maker(0, harvest_swing=0.5)
    state = new_world(scenario, 7)  # type: ignore[arg-type]
    lucks = []
    for _ in range(400):
        state, _ = step(state, {})
        state.creatures["m"].stores["acorns"] = 0
        lucks.append(state.harvest["acorns"])
    per_season = lucks[::10]
    assert all(len(set(lucks[i : i + 10])) == 1 for i in range(0, 400, 10))  # fixed all season
    assert len(set(per_season)) == len(per_season)  # and new each season
    assert all(0.5 <= x <= 1.5 for x in per_season)
    assert 0.9 < statistics.fmean(per_season) < 1.1

"""The calendar: ticks fold into seasons and years; the seasons set the fuel the hearths burn."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.world import Scenario, new_world
from server.world.consumption import fuel_need
from server.world.seasons import (
    SEASONS,
    Season,
    day_of_season,
    season_of,
    ticks_until,
    year_of,
)


@pytest.mark.parametrize(
    ("tick", "season", "day", "year"),
    [
        (1, "spring", 1, 1),
        (25, "spring", 25, 1),
        (26, "summer", 1, 1),
        (50, "summer", 25, 1),
        (51, "autumn", 1, 1),
        (76, "winter", 1, 1),
        (100, "winter", 25, 1),
        (101, "spring", 1, 2),
        (1000, "winter", 25, 10),
    ],
)
def test_calendar(tick: int, season: str, day: int, year: int) -> None:
    assert season_of(tick, 25) == season
    assert day_of_season(tick, 25) == day
    assert year_of(tick, 25) == year


def test_ticks_until() -> None:
    assert ticks_until(Season.WINTER, 1, 25) == 75
    assert ticks_until(Season.WINTER, 75, 25) == 1
    assert ticks_until(Season.WINTER, 76, 25) == 0
    assert ticks_until(Season.WINTER, 77, 25) == 99
    assert ticks_until(Season.SPRING, 100, 25) == 1


@given(tick=st.integers(1, 10_000), tps=st.integers(1, 60), season=st.sampled_from(SEASONS))
def test_ticks_until_lands_on_the_first_day(tick: int, tps: int, season: Season) -> None:
    wait = ticks_until(season, tick, tps)
    assert 0 <= wait < 4 * tps
    assert season_of(tick + wait, tps) is season
    assert day_of_season(tick + wait, tps) == 1


@given(tick=st.integers(1, 10_000), tps=st.integers(1, 60))
def test_a_year_is_four_seasons(tick: int, tps: int) -> None:
    assert season_of(tick + 4 * tps, tps) is season_of(tick, tps)
    assert year_of(tick + 4 * tps, tps) == year_of(tick, tps) + 1
    assert 1 <= day_of_season(tick, tps) <= tps


def test_fuel_need_by_season(default_scenario: Scenario) -> None:
    state = new_world(default_scenario, 1)
    rules = default_scenario.rules
    assert fuel_need(state, 1) == rules.fuel_need[Season.SPRING]
    assert fuel_need(state, 26) == rules.fuel_need[Season.SUMMER]
    assert fuel_need(state, 51) == rules.fuel_need[Season.AUTUMN]
    assert fuel_need(state, 76) > rules.fuel_need[Season.WINTER]
    # the crisis is in winter: its least day burns more than any day outside it
    assert fuel_need(state, 76) > max(fuel_need(state, t) for t in range(1, 76))


def test_ticks_to_winter_is_zero_all_winter_and_counts_down_before() -> None:
    from server.world.seasons import ticks_to_winter

    assert ticks_to_winter(1, 25) == 75
    assert ticks_to_winter(75, 25) == 1
    assert [ticks_to_winter(t, 25) for t in range(76, 101)] == [0] * 25
    assert ticks_to_winter(101, 25) == 75

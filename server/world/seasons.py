"""The calendar of the Wood: ticks fold into seasons, seasons into years."""

from __future__ import annotations

from enum import StrEnum


class Season(StrEnum):
    SPRING = "spring"
    SUMMER = "summer"
    AUTUMN = "autumn"
    WINTER = "winter"


SEASONS: tuple[Season, ...] = (Season.SPRING, Season.SUMMER, Season.AUTUMN, Season.WINTER)


def season_of(tick: int, ticks_per_season: int) -> Season:
    """The season a tick falls in. Tick 1 is the first day of spring of year 1."""
    return SEASONS[((tick - 1) // ticks_per_season) % 4]


def day_of_season(tick: int, ticks_per_season: int) -> int:
    """1-based day within the tick's season."""
    return (tick - 1) % ticks_per_season + 1


def year_of(tick: int, ticks_per_season: int) -> int:
    """1-based year of a tick."""
    return (tick - 1) // (4 * ticks_per_season) + 1


def ticks_until(season: Season, tick: int, ticks_per_season: int) -> int:
    """Ticks from `tick` until the first day of the next `season` (0 if it is that day)."""
    year = 4 * ticks_per_season
    start = SEASONS.index(season) * ticks_per_season  # 0-based offset of its first day
    pos = (tick - 1) % year
    return (start - pos) % year


def ticks_to_winter(tick: int, ticks_per_season: int) -> int:
    """Ticks until winter begins, counted from `tick`; 0 on any day of winter."""
    if season_of(tick, ticks_per_season) is Season.WINTER:
        return 0
    return ticks_until(Season.WINTER, tick, ticks_per_season)

"""The storyteller: legends never run out, are paced by the world, and strike the top."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest

from server.world import Scenario, TriggerLegend, new_world, state_from_dict, state_to_dict, step
from server.world.events import GoodsLost, LegendBegan, LegendEnded
from server.world.legend_book import LEGENDS
from server.world.scenario import ScenarioError, parse_scenario
from server.world.state import Lore, Trade, WorldState
from server.world.storyteller import (
    _pick,
    hazard,
    lopsidedness,
    next_tale,
    stagnation,
    tale_weights,
)

from .conftest import GOODS, creature, make_scenario, of_type


def storied(
    *,
    purses: tuple[float, ...] = (50, 50, 50),
    teller: dict[str, object] | None = None,
    **kw: object,
) -> Scenario:
    """A quiet Wood (nobody trades) told by the storyteller, with the purses given."""
    cast = [
        creature(f"c{i}", GOODS[i % len(GOODS)], pebbles=p, stores={"firewood": 20 + 10 * i})
        for i, p in enumerate(purses)
    ]
    return make_scenario(cast, storyteller={"mode": "storyteller", **(teller or {})}, **kw)  # type: ignore[arg-type]


def tell(
    scenario: Scenario, ticks: int, seed: int = 1
) -> tuple[WorldState, list[tuple[int, object]]]:
    """Run a Wood where nobody acts; every event with its tick."""
    state = new_world(scenario, seed)
    seen: list[tuple[int, object]] = []
    for _ in range(ticks):
        state, events = step(state, {})
        seen.extend((state.tick, e) for e in events)
    return state, seen


def begun(seen: list[tuple[int, object]]) -> list[tuple[int, LegendBegan]]:
    return [(t, e) for t, e in seen if isinstance(e, LegendBegan)]


def test_legends_keep_coming_and_never_leave_a_long_gap() -> None:
    teller = {"quiet": 20, "mean_gap": 120, "max_gap": 300}
    _, seen = tell(storied(teller=teller), 6000)
    ticks = [0, *(t for t, _ in begun(seen)), 6000]
    assert len(ticks) > 30
    assert max(b - a for a, b in pairwise(ticks)) <= 300


def test_never_the_same_legend_twice_in_a_row() -> None:
    _, seen = tell(storied(), 8000)
    keys = [e.key for _, e in begun(seen)]
    assert len(set(keys)) >= 6  # it ranges over the book
    assert all(a != b for a, b in pairwise(keys))


def test_a_calm_follows_each_legend() -> None:
    teller = {"quiet": 40, "mean_gap": 50, "max_gap": 400}
    _, seen = tell(storied(teller=teller), 6000)
    ended = [t for t, e in seen if isinstance(e, LegendEnded)]
    for t, _ in begun(seen):
        before = [e for e in ended if e <= t]
        if before:
            assert t - before[-1] >= 40
    # one legend at a time: each begins only once the one before has ended
    starts = [t for t, _ in begun(seen)]
    for start, nxt in pairwise(starts):
        assert any(start < e <= nxt for e in ended)


def test_a_lopsided_wood_draws_shocks_sooner_and_at_its_top() -> None:
    even = storied(purses=(60, 60, 60, 60))
    lopsided = storied(purses=(500, 20, 20, 20))
    assert lopsidedness(new_world(even, 1)) == 0
    assert lopsidedness(new_world(lopsided, 1)) > 0.8
    _, calm = tell(even, 20_000)
    _, tense = tell(lopsided, 20_000)
    assert len(begun(tense)) > 1.2 * len(begun(calm))

    def aimed(seen: list[tuple[int, object]]) -> float:
        legends = [LEGENDS[e.key] for _, e in begun(seen)]
        return sum(spec.aims_at_the_top for spec in legends) / len(legends)

    assert aimed(tense) > 1.5 * aimed(calm)


def test_a_stagnant_market_counts_as_tension() -> None:
    state = new_world(storied(), 1)
    state.tick = 10
    assert stagnation(state) == 1.0


def test_termites_strike_the_biggest_woodpile() -> None:
    scenario = storied(purses=(10, 10, 10))
    state = new_world(scenario, 1)
    after, events = step(state, {}, [TriggerLegend("termites")])
    lost = of_type(events, GoodsLost)
    # c2 holds the most firewood (40): half of it crumbles, nobody else loses any
    assert lost == [GoodsLost("c2", "firewood", 20, "L1")]
    assert after.creatures["c2"].stores["firewood"] == 20
    (began,) = of_type(events, LegendBegan)
    assert "C2's woodpile" in began.story


def test_magpies_raid_the_richest_larder() -> None:
    scenario = storied(purses=(10, 300, 10))
    state = new_world(scenario, 1)
    state.creatures["c1"].stores.update(acorns=20, honey=10)
    after, events = step(state, {}, [TriggerLegend("magpie_raid")])
    lost = {e.good: e.qty for e in of_type(events, GoodsLost)}
    assert {e.creature for e in of_type(events, GoodsLost)} == {"c1"}
    strike = LEGENDS["magpie_raid"].strike
    left = after.creatures["c1"].stores
    # a third of what it held when the magpies came (after the tick's meals): every good
    for good in ("acorns", "honey", "firewood"):
        assert lost[good] == int((left[good] + lost[good]) * strike) > 0


def test_the_default_calendar_comes_first() -> None:
    from server.world import load_scenario

    scenario = load_scenario()
    last = max(s.tick for s in scenario.legends)
    _, seen = tell(scenario, last + 450)
    told = begun(seen)
    calendar = {s.tick for s in scenario.legends}
    assert {t for t, _ in told if t <= last} == calendar
    assert any(t > last for t, _ in told)  # and the storyteller after it


@pytest.mark.parametrize("mode", ["calendar", "off"])
def test_the_storyteller_can_be_turned_down(mode: str) -> None:
    scenario = make_scenario(
        [creature("a", "acorns"), creature("b", "honey", pebbles=900)],
        legends=[{"tick": 5, "legend": "drought"}],
        storyteller={"mode": mode},
    )
    _, seen = tell(scenario, 3000)
    assert [t for t, _ in begun(seen)] == ([5] if mode == "calendar" else [])
    # operators still tell legends by hand
    state = new_world(scenario, 1)
    _, events = step(state, {}, [TriggerLegend("bumper_harvest")])
    assert of_type(events, LegendBegan)


def test_the_storyteller_is_part_of_the_state() -> None:
    state, _ = tell(storied(), 700)
    assert state.lore.key
    back = state_from_dict(state_to_dict(state))
    assert back.lore == state.lore
    a, b = state, back
    for _ in range(600):
        a, ea = step(a, {})
        b, eb = step(b, {})
        assert ea == eb


def test_a_state_saved_before_the_storyteller_still_loads() -> None:
    data = state_to_dict(new_world(storied(), 1))
    del data["lore"], data["harvest"]
    state = state_from_dict(data)
    assert state.lore.began == 0
    assert state.harvest == {}


def test_pacing_that_cannot_hold_is_refused() -> None:
    base = storied().model_dump(mode="json", by_alias=True)
    base["storyteller"] = {"mean_gap": 500, "max_gap": 100, "quiet": 200}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(base)
    assert "storyteller.mean_gap" in str(err.value)
    assert "storyteller.quiet" in str(err.value)


def test_legend_kinds_cover_threats_opportunities_and_rumours() -> None:
    kinds = Counter(spec.kind for spec in LEGENDS.values())
    assert kinds["threat"] >= 3 and kinds["opportunity"] >= 2 and kinds["rumour"] >= 3


# ---- exact pacing and choice (each rule at its boundary) --------------------------------


class Dice:
    """A stand-in for the state's generator that rolls the given numbers, in order."""

    def __init__(self, *rolls: float) -> None:
        self.rolls = list(rolls)

    def random(self) -> float:
        return self.rolls.pop(0)


def at(
    scenario: Scenario, tick: int, *, began: int = 0, ended: int = 0, key: str = ""
) -> WorldState:
    state = new_world(scenario, 1)
    state.tick = tick
    state.lore = Lore(began, ended, key)
    return state


TELLER = {"quiet": 30, "mean_gap": 100, "max_gap": 400}
POSSIBLE = ["drought", "termites", "bumper_harvest"]


def test_the_hazard_rises_with_lopsidedness_and_stagnation() -> None:
    even = at(storied(purses=(50, 50, 50), teller=TELLER), 10)
    assert stagnation(even) == 1.0  # nothing ever traded
    assert hazard(even) == pytest.approx((1 + 0 + 1) / 100)
    tilted = at(storied(purses=(400, 50, 50), teller=TELLER), 10)
    # the fullest purse is 2.4 times the mean: lopsided (2.4 - 1.5) / 2.5
    assert lopsidedness(tilted) == pytest.approx(0.36)
    assert hazard(tilted) == pytest.approx((1 + 2 * 0.36 + 1) / 100)


def test_lopsidedness_is_zero_for_one_creature_or_empty_purses_and_at_most_one() -> None:
    assert lopsidedness(new_world(storied(purses=(900,)), 1)) == 0.0
    assert lopsidedness(new_world(storied(purses=(900, 0)), 1)) == pytest.approx(0.2)
    assert lopsidedness(new_world(storied(purses=(0, 0, 0)), 1)) == 0.0
    assert lopsidedness(new_world(storied(purses=(0.5, 0, 0)), 1)) == pytest.approx(0.6)
    assert lopsidedness(new_world(storied(purses=(0.01, 0, 0)), 1)) == pytest.approx(0.6)
    assert lopsidedness(new_world(storied(purses=(900, *(0,) * 9)), 1)) == 1.0
    away = new_world(storied(purses=(900, 10, 10)), 1)
    away.creatures["c0"].exiled_until = 99  # exiles do not count
    assert lopsidedness(away) == 0.0


def test_stagnation_counts_ticks_since_the_last_trade_on_the_tape() -> None:
    state = new_world(storied(), 1)
    trade = Trade(7, "acorns", 1, 100, "c0", "c1")
    state.trades = (
        Trade(1, "acorns", 1, 100, "c0", "c1"),
        Trade(4, "acorns", 1, 100, "c0", "c1"),
        trade,
    )
    for tick, stagnant in ((8, 0.0), (9, 0.0), (10, 1.0), (11, 1.0)):
        state.tick = tick
        assert stagnation(state) == stagnant, tick
    state.trades = ()
    state.tick = 3  # never traded: counted from the world's start
    assert stagnation(state) == 1.0


def test_a_legend_is_told_exactly_when_the_roll_falls_under_the_hazard() -> None:
    scenario = storied(teller=TELLER)
    state = at(scenario, 100, began=50, ended=60)
    chance = hazard(state)
    state.rng = Dice(chance, 0.0)  # type: ignore[assignment]
    assert next_tale(state, POSSIBLE) is None
    state.rng = Dice(chance - 1e-9, 0.0)  # type: ignore[assignment]
    assert next_tale(state, POSSIBLE) == "drought"


def test_the_calm_after_a_legend_lasts_exactly_quiet_ticks() -> None:
    scenario = storied(teller=TELLER)
    state = at(scenario, 130, began=100, ended=101)
    state.rng = Dice(0.0, 0.0)  # type: ignore[assignment]
    assert next_tale(state, POSSIBLE) is None  # 29 ticks after it ended
    state = at(scenario, 131, began=100, ended=101)
    state.rng = Dice(0.0, 0.0)  # type: ignore[assignment]
    assert next_tale(state, POSSIBLE) == "drought"  # 30


def test_after_max_gap_a_legend_comes_whatever_the_dice() -> None:
    scenario = storied(teller=TELLER)
    state = at(scenario, 500, began=101, ended=110)
    state.rng = Dice(0.999, 0.0)  # type: ignore[assignment]
    assert next_tale(state, POSSIBLE) is None  # 399 ticks: still up to the dice
    state = at(scenario, 501, began=101, ended=110)
    state.rng = Dice(0.0)  # type: ignore[assignment]  # forced: only the choice is drawn
    assert next_tale(state, POSSIBLE) == "drought"


def test_the_storyteller_waits_for_the_calendars_last_legend_to_begin() -> None:
    scenario = storied(teller=TELLER, legends=[{"tick": 200, "legend": "drought"}])
    for tick, told in ((199, False), (200, True)):
        state = at(scenario, tick, began=0)
        state.rng = Dice(0.0, 0.0)  # type: ignore[assignment]
        assert (next_tale(state, POSSIBLE) is not None) is told, tick
    both = storied(
        teller={**TELLER, "with_calendar": True}, legends=[{"tick": 200, "legend": "drought"}]
    )
    state = at(both, 150, began=0)
    state.rng = Dice(0.0, 0.0)  # type: ignore[assignment]
    assert next_tale(state, POSSIBLE) == "drought"


def test_the_weights_of_the_next_tale() -> None:
    tilted = storied(purses=(400, 50, 50), teller=TELLER)  # lopsided 0.36
    after_threat = at(tilted, 10, key="flood_at_the_ford")
    weights = dict(tale_weights(after_threat, [*POSSIBLE, "flood_at_the_ford"]))
    assert "flood_at_the_ford" not in weights  # never twice in a row
    assert weights["drought"] == pytest.approx(1.0)
    assert weights["termites"] == pytest.approx(1.0 + 3.0 * 0.36)  # it strikes the top
    assert weights["bumper_harvest"] == pytest.approx(2.0)  # an opportunity after a threat
    after_chance = at(tilted, 10, key="warm_spell")
    assert dict(tale_weights(after_chance, POSSIBLE))["bumper_harvest"] == pytest.approx(1.0)
    fresh = at(tilted, 10)
    assert dict(tale_weights(fresh, POSSIBLE)) == {
        "drought": pytest.approx(1.0),
        "termites": pytest.approx(2.08),
        "bumper_harvest": pytest.approx(1.0),
    }


def test_the_draw_follows_the_weights_to_their_edges() -> None:
    state = at(storied(teller=TELLER), 10)
    weights = [("drought", 1.0), ("termites", 3.0)]
    for roll, key in (
        (0.0, "drought"),
        (0.2499, "drought"),
        (0.25, "termites"),
        (0.999, "termites"),
    ):
        state.rng = Dice(roll)  # type: ignore[assignment]
        assert _pick(state, weights) == key, roll
    state.rng = Dice(0.5)  # type: ignore[assignment]
    assert _pick(state, [("drought", 0.0)]) is None
    state.rng = Dice(0.5)  # type: ignore[assignment]
    assert _pick(state, [("drought", 0.25), ("termites", 0.25)]) == "termites"
    assert next_tale(at(storied(teller=TELLER), 10), []) is None

"""The storyteller: legends never run out, are paced by the world, and strike the top."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest

from server.world import Scenario, TriggerLegend, new_world, state_from_dict, state_to_dict, step
from server.world.events import GoodsLost, LegendBegan, LegendEnded
from server.world.legend_book import LEGENDS
from server.world.scenario import ScenarioError, parse_scenario
from server.world.state import WorldState
from server.world.storyteller import lopsidedness, stagnation

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

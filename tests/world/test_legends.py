"""Wood Legends: told by command or by the scenario's calendar, in force from the next tick
through `ends`, each a real bend to production, fuel, tolls or beliefs; rumours resolve
in public with a `RumourResolved` event."""

from __future__ import annotations

import itertools
import math

import pytest

from server.world import (
    LEGENDS,
    Action,
    Order,
    Scenario,
    TriggerLegend,
    WorldState,
    new_world,
    step,
)
from server.world.consumption import fuel_need
from server.world.events import (
    CommandRejected,
    Event,
    GoodsConsumed,
    GoodsLost,
    GoodsProduced,
    GoodsSpoiled,
    LegendBegan,
    LegendEnded,
    RumourResolved,
)
from server.world.legends import advance_legends
from server.world.modifiers import in_force, modifiers
from server.world.state import Lore

from .conftest import (
    GOODS,
    creature,
    goods_totals,
    make_scenario,
    market_scenario,
    net_goods,
    of_type,
    pebbles_total,
)

ALL_SEASONS = dict.fromkeys(("spring", "summer", "autumn", "winter"), 10.0)
RUMOURS = [key for key, spec in LEGENDS.items() if spec.rumour]


def quiet_wood(legends: list[dict[str, object]] | None = None, **rules: object) -> Scenario:
    """Five makers with whole yields all year, nothing rots, no fuel need of its own: every
    change in production or burning is a legend's doing."""
    stock = {"acorns": 40, "berries": 40, "mushrooms": 40, "honey": 40, "firewood": 60}
    cast = [
        creature("farmer", "acorns", stores=stock, yields=ALL_SEASONS),
        creature("picker", "berries", stores=stock, yields=ALL_SEASONS),
        creature("digger", "mushrooms", stores=stock, yields=ALL_SEASONS),
        creature("keeper", "honey", stores={**stock, "honey": 90}, yields=ALL_SEASONS),
        creature("cutter", "firewood", stores=stock, yields=ALL_SEASONS),
    ]
    return make_scenario(
        cast,
        rules={"fuel_need": {}, "winter_rise": 0.0, **rules},
        legends=legends,
    )


def produced(events: tuple[Event, ...]) -> dict[str, int]:
    return {e.good: e.qty for e in of_type(events, GoodsProduced)}


def burned(events: tuple[Event, ...], fuel: str = "firewood") -> int:
    return sum(e.qty for e in of_type(events, GoodsConsumed) if e.good == fuel)


def run(
    state: WorldState, ticks: int, told: dict[int, list[str]] | None = None
) -> list[tuple[WorldState, tuple[Event, ...]]]:
    out = []
    for _ in range(ticks):
        keys = (told or {}).get(state.tick + 1, [])
        state, events = step(state, {}, [TriggerLegend(k) for k in keys])
        out.append((state, events))
    return out


@pytest.mark.parametrize("key", list(LEGENDS))
def test_a_commanded_legend_runs_from_the_next_tick_to_its_end(key: str) -> None:
    spec = LEGENDS[key]
    ticks = run(new_world(quiet_wood(), 3), spec.duration + 4, {2: [key]})
    states = {s.tick: s for s, _ in ticks}
    events = {s.tick: e for s, e in ticks}
    [began] = of_type(events[2], LegendBegan)
    assert (began.key, began.title, began.rumour, began.ends) == (
        key,
        spec.title,
        spec.rumour,
        2 + spec.duration,
    )
    assert began.story
    [leg] = states[2].legends
    assert (leg.id, leg.began, leg.ends) == (began.id, 2, began.ends)
    # in force from tick 3 through `ends`, and not on the tick it was told
    assert in_force(states[2], 2) == []
    assert [x.key for x in in_force(states[2], 3)] == [key]
    assert [x.key for x in in_force(states[began.ends - 1], began.ends)] == [key]
    for tick in range(3, began.ends):
        assert [x.key for x in states[tick].legends] == [key]
    # it ends (and a rumour resolves) at the end of `ends`, and is gone after
    assert of_type(events[began.ends], LegendEnded) == [LegendEnded(began.id, key)]
    resolved = of_type(events[began.ends], RumourResolved)
    if spec.rumour:
        assert [(r.id, r.key, r.true) for r in resolved] == [(began.id, key, leg.truth)]
        assert resolved[0].outcome
    else:
        assert resolved == []
    assert states[began.ends].legends == []
    for tick, evs in events.items():
        if tick not in (2, began.ends):
            assert not of_type(evs, LegendBegan | LegendEnded | RumourResolved)


@pytest.mark.parametrize("key", list(LEGENDS))
def test_a_scheduled_legend_begins_on_its_tick(key: str) -> None:
    scn = quiet_wood(legends=[{"tick": 4, "legend": key}])
    ticks = run(new_world(scn, 3), 6)
    began = [(s.tick, e) for s, evs in ticks for e in of_type(evs, LegendBegan)]
    assert [(tick, e.key, e.ends) for tick, e in began] == [(4, key, 4 + LEGENDS[key].duration)]
    state4 = ticks[3][0]
    assert [x.key for x in in_force(state4, 5)] == [key]
    assert in_force(state4, 4) == []


def test_the_default_calendar_is_kept(default_scenario: Scenario) -> None:
    state = new_world(default_scenario, 1)
    began: list[tuple[int, str]] = []
    for _ in range(600):
        state, events = step(state, {})
        began += [(state.tick, e.key) for e in of_type(events, LegendBegan)]
    assert began == [(s.tick, s.legend) for s in default_scenario.legends if s.tick <= 600]


def bent(*keys: str) -> dict[str, tuple[int, int]]:
    """Units each maker of `quiet_wood` (10 a tick) may make under these legends: the floor
    and ceiling of the bent rate (a fraction is rounded by the seeded dice)."""
    out = {}
    for good in GOODS:
        rate = 10.0
        for key in keys:
            rate *= LEGENDS[key].production.get(good, 1.0)
        out[good] = (math.floor(rate + 1e-9), math.ceil(rate - 1e-9))
    return out


def assert_made(events: tuple[Event, ...], expected: dict[str, tuple[int, int]]) -> None:
    made = produced(events)
    for good, (lo, hi) in expected.items():
        assert lo <= made.get(good, 0) <= hi, (good, made.get(good, 0), lo, hi)


@pytest.mark.parametrize("key", ["drought", "bumper_harvest", "flood_at_the_ford"])
def test_production_legends_bend_production_while_in_force(key: str) -> None:
    ends = 1 + LEGENDS[key].duration
    ticks = run(new_world(quiet_wood(), 1), ends + 3, {1: [key]})
    for state, events in ticks:
        in_force = 2 <= state.tick <= ends
        assert_made(events, bent(key) if in_force else bent())


def test_drought_cuts_berries_mushrooms_and_acorns() -> None:
    ticks = run(new_world(quiet_wood(), 1), 5, {1: ["drought"]})
    made = produced(ticks[2][1])
    assert made["berries"] < 10 and made["mushrooms"] < 10 and made["acorns"] < 10
    assert made["honey"] == made["firewood"] == 10


def test_overlapping_legends_multiply() -> None:
    ticks = run(new_world(quiet_wood(), 1), 2, {1: ["drought", "bumper_harvest"]})
    state = ticks[0][0]
    both = (
        LEGENDS["drought"].production["berries"] * LEGENDS["bumper_harvest"].production["berries"]
    )
    assert modifiers(state, 2).production["berries"] == pytest.approx(both)
    assert_made(ticks[1][1], bent("drought", "bumper_harvest"))


def test_early_frost_burns_more_wood_and_blackens_the_berries() -> None:
    spec = LEGENDS["early_frost"]
    assert spec.fuel_extra > 0
    ends = 1 + spec.duration
    ticks = run(new_world(quiet_wood(), 1), ends + 3, {1: ["early_frost"]})
    during = 0
    for state, events in ticks:
        if 2 <= state.tick <= ends:
            during += burned(events)
            assert_made(events, bent("early_frost"))
        else:
            # the Wood's own need is nil here: only the frost makes a hearth burn
            assert burned(events) == 0, state.tick
            assert produced(events)["berries"] == 10
    # five hearths, each burning the extra need in whole units (a fraction carries over)
    expected = 5 * spec.fuel_extra * spec.duration
    assert expected - 5 < during <= expected


def test_early_frost_adds_to_the_winter_need(default_scenario: Scenario) -> None:
    state = new_world(default_scenario, 1)
    state, _ = step(state, {}, [TriggerLegend("early_frost")])
    extra = LEGENDS["early_frost"].fuel_extra
    assert fuel_need(state, 2, modifiers(state, 2)) == pytest.approx(fuel_need(state, 2) + extra)


def test_belief_shocks_move_the_reference_prices_when_told() -> None:
    world = new_world(quiet_wood(), 1)
    after, _ = step(world, {}, [TriggerLegend("great_acorn_mania"), TriggerLegend("drought")])
    shock: dict[str, float] = dict.fromkeys(GOODS, 1.0)
    for key in ("great_acorn_mania", "drought"):
        for good, mult in LEGENDS[key].belief.items():
            shock[good] *= mult
    assert LEGENDS["great_acorn_mania"].belief["acorns"] > 1
    for good in GOODS:
        opening = world.scenario.goods[good].price
        assert after.ref_prices[good] == pytest.approx(opening * shock[good]), good


def resolve_with(
    key: str, truth: bool, scenario: Scenario | None = None
) -> list[tuple[WorldState, tuple[Event, ...]]]:
    """Tell a rumour on tick 1, decide its truth, and run it to its end."""
    state, _ = step(new_world(scenario or quiet_wood(), 2), {}, [TriggerLegend(key)])
    state.legends[0].truth = truth
    return [(state, ()), *run(state, LEGENDS[key].duration)]


def test_acorn_mania_that_was_only_talk_crashes_acorns() -> None:
    ticks = resolve_with("great_acorn_mania", False)
    before_end, (end, events) = ticks[-2][0], ticks[-1]
    [resolved] = of_type(events, RumourResolved)
    assert (resolved.true, resolved.outcome) == (False, "it was only talk")
    assert end.ref_prices["acorns"] == pytest.approx(
        before_end.ref_prices["acorns"] * LEGENDS["great_acorn_mania"].if_false_belief["acorns"]
    )


def test_a_true_run_on_the_hoard_rots_the_biggest_hoard() -> None:
    ticks = resolve_with("run_on_the_hoard", True)
    told = ticks[0][0]
    assert told.legends[0].target == "keeper"
    before_end, (end, events) = ticks[-2][0], ticks[-1]
    held = before_end.creatures["keeper"].stores["honey"] + 10  # it makes 10 on the last tick
    lost = int(held * LEGENDS["run_on_the_hoard"].hoard_rot)
    [resolved] = of_type(events, RumourResolved)
    assert resolved.true
    assert "Keeper" in resolved.outcome and f"{lost} honey" in resolved.outcome
    assert end.creatures["keeper"].stores["honey"] == held - lost
    assert GoodsSpoiled("honey", lost) in events
    # and the books still balance: the rot is told as spoilage
    assert (
        goods_totals(end)["honey"] == goods_totals(before_end)["honey"] + net_goods(events)["honey"]
    )


def test_a_false_run_on_the_hoard_spares_the_hoard() -> None:
    ticks = resolve_with("run_on_the_hoard", False)
    before_end, (end, events) = ticks[-2][0], ticks[-1]
    [resolved] = of_type(events, RumourResolved)
    assert not resolved.true
    assert (
        end.creatures["keeper"].stores["honey"]
        == before_end.creatures["keeper"].stores["honey"] + 10
    )
    assert of_type(events, GoodsSpoiled) == []
    assert end.ref_prices["honey"] == pytest.approx(
        before_end.ref_prices["honey"] * LEGENDS["run_on_the_hoard"].if_false_belief["honey"]
    )


def test_the_run_on_the_hoard_names_the_hoarder() -> None:
    _, events = step(new_world(quiet_wood(), 1), {}, [TriggerLegend("run_on_the_hoard")])
    [began] = of_type(events, LegendBegan)
    assert "Keeper's great honey hoard" in began.story


def company_world() -> tuple[Scenario, WorldState]:
    scn = market_scenario({"b": (1000.0, {}), "s": (0.0, {"acorns": 30}), "idle": (10.0, {})})
    state, events = step(new_world(scn, 1), {}, [TriggerLegend("hollow_log_company")])
    assert of_type(events, LegendBegan)
    return scn, state


def test_the_hollow_log_company_takes_a_toll_into_the_commons() -> None:
    _, state = company_world()
    total = pebbles_total(state)
    commons = state.commons
    after, _ = step(
        state,
        {
            "b": Action((Order("buy", "acorns", 10, 500),)),
            "s": Action((Order("sell", "acorns", 10, 500),)),
        },
    )
    # 10 acorns at 5 pebbles: the seller gets 45, the Company keeps 5 in the commons
    assert after.creatures["b"].purse == 100_000 - 5000
    assert after.creatures["s"].purse == 4500
    assert after.commons == commons + 500
    assert after.legends[0].pot == 500
    assert pebbles_total(after) == total


def test_no_toll_before_the_company_is_in_force() -> None:
    scn = market_scenario({"b": (100.0, {}), "s": (0.0, {"acorns": 30})})
    after, _ = step(
        new_world(scn, 1),
        {
            "b": Action((Order("buy", "acorns", 10, 500),)),
            "s": Action((Order("sell", "acorns", 10, 500),)),
        },
        [TriggerLegend("hollow_log_company")],
    )
    assert after.creatures["s"].purse == 5000


def trade_through_the_company(truth: bool) -> tuple[WorldState, WorldState, tuple[Event, ...]]:
    _, state = company_world()
    state.legends[0].truth = truth
    orders = {
        "b": Action((Order("buy", "acorns", 1, 700),)),
        "s": Action((Order("sell", "acorns", 1, 700),)),
    }
    ends = state.legends[0].ends
    while state.tick < ends - 1:
        state, _ = step(state, orders)
    last, events = step(state, orders)
    return state, last, events


def test_true_company_pays_its_tolls_back_as_dividends() -> None:
    before, end, events = trade_through_the_company(True)
    pot = before.legends[0].pot + 70  # the last tick's toll is in the pot too
    share = pot // 3
    [resolved] = of_type(events, RumourResolved)
    assert resolved.true
    assert "barges came home" in resolved.outcome
    assert end.creatures["idle"].purse == before.creatures["idle"].purse + share
    assert end.commons == before.commons + 70 - 3 * share
    assert pebbles_total(end) == pebbles_total(before)


def test_false_company_vanishes_with_the_tolls() -> None:
    before, end, events = trade_through_the_company(False)
    [resolved] = of_type(events, RumourResolved)
    assert (resolved.true, resolved.outcome) == (False, "the Company vanished with the tolls")
    assert end.creatures["idle"].purse == before.creatures["idle"].purse
    assert end.commons == before.commons + 70
    assert pebbles_total(end) == pebbles_total(before)


@pytest.mark.parametrize("key", RUMOURS)
def test_rumour_truth_is_drawn_near_its_chance(key: str) -> None:
    scn = quiet_wood()
    truths = []
    for seed in range(300):
        state, _ = step(new_world(scn, seed), {}, [TriggerLegend(key)])
        truths.append(state.legends[0].truth)
    share = sum(truths) / len(truths)
    assert abs(share - LEGENDS[key].p_true) < 0.1


def test_chance_legends_begin_only_when_none_is_in_force() -> None:
    scn = quiet_wood(legend_chance=1.0)
    state = new_world(scn, 5)
    began = []
    for _ in range(80):
        state, events = step(state, {})
        began += [(state.tick, e.key, e.ends) for e in of_type(events, LegendBegan)]
        assert len(state.legends) <= 1
    assert began[0][0] == 1
    assert len(began) >= 3
    for (_, _, ends), (tick, _, _) in itertools.pairwise(began):
        assert tick == ends  # the next one begins as the last one ends
    assert len({key for _, key, _ in began}) > 1


def test_no_chance_legends_by_default(default_scenario: Scenario) -> None:
    assert default_scenario.rules.legend_chance == 0.0


# --- The legends phase itself (advance_legends), one tick at a time -------------------------


def legends_phase(state: WorldState, told: list[object] | None = None) -> list[Event]:
    events: list[Event] = []
    advance_legends(state, told or [], events)  # type: ignore[arg-type]
    return events


def test_unknown_legends_are_refused_by_name_and_nothing_begins() -> None:
    state = new_world(quiet_wood(), 1)
    state.tick = 1
    events = legends_phase(state, ["no_such_legend", "x" * 60, 7])
    assert events == [
        CommandRejected("legend no_such_legend", "unknown_legend"),
        CommandRejected("legend " + "x" * 40, "unknown_legend"),  # a long name is cut
        CommandRejected("legend 7", "unknown_legend"),
    ]
    assert not state.legends


def test_a_legend_needing_exactly_the_scenarios_goods_can_be_told() -> None:
    wood = make_scenario(
        [creature("cutter", "firewood", stores={"firewood": 10})],
        goods={"firewood": {"price": 2.0}},
        rules={"fuel_need": {}, "winter_rise": 0.0},
    )
    assert LEGENDS["flood_at_the_ford"].needs_goods == set(wood.goods)
    state = new_world(wood, 1)
    state.tick = 1
    events = legends_phase(state, ["flood_at_the_ford", "drought"])
    assert [e.key for e in of_type(events, LegendBegan)] == ["flood_at_the_ford"]
    assert CommandRejected("legend drought", "goods_missing") in events


def test_with_the_storyteller_off_the_calendar_is_silent_but_commands_are_heard() -> None:
    cast = [creature("a", "acorns"), creature("b", "honey")]
    calendar = [{"tick": 2, "legend": "drought"}]
    for mode, told in (("off", []), ("calendar", ["drought"])):
        state = new_world(make_scenario(cast, legends=calendar, storyteller={"mode": mode}), 1)
        state.tick = 2
        assert [e.key for e in of_type(legends_phase(state), LegendBegan)] == told, mode
    state = new_world(make_scenario(cast, legends=calendar, storyteller={"mode": "off"}), 1)
    state.tick = 3
    assert [e.key for e in of_type(legends_phase(state, ["bumper_harvest"]), LegendBegan)] == [
        "bumper_harvest"
    ]


def test_the_storyteller_tells_a_tale_when_nothing_else_is_told() -> None:
    teller = {"mode": "storyteller", "quiet": 30, "mean_gap": 100, "max_gap": 400}
    wood = make_scenario([creature("a", "acorns"), creature("b", "honey")], storyteller=teller)
    state = new_world(wood, 1)
    state.tick = 500  # past max_gap since the last legend: a tale is due whatever the dice
    (began,) = of_type(legends_phase(state), LegendBegan)
    assert state.lore == Lore(began=500, ended=0, key=began.key)
    # a commanded legend takes the tale's place: one legend, the one told
    state = new_world(wood, 1)
    state.tick = 500
    assert [e.key for e in of_type(legends_phase(state, ["drought"]), LegendBegan)] == ["drought"]


def test_the_storytellers_memory_keeps_when_the_last_legend_began_and_ended() -> None:
    state = new_world(quiet_wood(), 1)
    state.tick = 3
    legends_phase(state, ["drought"])
    assert state.lore == Lore(began=3, ended=0, key="drought")
    end = state.legends[0].ends
    state.tick = end
    assert of_type(legends_phase(state), LegendEnded)
    assert state.lore == Lore(began=3, ended=end, key="drought")


def pile_wood(piles: dict[str, int], exiled: str = "") -> WorldState:
    state = new_world(
        make_scenario([creature(c, "acorns", stores={"firewood": n}) for c, n in piles.items()]),
        1,
    )
    if exiled:
        state.creatures[exiled].exiled_until = 50
    state.tick = 1
    return state


def test_termites_strike_the_biggest_woodpile_of_those_present() -> None:
    state = pile_wood({"a": 30, "b": 51, "c": 90}, exiled="c")
    before = {c.id: dict(c.stores) for c in state.creatures.values()}
    events = legends_phase(state, ["termites"])
    # b holds the most firewood of those in the Wood: half of it (rounded down) crumbles
    assert of_type(events, GoodsLost) == [GoodsLost("b", "firewood", 25, "L1")]
    assert state.creatures["b"].stores == {**before["b"], "firewood": 26}
    assert state.creatures["a"].stores == before["a"]
    assert state.creatures["c"].stores == before["c"]  # the exile's pile is out of reach
    (began,) = of_type(events, LegendBegan)
    assert "B's woodpile" in began.story and "{target}" not in began.story


def test_termites_in_a_wood_without_firewood_strike_nobody() -> None:
    state = pile_wood({"a": 0, "b": 0})
    events = legends_phase(state, ["termites"])
    assert not of_type(events, GoodsLost)
    (began,) = of_type(events, LegendBegan)
    assert "someone's woodpile" in began.story
    # one log is still the biggest pile: its holder is named, though half a log is nothing
    state = pile_wood({"a": 0, "b": 1})
    events = legends_phase(state, ["termites"])
    assert not of_type(events, GoodsLost)
    assert "B's woodpile" in of_type(events, LegendBegan)[0].story


def test_magpies_raid_the_richest_larder_of_those_present() -> None:
    state = new_world(
        make_scenario(
            [
                creature("a", "acorns", pebbles=10, stores={"acorns": 20, "honey": 9}),
                creature("b", "honey", pebbles=300, stores={"acorns": 20, "honey": 9}),
                creature("c", "berries", pebbles=900, stores={"acorns": 20, "honey": 9}),
            ]
        ),
        1,
    )
    state.creatures["c"].exiled_until = 50
    state.tick = 1
    before = dict(state.creatures["b"].stores)
    events = legends_phase(state, ["magpie_raid"])
    strike = LEGENDS["magpie_raid"].strike
    expected = [
        GoodsLost("b", good, int(held * strike), "L1")
        for good, held in sorted(before.items())
        if int(held * strike)
    ]
    assert expected and of_type(events, GoodsLost) == expected
    assert state.creatures["b"].stores == {
        good: held - int(held * strike) for good, held in before.items()
    }


def test_a_legend_that_is_no_rumour_draws_no_dice() -> None:
    # its truth is no secret: a draw for it would shift every later draw of the world's dice
    state = new_world(quiet_wood(), 1)
    state.tick = 1
    before = state.rng.getstate()
    assert of_type(legends_phase(state, ["drought"]), LegendBegan)
    assert state.rng.getstate() == before

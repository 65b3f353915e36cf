"""What one creature may know: the public board and its own purse and stores, nothing more."""

from __future__ import annotations

import dataclasses

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.world import (
    LEGENDS,
    Action,
    Order,
    Scenario,
    TriggerLegend,
    WorldState,
    new_world,
    observe,
    observe_all,
    step,
)
from server.world.needs import FOOD_STOCK, fuel_wanted

from .conftest import GOODS, market_scenario


def test_the_first_observation(default_scenario: Scenario) -> None:
    state = new_world(default_scenario, 1)
    obs = observe(state, "mossback")
    assert (obs.tick, obs.season, obs.day, obs.year) == (1, "spring", 1, 1)
    assert obs.ticks_per_season == 25
    assert obs.ticks_to_winter == 75
    assert (obs.creature, obs.name, obs.species, obs.produces) == (
        "mossback",
        "Mossback",
        "tortoise",
        "acorns",
    )
    assert obs.pebbles == 40.0
    assert obs.stores == {"acorns": 10, "berries": 2, "mushrooms": 2, "honey": 0, "firewood": 4}
    assert obs.never_buy == ("acorns",)
    assert obs.fuel_good == "firewood"
    assert obs.prices == {
        "acorns": 4.0,
        "berries": 5.0,
        "mushrooms": 6.0,
        "honey": 9.0,
        "firewood": 5.0,
    }
    assert obs.last_prices == {}
    assert obs.spoilage == {g: default_scenario.goods[g].spoil for g in GOODS}
    assert obs.trades == () and obs.gossip == () and obs.legends == ()
    assert not obs.exiled


def test_short_of_is_computed_from_its_own_stores(default_scenario: Scenario) -> None:
    obs = observe(new_world(default_scenario, 1), "mossback")
    assert "acorns" not in obs.short_of  # never short of what it makes
    assert obs.short_of["honey"] == FOOD_STOCK
    assert obs.short_of["berries"] == FOOD_STOCK - 2
    state = new_world(default_scenario, 1)
    state.creatures["mossback"].stores["firewood"] = 0
    assert observe(state, "mossback").short_of["firewood"] == fuel_wanted(state, 1) > 0
    state.creatures["bram"].stores["firewood"] = 0
    assert "firewood" not in observe(state, "bram").short_of


def test_observe_all_matches_observe(checkpoints: dict[int, WorldState]) -> None:
    for state in checkpoints.values():
        everyone = observe_all(state)
        assert list(everyone) == list(state.creatures)
        for cid, obs in everyone.items():
            assert obs == observe(state, cid)


def test_an_unknown_creature_has_no_observation(default_scenario: Scenario) -> None:
    with pytest.raises(KeyError):
        observe(new_world(default_scenario, 1), "ghost")


def test_the_board_shows_trades_by_name_in_pebbles() -> None:
    scn = market_scenario({"b": (100.0, {}), "s": (0.0, {"acorns": 5})})
    state, _ = step(
        new_world(scn, 1),
        {
            "b": Action((Order("buy", "acorns", 2, 550),), gossip="acorns please"),
            "s": Action((Order("sell", "acorns", 2, 450),)),
        },
    )
    obs = observe(state, "b")
    [trade] = obs.trades
    assert (trade.tick, trade.good, trade.qty, trade.price, trade.buyer, trade.seller) == (
        1,
        "acorns",
        2,
        5.0,
        "B",
        "S",
    )
    assert obs.last_prices == {"acorns": 5.0}
    assert [(g.tick, g.creature, g.text) for g in obs.gossip] == [(1, "B", "acorns please")]
    assert obs.pebbles == 90.0
    assert obs.stores["acorns"] == 2


def test_legends_are_heard_with_the_ticks_left(default_scenario: Scenario) -> None:
    state, _ = step(new_world(default_scenario, 1), {}, [TriggerLegend("run_on_the_hoard")])
    [heard] = observe(state, "vesper").legends
    spec = LEGENDS["run_on_the_hoard"]
    assert (heard.title, heard.rumour, heard.ticks_left) == (spec.title, True, spec.duration)
    assert "Oona's great honey hoard" in heard.story
    state, _ = step(state, {})
    assert observe(state, "vesper").legends[0].ticks_left == spec.duration - 1


def test_observations_serialise(checkpoints: dict[int, WorldState]) -> None:
    for state in checkpoints.values():
        for obs in observe_all(state).values():
            data = orjson.loads(orjson.dumps(dataclasses.asdict(obs)))
            assert data["creature"] == obs.creature


private = st.fixed_dictionaries(
    {
        "purse": st.integers(0, 10**7),
        "stores": st.fixed_dictionaries({g: st.integers(0, 500) for g in GOODS}),
        "mood": st.floats(0.05, 1.0),
        "fuel_debt": st.floats(0.0, 2.0),
        "fed": st.booleans(),
        "warm": st.booleans(),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.sampled_from([0, 99, 140, 229, 419]),
    who=st.sampled_from(["mossback", "oona", "bram", "vesper", "hob"]),
    others=st.lists(private, min_size=4, max_size=4),
)
def test_another_creatures_private_state_never_shows(
    checkpoints: dict[int, WorldState], start: int, who: str, others: list[dict[str, object]]
) -> None:
    """Non-interference: changing everything private about the others changes nothing in
    one creature's observation."""
    state = checkpoints[start]
    mine = observe(state, who)
    changed = state.copy()
    for c, secret in zip(
        (c for c in changed.creatures.values() if c.id != who), others, strict=True
    ):
        for name, value in secret.items():
            setattr(c, name, dict(value) if isinstance(value, dict) else value)
    assert observe(changed, who) == mine


def test_every_field_holds_what_its_name_says(default_scenario: Scenario) -> None:
    """The observation is built positionally (for speed): each field, named, against the state."""
    state = new_world(default_scenario, 2)
    state.creatures["bram"].mood = 0.61234
    for _ in range(30):
        state, _ = step(state, {})
    c = state.creatures["bram"]
    obs = observe(state, "bram")
    named = {f.name: getattr(obs, f.name) for f in dataclasses.fields(obs)}
    assert named["tick"] == state.tick + 1
    assert named["ticks_per_season"] == default_scenario.rules.ticks_per_season
    assert (named["creature"], named["name"], named["species"]) == (c.id, c.name, c.species)
    assert (named["produces"], named["personality"]) == (c.produces, c.personality)
    assert named["pebbles"] == c.purse / 100 and named["stores"] == c.stores
    assert named["mood"] == round(c.mood, 3)
    assert (named["fed"], named["warm"], named["exiled"]) == (c.fed, c.warm, c.exiled)
    assert named["fuel_good"] == "firewood" and named["never_buy"] == (c.produces,)
    assert named["prices"] == {g: round(p, 2) for g, p in state.ref_prices.items()}
    assert named["spoilage"] == {g: s.spoil for g, s in default_scenario.goods.items()}
    assert named["last_prices"] == {g: p / 100 for g, p in state.last_prices.items()}
    assert all(isinstance(t, tuple) for t in (named["trades"], named["gossip"], named["legends"]))
    assert isinstance(named["short_of"], dict) and isinstance(named["season"], str)
    assert isinstance(named["day"], int) and isinstance(named["year"], int)
    assert isinstance(named["ticks_to_winter"], int) and isinstance(named["fuel_per_tick"], float)

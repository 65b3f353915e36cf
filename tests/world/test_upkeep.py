"""Upkeep grows with wealth and goes to the commons, which shares its surplus back."""

from __future__ import annotations

from server.world import new_world, step
from server.world.events import CommonsShared, Event, UpkeepPaid
from server.world.upkeep import settle_upkeep
from server.world.wealth import wealth_of

from .conftest import creature, make_scenario, of_type, pebbles_total


def upkept(**rules: float) -> object:
    return make_scenario(
        [
            creature("rich", "acorns", pebbles=200.0, stores={"honey": 10}),
            creature("modest", "honey", pebbles=20.0),
            creature("away", "berries", pebbles=300.0),
        ],
        rules={"ticks_per_season": 5, "commons": 50.0, "upkeep_free": 40.0, **rules},
    )


def test_the_well_off_pay_upkeep_on_their_wealth_at_each_seasons_end() -> None:
    state = new_world(upkept(upkeep=0.25), 1)  # type: ignore[arg-type]
    state.creatures["away"].exiled_until = 99
    rich = state.creatures["rich"]
    worth = wealth_of(state, rich)
    events: list[Event] = []
    state.tick = 5
    settle_upkeep(state, events)
    due = round((worth - 40.0) * 0.25 * 100)
    assert 20000 - rich.purse == due
    assert state.creatures["modest"].purse == 2000  # below the allowance: pays nothing
    assert state.creatures["away"].purse == 30000  # exiles neither pay nor receive
    assert of_type(events, UpkeepPaid) == [UpkeepPaid(due)]
    assert state.commons == 5000 + due


def test_no_upkeep_mid_season_and_never_more_than_the_purse() -> None:
    state = new_world(upkept(upkeep=1.0), 1)  # type: ignore[arg-type]
    state.creatures["rich"].purse = 100  # one pebble, and a larder worth far more
    state.creatures["rich"].stores["honey"] = 500
    events: list[Event] = []
    state.tick = 3
    settle_upkeep(state, events)
    assert not of_type(events, UpkeepPaid)
    state.tick = 5
    settle_upkeep(state, events)
    assert state.creatures["rich"].purse == 0


def test_the_commons_shares_its_surplus_every_tick() -> None:
    scenario = upkept(commons_share=0.1)
    state = new_world(scenario, 1)  # type: ignore[arg-type]
    state.commons += 9000  # 90 pebbles above its opening 50
    purses = {cid: c.purse for cid, c in state.creatures.items()}
    events: list[Event] = []
    settle_upkeep(state, events)
    (shared,) = of_type(events, CommonsShared)
    assert shared == CommonsShared(300, 3)  # a tenth of 9000, in three equal shares
    assert all(state.creatures[cid].purse == p + 300 for cid, p in purses.items())
    assert state.commons == 5000 + 9000 - 900
    # at or below its opening pebbles the commons keeps everything
    state.commons = 5000
    events.clear()
    settle_upkeep(state, events)
    assert not of_type(events, CommonsShared)


def test_upkeep_and_sharing_conserve_pebbles_over_years() -> None:
    state = new_world(upkept(upkeep=0.4, commons_share=0.05), 1)  # type: ignore[arg-type]
    total = pebbles_total(state)
    paid = shared = 0
    for _ in range(400):
        state, events = step(state, {})
        assert pebbles_total(state) == total
        paid += sum(e.total for e in of_type(events, UpkeepPaid))
        shared += sum(e.share * e.creatures for e in of_type(events, CommonsShared))
    assert paid > 0 and shared > 0
    # the fortune is spread: the rich creature's purse has come down toward the others'
    purses = sorted(c.purse for c in state.creatures.values())
    assert purses[-1] < 3 * max(purses[0], 1)

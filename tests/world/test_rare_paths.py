"""Property tests aimed at the paths random play almost never reaches: newcomers joining
(staked by the commons), the Hollow Log Company paying its dividends, and exiles returning.

Random play joins about once in hundreds of ticks and never pays a dividend, so a fault on
those paths (a stake or a dividend minted from nothing) passes it. Here each example is
steered onto the path, conservation is checked every tick, and each test counts how often
the path really ran, failing if the strategies stopped reaching it.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.minds.scripted import ScriptedMind
from server.world import (
    Scenario,
    SpawnCreature,
    TriggerLegend,
    WorldState,
    new_world,
    parse_scenario,
    step,
)
from server.world.events import CreatureJoined, CreatureReturned, RumourResolved
from server.world.units import to_bits

from .conftest import SMALL_SCENARIO, draw_tick, pebbles_total, scripted_actions
from .test_conservation import assert_conserved

RARE = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def newcomers(state: WorldState) -> st.SearchStrategy[SpawnCreature]:
    """Joins the world accepts: fresh ids, known goods, sound names and yields."""
    return st.builds(
        SpawnCreature,
        id=st.from_regex(r"new[a-z0-9]{1,6}", fullmatch=True).filter(
            lambda i: i not in state.creatures
        ),
        name=st.sampled_from(["Newt", "Toad", "Wren"]),
        species=st.sampled_from(["newt", "toad", "wren"]),
        produces=st.sampled_from(list(state.scenario.goods)),
        personality=st.sampled_from(["steady", "hoarder", "shrewd"]),
        yields=st.dictionaries(
            st.sampled_from(["spring", "summer", "autumn", "winter"]),
            st.floats(0, 5),
            max_size=2,
        ),
    )


def test_joins_are_staked_from_the_commons(small_scenario: Scenario) -> None:
    reached: Counter[str] = Counter()

    @RARE
    @given(data=st.data(), seed=st.integers(0, 2**32), commons=st.integers(0, 20_000))
    def joins(data: st.DataObject, seed: int, commons: int) -> None:
        state = new_world(small_scenario, seed)
        # Move pebbles from the commons into a purse (or back), so the commons may be short.
        donor = next(iter(state.creatures.values()))
        commons = min(commons, state.commons + donor.purse)
        donor.purse += state.commons - commons
        state.commons = commons
        for _ in range(data.draw(st.integers(1, 4))):
            actions, told = draw_tick(data, state)
            joining = data.draw(st.lists(newcomers(state), min_size=1, max_size=2))
            after, events = step(state, actions, (*joining, *told))
            assert_conserved(state, after, events)
            stake = to_bits(state.scenario.rules.join_pebbles)
            commons = state.commons
            for e in events:
                if isinstance(e, CreatureJoined) and e.creature not in state.creatures:
                    reached["joined"] += 1
                    newcomer = after.creatures[e.creature]
                    given_stake = min(commons, stake)
                    assert newcomer.purse >= 0
                    reached["short"] += given_stake < stake
                    commons -= given_stake
            state = after

    joins()
    assert reached["joined"] >= 30, reached
    assert reached["short"] >= 1, reached
    assert reached["joined"] > reached["short"], reached


def test_a_newcomers_first_purse_is_its_stake(small_scenario: Scenario) -> None:
    state = new_world(small_scenario, 1)
    before = pebbles_total(state)
    commons = state.commons
    after, events = step(state, {}, (SpawnCreature("newt", "Newt", "newt", "berries"),))
    assert any(isinstance(e, CreatureJoined) for e in events)
    stake = min(commons, to_bits(small_scenario.rules.join_pebbles))
    assert after.creatures["newt"].purse == stake
    assert pebbles_total(after) == before


def test_the_company_pays_its_dividends_from_the_commons() -> None:
    # The small Wood without its calendar or chance: the Company told here is the only one.
    quiet = parse_scenario(
        {**SMALL_SCENARIO, "legends": [], "rules": {**SMALL_SCENARIO["rules"], "legend_chance": 0}}
    )
    reached: Counter[str] = Counter()

    @RARE
    @given(data=st.data(), seed=st.integers(0, 2**32))
    def dividends(data: st.DataObject, seed: int) -> None:
        state = new_world(quiet, seed)
        mind = ScriptedMind(seed)
        state, _ = step(state, {}, (TriggerLegend("hollow_log_company"),))
        company = [leg for leg in state.legends if leg.key == "hollow_log_company"][-1]
        reached["examples"] += 1
        company.truth = reached["examples"] % 3 != 0  # two true for every false, every run
        while True:
            # The scripted minds keep the market trading (and the Company tolling); random
            # actions and commands replace some of them.
            actions, told = draw_tick(data, state)
            actions = {**scripted_actions(state, mind), **actions}
            after, events = step(state, actions, told)
            assert_conserved(state, after, events)
            told_truth = [e for e in events if isinstance(e, RumourResolved) and e.id == company.id]
            if told_truth:
                # Conservation (checked above) is what proves the payout came from the
                # commons; here only that a payout really happened.
                pot = next(leg.pot for leg in state.legends if leg.id == company.id)
                if told_truth[0].true and pot and "0.0 pebbles" not in told_truth[0].outcome:
                    reached["paid"] += 1
                elif not told_truth[0].true:
                    reached["vanished"] += 1
                return
            state = after

    dividends()
    assert reached["paid"] >= 5, reached
    assert reached["vanished"] >= 3, reached


def test_exiles_return_staked_from_the_commons(small_scenario: Scenario) -> None:
    """The small Wood's cub is ruined at once: its return is staked, never minted."""
    reached: Counter[str] = Counter()

    @RARE
    @given(data=st.data(), seed=st.integers(0, 2**32))
    def returns(data: st.DataObject, seed: int) -> None:
        state = new_world(small_scenario, seed)
        for _ in range(8):
            actions, told = draw_tick(data, state)
            after, events = step(state, actions, told)
            assert_conserved(state, after, events)
            for e in events:
                if isinstance(e, CreatureReturned):
                    reached["returned"] += 1
                    assert e.stake == min(
                        state.commons, to_bits(state.scenario.rules.return_stake)
                    ) or (state.commons < after.commons)
            state = after

    returns()
    assert reached["returned"] >= 10, reached

"""Scripted minds never write a decision the protocol would refuse, whatever they hold."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.minds.brain import ScriptedBrain
from server.minds.scripted import TEMPERAMENTS, ScriptedMind
from server.minds.translate import to_action, to_decision
from server.world import load_scenario, new_world, observe_all, step
from server.world.legend_book import LEGENDS
from server.world.observe import HeardLegend, Observation
from shared.decision import GOSSIP_CHARS, MAX_OFFERS, MAX_PRICE, MAX_QTY, MIN_PRICE, Decision

GOODS = ("acorns", "berries", "mushrooms", "honey", "firewood")
SEASONS = ("spring", "summer", "autumn", "winter")

amounts = st.one_of(st.integers(0, 5), st.integers(0, 10**9))
prices = st.one_of(
    st.floats(0.01, 50), st.floats(0.01, 250_000), st.sampled_from([0.01, MAX_PRICE, 25_000.0])
)
heard = st.builds(
    HeardLegend,
    id=st.just("L1"),
    title=st.sampled_from([spec.title for spec in LEGENDS.values()]),
    story=st.sampled_from([spec.story for spec in LEGENDS.values()]),
    ticks_left=st.integers(0, 20),
    rumour=st.booleans(),
)


@st.composite
def observations(draw: st.DrawFn) -> Observation:
    produces = draw(st.sampled_from(GOODS))
    tps = draw(st.integers(1, 100))
    return Observation(
        tick=draw(st.integers(1, 10**7)),
        season=draw(st.sampled_from(SEASONS)),
        day=draw(st.integers(1, tps)),
        year=draw(st.integers(1, 10**5)),
        ticks_per_season=tps,
        ticks_to_winter=draw(st.integers(0, 3 * tps)),
        creature="c",
        name="C",
        species="vole",
        produces=produces,
        personality=draw(st.sampled_from(sorted(TEMPERAMENTS))),
        pebbles=draw(st.one_of(st.floats(0, 100), st.floats(0, 1e10))),
        stores={g: draw(amounts) for g in GOODS},
        mood=draw(st.floats(0.05, 1)),
        fed=draw(st.booleans()),
        warm=draw(st.booleans()),
        fuel_good=draw(st.sampled_from(["firewood", ""])),
        fuel_per_tick=draw(st.floats(0, 100)),
        never_buy=(produces,),
        short_of={g: draw(st.integers(1, 10**6)) for g in draw(st.sets(st.sampled_from(GOODS)))},
        prices={g: draw(prices) for g in GOODS},
        last_prices={},
        spoilage={g: draw(st.floats(0, 1)) for g in GOODS},
        trades=(),
        gossip=(),
        legends=tuple(draw(st.lists(heard, max_size=2))),
        exiled=draw(st.booleans()),
    )


def check(decision: Decision) -> None:
    # Round trip through the protocol's own validation: what a bot would have to send.
    Decision.model_validate(decision.model_dump(mode="json"))
    assert len(decision.offers) <= MAX_OFFERS
    assert len(decision.gossip) <= GOSSIP_CHARS
    for offer in decision.offers:
        assert 1 <= offer.qty <= MAX_QTY
        assert MIN_PRICE <= offer.price <= MAX_PRICE


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obs=observations(), seed=st.integers(0, 2**31))
def test_every_decision_validates_in_any_state(obs: Observation, seed: int) -> None:
    check(ScriptedMind(seed).decide(obs))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obs=observations(), seed=st.integers(0, 2**31))
def test_the_action_is_the_decision_in_the_worlds_terms(obs: Observation, seed: int) -> None:
    """`act` (what a headless run uses) and `decide` (what traces and the protocol see) are
    one decision: translating either into the other gives the other back exactly."""
    mind = ScriptedMind(seed)
    action, decision = mind.act(obs), mind.decide(obs)
    assert to_action(decision) == action
    assert to_decision(action, decision.thought) == decision
    assert (decision.thought is None) == obs.exiled


def test_a_scripted_result_builds_its_decision_only_when_read() -> None:
    observations = observe_all(new_world(load_scenario(), 3))
    brain = ScriptedBrain(3)
    mind = brain.mind
    for cid, result in brain.decide_now(observations).items():
        obs = observations[cid]
        assert result._decision is None  # nothing built yet: a headless run never pays for it
        assert result.action == mind.act(obs)
        assert result.decision == mind.decide(obs)
        assert result.decision.thought and result.decision.thought.startswith("I hold")


def test_huge_stores_from_a_real_world_still_validate() -> None:
    """The reproduction of the tick-1,942 death: a woodpile beyond what one offer carries."""
    state = new_world(load_scenario(), 1)
    state.creatures["bram"].stores["firewood"] = 50_000
    state.creatures["oona"].purse = 10**12
    mind = ScriptedMind(1)
    for _ in range(30):
        observed = observe_all(state)
        for obs in observed.values():
            check(mind.decide(obs))
        state, _ = step(state, {})
    assert any(o.qty == MAX_QTY for o in mind.decide(observe_all(state)["bram"]).offers)

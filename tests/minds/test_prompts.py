"""Prompts: built from an observation alone, a shared prefix, and the three interventions."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from server.minds.brain import ScriptedBrain
from server.minds.prompts import PromptBuilder, prefix_fraction, render_chatml, render_plain
from server.minds.repair import parse_decision
from server.world import (
    TriggerLegend,
    WorldState,
    load_scenario,
    new_world,
    observe_all,
    state_from_dict,
    state_to_dict,
    step,
)


def _run(
    ticks: int, seed: int = 1, commands_at: dict[int, list[TriggerLegend]] | None = None
) -> WorldState:
    state = new_world(load_scenario(), seed)
    brain = ScriptedBrain(seed)
    for _ in range(ticks):
        decisions = brain.decide_now(observe_all(state))
        actions = {cid: r.action for cid, r in decisions.items()}
        state, _ = step(state, actions, (commands_at or {}).get(state.tick + 1, []))
    return state


@pytest.fixture(scope="module")
def builder() -> PromptBuilder:
    return PromptBuilder(load_scenario())


@pytest.mark.parametrize("ticks", [0, 40, 90, 160])
def test_never_buy_and_roster_match_the_state(builder: PromptBuilder, ticks: int) -> None:
    state = _run(ticks)
    for cid, obs in observe_all(state).items():
        creature = state.creatures[cid]
        user = builder.suffix(obs)
        assert f"Never buy: {creature.produces}." in user
        roster = re.search(r"^Short of: (.*)\.$", user, re.MULTILINE)
        assert roster is not None
        if obs.short_of:
            listed = dict(item.rsplit(" ", 1) for item in roster.group(1).split(", "))
            assert {g: int(q) for g, q in listed.items()} == obs.short_of
            assert creature.produces not in listed
            for good, qty in obs.short_of.items():  # computed from the state it came from
                if good != state.scenario.fuel:
                    assert creature.stores[good] + qty == 3
        else:
            assert roster.group(1) == "nothing"
        assert (
            f"Pebbles: {obs.pebbles:g}" in user or f"Pebbles: {obs.pebbles:.2f}".rstrip("0") in user
        )


def test_the_prefix_is_identical_for_every_creature_and_tick(builder: PromptBuilder) -> None:
    prefixes = set()
    for ticks in (0, 30, 120):
        for obs in observe_all(_run(ticks)).values():
            text = builder.render(obs)
            prefixes.add(text[: text.rindex(builder.suffix(obs))])
    assert len(prefixes) == 1


def test_the_prefix_is_most_of_every_prompt(builder: PromptBuilder) -> None:
    for ticks in (0, 75, 150, 240):
        for obs in observe_all(_run(ticks)).values():
            assert prefix_fraction(builder, obs) >= 0.6, (ticks, obs.creature)


def test_the_worked_example_is_a_sensible_parseable_decision(builder: PromptBuilder) -> None:
    example = builder.prefix.split("a good answer is:\n", 1)[1]
    result = parse_decision(example, builder.goods, produces="acorns")
    assert result.status == "ok"
    sides = {(o.side.value, o.good) for o in result.decision.offers}
    assert ("sell", "acorns") in sides
    assert ("buy", "acorns") not in sides
    assert len(builder.prefix) > 1000


def test_no_hidden_facts_reach_a_prompt(builder: PromptBuilder) -> None:
    # A rumour whose truth the seeded dice decided: flipping it, or any other creature's
    # private state, must leave every prompt exactly as it was.
    state = _run(60, commands_at={59: [TriggerLegend("run_on_the_hoard")]})
    assert state.legends, "the rumour should be running"
    before = {cid: builder.render(obs) for cid, obs in observe_all(state).items()}
    for cid in state.creatures:
        twin = state_from_dict(state_to_dict(state))
        for leg in twin.legends:
            leg.truth = not leg.truth
        for other_id, other in twin.creatures.items():
            if other_id != cid:
                other.purse += 12_345
                other.stores = {g: q + 7 for g, q in other.stores.items()}
                other.mood = 0.11
                other.personality = "hoarder" if other.personality != "hoarder" else "steady"
        assert builder.render(observe_all(twin)[cid]) == before[cid]


def test_messages_and_templates() -> None:
    builder = PromptBuilder(load_scenario(), renderer="plain")
    obs = observe_all(_run(5))["oona"]
    messages = builder.messages(obs)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert builder.render(obs) == render_plain(messages)
    chat = render_chatml(messages)
    assert chat.startswith("<|im_start|>system\n") and chat.endswith("<|im_start|>assistant\n")
    with pytest.raises(ValueError, match="chatml"):
        PromptBuilder(load_scenario(), renderer="nope")  # type: ignore[arg-type]


def test_thought_mode_asks_for_a_thought() -> None:
    builder = PromptBuilder(load_scenario(), thought=True)
    example = orjson.loads(builder.prefix.split("a good answer is:\n", 1)[1])
    assert next(iter(example)) == "thought"


@pytest.mark.vllm
def test_prefix_fraction_in_tokens_of_the_tiny_tokenizer(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    from server.minds.prompts import tokenizer_renderer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    builder = PromptBuilder(load_scenario(), renderer=tokenizer_renderer(str(tiny_model)))
    for obs in observe_all(_run(150)).values():
        text = builder.render(obs)
        assert text == PromptBuilder(load_scenario()).render(obs)  # its template is ChatML
        cut = text.rindex(builder.suffix(obs))
        prefix_tokens = len(tokenizer(text[:cut])["input_ids"])
        total_tokens = len(tokenizer(text)["input_ids"])
        assert prefix_tokens / total_tokens >= 0.6

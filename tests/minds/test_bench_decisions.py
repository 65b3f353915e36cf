"""bench decisions' judge: what the model asked for, measured against what the creature saw."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from server import simulate
from server.bench.decisions import Tally, _append, run, sample_ticks, variants
from server.minds.brain import DecisionResult
from server.minds.prompts import PromptBuilder, render_chatml
from server.world import Observation, load_scenario, observe
from shared.decision import Decision, Offer, Side

SCENARIO = load_scenario(None)


def _obs() -> Observation:
    state = simulate.world_at(SCENARIO, 3, 1)
    obs = observe(state, "mossback")
    return dataclasses.replace(
        obs,
        stores={"acorns": 5, "berries": 0, "mushrooms": 0, "honey": 0, "firewood": 2},
        short_of={"mushrooms": 2, "berries": 1},
    )


def _result(offers: list[Offer], status: str = "ok", gossip: str = "") -> DecisionResult:
    return DecisionResult(
        decision=Decision(gossip=gossip),
        status=status,  # type: ignore[arg-type]
        brain="test",
        intended=tuple(offers),
    )


def test_the_judge_counts_what_was_asked_for() -> None:
    obs = _obs()
    ref = obs.prices
    example = PromptBuilder(SCENARIO).example
    assert example is not None
    tally = Tally()
    tally.add(
        _result(
            [
                Offer(side=Side.BUY, good="acorns", qty=1, price=ref["acorns"]),  # own good
                Offer(side=Side.BUY, good="mushrooms", qty=1, price=ref["mushrooms"]),  # roster
                Offer(side=Side.SELL, good="honey", qty=1, price=ref["honey"] * 3),  # unheld, far
            ]
        ),
        obs,
        example,
    )
    tally.add(
        _result(
            [Offer(side=Side.SELL, good="acorns", qty=9, price=ref["acorns"])],  # beyond held
            status="repaired",
            gossip="Wren sells acorns",  # the example's creature: a copy
        ),
        obs,
        example,
    )
    tally.add(_result([], status="noop"), obs, example)
    f = tally.figures(len(SCENARIO.goods))
    assert f["answers"] == 3
    assert (f["valid_share"], f["repaired_share"], f["noop_share"]) == (0.3333, 0.3333, 0.3333)
    assert f["self_buy_share"] == 0.5 and f["self_buy_chance"] == 0.2
    assert f["unheld_sell_share"] == 1.0
    assert f["far_price_share"] == 0.25
    assert f["roster_buy_share"] == 0.5
    assert f["roster_buy_chance"] == 0.4  # 2 roster goods of 5
    assert f["example_copy_share"] == 0.3333


def test_the_example_prices_are_copies_and_fair_prices_are_not() -> None:
    obs = _obs()
    example = PromptBuilder(SCENARIO).example
    assert example is not None
    copied = Tally()
    copied.add(_result([example.offers[0]]), obs, example)
    fair = Tally()
    fair.add(
        _result([Offer(side=Side.SELL, good="acorns", qty=2, price=obs.prices["acorns"])]),
        obs,
        example,
    )
    assert copied.figures(5)["example_copy_share"] == 1.0
    assert fair.figures(5)["example_copy_share"] == 0.0


def test_judged_ticks_reach_winter_and_legends() -> None:
    ticks = sample_ticks(SCENARIO, 3)
    tps = SCENARIO.rules.ticks_per_season
    assert any(3 * tps < t <= 4 * tps for t in ticks)  # winter of year one
    legend_ticks = [legend.tick for legend in SCENARIO.legends]
    assert any(0 < t - lt < 10 for t in ticks for lt in legend_ticks)
    assert len(sample_ticks(SCENARIO, 20)) == 20


def test_ablations_are_free_space_variants() -> None:
    labels = [v.label for v in variants(["guarded", "free"], ["roster", "example"])]
    assert labels == ["guarded", "free", "free-roster", "free-example"]
    assert [v.label for v in variants(["menu"], ["roster"])] == ["menu"]
    only = variants(["guarded", "free"], ["never_buy", "roster"], ablated_only=True)
    assert [v.label for v in only] == ["free-never_buy", "free-roster"]


class _MenuPicker:
    """Picks plan B of every menu; counts the batches it was given."""

    name = "picker"
    aborts_on_cancel = True

    def __init__(self) -> None:
        self.batches = 0

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        self.batches += 1
        letter = "B" if "B" in schema["properties"]["choice"]["enum"] else "A"
        return [f'{{"choice":"{letter}","gossip":"fresh acorns"}}'] * len(prompts)

    async def aclose(self) -> None:
        return None


async def test_each_variant_row_is_handed_over_as_it_finishes(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = []
    figures = await run(
        SCENARIO,
        _MenuPicker(),
        render_chatml,
        spaces=["menu"],
        seeds=[1],
        ticks=3,
        sample=2,
        on_row=rows.append,
    )
    assert rows == figures["variants"] and len(rows) == 1
    row = rows[0]
    assert row["answers"] == 2 * row["creatures_per_tick"] and row["valid_share"] == 1.0
    assert row["closed_loop_judged"]["answers"] == 3 * row["creatures_per_tick"]
    assert row["trades_per_tick"] is not None and row["wealth_change"] is not None
    out = tmp_path / "rows.jsonl"
    _append(out, row)
    _append(out, row)
    assert [orjson.loads(line) for line in out.read_bytes().splitlines()] == [row, row]

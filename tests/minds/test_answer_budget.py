"""Guarded and menu answers fit their token budget by construction.

Their schemas are bounded (`longest_answer`), texts are printable ASCII lines with no quote
mark and no space at either end (`text_schema`), and each request asks for the bound's
tokens (`budget_for`): every token is at least one byte, so no answer is ever cut off.
The grammar checks use xgrammar as vLLM configures it (no free whitespace).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server import simulate
from server.minds.batch import generate_batch
from server.minds.schema import budget_for, decision_schema, longest_answer, text_schema
from server.minds.spaces import GuardedSpace, MenuSpace
from server.world import Observation, load_scenario, observe_all

SCENARIO = load_scenario(None)
GOODS = tuple(SCENARIO.goods)


def _observations() -> list[Observation]:
    seen: list[Observation] = []
    for tick in (1, 12, 40, 88):
        state = simulate.world_at(SCENARIO, tick, 1)
        seen += [o for o in observe_all(state).values() if not o.exiled]
    return seen


OBSERVATIONS = _observations()


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _gossip(chars: int) -> st.SearchStrategy[str]:
    inner = st.text(st.characters(codec="ascii", categories=["L", "N", "P", "S", "Zs"]))
    return inner.map(lambda t: t.replace('"', "").replace("\\", "").strip()[:chars].strip())


def _answer(schema: dict[str, Any], data: st.DataObject, thought: bool) -> dict[str, Any]:
    props = schema["properties"]
    out: dict[str, Any] = {}
    if thought:
        out["thought"] = data.draw(_gossip(200))
    if "choice" in props:
        out["choice"] = data.draw(st.sampled_from(props["choice"]["enum"]))
    else:
        offers_schema = props["offers"]
        shapes = offers_schema.get("items", {}).get("anyOf", [])
        first = offers_schema.get("prefixItems", [])
        count = data.draw(st.integers(offers_schema.get("minItems", 0), offers_schema["maxItems"]))
        offers = []
        for i in range(count):
            shape = first[i] if i < len(first) else data.draw(st.sampled_from(shapes))
            p = shape["properties"]
            offers.append(
                {
                    "side": p["side"]["const"],
                    "good": p["good"]["const"],
                    "qty": data.draw(st.integers(1, p["qty"]["maximum"])),
                    "price": data.draw(st.sampled_from(p["price"]["enum"])),
                }
            )
        out["offers"] = offers
    out["gossip"] = data.draw(_gossip(48))
    return out


@settings(max_examples=60, deadline=None)
@given(
    obs=st.sampled_from(OBSERVATIONS),
    space=st.sampled_from(["guarded", "menu"]),
    thought=st.booleans(),
    data=st.data(),
)
def test_every_admitted_answer_fits_the_bound(
    obs: Observation, space: str, thought: bool, data: st.DataObject
) -> None:
    built = (GuardedSpace if space == "guarded" else MenuSpace)(SCENARIO, thought=thought)
    schema = built.schema(obs)
    answer = _answer(schema, data, thought)
    jsonschema.validate(answer, schema)
    bound = longest_answer(schema)
    assert bound is not None
    assert len(_compact(answer).encode()) <= bound
    assert budget_for(schema, 16) == bound + 1  # asked for enough to finish, end token too
    assert budget_for(schema, 10_000) == 10_000  # a larger budget is kept


def test_the_bound_is_reached_by_the_longest_answer() -> None:
    obs = max(OBSERVATIONS, key=lambda o: longest_answer(GuardedSpace(SCENARIO).schema(o)) or 0)
    schema = GuardedSpace(SCENARIO).schema(obs)
    offers_schema = schema["properties"]["offers"]
    shapes = [*offers_schema.get("prefixItems", []), *offers_schema["items"]["anyOf"]]

    def text(shape: dict[str, Any]) -> dict[str, Any]:
        p = shape["properties"]
        price = max(p["price"]["enum"], key=lambda v: len(_compact(v)))
        return {"side": p["side"]["const"], "good": p["good"]["const"]} | {
            "qty": p["qty"]["maximum"],
            "price": price,
        }

    longest = max((text(s) for s in shapes), key=lambda o: len(_compact(o)))
    first = [text(s) for s in offers_schema.get("prefixItems", [])]
    offers = first + [longest] * (offers_schema["maxItems"] - len(first))
    answer = {"offers": offers, "gossip": "x" * 48}
    jsonschema.validate(answer, schema)
    assert len(_compact(answer)) >= longest_answer(schema) - 20  # tight to a few digits
    assert longest_answer(schema) > 128  # why 128 tokens could cut an answer off


def test_texts_are_ascii_lines_without_quotes_or_edge_spaces() -> None:
    pattern = re.compile(text_schema(12)["pattern"])
    for good in ("", "a", "acorns here", "Oona's honey", "12 chars-ok."):
        assert pattern.fullmatch(good), good
    for bad in ("Oona: ", " hi", 'say "hi"', "back\\slash", "thirteen chars", "caf\u00e9", "a\tb"):
        assert not pattern.fullmatch(bad), bad
    assert re.fullmatch(text_schema(1)["pattern"], "a")
    assert re.fullmatch(text_schema(0)["pattern"], "")
    assert not re.fullmatch(text_schema(0)["pattern"], "a")


def test_free_schema_is_unbounded_and_keeps_the_callers_budget() -> None:
    schema = decision_schema(GOODS)
    assert longest_answer(schema) is None
    assert budget_for(schema, 96) == 96


class Budgets:
    name = "budgets"
    aborts_on_cancel = True

    def __init__(self) -> None:
        self.asked: list[int] = []

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        self.asked += [max_tokens] * len(prompts)
        return ["{}"] * len(prompts)

    async def aclose(self) -> None:
        return None


async def test_each_request_asks_for_its_schemas_bound() -> None:
    guarded = GuardedSpace(SCENARIO)
    schemas = [guarded.schema(o) for o in OBSERVATIONS[:5]]
    engine = Budgets()
    await generate_batch(engine, ["p"] * 5, schemas, max_tokens=96)
    assert engine.asked == [budget_for(s, 96) for s in schemas]
    assert all(n > 128 for n in engine.asked)
    free = decision_schema(GOODS)
    engine = Budgets()
    await generate_batch(engine, ["p"] * 3, [free] * 3, max_tokens=96)
    assert engine.asked == [96, 96, 96]


@pytest.mark.vllm
@pytest.mark.parametrize("space", ["guarded", "menu"])
def test_the_grammar_vllm_builds_admits_no_longer_answer(space: str) -> None:
    """xgrammar, configured as vLLM's engine is, accepts the longest answers and refuses a
    text one character longer, a quote inside it, and a trailing space."""
    xgr = pytest.importorskip("xgrammar")
    from xgrammar.testing import _is_grammar_accept_string as accepts

    built = (GuardedSpace if space == "guarded" else MenuSpace)(SCENARIO)
    obs = OBSERVATIONS[0]
    schema = built.schema(obs)
    grammar = xgr.Grammar.from_json_schema(
        json.dumps(schema), any_whitespace=False, separators=(",", ":")
    )
    if space == "menu":
        head = '{"choice":"A",'
    else:
        first = schema["properties"]["offers"]["prefixItems"][0]["properties"]
        offer = {
            "side": first["side"]["const"],
            "good": first["good"]["const"],
            "qty": 1,
            "price": first["price"]["enum"][0],
        }
        head = '{"offers":[' + _compact(offer) + "],"
    longest = "w" * 47 + "."
    assert accepts(grammar, head + f'"gossip":"{longest}"}}')
    assert len(head + f'"gossip":"{longest}"}}') <= (longest_answer(schema) or 0)
    assert not accepts(grammar, head + f'"gossip":"{longest}x"}}')
    assert not accepts(grammar, head + '"gossip":"Oona: "}')
    assert not accepts(grammar, head + '"gossip":"say \\"hi\\""}')

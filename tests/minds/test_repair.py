# ruff: noqa: E501  (the corpus holds model answers verbatim, one per line)
"""The repair layer against a corpus of malformed model answers, and fuzzed for never raising.

Each corpus case states the whole outcome: the salvaged offers, gossip and thought, the exact
repairs in order, and the no-op reason. The scenario is the default cast's goods, seen by
Mossback, who farms acorns (so buying acorns is the seed's "bad decision").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.minds import repair
from server.minds.repair import ParseResult, parse_decision
from shared.decision import GOSSIP_CHARS, MAX_OFFERS, NOOP, THOUGHT_CHARS, Decision, Offer, Side

GOODS = ("acorns", "berries", "mushrooms", "honey", "firewood")
PRODUCES = "acorns"

OfferTuple = tuple[str, str, int, float]


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    offers: list[OfferTuple]
    gossip: str
    repairs: tuple[str, ...]
    noop_reason: str | None
    thought: str | None = None


CORPUS = [
    Case(
        "clean",
        '{"offers":[{"side":"buy","good":"honey","qty":2,"price":9}],"gossip":"hi"}',
        offers=[("buy", "honey", 2, 9.0)],
        gossip="hi",
        repairs=(),
        noop_reason=None,
    ),
    Case(
        "clean_empty",
        '{"offers":[],"gossip":""}',
        offers=[],
        gossip="",
        repairs=(),
        noop_reason=None,
    ),
    Case(
        "clean_with_thought",
        '{"thought":"cold ahead","offers":[{"side":"sell","good":"acorns","qty":4,"price":4.5}],"gossip":"acorns for all"}',
        offers=[("sell", "acorns", 4, 4.5)],
        gossip="acorns for all",
        repairs=(),
        noop_reason=None,
        thought="cold ahead",
    ),
    Case(
        "whitespace_flood_valid",
        '\n\n  {  "offers" :\n\n [ {"side" : "sell" ,\n "good":"berries",  "qty" : 1 , "price" : 5 }\n\n ]  , "gossip" : "x"  }   \n\n',
        offers=[("sell", "berries", 1, 5.0)],
        gossip="x",
        repairs=(),
        noop_reason=None,
    ),
    Case(
        "fence_json",
        '```json\n{"offers":[{"side":"buy","good":"honey","qty":2,"price":9}],"gossip":"hi"}\n```',
        offers=[("buy", "honey", 2, 9.0)],
        gossip="hi",
        repairs=("code_fence",),
        noop_reason=None,
    ),
    Case(
        "fence_bare_with_prose",
        'Here is my move:\n```\n{"offers":[],"gossip":"quiet day"}\n```\nGood luck!',
        offers=[],
        gossip="quiet day",
        repairs=("code_fence", "prose_around_json"),
        noop_reason=None,
    ),
    Case(
        "fence_unclosed",
        '```json\n{"offers":[],"gossip":"quiet day"}',
        offers=[],
        gossip="quiet day",
        repairs=("code_fence",),
        noop_reason=None,
    ),
    Case(
        "prose_around",
        'Sure! Here is my decision:\n{"offers":[{"side":"sell","good":"acorns","qty":3,"price":4}],"gossip":"hi"}\nHope that helps.',
        offers=[("sell", "acorns", 3, 4.0)],
        gossip="hi",
        repairs=("prose_around_json",),
        noop_reason=None,
    ),
    Case(
        "single_quotes",
        "{'offers': [{'side': 'sell', 'good': 'acorns', 'qty': 3, 'price': 4}], 'gossip': 'it is cold'}",
        offers=[("sell", "acorns", 3, 4.0)],
        gossip="it is cold",
        repairs=("json_repair",),
        noop_reason=None,
    ),
    Case(
        "trailing_commas",
        '{"offers":[{"side":"sell","good":"acorns","qty":3,"price":4,},],"gossip":"hi",}',
        offers=[("sell", "acorns", 3, 4.0)],
        gossip="hi",
        repairs=("json_repair",),
        noop_reason=None,
    ),
    Case(
        "comments",
        '{\n  // my plan\n  "offers": [{"side": "buy", "good": "honey", "qty": 1, "price": 9}], /* winter */\n  "gossip": "brr"\n}',
        offers=[("buy", "honey", 1, 9.0)],
        gossip="brr",
        repairs=("json_repair",),
        noop_reason=None,
    ),
    Case(
        "python_literals",
        "{'offers': [], 'gossip': None, 'thought': True}",
        offers=[],
        gossip="",
        repairs=("json_repair", "bad_thought"),
        noop_reason=None,
    ),
    Case(
        "python_literals_in_offer",
        '{"offers":[{"side":"buy","good":"honey","qty":True,"price":9}],"gossip":"ok"}',
        offers=[],
        gossip="ok",
        repairs=("json_repair", "dropped_offer:bad_qty"),
        noop_reason=None,
    ),
    Case(
        "truncated_mid_offer",
        '{"offers":[{"side":"buy","good":"honey","qty":2,"price":9},{"side":"buy","good":"berr',
        offers=[("buy", "honey", 2, 9.0)],
        gossip="",
        repairs=("json_repair", "truncated", "dropped_offer:truncated"),
        noop_reason=None,
    ),
    Case(
        "truncated_mid_price",
        '{"offers":[{"side":"buy","good":"honey","qty":2,"price":9},{"side":"sell","good":"acorns","qty":3,"price":4',
        offers=[("buy", "honey", 2, 9.0)],
        gossip="",
        repairs=("json_repair", "truncated", "dropped_offer:truncated"),
        noop_reason=None,
    ),
    Case(
        "truncated_after_offer",
        '{"offers":[{"side":"buy","good":"honey","qty":2,"price":9},',
        offers=[("buy", "honey", 2, 9.0)],
        gossip="",
        repairs=("json_repair", "truncated"),
        noop_reason=None,
    ),
    Case(
        "truncated_mid_gossip",
        '{"offers":[{"side":"buy","good":"honey","qty":3,"price":9}],"gossip":"the frost is ear',
        offers=[("buy", "honey", 3, 9.0)],
        gossip="the frost is ear",
        repairs=("json_repair", "truncated"),
        noop_reason=None,
    ),
    Case(
        "truncated_at_start",
        '{"offers":[{"side":"se',
        offers=[],
        gossip="",
        repairs=("json_repair", "truncated", "dropped_offer:truncated"),
        noop_reason="nothing_salvaged",
    ),
    Case(
        "whitespace_flood_truncated",
        '{\n\n\n   "offers"  :  [  \n\n\n      \n\n   ',
        offers=[],
        gossip="",
        repairs=("json_repair", "truncated"),
        noop_reason="nothing_salvaged",
    ),
    Case(
        "coerced_numbers",
        '{"offers":[{"side":"sell","good":"berries","qty":"3","price":"4.5"},{"side":"sell","good":"mushrooms","qty":2.0,"price":"6 pebbles"}],"gossip":""}',
        offers=[("sell", "berries", 3, 4.5), ("sell", "mushrooms", 2, 6.0)],
        gossip="",
        repairs=("coerced_type", "coerced_type", "coerced_type", "coerced_type"),
        noop_reason=None,
    ),
    Case(
        "bad_numbers",
        '{"offers":[{"side":"sell","good":"berries","qty":2.5,"price":5},{"side":"sell","good":"honey","qty":0,"price":9},{"side":"sell","good":"firewood","qty":1,"price":-3},{"side":"sell","good":"mushrooms","qty":1,"price":"lots"}],"gossip":"hm"}',
        offers=[],
        gossip="hm",
        repairs=(
            "dropped_offer:bad_qty",
            "dropped_offer:bad_qty",
            "dropped_offer:bad_price",
            "dropped_offer:bad_price",
        ),
        noop_reason=None,
    ),
    Case(
        "nan_price",
        '{"offers":[{"side":"buy","good":"honey","qty":1,"price":NaN}],"gossip":"x"}',
        offers=[],
        gossip="x",
        repairs=("dropped_offer:bad_price",),
        noop_reason=None,
    ),
    Case(
        "near_miss_goods",
        '{"offers":[{"side":"sell","good":"acorn","qty":1,"price":4},{"side":"buy","good":"Honey","qty":1,"price":9},{"side":"buy","good":"fire wood","qty":2,"price":5}],"gossip":""}',
        offers=[("sell", "acorns", 1, 4.0), ("buy", "honey", 1, 9.0), ("buy", "firewood", 2, 5.0)],
        gossip="",
        repairs=("near_miss_good", "near_miss_good", "near_miss_good"),
        noop_reason=None,
    ),
    Case(
        "misspelt_and_foreign_goods",
        '{"offers":[{"side":"buy","good":"mushrom","qty":1,"price":6},{"side":"buy","good":"pebbles","qty":1,"price":1},{"side":"buy","good":"wood","qty":1,"price":5}],"gossip":""}',
        offers=[("buy", "mushrooms", 1, 6.0)],
        gossip="",
        repairs=("near_miss_good", "dropped_offer:unknown_good", "dropped_offer:unknown_good"),
        noop_reason=None,
    ),
    Case(
        "sides",
        '{"offers":[{"side":"BUY","good":"honey","qty":1,"price":9},{"side":"ask","good":"acorns","qty":2,"price":4},{"side":"hold","good":"berries","qty":1,"price":5}],"gossip":""}',
        offers=[("buy", "honey", 1, 9.0), ("sell", "acorns", 2, 4.0)],
        gossip="",
        repairs=("coerced_side", "coerced_side", "dropped_offer:bad_side"),
        noop_reason=None,
    ),
    Case(
        "missing_fields",
        '{"offers":[{"side":"buy","good":"honey","qty":1},{"good":"honey","qty":1,"price":9}],"gossip":"oops"}',
        offers=[],
        gossip="oops",
        repairs=("dropped_offer:missing_price", "dropped_offer:missing_side"),
        noop_reason=None,
    ),
    Case(
        "renamed_keys",
        '{"Offers":[{"action":"sell","item":"berries","quantity":2,"price":5}],"gossip":"x","mood":"happy"}',
        offers=[("sell", "berries", 2, 5.0)],
        gossip="x",
        repairs=("renamed_key", "ignored_key", "renamed_key", "renamed_key", "renamed_key"),
        noop_reason=None,
    ),
    Case(
        "type_beside_side",
        '{"offers":[{"type":"limit","side":"buy","good":"honey","qty":1,"price":9}],"gossip":""}',
        offers=[("buy", "honey", 1, 9.0)],
        gossip="",
        repairs=("ignored_key",),
        noop_reason=None,
    ),
    Case(
        "too_many_offers",
        '{"offers":[{"side":"sell","good":"acorns","qty":1,"price":4},{"side":"sell","good":"acorns","qty":1,"price":5},{"side":"buy","good":"honey","qty":1,"price":9},{"side":"buy","good":"berries","qty":1,"price":5}],"gossip":""}',
        offers=[("sell", "acorns", 1, 4.0), ("sell", "acorns", 1, 5.0), ("buy", "honey", 1, 9.0)],
        gossip="",
        repairs=("dropped_offer:too_many",),
        noop_reason=None,
    ),
    Case(
        "own_good_buy",
        '{"offers":[{"side":"buy","good":"acorns","qty":2,"price":4},{"side":"buy","good":"honey","qty":1,"price":9}],"gossip":""}',
        offers=[("buy", "honey", 1, 9.0)],
        gossip="",
        repairs=("own_good_buy", "dropped_offer:own_good_buy"),
        noop_reason=None,
    ),
    Case(
        "own_good_buy_only",
        '{"offers":[{"side":"buy","good":"acorns","qty":2,"price":4}],"gossip":""}',
        offers=[],
        gossip="",
        repairs=("own_good_buy", "dropped_offer:own_good_buy"),
        noop_reason="nothing_salvaged",
    ),
    Case(
        "gossip_too_long",
        '{"offers":[],"gossip":"' + "tale " * 40 + '"}',
        offers=[],
        gossip=" ".join(["tale"] * 24),
        repairs=("gossip_cleaned", "gossip_cut"),
        noop_reason=None,
    ),
    Case(
        "gossip_number",
        '{"offers":[],"gossip":42}',
        offers=[],
        gossip="42",
        repairs=("coerced_type",),
        noop_reason=None,
    ),
    Case(
        "gossip_object",
        '{"offers":[],"gossip":{"text":"hi"}}',
        offers=[],
        gossip="",
        repairs=("bad_gossip",),
        noop_reason=None,
    ),
    Case(
        "thought_too_long",
        '{"offers":[],"gossip":"","thought":"' + "x" * 250 + '"}',
        offers=[],
        gossip="",
        repairs=("thought_cut",),
        noop_reason=None,
        thought="x" * THOUGHT_CHARS,
    ),
    Case(
        "empty_string",
        "",
        offers=[],
        gossip="",
        repairs=(),
        noop_reason="empty",
    ),
    Case(
        "whitespace_only",
        "   \n\t  \n",
        offers=[],
        gossip="",
        repairs=(),
        noop_reason="empty",
    ),
    Case(
        "pure_garbage",
        "asdf;;; qwerty !!",
        offers=[],
        gossip="",
        repairs=(),
        noop_reason="no_json",
    ),
    Case(
        "prose_no_json",
        "I think I will wait and see what the owl does.",
        offers=[],
        gossip="",
        repairs=(),
        noop_reason="no_json",
    ),
    Case(
        "brackets_garbage",
        "}{",
        offers=[],
        gossip="",
        repairs=("prose_around_json", "json_repair", "truncated"),
        noop_reason="nothing_salvaged",
    ),
    Case(
        "top_level_number",
        "42",
        offers=[],
        gossip="",
        repairs=(),
        noop_reason="not_a_decision",
    ),
    Case(
        "top_level_string",
        '"buy acorns"',
        offers=[],
        gossip="",
        repairs=(),
        noop_reason="not_a_decision",
    ),
    Case(
        "top_level_null",
        "null",
        offers=[],
        gossip="",
        repairs=(),
        noop_reason="not_a_decision",
    ),
    Case(
        "array_of_offers",
        '[{"side":"sell","good":"acorns","qty":1,"price":5},{"side":"buy","good":"honey","qty":1,"price":9}]',
        offers=[("sell", "acorns", 1, 5.0), ("buy", "honey", 1, 9.0)],
        gossip="",
        repairs=("bare_offers",),
        noop_reason=None,
    ),
    Case(
        "array_wrapping_decision",
        '[{"offers":[],"gossip":"x"}]',
        offers=[],
        gossip="x",
        repairs=("unwrapped",),
        noop_reason=None,
    ),
    Case(
        "array_of_numbers",
        "[1, 2, 3]",
        offers=[],
        gossip="",
        repairs=(),
        noop_reason="not_a_decision",
    ),
    Case(
        "nested_decision",
        '{"decision":{"offers":[{"side":"sell","good":"acorns","qty":1,"price":5}],"gossip":"x"}}',
        offers=[("sell", "acorns", 1, 5.0)],
        gossip="x",
        repairs=("unwrapped",),
        noop_reason=None,
    ),
    Case(
        "bare_offer",
        '{"side":"sell","good":"acorns","qty":1,"price":5}',
        offers=[("sell", "acorns", 1, 5.0)],
        gossip="",
        repairs=("bare_offers",),
        noop_reason=None,
    ),
    Case(
        "offers_is_object",
        '{"offers":{"side":"sell","good":"acorns","qty":1,"price":5},"gossip":""}',
        offers=[("sell", "acorns", 1, 5.0)],
        gossip="",
        repairs=("coerced_type",),
        noop_reason=None,
    ),
    Case(
        "offers_is_string_json",
        '{"offers":"[{\\"side\\":\\"sell\\",\\"good\\":\\"acorns\\",\\"qty\\":1,\\"price\\":5}]","gossip":""}',
        offers=[("sell", "acorns", 1, 5.0)],
        gossip="",
        repairs=("double_encoded",),
        noop_reason=None,
    ),
    Case(
        "offers_is_prose",
        '{"offers":"none today","gossip":"resting"}',
        offers=[],
        gossip="resting",
        repairs=("dropped_offer:not_an_object",),
        noop_reason=None,
    ),
    Case(
        "offers_items_not_objects",
        '{"offers":["buy acorns",3,null],"gossip":"x"}',
        offers=[],
        gossip="x",
        repairs=(
            "dropped_offer:not_an_object",
            "dropped_offer:not_an_object",
            "dropped_offer:not_an_object",
        ),
        noop_reason=None,
    ),
    Case(
        "double_encoded",
        '"{\\"offers\\": [], \\"gossip\\": \\"hi\\"}"',
        offers=[],
        gossip="hi",
        repairs=("double_encoded",),
        noop_reason=None,
    ),
    Case(
        "unrelated_object",
        '{"name":"Mossback","mood":"fine"}',
        offers=[],
        gossip="",
        repairs=(),
        noop_reason="not_a_decision",
    ),
    Case(
        "empty_object",
        "{}",
        offers=[],
        gossip="",
        repairs=(),
        noop_reason=None,
    ),
    Case(
        "two_objects",
        '{"offers":[],"gossip":"first"}{"offers":[],"gossip":"second"}',
        offers=[],
        gossip="first",
        repairs=("prose_around_json",),
        noop_reason=None,
    ),
    Case(
        "control_chars_in_strings",
        '{"offers":[],"gossip":"brr\x0c cold\x17 out\x00"}',
        offers=[],
        gossip="brr cold out",
        repairs=("gossip_cleaned",),
        noop_reason=None,
    ),
    Case(
        "random_model_junk_good",
        '{"offers":[{"side":"sell","good":" pe)Ϧ 8ǿ TickGoods\\u001cesreatQ ke 99","qty":558,"price":888.390442}],"gossip":"}Woodǭwǜ offers You good good],","thought":"ʇKH슺; honeyP} 1{"}',
        offers=[],
        gossip="}Woodǭwǜ offers You good good],",
        repairs=("dropped_offer:unknown_good",),
        noop_reason=None,
        thought="ʇKH슺; honeyP} 1{",
    ),
    Case(
        "random_model_truncated",
        '{"offers":[{"side":"sell","good":":ith 0 4 1 mayᑓ wanmin\\u0016pr Wood t","qty":303,"price":5089},{"side":"buy","good":":","qty":109,"price":9252}],"thought',
        offers=[],
        gossip="",
        repairs=(
            "json_repair",
            "truncated",
            "dropped_offer:unknown_good",
            "dropped_offer:unknown_good",
        ),
        noop_reason="nothing_salvaged",
    ),
    Case(
        "escaped_emoji_with_trailing_comma",
        '{"offers":[{"side":"buy","good":"honey","qty":2,"price":9}],"gossip":"yum \\ud83c\\udf6f",}',
        offers=[("buy", "honey", 2, 9.0)],
        gossip="yum \U0001f36f",
        repairs=("json_repair", "gossip_surrogates"),
        noop_reason=None,
    ),
    Case(
        "lone_escaped_surrogate",
        '{"gossip":"\\ud800"}',
        offers=[],
        gossip="",
        repairs=("gossip_surrogates",),
        noop_reason=None,
    ),
    Case(
        "lone_surrogates_in_offers_answer",
        '{"offers":[{"side":"sell","good":"berries","qty":1,"price":5}],"gossip":"ok \\udc00 then","thought":"hm\\ud83c",}',
        offers=[("sell", "berries", 1, 5.0)],
        gossip="ok then",
        repairs=("json_repair", "gossip_surrogates", "gossip_cleaned", "thought_surrogates"),
        noop_reason=None,
        thought="hm",
    ),
    Case(
        "strict_escaped_emoji_is_one_character",
        '{"offers":[],"gossip":"\\ud83c\\udf6f"}',
        offers=[],
        gossip="\U0001f36f",
        repairs=(),
        noop_reason=None,
    ),
]


def _offers(result: ParseResult) -> list[OfferTuple]:
    return [(o.side.value, o.good, o.qty, o.price) for o in result.decision.offers]


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_corpus(case: Case) -> None:
    result = parse_decision(case.text, GOODS, produces=PRODUCES)
    assert _offers(result) == case.offers
    assert result.decision.gossip == case.gossip
    assert result.decision.thought == case.thought
    assert result.repairs == case.repairs
    assert result.noop_reason == case.noop_reason
    if case.noop_reason is not None:
        assert result.status == "noop"
        assert result.decision == NOOP
    else:
        assert result.status == ("repaired" if case.repairs else "ok")


def test_corpus_is_broad() -> None:
    malformed = [c for c in CORPUS if c.repairs or c.noop_reason]
    assert len(malformed) >= 25
    assert {"ok", "repaired", "noop"} == {
        parse_decision(c.text, GOODS, produces=PRODUCES).status for c in CORPUS
    }


def test_own_good_buy_is_counted_and_kept_when_allowed() -> None:
    text = '{"offers":[{"side":"buy","good":"acorns","qty":2,"price":4}],"gossip":""}'
    result = parse_decision(text, GOODS, produces=PRODUCES, drop_own_buys=False)
    assert _offers(result) == [("buy", "acorns", 2, 4.0)]
    assert result.repairs == ("own_good_buy",)
    assert result.status == "repaired"


def test_selling_own_good_is_not_flagged() -> None:
    text = '{"offers":[{"side":"sell","good":"acorns","qty":2,"price":4}],"gossip":""}'
    assert parse_decision(text, GOODS, produces=PRODUCES).status == "ok"


def test_goods_come_from_the_scenario() -> None:
    text = '{"offers":[{"side":"buy","good":"Oak Bark","qty":1,"price":3}],"gossip":""}'
    result = parse_decision(text, ("oak_bark", "resin"))
    assert _offers(result) == [("buy", "oak_bark", 1, 3.0)]
    assert result.repairs == ("near_miss_good",)
    assert parse_decision(text, GOODS).noop_reason == "nothing_salvaged"


def test_overlong_input_is_cut_before_parsing() -> None:
    text = '{"offers":[],"gossip":"' + "a" * (repair.MAX_INPUT_CHARS * 3)
    result = parse_decision(text, GOODS)
    assert result.repairs[0] == "input_cut"
    assert "truncated" in result.repairs
    assert len(result.decision.gossip) == GOSSIP_CHARS


def test_deep_nesting_is_no_json_not_a_crash() -> None:
    assert parse_decision("[" * 5000, GOODS).noop_reason == "no_json"
    assert parse_decision('{"a":' * 3000, GOODS).status == "noop"


def test_an_internal_bug_degrades_to_a_noop(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, text: str) -> ParseResult:
        raise KeyError("bug")

    monkeypatch.setattr(repair._Salvage, "run", broken)
    result = parse_decision('{"offers":[],"gossip":""}', GOODS)
    assert result == ParseResult(NOOP, (), "internal_error")
    assert result.status == "noop"


# -- property tests -----------------------------------------------------------------------


def _check_invariants(result: ParseResult, *, drop_own_buys: bool = True) -> None:
    """What every caller may rely on, whatever the text was."""
    assert isinstance(result, ParseResult)
    decision = result.decision
    assert Decision.model_validate(decision.model_dump()) == decision
    assert len(decision.offers) <= MAX_OFFERS
    assert len(decision.gossip) <= GOSSIP_CHARS
    assert decision.thought is None or len(decision.thought) <= THOUGHT_CHARS
    assert all(o.good in GOODS for o in decision.offers)
    if drop_own_buys:
        assert not any(o.side is Side.BUY and o.good == PRODUCES for o in decision.offers)
    assert all(isinstance(r, str) and r for r in result.repairs)
    assert result.status in ("ok", "repaired", "noop")
    # parse_decision's last-resort catch must never be what made a text "safe": a crash in
    # the repair code is a failure here, not a no-op that passes.
    assert result.noop_reason != "internal_error"
    if result.status == "noop":
        assert decision == NOOP
        assert result.noop_reason


_offer = st.builds(
    Offer,
    side=st.sampled_from(list(Side)),
    good=st.sampled_from([g for g in GOODS if g != PRODUCES]),
    qty=st.integers(1, 999),
    price=st.floats(0.01, 10_000, allow_nan=False, allow_infinity=False),
)
# Gossip as a model writes it: already one clean line (else "gossip_cleaned" is right).
_line = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp", "Zs")), max_size=30
)
_gossip = st.lists(_line.filter(bool), max_size=4).map(" ".join).map(lambda s: s[:GOSSIP_CHARS])
_decision = st.builds(
    Decision, offers=st.lists(_offer, max_size=MAX_OFFERS), gossip=_gossip.map(str.strip)
)


@given(st.text(max_size=400))
@settings(max_examples=400, deadline=None)
def test_never_raises_on_any_text(text: str) -> None:
    _check_invariants(parse_decision(text, GOODS, produces=PRODUCES))


@given(
    st.text(
        alphabet=st.sampled_from(list("{}[]\":,'0123456789.-tfnulsbyegodacrh \n\\/*")), max_size=200
    )
)
@settings(max_examples=400, deadline=None)
def test_never_raises_on_json_alphabet_soup(text: str) -> None:
    _check_invariants(parse_decision(text, GOODS, produces=PRODUCES))


@given(_decision)
@settings(max_examples=200, deadline=None)
def test_valid_answers_pass_untouched(decision: Decision) -> None:
    result = parse_decision(decision.model_dump_json(), GOODS, produces=PRODUCES)
    assert result.status == "ok"
    assert result.decision == decision


@given(_decision, st.data())
@settings(max_examples=300, deadline=None)
def test_a_cut_answer_keeps_only_whole_offers(decision: Decision, data: st.DataObject) -> None:
    text = decision.model_dump_json(exclude={"thought"})
    cut = data.draw(st.integers(0, len(text)))
    result = parse_decision(text[:cut], GOODS, produces=PRODUCES)
    _check_invariants(result)
    kept = result.decision.offers
    assert kept == decision.offers[: len(kept)]  # never a half-written (mis-priced) offer


_MUTATIONS = ("cut", "delete", "insert", "swap_quotes", "duplicate", "fence", "prose")


@given(_decision, st.lists(st.tuples(st.sampled_from(_MUTATIONS), st.data()), max_size=4))
@settings(max_examples=400, deadline=None)
def test_never_raises_on_mutated_answers(
    decision: Decision, mutations: list[tuple[str, st.DataObject]]
) -> None:
    text = json.dumps(decision.model_dump(mode="json"), indent=None)
    for kind, data in mutations:
        at = data.draw(st.integers(0, len(text)))
        if kind == "cut":
            text = text[:at]
        elif kind == "delete":
            text = text[:at] + text[at + data.draw(st.integers(1, 5)) :]
        elif kind == "insert":
            text = text[:at] + data.draw(st.sampled_from(list("{}[]\",:'\\ \n/*"))) + text[at:]
        elif kind == "swap_quotes":
            text = text.replace('"', "'")
        elif kind == "duplicate":
            text = text[:at] + text[at:] * 2
        elif kind == "fence":
            text = f"```json\n{text}\n```"
        else:
            text = f"Here you go: {text} -- hope this helps"
    _check_invariants(parse_decision(text, GOODS, produces=PRODUCES))
    _check_invariants(
        parse_decision(text, GOODS, produces=PRODUCES, drop_own_buys=False), drop_own_buys=False
    )


# Escaped UTF-16 halves (as a model writes an emoji), raw lone halves, and plain text.
_SURROGATE_BITS = st.sampled_from(
    ["\\ud83c", "\\udf6f", "\\ud83c\\udf6f", "\\ud800", "\\udfff", "\ud800", "\udc00", "🍯", "é"]
)


@given(
    _decision,
    st.lists(st.tuples(st.integers(0, GOSSIP_CHARS), _SURROGATE_BITS), max_size=4),
    st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_surrogates_in_gossip_never_lose_the_offers(
    decision: Decision, bits: list[tuple[int, str]], trailing_comma: bool
) -> None:
    pieces = [json.dumps(ch, ensure_ascii=False)[1:-1] for ch in decision.gossip]
    for at, bit in bits:  # between whole characters, never inside an escape
        pieces.insert(at, bit)
    gossip = "".join(pieces)
    offers = json.dumps([o.model_dump(mode="json") for o in decision.offers])
    strict = '{"offers":' + offers + ',"gossip":"' + gossip + '"}'
    text = strict[:-1] + ",}" if trailing_comma else strict
    result = parse_decision(text, GOODS, produces=PRODUCES)
    _check_invariants(result)
    assert result.decision.offers == decision.offers
    assert not any("\ud800" <= ch <= "\udfff" for ch in result.decision.gossip)
    meant = json.loads(strict, strict=False)["gossip"]
    lone = meant.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
    if lone != meant:  # a half with no partner was dropped, and said so
        assert "gossip_surrogates" in result.repairs


def test_the_fuzz_fails_when_the_repair_code_crashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The never-raises fuzz is not hollow: a crash on a class of inputs (here every malformed
    answer holding a "7") fails it, though parse_decision itself still returns a no-op."""
    real_load = repair._Salvage.load

    def crashing_load(self: repair._Salvage, text: str) -> object:
        if "7" in text:
            try:
                json.loads(text)
            except ValueError:
                raise IndexError("injected fault") from None
        return real_load(self, text)

    monkeypatch.setattr(repair._Salvage, "load", crashing_load)
    assert parse_decision('{"offers": [7,]}', GOODS).noop_reason == "internal_error"
    for fuzz in (test_never_raises_on_json_alphabet_soup, test_never_raises_on_mutated_answers):
        with pytest.raises(AssertionError, match="internal_error"):
            fuzz()

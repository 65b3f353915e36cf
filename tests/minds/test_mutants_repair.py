"""Tests written to kill the mutants that survived the repair layer's own tests (see
docs/testing.md): each pins a behaviour a mutant changed without any test noticing."""

from __future__ import annotations

import json

import pytest

from server.minds import repair
from server.minds.json_shape import scan_json
from server.minds.repair import ParseResult, parse_decision
from shared.decision import GOSSIP_CHARS, MAX_OFFERS, Offer, Side

GOODS = ("acorns", "berries", "mushrooms", "honey", "firewood")
OFFER = {"side": "buy", "good": "honey", "qty": 2, "price": 9}


def parse(value: object, goods: tuple[str, ...] = GOODS) -> ParseResult:
    return parse_decision(value if isinstance(value, str) else json.dumps(value), goods)


def wrapped(levels: int) -> dict[str, object]:
    value: dict[str, object] = {"offers": [OFFER], "gossip": "deep"}
    for n in range(levels):
        value = {f"w{n}": value}
    return value


def test_three_wrappers_unwrap_and_four_do_not() -> None:
    result = parse(wrapped(3))
    assert result.decision.gossip == "deep"
    assert result.repairs == ("unwrapped", "unwrapped", "unwrapped")
    assert parse(wrapped(4)).noop_reason == "not_a_decision"


def test_a_list_of_objects_without_decision_keys_is_not_a_decision() -> None:
    assert parse([{"foo": 1}, {"bar": 2}]).noop_reason == "not_a_decision"


def test_an_offer_with_no_known_key_says_what_it_ignored() -> None:
    result = parse({"offers": [{"foo": 1, "bar": 2}], "gossip": ""})
    assert result.repairs == ("ignored_key", "ignored_key", "dropped_offer:missing_side")
    assert result.noop_reason == "nothing_salvaged"


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        (0, "dropped_offer:bad_price"),
        (-1, "dropped_offer:bad_price"),
        (0.001, "dropped_offer:invalid"),
    ],
)
def test_prices_the_world_cannot_settle_are_dropped(price: float, reason: str) -> None:
    result = parse({"offers": [{**OFFER, "price": price}], "gossip": ""})
    assert result.repairs == (reason,)
    assert result.decision.offers == []


def test_a_good_the_schema_refuses_is_dropped_as_invalid() -> None:
    long_good = "g" * 40  # a scenario good longer than an Offer may name
    result = parse({"offers": [{**OFFER, "good": long_good}], "gossip": ""}, (long_good,))
    assert result.repairs == ("dropped_offer:invalid",)


def test_dashed_keys_map_like_underscored_ones() -> None:
    result = parse({"offers": [{"side": "buy", "good": "honey", "qty": 1, "limit-price": 5}]})
    assert result.decision.offers == [Offer(side=Side.BUY, good="honey", qty=1, price=5.0)]
    assert result.repairs == ("renamed_key",)


# ---- json_shape: the scanner, asked directly -----------------------------------------------


def span(text: str) -> str | None:
    shape = scan_json(text)
    return None if shape is None else text[shape.start : shape.end]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("answer: [1, 2] ok", "[1, 2]"),
        ('say {"a": "}"} then', '{"a": "}"}'),  # a closer inside a string
        ('say {"a": "q\\"}"} then', '{"a": "q\\"}"}'),  # an escaped quote inside a string
        ('say {"a": "\\\\"} then', '{"a": "\\\\"}'),  # an escaped backslash, then the quote
        ("say {'a': '}'} then", "{'a': '}'}"),  # single-quoted strings too
        ("say {'a': don't} then", "{'a': don't}"),  # but not an apostrophe in a word
    ],
)
def test_the_scanner_finds_the_whole_value(text: str, value: str) -> None:
    assert span(text) == value
    shape = scan_json(text)
    assert shape is not None and shape.has_prose and shape.truncated is False


@pytest.mark.parametrize(
    ("text", "cut_at"),
    [
        ('[{"side": "buy", "qty": 3', 1),  # an offer straight inside the top array
        ('{"offers": [{"side": "buy", "tags": [1', 12),  # an array inside the cut offer
        ('{"gossip": {"a": 1', None),  # an object in an object is no list item
        ('{"offers": [1, 2', None),  # cut inside an array, but not inside an item
    ],
)
def test_a_cut_answer_marks_only_a_half_written_item(text: str, cut_at: int | None) -> None:
    shape = scan_json(text)
    assert shape is not None and shape.truncated
    assert (shape.start, shape.end) == (0, len(text))
    assert shape.cut_item_at == cut_at


def test_two_offer_keys_make_a_bare_offer() -> None:
    result = parse({"good": "honey", "qty": 2})
    assert result.repairs == ("bare_offers", "dropped_offer:missing_side")
    assert result.noop_reason == "nothing_salvaged"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1 // }\n} x', '{"a": 1 // }\n}'),  # a closer inside a line comment
        ('{"a": 1 // c\n} tail // d\nmore}', '{"a": 1 // c\n}'),  # a line comment ends at its line
        ('{"a": /* } */ 1} x', '{"a": /* } */ 1}'),  # a closer inside a block comment
        ('note */ {"a": /* } */ 1} x', '{"a": /* } */ 1}'),  # a stray closer before the value
        ('{"a": /* x */ 1} tail /* y */', '{"a": /* x */ 1}'),  # the first close ends it
        ('{"a": /*/ } */ 1} x', '{"a": /*/ } */ 1}'),  # "/*/" opens, it does not close
        ('{"a": /**/ 1} x', '{"a": /**/ 1}'),  # an empty block comment
        ('{"a": 1 /* c */} x', '{"a": 1 /* c */}'),  # the bracket right after the comment
    ],
)
def test_the_scanner_skips_comments(text: str, value: str) -> None:
    shape = scan_json(text)
    assert shape is not None and shape.truncated is False
    assert text[shape.start : shape.end] == value


@pytest.mark.parametrize("text", ['{"a": 1 // no newline', '{"a": /* never closed'])
def test_a_comment_that_runs_to_the_end_is_a_cut_answer(text: str) -> None:
    shape = scan_json(text)
    assert shape is not None and shape.truncated is True and shape.end == len(text)


@pytest.mark.parametrize(
    ("offers", "kept", "repairs"),
    [
        (None, [], ("coerced_type",)),  # null offers: none
        ("", [], ("coerced_type",)),  # an empty string: none
        (json.dumps(OFFER), [OFFER], ("double_encoded",)),  # one offer as a JSON string
        (json.dumps([OFFER]), [OFFER], ("double_encoded",)),  # a list as a JSON string
        (5, [], ("dropped_offer:not_an_object",)),  # a number is no offer
        ("five", [], ("dropped_offer:not_an_object",)),  # nor is a word
        ([7, OFFER], [OFFER], ("dropped_offer:not_an_object",)),  # a bad one, then a good one
    ],
)
def test_the_offers_field_in_every_shape(
    offers: object, kept: list[dict[str, object]], repairs: tuple[str, ...]
) -> None:
    result = parse({"offers": offers, "gossip": "hi"})
    assert result.repairs == repairs
    assert [o.model_dump(mode="json") for o in result.decision.offers] == [
        {**o, "price": float(o["price"])}
        for o in kept  # type: ignore[arg-type]
    ]
    assert result.decision.gossip == "hi"


def test_a_list_of_offers_sent_as_a_json_string() -> None:
    result = parse(json.dumps(json.dumps([OFFER])))
    assert result.repairs == ("double_encoded", "bare_offers")
    assert len(result.decision.offers) == 1


def test_an_exact_key_wins_over_an_alias_that_sorts_first() -> None:
    result = parse({"offers": [{**OFFER, "side": "sell", "action": "buy"}]})
    assert [o.side for o in result.decision.offers] == [Side.SELL]
    assert result.repairs == ("ignored_key",)


def test_an_unknown_key_does_not_hide_the_aliases_after_it() -> None:
    offer = {"side": "buy", "good": "honey", "price": 9, "zzz": 1, "quantity": 2}
    result = parse({"offers": [offer]})
    assert [o.qty for o in result.decision.offers] == [2]
    assert result.repairs == ("renamed_key", "ignored_key")


def test_gossip_of_exactly_the_limit_is_kept_whole() -> None:
    line = ("honey " * 40)[:GOSSIP_CHARS].strip()
    line = line + "x" * (GOSSIP_CHARS - len(line))
    result = parse({"offers": [], "gossip": line})
    assert len(line) == GOSSIP_CHARS
    assert result.repairs == ()
    assert result.decision.gossip == line


def test_an_internal_error_is_logged_with_the_texts_length(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: object, text: str) -> ParseResult:
        raise KeyError("bug")

    monkeypatch.setattr(repair._Salvage, "run", broken)
    with caplog.at_level("ERROR", logger="server.minds.repair"):
        assert parse_decision('{"offers":[],"gossip":""}', GOODS).noop_reason == "internal_error"
    assert [r.getMessage() for r in caplog.records] == [
        "parse_decision failed on 25 characters of text"
    ]


def test_an_answer_of_exactly_the_input_limit_is_not_cut() -> None:
    body = json.dumps({"offers": [OFFER], "gossip": "hi"})
    text = body + " " * (repair.MAX_INPUT_CHARS - len(body))
    assert len(text) == repair.MAX_INPUT_CHARS
    assert "input_cut" not in parse(text).repairs
    assert "input_cut" in parse(text + " ").repairs


def test_raw_control_characters_need_no_json_repair_even_with_prose() -> None:
    result = parse('Here: {"offers": [], "gossip": "brr\x0c cold"} ok')
    assert result.repairs == ("prose_around_json", "gossip_cleaned")
    assert result.decision.gossip == "brr cold"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Fire wood", "firewood"),
        ("berries", "berry"),
        ("acorns", "acorn"),
        ("honey", "honey"),
        ("moss", "moss"),
        ("ties", "tie"),
        ("fries", "fry"),  # the shortest "-ies" that drops to "y": two letters and "ies"
        ("bus", "bus"),
    ],
)
def test_good_keys_are_singular_lowercase_letters(name: str, key: str) -> None:
    assert repair._good_key(name) == key


def test_a_plural_in_ies_names_its_singular_good() -> None:
    result = parse({"offers": [{**OFFER, "good": "fries"}]}, ("fry", "honey"))
    assert [o.good for o in result.decision.offers] == ["fry"]


def test_every_offer_past_the_limit_is_named_as_dropped() -> None:
    # each offer left out has its own repair, whatever comes after the first one too many
    extra = [OFFER, {**OFFER, "qty": 0}, OFFER]
    result = parse({"offers": [OFFER] * MAX_OFFERS + extra})
    assert len(result.decision.offers) == MAX_OFFERS
    dropped = [r for r in result.repairs if r.startswith("dropped_offer:")]
    assert dropped == [
        "dropped_offer:too_many",
        "dropped_offer:bad_qty",
        "dropped_offer:too_many",
    ]

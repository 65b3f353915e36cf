"""The tolerant parse-and-repair layer between an engine's raw text and a Decision.

`parse_decision` takes whatever a language model wrote and returns a `ParseResult`. It never
raises for any `str`: what it can salvage becomes a valid `Decision`, what it cannot is dropped
with a named reason, and when nothing at all is usable the decision is `NOOP` with a
`noop_reason`. Callers may rely on these names (they land in traces and reports):

Whole-answer repairs
    code_fence          the JSON sat inside a Markdown ``` fence
    prose_around_json   text before or after the JSON value
    json_repair         the JSON itself was malformed (quotes, commas, comments, literals...)
    truncated           the answer stopped before the JSON closed (cut off by max_tokens)
    input_cut           the answer was longer than MAX_INPUT_CHARS and was cut first
    double_encoded      the JSON arrived as a JSON string holding JSON
    unwrapped           the decision was nested: in a list, or under a single key
    bare_offers         a list of offers (or one offer) instead of a decision object
    renamed_key         a near-miss key ("quantity", "Offers", "action") was mapped
    ignored_key         an unknown key was dropped
Offer repairs (one entry per occurrence)
    coerced_type        "3" -> 3, 3.0 -> 3, "4.5 pebbles" -> 4.5, a lone offer -> [offer]
    coerced_side        "Buy", "BUY", "bid", "ask", "selling"...
    near_miss_good      "acorn", "Honey", "fire wood", "mushrom" -> a scenario good
    own_good_buy        an offer to buy the good the creature produces (counted even if kept)
    dropped_offer:REASON  one offer dropped; REASON is one of not_an_object, missing_side,
                        bad_side, missing_good, unknown_good, missing_qty, bad_qty,
                        missing_price, bad_price, truncated, own_good_buy, too_many,
                        invalid
Text repairs
    gossip_cleaned / thought_cleaned         control characters removed, runs of whitespace
                                             collapsed to one space, ends stripped
    gossip_surrogates / thought_surrogates   UTF-16 surrogates in the text (json-repair
                                             reads an escaped emoji as two halves; a lone
                                             escaped half is not a character): pairs are
                                             joined into their character, lone halves dropped
    gossip_cut / thought_cut                 cut to GOSSIP_CHARS / THOUGHT_CHARS
    bad_gossip / bad_thought                 not text, dropped

Status is "ok" (strict JSON, nothing repaired), "repaired" (a decision, with repairs) or
"noop" (nothing salvageable; `noop_reason` says why: empty, no_json, not_a_decision,
nothing_salvaged). A deliberate empty answer (`{"offers": [], "gossip": ""}`) is "ok".
A bug in this module itself is caught at the door and degrades to a no-op with the reason
"internal_error" (and is logged): the suite treats that reason as a failure, never a pass.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from json_repair import repair_json
from pydantic import ValidationError

from shared.decision import (
    GOSSIP_CHARS,
    MAX_OFFERS,
    MAX_PRICE,
    MAX_QTY,
    NOOP,
    THOUGHT_CHARS,
    Decision,
    Offer,
    Side,
)

from .json_shape import scan_json

Status = Literal["ok", "repaired", "noop"]

MAX_INPUT_CHARS = 8_000
"""Longer answers are cut first: json-repair is pure Python, and the tick has a deadline."""

GOOD_MATCH_CUTOFF = 0.8
"""difflib ratio a misspelt good needs to be mapped ("mushrom" yes, "wood" no)."""

_SIDES: dict[str, Side] = {
    **dict.fromkeys(("buy", "bid", "buying", "purchase", "long"), Side.BUY),
    **dict.fromkeys(("sell", "ask", "selling", "offer_to_sell", "short"), Side.SELL),
}
_DECISION_KEYS: dict[str, str] = {
    "offers": "offers",
    "offer": "offers",
    "orders": "offers",
    "order": "offers",
    "trades": "offers",
    "gossip": "gossip",
    "rumour": "gossip",
    "rumor": "gossip",
    "thought": "thought",
    "thoughts": "thought",
    "reasoning": "thought",
}
_OFFER_KEYS: dict[str, str] = {
    "side": "side",
    "action": "side",
    "type": "side",
    "direction": "side",
    "good": "good",
    "goods": "good",
    "item": "good",
    "commodity": "good",
    "resource": "good",
    "qty": "qty",
    "quantity": "qty",
    "amount": "qty",
    "count": "qty",
    "units": "qty",
    "price": "price",
    "limit": "price",
    "limit_price": "price",
    "price_each": "price",
}
_log = logging.getLogger(__name__)
_SURROGATES = re.compile("[\ud800-\udfff]")
_NO_JSON = object()  # load()'s answer when the text holds no JSON value (JSON null is None)
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_NUMBER_WITH_UNIT = re.compile(r"\s*[~$]?\s*([-+]?\d+(?:\.\d+)?)\s*(?:[A-Za-z][A-Za-z ]*)?\.?\s*")


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What became of one raw answer: the decision, the repairs, and why it is a no-op if it is.

    `decision` is always a valid `Decision`; it is `NOOP` exactly when status is "noop" or the
    model deliberately said nothing. `repairs` lists repair names in the order applied.
    """

    decision: Decision
    repairs: tuple[str, ...] = ()
    noop_reason: str | None = None

    @property
    def status(self) -> Status:
        """The outcome: "noop" if nothing was salvageable, "repaired" if anything was fixed."""
        if self.noop_reason is not None:
            return "noop"
        return "repaired" if self.repairs else "ok"


def parse_decision(
    text: str,
    goods: Sequence[str],
    *,
    produces: str | None = None,
    drop_own_buys: bool = True,
) -> ParseResult:
    """Salvage a `Decision` from a model's raw text. Never raises for any `str`.

    `goods` are the scenario's goods: an offer's good is mapped onto one of them or dropped.
    An offer to buy `produces` is recorded as "own_good_buy" and, if `drop_own_buys`, dropped.
    """
    try:
        return _Salvage(goods, produces, drop_own_buys).run(text)
    except Exception:  # a bug here must cost one creature one tick, never the tick loop
        _log.exception("parse_decision failed on %d characters of text", len(text))
        return ParseResult(NOOP, (), "internal_error")


class _Salvage:
    """One parse: collects repair names while it walks from raw text to a Decision."""

    def __init__(self, goods: Sequence[str], produces: str | None, drop_own_buys: bool) -> None:
        self.goods = _GoodMatcher(goods)
        self.produces = produces
        self.drop_own_buys = drop_own_buys
        self.repairs: list[str] = []

    def noop(self, reason: str) -> ParseResult:
        return ParseResult(NOOP, tuple(self.repairs), reason)

    def run(self, text: str) -> ParseResult:
        if not text.strip():
            return self.noop("empty")
        if len(text) > MAX_INPUT_CHARS:
            text = text[:MAX_INPUT_CHARS]
            self.repairs.append("input_cut")
        loaded = self.load(text)
        if loaded is _NO_JSON:
            return self.noop("no_json")
        fields = self.decision_fields(loaded)
        if fields is None:
            return self.noop("not_a_decision")
        decision = self.build(fields)
        if decision == NOOP and any(
            r == "truncated" or r.startswith("dropped_offer:") for r in self.repairs
        ):
            return self.noop("nothing_salvaged")
        return ParseResult(decision, tuple(self.repairs), None)

    # -- text to a JSON value -------------------------------------------------------------

    def load(self, text: str) -> Any:
        """The first JSON value in `text`; `_NO_JSON` when there is none."""
        try:  # strict=False: raw control characters in strings are cleaned later, not fatal
            return json.loads(text, strict=False)
        except (ValueError, RecursionError):
            pass
        body, outside = text, ""
        fence = _FENCE.search(text)
        if fence is not None:
            self.repairs.append("code_fence")
            body = fence.group(1)
            outside = text[: fence.start()] + text[fence.end() :]
        shape = scan_json(body)
        if shape is None:
            return _NO_JSON
        if shape.has_prose or outside.strip():
            self.repairs.append("prose_around_json")
        # A half-written offer is left out whole: even its last number may be cut short.
        end = shape.end if shape.cut_item_at is None else shape.cut_item_at
        core = body[shape.start : end]
        try:
            value = json.loads(core, strict=False)
        except (ValueError, RecursionError):
            value = _repair_json(core)
            if value is None:
                return _NO_JSON
            self.repairs.append("json_repair")
        if shape.truncated:
            self.repairs.append("truncated")
        if shape.cut_item_at is not None:
            self.repairs.append("dropped_offer:truncated")
        return value

    # -- JSON value to decision fields ----------------------------------------------------

    def decision_fields(self, value: Any, depth: int = 0) -> dict[str, Any] | None:
        """The decision's fields found in `value`, unwrapping the shapes models get wrong."""
        if depth > 3:
            return None
        if isinstance(value, str) and value.strip()[:1] in ("{", "["):
            return self.nested(_repair_json(value), "double_encoded", depth)
        if isinstance(value, list):
            return self.fields_from_list(value, depth)
        if not isinstance(value, dict):
            return None
        fields = self.rename(value, _DECISION_KEYS, ignore_unknown=False)
        if fields is not None:
            return fields
        if _looks_like_offer(value):
            self.repairs.append("bare_offers")
            return {"offers": [value]}
        if len(value) == 1:
            (inner,) = value.values()
            return self.nested(inner, "unwrapped", depth)
        return {} if not value else None

    def nested(self, inner: Any, repair: str, depth: int) -> dict[str, Any] | None:
        """Decision fields one level down; `repair` is recorded only if some are found."""
        mark = len(self.repairs)
        fields = self.decision_fields(inner, depth + 1)
        if fields is None:
            del self.repairs[mark:]
        else:
            self.repairs.insert(mark, repair)
        return fields

    def fields_from_list(self, items: list[Any], depth: int) -> dict[str, Any] | None:
        if items and all(isinstance(i, dict) and _looks_like_offer(i) for i in items):
            self.repairs.append("bare_offers")
            return {"offers": items}
        for item in items:
            if isinstance(item, dict):
                fields = self.rename(item, _DECISION_KEYS, ignore_unknown=False)
                if fields is not None:
                    self.repairs.append("unwrapped")
                    return fields
        return None

    def rename(
        self, raw: dict[Any, Any], known: dict[str, str], *, ignore_unknown: bool
    ) -> dict[str, Any] | None:
        """Map near-miss keys onto canonical ones; None if none of `known` appears.

        With `ignore_unknown`, an object with no known key still maps (to {}).
        """
        out: dict[str, Any] = {}
        unknown = 0
        # Exact keys first, so {"type": "limit", "side": "buy"} keeps "buy" as the side.
        exact_first = sorted(raw.items(), key=lambda item: item[0] not in known.values())
        for key, val in exact_first:
            norm = _norm_key(key)
            canon = known.get(norm)
            if canon is None or canon in out:
                unknown += 1
                continue
            if key != canon:
                self.repairs.append("renamed_key")
            out[canon] = val
        if not out and not ignore_unknown:
            return None
        self.repairs.extend(["ignored_key"] * unknown)
        return out

    # -- decision fields to a Decision ----------------------------------------------------

    def build(self, fields: dict[str, Any]) -> Decision:
        offers = self.offers(fields.get("offers", []))
        gossip = self.text(fields.get("gossip", ""), "gossip", GOSSIP_CHARS) or ""
        thought = self.text(fields.get("thought"), "thought", THOUGHT_CHARS)
        return Decision(offers=offers, gossip=gossip, thought=thought)

    def offers(self, raw: Any) -> list[Offer]:
        if raw is None or isinstance(raw, dict):
            self.repairs.append("coerced_type")
            raw = [] if raw is None else [raw]
        elif isinstance(raw, str) and not raw.strip():
            self.repairs.append("coerced_type")
            raw = []
        elif isinstance(raw, str):
            inner = _repair_json(raw)
            if not isinstance(inner, (list, dict)):
                self.repairs.append("dropped_offer:not_an_object")
                return []
            self.repairs.append("double_encoded")
            raw = inner if isinstance(inner, list) else [inner]
        elif not isinstance(raw, list):
            self.repairs.append("dropped_offer:not_an_object")
            return []
        kept: list[Offer] = []
        for item in raw:
            offer = self.offer(item)
            if isinstance(offer, str):
                self.repairs.append(f"dropped_offer:{offer}")
                continue
            if len(kept) == MAX_OFFERS:
                self.repairs.append("dropped_offer:too_many")
                continue
            kept.append(offer)
        return kept

    def offer(self, raw: Any) -> Offer | str:
        """One valid Offer from a raw item, or the reason it must be dropped."""
        if not isinstance(raw, dict):
            return "not_an_object"
        fields = self.rename(raw, _OFFER_KEYS, ignore_unknown=True) or {}
        for name in ("side", "good", "qty", "price"):
            if fields.get(name) is None:
                return f"missing_{name}"
        side = self.side(fields["side"])
        if side is None:
            return "bad_side"
        good = self.good(fields["good"])
        if good is None:
            return "unknown_good"
        qty = self.number(fields["qty"], integral=True)
        if qty is None or not 1 <= qty <= MAX_QTY:
            return "bad_qty"
        price = self.number(fields["price"], integral=False)
        if price is None or not 0 < price <= MAX_PRICE:
            return "bad_price"
        if side is Side.BUY and good == self.produces:
            self.repairs.append("own_good_buy")
            if self.drop_own_buys:
                return "own_good_buy"
        try:
            return Offer(side=side, good=good, qty=int(qty), price=float(price))
        except ValidationError:  # a scenario good the schema refuses (too long)
            return "invalid"

    def side(self, raw: Any) -> Side | None:
        if not isinstance(raw, str):
            return None
        if raw in (Side.BUY.value, Side.SELL.value):
            return Side(raw)
        side = _SIDES.get(_norm_key(raw))
        if side is not None:
            self.repairs.append("coerced_side")
        return side

    def good(self, raw: Any) -> str | None:
        if not isinstance(raw, str):
            return None
        good, exact = self.goods.match(raw)
        if good is not None and not exact:
            self.repairs.append("near_miss_good")
        return good

    def number(self, raw: Any, *, integral: bool) -> float | None:
        """A finite number from an int, float or numeric string; None if there is none.

        With `integral`, only whole values are accepted (3.0 yes, 2.5 no).
        """
        if isinstance(raw, bool):
            return None
        value: float
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, float):
            value = raw
            if integral:
                if not raw.is_integer():
                    return None
                self.repairs.append("coerced_type")
        elif isinstance(raw, str):
            match = _NUMBER_WITH_UNIT.fullmatch(raw)
            if match is None:
                return None
            value = float(match.group(1))
            if integral and not value.is_integer():
                return None
            self.repairs.append("coerced_type")
        else:
            return None
        return value if math.isfinite(value) else None

    def text(self, raw: Any, name: str, limit: int) -> str | None:
        """A clean one-line string of at most `limit` characters; None if absent or unusable."""
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            self.repairs.append(f"bad_{name}")
            return None
        if not isinstance(raw, str):
            self.repairs.append("coerced_type")
            raw = str(raw)
        if _SURROGATES.search(raw):
            # pydantic (and any UTF-8 encoder) refuses surrogates: losing the whole decision
            # to an escaped emoji in the gossip would throw its offers away too.
            self.repairs.append(f"{name}_surrogates")
            raw = raw.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
        visible = "".join(ch for ch in raw if ch.isspace() or unicodedata.category(ch) != "Cc")
        clean = " ".join(visible.split())
        if clean != raw:
            self.repairs.append(f"{name}_cleaned")
        if len(clean) > limit:
            self.repairs.append(f"{name}_cut")
            clean = clean[:limit].rstrip()
        return clean


class _GoodMatcher:
    """Maps a model's spelling of a good onto the scenario's own names."""

    def __init__(self, goods: Sequence[str]) -> None:
        self.exact = frozenset(goods)
        self.by_key: dict[str, str] = {}
        for good in goods:
            self.by_key.setdefault(_good_key(good), good)

    def match(self, raw: str) -> tuple[str | None, bool]:
        """(scenario good or None, whether `raw` was already exactly that good)."""
        if raw in self.exact:
            return raw, True
        key = _good_key(raw)
        if not key:
            return None, False
        if key in self.by_key:
            return self.by_key[key], False
        close = difflib.get_close_matches(key, self.by_key, n=1, cutoff=GOOD_MATCH_CUTOFF)
        return (self.by_key[close[0]], False) if close else (None, False)


def _good_key(name: str) -> str:
    """Lower case, letters and digits, singular: "Fire wood" -> "firewood", "berries" -> "berry"."""
    key = "".join(ch for ch in name.lower() if ch.isalnum())
    if key.endswith("ies") and len(key) > 4:
        return key[:-3] + "y"
    if key.endswith("s") and not key.endswith("ss") and len(key) > 3:
        return key[:-1]
    return key


def _norm_key(key: Any) -> str:
    return "_".join(str(key).strip().lower().replace("-", " ").split())


def _looks_like_offer(raw: dict[Any, Any]) -> bool:
    keys = {_OFFER_KEYS.get(_norm_key(k)) for k in raw}
    return len(keys & {"side", "good", "qty", "price"}) >= 2


def _repair_json(text: str) -> Any:
    """json-repair's best reading of `text`; None when it finds no JSON value at all."""
    try:
        value = repair_json(text, return_objects=True)
    except Exception:  # the library's own failure (deep nesting: RecursionError) means no JSON
        return None
    return None if value == "" else value

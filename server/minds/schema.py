"""The JSON Schema engines are asked to follow: `Decision`'s own schema, tightened for one Wood.

It starts from `Decision.model_json_schema()` (so the validator and the engine agree on names
and bounds) and narrows it for a scenario: `good` is one of the scenario's goods, `offers` and
`gossip` are required (a model that may omit them tends to), nothing else may appear, and the
optional `thought` is present only when turned on. Titles, descriptions and `$ref`s are
dropped: a grammar compiler needs none of them, and a compact schema compiles faster.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shared.decision import Decision

_NOISE = frozenset({"title", "description", "default"})


def decision_schema(goods: Sequence[str], *, thought: bool = False) -> dict[str, Any]:
    """The schema for one creature's answer in a world trading `goods`.

    The result is a fresh dict each call (callers may keep or change it).
    """
    if not goods:
        raise ValueError("a decision schema needs at least one good")
    full = Decision.model_json_schema()
    defs = full.get("$defs", {})
    props = _inline(full["properties"], defs)
    offer = props["offers"]["items"]
    offer["properties"]["good"] = {"enum": list(goods)}
    offer["required"] = ["side", "good", "qty", "price"]
    offer["additionalProperties"] = False
    text = next(p for p in props["thought"]["anyOf"] if p.get("type") == "string")
    return answer_object(
        {"offers": props["offers"], "gossip": props["gossip"]}, text if thought else None
    )


def answer_object(properties: dict[str, Any], thought: dict[str, Any] | None) -> dict[str, Any]:
    """An answer of exactly these keys, every one required, in this order; with `thought`, a
    private thought before them all (the model reasons before it commits)."""
    if thought is not None:
        properties = {"thought": thought, **properties}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """`node` with every `$ref` replaced by its definition and the noise keys removed."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            return _inline(defs[ref.rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k not in _NOISE}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


# -- answers that fit their token budget by construction -------------------------------------

_TEXT_CHAR = r"[ -!#-\[\]-~]"
_TEXT_EDGE = r"[!#-\[\]-~]"
_TEXT_LENGTHS: dict[str, int] = {}
"""Pattern -> the most characters it admits, for the patterns `text_schema` writes."""


def text_schema(chars: int) -> dict[str, Any]:
    """A string of at most `chars` printable ASCII characters, with no quote mark, no
    backslash and no space at either end, as one `pattern` (xgrammar ignores maxLength
    beside a pattern, and the pattern bounds the length itself).

    Every character is one byte, so at most one token: the line's cost in tokens is bounded.
    A model that reaches for a quote mark inside its line can no longer close the string by
    accident (it used to, leaving "Oona: " behind), and a line cut at its length never ends
    in a space.
    """
    if chars <= 0:
        pattern = "^$"
    elif chars == 1:
        pattern = f"^{_TEXT_EDGE}?$"
    else:
        pattern = f"^({_TEXT_EDGE}({_TEXT_CHAR}{{0,{chars - 2}}}{_TEXT_EDGE})?)?$"
    _TEXT_LENGTHS[pattern] = max(0, chars)
    return {"type": "string", "pattern": pattern}


def longest_answer(schema: dict[str, Any]) -> int | None:
    """Bytes of the longest compact JSON text `schema` admits, or None when unbounded.

    Covers the shapes the decision spaces build: objects whose properties are all required,
    arrays with `maxItems` (items `anyOf` and `prefixItems`), `const`, `enum`, integers with
    both bounds, strings from `text_schema` or with `maxLength` (4 bytes a character, since
    the grammar writes no escapes), `anyOf`. Numbers without a grid, and anything else, are
    unbounded. Every token an engine writes is at least one byte, so an answer under a
    bounded schema is at most this many tokens, whatever the tokenizer.
    """
    return _longest(schema)


def budget_for(schema: dict[str, Any], max_tokens: int) -> int:
    """The `max_tokens` to ask for an answer under `schema`: `max_tokens`, raised for a
    bounded schema to its longest answer plus the end-of-text token, so it is never cut off."""
    longest = longest_answer(schema)
    return max_tokens if longest is None else max(max_tokens, longest + 1)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _longest(node: dict[str, Any]) -> int | None:
    if "const" in node:
        return len(_compact(node["const"]).encode())
    if "enum" in node:
        return max(len(_compact(v).encode()) for v in node["enum"])
    if "anyOf" in node:
        sizes = [_longest(option) for option in node["anyOf"]]
        return None if any(s is None for s in sizes) else max(s for s in sizes if s is not None)
    kind = node.get("type")
    if kind == "object":
        properties = node.get("properties", {})
        if node.get("additionalProperties", True) is not False or set(
            node.get("required", ())
        ) != set(properties):
            return None
        total = 2 + max(0, len(properties) - 1)  # braces and commas
        for key, value in properties.items():
            size = _longest(value)
            if size is None:
                return None
            total += len(_compact(key).encode()) + 1 + size
        return total
    if kind == "array":
        most = node.get("maxItems")
        if most is None:
            return None
        shapes = [*node.get("prefixItems", ())] + ([node["items"]] if "items" in node else [])
        sizes = [_longest(shape) for shape in shapes]
        if any(s is None for s in sizes):
            return None
        item = max((s for s in sizes if s is not None), default=0)
        return 2 + int(most) * item + max(0, int(most) - 1)
    if kind == "integer":
        low, high = node.get("minimum"), node.get("maximum")
        if low is None or high is None:
            return None
        return max(len(str(int(low))), len(str(int(high))))
    if kind == "string":
        pattern = node.get("pattern")
        if pattern is not None:
            chars = _TEXT_LENGTHS.get(pattern)
            return None if chars is None else 2 + chars
        most = node.get("maxLength")
        return None if most is None else 2 + 4 * int(most)
    return None

"""The JSON Schema engines are asked to follow: `Decision`'s own schema, tightened for one Wood.

It starts from `Decision.model_json_schema()` (so the validator and the engine agree on names
and bounds) and narrows it for a scenario: `good` is one of the scenario's goods, `offers` and
`gossip` are required (a model that may omit them tends to), nothing else may appear, and the
optional `thought` is present only when turned on. Titles, descriptions and `$ref`s are
dropped: a grammar compiler needs none of them, and a compact schema compiles faster.
"""

from __future__ import annotations

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
    properties: dict[str, Any] = {"offers": props["offers"], "gossip": props["gossip"]}
    required = ["offers", "gossip"]
    if thought:
        # A thought, when asked for, comes first: the model reasons before it commits.
        text = next(p for p in props["thought"]["anyOf"] if p.get("type") == "string")
        properties = {"thought": text, **properties}
        required = ["thought", *required]
    return {
        "type": "object",
        "properties": properties,
        "required": required,
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

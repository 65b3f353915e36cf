"""RFC 7396 merge patches: apply(a, diff(a, b)) == b, and the RFC's own examples."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.minds.brain import ScriptedBrain
from server.world import load_scenario, new_world, observe_all, step, world_document
from shared.merge_patch import apply, diff, same

scalars = (
    st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
keys = st.text(max_size=4)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)
documents = st.dictionaries(keys, values, max_size=6)


def canonical(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


@given(documents, documents)
def test_applying_the_diff_gives_the_new_document(old: dict[str, Any], new: dict[str, Any]) -> None:
    assert same(apply(old, diff(old, new)), new)


@given(documents, documents)
def test_the_patch_survives_the_wire(old: dict[str, Any], new: dict[str, Any]) -> None:
    patch = orjson.loads(orjson.dumps(diff(old, new)))
    # Key order carries no meaning in JSON objects (a patch adds new keys last).
    assert canonical(apply(old, patch)) == canonical(new)


@given(documents, documents)
def test_neither_function_touches_its_arguments(old: dict[str, Any], new: dict[str, Any]) -> None:
    before_old, before_new = copy.deepcopy(old), copy.deepcopy(new)
    patch = diff(old, new)
    before_patch = copy.deepcopy(patch)
    apply(old, patch)
    assert same(old, before_old) and same(new, before_new) and same(patch, before_patch)


@given(documents)
def test_nothing_changed_is_an_empty_patch(doc: dict[str, Any]) -> None:
    assert diff(doc, copy.deepcopy(doc)) == {}


@pytest.mark.parametrize(
    ("old", "new", "patch"),
    [
        ({"a": 1}, {"a": 1.0}, {"a": 1.0}),
        ({"a": 1}, {"a": True}, {"a": True}),
        ({"a": {"b": 1}}, {"a": 5}, {"a": 5}),
        ({"a": [1, 2]}, {"a": [1, 2, 3]}, {"a": [1, 2, 3]}),
        ({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}, {"a": {"c": None}}),
        ({"a": 5}, {"a": {}}, {"a": {}}),
        # objects inside arrays are compared whole: a key more is a change
        ({"a": [{"b": 1}]}, {"a": [{"b": 1, "c": 2}]}, {"a": [{"b": 1, "c": 2}]}),
        ({"a": [{"b": 1, "c": 2}]}, {"a": [{"b": 1}]}, {"a": [{"b": 1}]}),
        # unless both sides are objects, the new document is the patch, whole
        ([1, 2], [3], [3]),
        ({"a": 1}, [1], [1]),
        (7, {"a": 1}, {"a": 1}),
        ("x", "y", "y"),
    ],
)
def test_diff_keeps_json_types_apart(old: Any, new: Any, patch: Any) -> None:
    assert same(diff(old, new), patch)
    assert same(apply(old, patch), new)


# RFC 7396, Appendix A.
RFC_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_EXAMPLES)
def test_the_rfc_examples(target: Any, patch: Any, result: Any) -> None:
    assert apply(target, patch) == result


@settings(max_examples=5, deadline=None)
@given(st.integers(min_value=0, max_value=2**31))
def test_a_run_of_world_documents_patches_back_together(seed: int) -> None:
    state = new_world(load_scenario(), seed)
    brain = ScriptedBrain(seed)
    first = world_document(state)
    held = orjson.loads(orjson.dumps(first))
    previous = first
    for _ in range(60):
        decisions = brain.decide_now(observe_all(state))
        state, _ = step(state, {cid: r.action for cid, r in decisions.items()})
        doc = world_document(state)
        held = apply(held, orjson.loads(orjson.dumps(diff(previous, doc))))
        previous = doc
    assert canonical(held) == canonical(world_document(state))

"""RFC 7396 JSON Merge Patch: the change from one world document to the next.

Both functions are pure and never modify their arguments. The world document holds no
nulls, so a null in a patch always means "delete this key", and `apply(a, diff(a, b)) == b`
for any two JSON documents without nulls.

Equality is JSON equality, not Python's: `1`, `1.0` and `true` are three different values
here, so a patch never loses a change of type that Python's `==` would hide.
"""

from __future__ import annotations

from typing import Any

__all__ = ["apply", "diff"]


def diff(old: Any, new: Any) -> Any:
    """The merge patch that turns `old` into `new`.

    Objects are compared key by key and unchanged keys are left out, so the patch between
    two equal objects is `{}`. Anything that is not an object on both sides (arrays
    included, as RFC 7396 has no way to patch inside an array) is replaced whole.
    """
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return _copy(new)
    patch: dict[str, Any] = {}
    for key in old:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        if key not in old:
            patch[key] = _copy(value)
            continue
        before = old[key]
        if isinstance(before, dict) and isinstance(value, dict):
            inner = diff(before, value)
            if inner:
                patch[key] = inner
        elif not same(before, value):
            patch[key] = _copy(value)
    return patch


def apply(doc: Any, patch: Any) -> Any:
    """`doc` with `patch` merged in, as RFC 7396 section 2 defines it."""
    if not isinstance(patch, dict):
        return _copy(patch)
    out: dict[str, Any] = dict(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = apply(out.get(key), value)
    return out


def same(a: Any, b: Any) -> bool:
    """JSON equality: like `==`, but a bool, an int and a float are never equal."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _copy(value: Any) -> Any:
    """A deep copy of JSON containers, so a patch never aliases the documents it came from."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value

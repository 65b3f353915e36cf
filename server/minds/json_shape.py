"""Where the JSON value in a model's answer starts and ends, and whether it was cut off.

json-repair does the parsing; this only answers the questions it does not: was there prose
around the value, did the answer stop before the value closed (max_tokens), and if so, was it
inside an object inside an array (the last offer, half written, whose final number may itself
be cut short and must not be trusted: the caller leaves that item out).
"""

from __future__ import annotations

from dataclasses import dataclass

_OPENERS = {"{": "}", "[": "]"}
_CLOSERS = {"}": "{", "]": "["}
# A quote opens a string only where a key or value may start: this keeps apostrophes in
# unquoted words ("don't") from swallowing the rest of the answer.
_VALUE_STARTS = frozenset("{[,:")


@dataclass(frozen=True, slots=True)
class JsonShape:
    """The span of the first JSON object or array in a text.

    `body[start:end]` is the value (to the end of the text when `truncated`). `has_prose` is
    true when anything but whitespace lies outside that span. When the text ended inside an
    object that sits directly in an array (a half-written offer), `cut_item_at` is where
    that object's `{` is, so a caller can leave the whole item out; otherwise it is None.
    """

    start: int
    end: int
    truncated: bool
    has_prose: bool
    cut_item_at: int | None = None


def scan_json(body: str) -> JsonShape | None:
    """Find the first `{` or `[` and follow brackets, strings and comments to its close.

    Returns None when the text holds no `{` or `[`. Never raises.
    """
    starts = [i for i in (body.find("{"), body.find("[")) if i >= 0]
    if not starts:
        return None
    start = min(starts)
    stack: list[tuple[str, int]] = []  # open brackets and where they opened
    quote = ""
    last_sig = ""  # the last significant character outside strings and comments
    i = start
    n = len(body)
    while i < n:
        ch = body[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = ""
                last_sig = ch
        elif ch == '"' or (ch == "'" and last_sig in _VALUE_STARTS):
            quote = ch
        elif body.startswith("//", i):
            newline = body.find("\n", i)
            i = n if newline < 0 else newline
            continue
        elif body.startswith("/*", i):
            close = body.find("*/", i + 2)
            i = n if close < 0 else close + 2
            continue
        elif ch in _OPENERS:
            stack.append((ch, i))
        elif ch in _CLOSERS and any(opener == _CLOSERS[ch] for opener, _ in stack):
            while stack.pop()[0] != _CLOSERS[ch]:
                pass
            if not stack:
                end = i + 1
                prose = bool(body[:start].strip() or body[end:].strip())
                return JsonShape(start, end, False, prose)
        if not quote and not ch.isspace():
            last_sig = ch
        i += 1
    return JsonShape(start, n, True, bool(body[:start].strip()), _innermost_item(stack))


def _innermost_item(stack: list[tuple[str, int]]) -> int | None:
    """Where the innermost open object that sits directly in an open array begins."""
    for k in range(len(stack) - 1, 0, -1):
        if stack[k][0] == "{" and stack[k - 1][0] == "[":
            return stack[k][1]
    return None

"""Text from a world, made safe to print on a terminal.

A world is written by strangers (a bot names its creature, a model speaks gossip), and a
terminal obeys what it is sent: ESC starts a command (retitle the window, write the
clipboard, clear the screen), C1 bytes do the same in one byte, a newline splits a table
row and a bidi override turns "1.25" into "52.1". The terminal viewer passes every string
of every frame through `clean` before it draws, so no byte a world sent can act as a
control sequence, whatever the server did or did not clean.

What stays: printable text in every script, emoji and their sequences (zero width joiner,
variation selectors, tag characters of subdivision flags), so 🏳️‍🌈 is one flag.
"""

from __future__ import annotations

import unicodedata
from typing import Any

LIMIT = 300
"""The most characters of one string drawn (a name, a gossip line, a legend's story)."""

_KEEP_FORMAT = frozenset({0x200D})  # zero width joiner: emoji sequences need it
_BIDI_AND_INVISIBLE = frozenset(
    [
        *(0x061C, 0x200B, 0x200C, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF),
        *range(0x202A, 0x202F),  # embeddings, overrides, pop
        *range(0x2066, 0x206A),  # isolates
    ]
)


def _safe(ch: str) -> str:
    """`ch`, a space for whitespace controls, or "" for anything a terminal would obey."""
    code = ord(ch)
    if code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F:
        return " " if ch in "\t\n\r\x0b\x0c" or code == 0x85 else ""
    if code in _BIDI_AND_INVISIBLE:
        return ""
    if 0xE0020 <= code <= 0xE007F or 0xFE00 <= code <= 0xFE0F or code in _KEEP_FORMAT:
        return ch  # tags (flags), variation selectors, the joiner: parts of emoji
    category = unicodedata.category(ch)
    if category in ("Zl", "Zp"):
        return " "
    if category in ("Cc", "Cf", "Cs"):
        return ""
    return ch


def clean(text: object, limit: int = LIMIT) -> str:
    """`text` as one printable line: no control, bidi or invisible characters, at most
    `limit` characters (cut with "…")."""
    s = str(text)
    # The common case (plain ASCII) is fast.
    out = s if s.isascii() and s.isprintable() else "".join(_safe(ch) for ch in s)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def clean_tree(value: Any) -> Any:
    """A JSON value with every string in it (keys too) passed through `clean`."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(k): clean_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v) for v in value]
    return value

"""Text that reaches a screen: nothing that can steer a terminal or reorder a line survives."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from shared.text import clean_text, skeleton

RAINBOW = "\U0001f3f3\ufe0f\u200d\U0001f308"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
FRANCE = "\U0001f1eb\U0001f1f7"
THUMB = "\U0001f44d\U0001f3fd"


def test_terminal_escapes_lose_their_escape_bytes() -> None:
    for attack in (
        "\x1b]0;TITLE\x1b\\fox",
        "\x1b]52;c;aGVsbG8=\x07fox",
        "\x1b[2Jfox",
        "\x9b2Jfox",  # the 8-bit CSI
        "fox\r\nMossback | 99",
    ):
        out = clean_text(attack, 40)
        assert not any(unicodedata.category(ch)[0] == "C" for ch in out), repr(out)
    assert clean_text("fox\r\nMossback | 99", 40) == "fox Mossback | 99"


def test_bidi_and_invisible_characters_are_dropped() -> None:
    assert clean_text("Mal\u202e", 40) == "Mal"
    assert clean_text("\u2067I am selling honey cheap at 1.25\u2069", 120) == (
        "I am selling honey cheap at 1.25"
    )
    for hidden in ("\u200b", "\u200c", "\u2060", "\ufeff", "\u00ad", "\u3164", "\u115f", "\u200e"):
        assert clean_text(f"Oo{hidden}na", 40) == "Oona", repr(hidden)
    assert clean_text("Oona\u200d", 40) == "Oona"  # a joiner joins nothing here
    assert clean_text("\u3164", 40) == ""


def test_emoji_sequences_stay_whole() -> None:
    for emoji in (RAINBOW, FAMILY, ENGLAND, FRANCE, THUMB, "\u2764\ufe0f"):
        assert clean_text(f"fox {emoji}", 40) == f"fox {emoji}"


def test_truncation_never_splits_a_sequence() -> None:
    text = "ab" + RAINBOW + "cd"
    for limit in range(len(text) + 1):
        out = clean_text(text, limit)
        assert len(out) <= limit
        assert out in ("", "a", "ab", "ab" + RAINBOW, "ab" + RAINBOW + "c", text), (limit, out)


def test_whitespace_and_marks() -> None:
    assert clean_text("  Old\t\tMoss  ", 40) == "Old Moss"
    assert clean_text("Z" + "\u0301" * 50, 40) == "\u0179\u0301\u0301"  # Ź and two more
    assert clean_text("Crème brûlée", 40) == "Crème brûlée"
    assert clean_text("ежевика 🦔", 40) == "ежевика 🦔"


@given(st.text(max_size=200), st.integers(min_value=0, max_value=120))
def test_clean_text_is_bounded_printable_and_stable(text: str, limit: int) -> None:
    out = clean_text(text, limit)
    assert len(out) <= limit
    assert out == out.strip()
    assert "  " not in out
    for ch in out:
        cat = unicodedata.category(ch)
        assert cat[0] != "C" or ch == "\u200d" or 0xE0020 <= ord(ch) <= 0xE007F, repr(ch)
    assert clean_text(out, limit) == out


def test_lookalike_names_share_a_skeleton() -> None:
    real = skeleton("Mossback")
    for fake in (
        "mossback",
        "MOSSBACK",
        "Mоssback",  # Cyrillic o
        "Ｍｏｓｓｂａｃｋ",  # fullwidth
        "M0ssback",
        "Moss back",
        "Moss\u200bback",
        "Mössback",
        "Mossback.",
    ):
        assert skeleton(fake) == real, fake
    assert skeleton("Oona") != real
    assert skeleton("Mossbark") != real

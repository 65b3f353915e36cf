"""Text from outside that reaches a screen: names, species and gossip, cleaned at the edge.

`clean_text` keeps what a person can read and drops what can hurt a screen or mislead its
reader: control characters (the bytes of terminal escape sequences, newlines that split a
table row), bidirectional overrides and isolates (which reverse the text after them, prices
included), invisible characters (zero-width spaces, joiners outside emoji, fillers that look
like nothing), and long runs of combining marks. Emoji sequences stay whole: a ZWJ between
two pictographs, variation selectors, skin tones, flags (regional-indicator pairs and tag
sequences). Truncation never splits a sequence.

`skeleton` folds a name to what it looks like (NFKC, case, common confusables, spacing), so
two names that a reader cannot tell apart have the same skeleton.
"""

from __future__ import annotations

import unicodedata

ZWJ = "\u200d"
VS15, VS16 = "\ufe0e", "\ufe0f"
TAG_FIRST, TAG_LAST = 0xE0020, 0xE007F
BLACK_FLAG = 0x1F3F4
MAX_MARKS = 2
"""Combining marks kept on one base character (enough for any real script's stacking)."""

INVISIBLE = frozenset(
    {
        0x034F,  # combining grapheme joiner
        0x115F,  # hangul choseong filler
        0x1160,  # hangul jungseong filler
        0x17B4,  # khmer vowel inherent aq
        0x17B5,  # khmer vowel inherent aa
        0x180B,  # mongolian free variation selectors
        0x180C,
        0x180D,
        0x2800,  # braille pattern blank
        0x3164,  # hangul filler
        0xFFA0,  # halfwidth hangul filler
    }
)


def _pictographic(ch: str) -> bool:
    """Roughly Unicode's Extended_Pictographic: what emoji sequences are built of."""
    cp = ord(ch)
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2300 <= cp <= 0x23FF
        or 0x2B00 <= cp <= 0x2BFF
        or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D)
    )


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _clusters(text: str) -> list[str]:
    """`text` cut into what a reader sees as one character each (after cleaning).

    A simplified grapheme segmentation: a base, then its marks, variation selectors, skin
    tones, tags, ZWJ-joined pictographs; regional indicators pair up.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        if _regional(text[i]) and j < n and _regional(text[j]):
            j += 1
        while j < n:
            ch = text[j]
            cp = ord(ch)
            cat = unicodedata.category(ch)
            joins = cat in ("Mn", "Me", "Mc") or ch in (VS15, VS16)
            if joins or 0x1F3FB <= cp <= 0x1F3FF or TAG_FIRST <= cp <= TAG_LAST:
                j += 1
            elif ch == ZWJ and j + 1 < n:
                j += 2
            else:
                break
        out.append(text[i:j])
        i = j
    return out


def clean_text(text: str, limit: int) -> str:
    """One line of readable text of at most `limit` characters (code points), or "".

    Whitespace of any kind becomes one space, ends are trimmed; see the module for what is
    dropped. Cleaning clean text changes nothing: `clean_text(clean_text(t, n), n)` is
    `clean_text(t, n)`.
    """
    text = unicodedata.normalize("NFC", text)
    kept: list[str] = []
    marks = 0
    n = len(text)
    for i, ch in enumerate(text):
        cp = ord(ch)
        cat = unicodedata.category(ch)
        prev = kept[-1] if kept else ""
        if ch.isspace() or cat in ("Zs", "Zl", "Zp") or ch in "\t\n\r\v\f":
            if prev and prev != " ":
                kept.append(" ")
            marks = 0
            continue
        if cp in INVISIBLE:
            continue
        if ch == ZWJ:
            base = _last_base(kept)
            nxt = text[i + 1] if i + 1 < n else ""
            if base and _pictographic(base) and nxt and _pictographic(nxt):
                kept.append(ch)
            continue
        if TAG_FIRST <= cp <= TAG_LAST:
            if _in_flag_tags(kept):
                kept.append(ch)
            continue
        if ch in (VS15, VS16):
            if prev and prev != " " and prev not in (VS15, VS16):
                kept.append(ch)
            continue
        if cat[0] == "C":  # Cc control, Cf format (bidi, zero-width), Cs, Co, Cn
            continue
        if cat in ("Mn", "Me", "Mc"):
            if not prev or prev == " " or marks >= MAX_MARKS:
                continue
            marks += 1
            kept.append(ch)
            continue
        marks = 0
        kept.append(ch)
    # Dropping characters can bring a base and its mark together: compose them again.
    cleaned = unicodedata.normalize("NFC", "".join(kept).strip())
    if len(cleaned) <= limit:
        return cleaned
    out: list[str] = []
    size = 0
    for cluster in _clusters(cleaned):
        if size + len(cluster) > limit:
            break
        out.append(cluster)
        size += len(cluster)
    return "".join(out).rstrip()


def _last_base(kept: list[str]) -> str:
    """The last kept character that is not a variation selector or skin tone."""
    for ch in reversed(kept):
        if ch in (VS15, VS16) or 0x1F3FB <= ord(ch) <= 0x1F3FF:
            continue
        return ch
    return ""


def _in_flag_tags(kept: list[str]) -> bool:
    """Whether the text so far ends in a black flag and its tag characters."""
    for ch in reversed(kept):
        cp = ord(ch)
        if TAG_FIRST <= cp <= TAG_LAST:
            continue
        return cp == BLACK_FLAG
    return False


CONFUSABLES = str.maketrans(
    {
        # Cyrillic and Greek letters that render as Latin ones, and digits that pass as letters.
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
        "ј": "j", "ԁ": "d", "ɡ": "g", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
        "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c",
        "0": "o", "1": "l", "|": "l", "5": "s", "ı": "i",
    }
)  # fmt: skip


def skeleton(name: str) -> str:
    """What `name` looks like: two names a reader could mistake share a skeleton.

    NFKC (fullwidth and styled letters to plain ones), case folded, accents dropped,
    common confusables mapped to Latin, "rn" read as "m", and everything but letters
    and digits left out.
    """
    folded = unicodedata.normalize("NFKC", clean_text(name, len(name) + 1)).casefold()
    bare = "".join(
        ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch)
    )
    mapped = bare.translate(CONFUSABLES).replace("rn", "m").replace("vv", "w")
    return "".join(ch for ch in mapped if ch.isalnum())

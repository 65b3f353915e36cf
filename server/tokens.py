"""Bot tokens, known to the server only by their digests.

The database and the relay hold `digest(token)`, never the token: whoever reads the data dir
cannot take a creature. A token is 192 random bits, so a plain SHA-256 is as good as any slow
hash here. Operators name a token by its digest (`GET /api/admin/tokens` lists them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


class TokenBook(Mapping[str, str]):
    """Live tokens: digest -> creature id. `token in book` takes the token itself."""

    def __init__(self, digests: Mapping[str, str] | None = None) -> None:
        self._by_digest: dict[str, str] = dict(digests or {})

    def __getitem__(self, key: str) -> str:
        return self._by_digest[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_digest)

    def __len__(self) -> int:
        return len(self._by_digest)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and digest(token) in self._by_digest

    def creature(self, token: str) -> str | None:
        """The creature `token` holds, or None when it is unknown or revoked."""
        return self._by_digest.get(digest(token))

    def add(self, token_digest: str, creature: str) -> None:
        self._by_digest[token_digest] = creature

    def discard(self, token_digest: str) -> bool:
        return self._by_digest.pop(token_digest, None) is not None

    def has_digest(self, token_digest: str) -> bool:
        return token_digest in self._by_digest

"""The one small seam between brains and language-model engines.

An engine takes a whole tick's prompts at once and gives back one raw text per prompt. It
knows nothing of creatures, decisions or repair: brains build the prompts and parse the texts
(see `repair.py`); deadlines, backoff and tracing wrap an engine rather than living in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Engine(Protocol):
    """A batched text generator under a JSON schema.

    What every implementation promises:
    - `generate` returns a list as long as `prompts`, in the same order; an entry is None when
      that one prompt could not be answered (refused, too long), while an error that sinks the
      whole batch (engine dead, unreachable) is raised for the caller to turn into no-ops.
    - the engine is asked to follow `schema` (structured outputs) where it can; the texts may
      still be malformed or cut off at `max_tokens`, so callers always repair them.
    - `aborts_on_cancel` is True when cancelling a `generate` call stops its requests inside
      the engine at once, so a late batch never holds the engine while the next tick's runs.
    - `aclose` releases the engine; nothing may be called after it.
    """

    @property
    def name(self) -> str:
        """A short label for traces, such as "vllm:/models/tiny"."""
        ...

    @property
    def aborts_on_cancel(self) -> bool:
        """Whether cancelling `generate` frees the engine at once."""
        ...

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        """One raw completion per prompt, all prompts submitted together."""
        ...

    async def aclose(self) -> None:
        """Release the engine and whatever it holds (processes, sockets, memory)."""
        ...

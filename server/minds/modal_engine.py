"""An engine that calls the deployed Modal class (`modal_inference.py`) by name.

Each batch is one `spawn` of `Inference.generate` with every prompt (or of
`Inference.generate_each` when each prompt has its own schema: guarded and menu brains), then
`get` with a timeout, as Modal advises for calls that must not block: the event loop never waits on
Modal's client, and a call that is late (past `timeout_s`) or cancelled (the brain's
cadence ran out) is cancelled on Modal too (`FunctionCall.cancel`), which cancels the
method's task in the container and so aborts its requests inside vLLM: `aborts_on_cancel`
is True. A batch cancelled while its `spawn` is still on the wire cancels the call as soon
as Modal hands it back, so no abandoned call runs on to completion.

It fails fast: the first batch (the server's warm-up, at start) first checks that a Modal
token is configured and looks the class up (`hydrate`), so a missing token or deployment
is one clear error before the world starts, not a no-op every tick.

`modal` is imported only when this engine is used, so the server runs without the Modal
client unless it is chosen. Credentials come from Modal's usual places (`modal token new`,
or MODAL_TOKEN_ID / MODAL_TOKEN_SECRET).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

APP_NAME = "smallwood-inference"
CLASS_NAME = "Inference"
DEPLOY = "modal deploy modal_inference.py"


class ModalEngineError(RuntimeError):
    """The batch failed on Modal: not deployed, no credentials, timed out, or crashed."""


class ModalEngine:
    """An `Engine` over `Inference.generate` deployed on Modal."""

    def __init__(
        self,
        model: str | None = None,
        *,
        app_name: str = APP_NAME,
        class_name: str = CLASS_NAME,
        environment: str | None = None,
        timeout_s: float = 120.0,
        cls: Any = None,
    ) -> None:
        """`model` picks the deployed class's `model` parameter (None: its default).

        `cls` replaces the looked-up class (tests); it must behave like `modal.Cls`.
        """
        self.model = model
        self.app_name = app_name
        self.class_name = class_name
        self.environment = environment
        self.timeout_s = timeout_s
        self._cls = cls
        self._obj: Any = None
        self._pending: set[asyncio.Future[Any]] = set()

    @property
    def name(self) -> str:
        return f"modal:{self.model or self.app_name}"

    @property
    def aborts_on_cancel(self) -> bool:
        return True

    async def connect(self) -> None:
        """Find the deployed class now; `ModalEngineError` saying what to do if there is no
        token, no deployment, or no way to reach Modal. Called by the first batch."""
        if self._obj is not None:
            return
        where = f"{self.app_name}.{self.class_name}"
        cls = self._cls
        if cls is None:
            import modal  # noqa: PLC0415  (optional dependency: pip install modal)

            settings = modal.config.config
            if not (settings.get("token_id") and settings.get("token_secret")):
                raise ModalEngineError(
                    "no Modal token here: run `modal token new`, or set MODAL_TOKEN_ID and "
                    "MODAL_TOKEN_SECRET"
                )
            cls = modal.Cls.from_name(
                self.app_name, self.class_name, environment_name=self.environment
            )
        try:
            await cls.hydrate.aio()
        except Exception as error:
            kind = type(error).__name__
            if kind == "NotFoundError":
                raise ModalEngineError(
                    f"{where} is not deployed on Modal: run `{DEPLOY}` (and `modal run "
                    f"modal_inference.py` once to fill its caches): {error}"
                ) from error
            if kind == "AuthError":
                raise ModalEngineError(
                    f"Modal refused this token: run `modal token new` ({error})"
                ) from error
            raise ModalEngineError(f"cannot reach {where} on Modal: {kind}: {error}") from error
        self._obj = cls(model=self.model) if self.model else cls()

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        """The batch's texts; `ModalEngineError` if the call failed or took over `timeout_s`."""
        return await self._call("generate", prompts, schema, max_tokens)

    async def generate_each(
        self,
        prompts: Sequence[str],
        *,
        schemas: Sequence[dict[str, Any]],
        max_tokens: Sequence[int],
    ) -> list[str | None]:
        """As `generate`, with `schemas[i]` and `max_tokens[i]` for `prompts[i]`: still ONE
        call (`Inference.generate_each`), one batch in the container's engine, where each
        request carries its own sampling parameters and so its own structured output."""
        if len(schemas) != len(prompts) or len(max_tokens) != len(prompts):
            raise ValueError("one schema and one max_tokens per prompt")
        return await self._call("generate_each", prompts, list(schemas), list(max_tokens))

    async def _call(self, method: str, prompts: Sequence[str], *args: Any) -> list[str | None]:
        if not prompts:
            return []
        await self.connect()
        spawn = asyncio.ensure_future(getattr(self._obj, method).spawn.aio(list(prompts), *args))
        try:
            call = await asyncio.shield(spawn)
        except asyncio.CancelledError:
            # The spawn may still reach Modal: cancel its call once the handle comes back.
            spawn.add_done_callback(self._cancel_spawned)
            self._pending.add(spawn)
            raise
        except Exception as error:
            raise ModalEngineError(
                f"cannot call {self.app_name}.{self.class_name}.{method} on Modal "
                f"(deployed with `{DEPLOY}`? a class deployed before `generate_each` needs "
                f"deploying again): {error}"
            ) from error
        try:
            texts = await call.get.aio(timeout=self.timeout_s)
        except asyncio.CancelledError:
            self._cancel(call)
            raise
        except Exception as error:
            if _is_timeout(error):
                self._cancel(call)
                raise ModalEngineError(f"no answer from Modal within {self.timeout_s}s") from None
            raise ModalEngineError(f"the Modal call failed: {error}") from error
        if not isinstance(texts, list) or len(texts) != len(prompts):
            raise ModalEngineError(
                f"Modal answered {type(texts).__name__}, not {len(prompts)} texts"
            )
        return [t if isinstance(t, str) else None for t in texts]

    def _cancel_spawned(self, spawn: asyncio.Future[Any]) -> None:
        self._pending.discard(spawn)
        if spawn.cancelled() or spawn.exception() is not None:
            return  # no call was made
        self._cancel(spawn.result())

    def _cancel(self, call: Any) -> None:
        """Cancel `call` on Modal without waiting for it (we may be inside a cancellation)."""

        async def cancel() -> None:
            try:
                await call.cancel.aio()
            except Exception as error:
                log.warning("could not cancel a late Modal call: %s", error)

        task = asyncio.get_running_loop().create_task(cancel())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def aclose(self) -> None:
        """Wait briefly for outstanding spawns and cancellations to reach Modal."""
        await asyncio.sleep(0)  # let a batch cancelled just now schedule its Modal cancel
        for _ in range(3):  # a spawn that lands schedules a cancel: wait for that one too
            if not self._pending:
                break
            await asyncio.wait(set(self._pending), timeout=5)
        self._obj = None


def _is_timeout(error: Exception) -> bool:
    """`get(timeout=...)` ran out: modal.exception.TimeoutError (not the builtin one)."""
    return isinstance(error, TimeoutError) or type(error).__name__ == "TimeoutError"

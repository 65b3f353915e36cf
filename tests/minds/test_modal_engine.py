"""ModalEngine against a stand-in for a deployed Modal class: spawn, get, cancel."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import pytest

from server.minds.modal_engine import ModalEngine, ModalEngineError
from server.minds.model_brain import ModelBrain
from server.minds.prompts import PromptBuilder
from server.minds.schema import budget_for
from server.world import load_scenario, new_world, observe_all


class _Aio:
    """Modal's `.aio` calling convention: `thing.aio(...)` is the async form."""

    def __init__(self, fn: Callable[..., Coroutine[Any, Any, Any]]) -> None:
        self.aio = fn


class TimeoutError(Exception):
    pass


class NotFoundError(Exception):
    """Named as modal.exception.NotFoundError, which is how the engine recognises it."""


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


def _answer(schema: dict[str, Any]) -> str:
    """A guarded answer that sells the first allowed shape's good, or an empty one."""
    offers = schema["properties"]["offers"]
    shapes = offers.get("prefixItems") or offers.get("items", {}).get("anyOf", [])
    if not shapes:
        return '{"offers":[],"gossip":"quiet"}'
    p = shapes[0]["properties"]
    offer = {"side": p["side"]["const"], "good": p["good"]["const"], "qty": 1}
    offer["price"] = p["price"]["enum"][0]
    return json.dumps({"offers": [offer], "gossip": "fresh goods"})


class FakeCls:
    """Stands in for `modal.Cls.from_name(...)`: calling it gives an object with `generate`."""

    def __init__(
        self,
        delay: float = 0.0,
        fail: bool = False,
        *,
        deployed: bool = True,
        spawn_gate: asyncio.Event | None = None,
    ) -> None:
        """`spawn_gate`: a spawn lands only once the test sets it (`spawning` says it began)."""
        self.delay = delay
        self.fail = fail
        self.deployed = deployed
        self.spawn_gate = spawn_gate
        self.spawning = asyncio.Event()
        self.calls: list[FakeCall] = []
        self.each: list[tuple[list[str], list[Any], list[int]]] = []
        """Every `generate_each` spawn: prompts, schemas, max_tokens."""
        self.params: dict[str, Any] = {}
        self.hydrated = 0
        self.hydrate = _Aio(self._hydrate)

    async def _hydrate(self) -> FakeCls:
        self.hydrated += 1
        if not self.deployed:
            raise NotFoundError(
                "Lookup failed for Cls 'Inference' from the 'smallwood-inference' app"
            )
        return self

    def __call__(self, **params: Any) -> Any:
        self.params = params
        outer = self

        class Obj:
            class generate:
                @staticmethod
                async def _spawn(prompts: Sequence[str], schema: Any, max_tokens: int) -> FakeCall:
                    if outer.fail:
                        raise RuntimeError("App 'smallwood-inference' not found")
                    outer.spawning.set()
                    if outer.spawn_gate is not None:
                        await outer.spawn_gate.wait()
                    call = FakeCall([f"answer to {p}" for p in prompts], outer.delay)
                    outer.calls.append(call)
                    return call

                spawn = _Aio(_spawn)

            class generate_each:
                @staticmethod
                async def _spawn(
                    prompts: Sequence[str], schemas: list[Any], max_tokens: list[int]
                ) -> FakeCall:
                    outer.each.append((list(prompts), schemas, max_tokens))
                    call = FakeCall([_answer(s) for s in schemas], outer.delay)
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
    observations = observe_all(new_world(scenario, 1))
    started = time.monotonic()
    results = await brain.decide(observations, deadline=started + 0.1)
    assert time.monotonic() - started < 0.1 + 1.0  # at its deadline, not the call's 5 s
    assert {r.noop_reason for r in results.values()} == {"deadline"}
    await engine.aclose()
    assert cls.calls[0].cancelled


async def test_a_missing_deployment_is_a_clear_error() -> None:
    engine = ModalEngine(cls=FakeCls(fail=True))
    with pytest.raises(ModalEngineError, match=r"modal deploy modal_inference\.py"):
        await engine.generate(["a"], schema={}, max_tokens=8)


async def test_a_missing_deployment_fails_fast_before_any_call() -> None:
    cls = FakeCls(deployed=False)
    engine = ModalEngine(cls=cls)
    with pytest.raises(ModalEngineError, match=r"not deployed on Modal: run `modal deploy"):
        await engine.generate(["a"], schema={}, max_tokens=8)
    assert cls.hydrated == 1 and cls.calls == []


async def test_no_token_fails_fast_with_what_to_run(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real Modal client, with no token anywhere: refused before any network call."""
    pytest.importorskip("modal")
    import modal

    monkeypatch.delenv("MODAL_TOKEN_ID", raising=False)
    monkeypatch.delenv("MODAL_TOKEN_SECRET", raising=False)
    monkeypatch.setattr(modal.config.config, "get", lambda key, **_: None)
    with pytest.raises(ModalEngineError, match=r"no Modal token here: run `modal token new`"):
        await ModalEngine().generate(["a"], schema={}, max_tokens=8)


async def test_the_server_refuses_to_start_on_an_undeployed_app(tmp_path: Any) -> None:
    from server.minds.prompts import render_chatml
    from server.serve import ServeConfig, start

    def starter(options: Any) -> Any:
        return ModalEngine(cls=FakeCls(deployed=False)), render_chatml

    cfg = ServeConfig(brain="modal", data_dir=tmp_path / "data", port=0, seed=1, tick=0.1)
    with pytest.raises(Exception, match=r"failed its warm-up batch.*modal deploy"):
        await start(cfg, engines=starter)


async def test_a_batch_cancelled_during_spawn_cancels_its_call_when_it_lands() -> None:
    gate = asyncio.Event()
    cls = FakeCls(delay=5, spawn_gate=gate)
    engine = ModalEngine(cls=cls)
    batch = asyncio.create_task(engine.generate(["a"], schema={}, max_tokens=8))
    await asyncio.wait_for(cls.spawning.wait(), 10)  # the spawn is on the wire
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch
    assert cls.calls == []
    gate.set()  # only now does the spawn land
    await engine.aclose()  # waits for the spawn to land and its cancel to reach Modal
    (call,) = cls.calls
    assert call.cancelled


async def test_deadline_misses_with_no_container_answering_back_off() -> None:
    """A deployment whose container never answers (its @modal.enter crash-loops): each miss
    without an answer is an engine failure, so the brain stops spawning every tick."""
    cls = FakeCls(delay=3600)
    engine = ModalEngine(cls=cls)
    scenario = load_scenario()
    brain = ModelBrain(engine, PromptBuilder(scenario), backoff_first_s=30)
    observations = observe_all(new_world(scenario, 1))
    first = await brain.decide(observations, deadline=time.monotonic() + 0.05)
    assert {r.noop_reason for r in first.values()} == {"deadline"}
    for _ in range(3):
        later = await brain.decide(observations, deadline=time.monotonic() + 0.05)
        assert {r.noop_reason for r in later.values()} == {"backoff"}
    assert len(cls.calls) == 1 and brain.failures == 1
    await engine.aclose()
    assert cls.calls[0].cancelled


async def test_a_guarded_batch_is_one_call_with_a_schema_per_prompt() -> None:
    """Each creature's own schema and token budget travel in ONE `generate_each` call."""
    cls = FakeCls()
    scenario = load_scenario()
    observations = observe_all(new_world(scenario, 1))
    brain = ModelBrain(
        ModalEngine(cls=cls), PromptBuilder(scenario, space="guarded"), max_tokens=96
    )
    results = await brain.decide(observations, deadline=time.monotonic() + 10)
    assert len(cls.calls) == 1 and len(cls.each) == 1
    prompts, schemas, budgets = cls.each[0]
    assert len(prompts) == len(schemas) == len(budgets) == len(observations)
    space = brain.builder.space
    assert schemas == [space.schema(o) for o in observations.values()]
    assert budgets == [budget_for(s, 96) for s in schemas] and min(budgets) > 96
    assert len({json.dumps(s, sort_keys=True) for s in schemas}) > 1  # creatures differ
    assert all(r.status == "ok" and r.decision.offers for r in results.values())


async def test_generate_each_wants_one_schema_and_budget_per_prompt() -> None:
    engine = ModalEngine(cls=FakeCls())
    with pytest.raises(ValueError, match="one schema"):
        await engine.generate_each(["a", "b"], schemas=[{}], max_tokens=[8, 8])

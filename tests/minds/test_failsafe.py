"""FailsafeBrain: a brain that raises costs its own creatures one tick, never the market."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import orjson
import pytest

from server.cli import main
from server.minds.brain import DecisionResult, ScriptedBrain
from server.minds.failsafe import BrainHealth, FailsafeBrain, guard_all
from server.minds.scripted import ScriptedMind
from server.world import load_scenario, new_world, observe_all
from server.world.actions import Action
from server.world.observe import Observation
from shared.decision import Decision


class Flaky:
    """Raises while `broken`, else decides nothing."""

    name = "flaky"

    def __init__(self) -> None:
        self.broken = True

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        if self.broken:
            raise ValueError("qty must be at most 999")
        return {cid: DecisionResult(Decision(), "ok", self.name) for cid in observations}

    async def aclose(self) -> None:
        return None


def break_bram(monkeypatch: pytest.MonkeyPatch, from_tick: int = 0) -> None:
    """The scripted mind raises for Bram alone, as it did once his firewood passed 999."""
    real = ScriptedMind.act

    def act(self: ScriptedMind, obs: Observation) -> Action:
        if obs.creature == "bram" and obs.tick >= from_tick:
            Decision.model_validate({"offers": [{"side": "sell", "good": "firewood",
                                                 "qty": 1000, "price": 5}]})  # fmt: skip
        return real(self, obs)

    monkeypatch.setattr(ScriptedMind, "act", act)


async def test_a_raising_brain_no_ops_its_creatures_logs_once_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    observations = observe_all(new_world(load_scenario(), 1))
    health = BrainHealth()
    inner = Flaky()
    brain = FailsafeBrain(inner, health)
    caplog.set_level(logging.WARNING, logger="server.minds.failsafe")
    for _ in range(12):
        results = await brain.decide(observations, deadline=math.inf)
        assert {r.noop_reason for r in results.values()} == {"brain_error"}
        assert set(results) == set(observations)
    assert health.errors == {("flaky", "ValueError"): 12}
    assert not health.ok
    (problem,) = health.problems()
    assert (
        "brain 'flaky' failing: ValueError: qty must be at most 999 (failed calls in a row: 12"
        in problem
    )
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1  # the first failure only
    assert [r.getMessage() for r in caplog.records if not r.exc_info] == [
        "brain 'flaky' still failing: ValueError: qty must be at most 999 (10 times)"
    ]
    inner.broken = False
    results = await brain.decide(observations, deadline=math.inf)
    assert {r.status for r in results.values()} == {"ok"}
    assert health.ok and health.total() == 12
    assert "recovered after 12 failed calls" in caplog.records[-1].getMessage()


async def test_a_separable_brain_loses_only_the_creature_that_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    break_bram(monkeypatch)
    observations = observe_all(new_world(load_scenario(), 1))
    health = BrainHealth()
    results = await FailsafeBrain(ScriptedBrain(1), health).decide(observations, deadline=1e18)
    assert results["bram"].noop_reason == "brain_error"
    assert {r.status for cid, r in results.items() if cid != "bram"} == {"ok"}
    assert health.errors == {("scripted", "ValidationError"): 1}


def test_guards_are_shared_where_brains_are() -> None:
    scripted, other = ScriptedBrain(1), Flaky()
    guarded = guard_all({"model": scripted, "scripted": scripted, "x": other}, BrainHealth())
    assert guarded["model"] is guarded["scripted"] is not guarded["x"]
    assert isinstance(guarded["x"], FailsafeBrain) and guarded["x"].brain is other


def test_simulate_goes_on_through_brain_errors_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    break_bram(monkeypatch, from_tick=11)
    report = tmp_path / "r.json"
    assert main(["simulate", "--ticks", "30", "--quiet", "--report", str(report)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "warning: brains raised in 20 calls (scripted ValidationError ×20)" in err
    summary = orjson.loads(report.read_bytes())["summary"]
    assert summary["noop_reasons"] == {"brain_error": 20}
    assert summary["decisions"]["ok"] == 30 * 5 - 20
    assert summary["trades"] > 0

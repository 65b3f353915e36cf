"""The minds' commands: prompt, traces export, bench prompt, simulate with a model brain."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from server.cli import main


def test_prompt_prints_the_exact_prompt(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prompt", "--creature", "Oona", "--tick", "40", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<|im_start|>system\n")
    assert "Tick 40:" in out
    assert "You are Oona the owl. You produce honey.\nNever buy: honey." in out
    assert out.endswith("<|im_start|>assistant\n")
    # Byte for byte what a model brain sends for that creature on that tick.
    from server.minds.prompts import PromptBuilder
    from server.simulate import world_at
    from server.world import load_scenario, observe

    scenario = load_scenario()
    assert out == PromptBuilder(scenario).render(observe(world_at(scenario, 40, 2), "oona"))


def test_prompt_messages_and_unknown_creatures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prompt", "--creature", "bram", "--messages"]) == 0
    messages = orjson.loads(capsys.readouterr().out)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert main(["prompt", "--creature", "nobody"]) == 2
    assert "mossback" in capsys.readouterr().err


def test_bench_prompt_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "prompt", "--json", "--tick", "60"]) == 0
    figures = orjson.loads(capsys.readouterr().out)
    assert figures["max_tokens"] == 96
    assert len(figures["creatures"]) == 5
    assert figures["min_prefix_fraction_chars"] >= 0.6


def test_simulate_traces_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    traces = tmp_path / "t.jsonl"
    assert main(["simulate", "--ticks", "10", "--quiet", "--traces", str(traces)]) == 0
    assert len(traces.read_bytes().splitlines()) == 50
    out = tmp_path / "all.jsonl"
    assert main(["traces", "export", str(traces), "--format", "jsonl", "--out", str(out)]) == 0
    assert len(out.read_bytes().splitlines()) == 50
    capsys.readouterr()
    assert main(["traces", "export", str(traces), "--format", "chat"]) == 0
    chats = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    # The scripted baseline's sensible trades, with the prompts a model would have seen.
    assert 0 < len(chats) < 50
    for chat in chats:
        roles = [m["role"] for m in chat["messages"]]
        assert roles == ["system", "user", "assistant"]
        answer = orjson.loads(chat["messages"][2]["content"])
        assert answer["offers"]
        assert "Never buy:" in chat["messages"][1]["content"]
    assert main(["traces", "export", str(tmp_path / "missing.jsonl")]) == 2


def test_model_brains_say_what_they_need(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--ticks", "2", "--quiet", "--brain", "openai"]) == 2
    assert "--base-url" in capsys.readouterr().err
    assert main(["simulate", "--ticks", "2", "--quiet", "--brain", "vllm"]) == 2
    assert "--model" in capsys.readouterr().err


@pytest.mark.vllm
@pytest.mark.timeout(900)  # vLLM on CPU, and the tiny model if this runs first
def test_simulate_with_the_vllm_brain_on_the_tiny_model(tiny_model: Path, tmp_path: Path) -> None:
    report, traces = tmp_path / "r.json", tmp_path / "t.jsonl"
    args = ["simulate", "--brain", "vllm", "--model", str(tiny_model), "--ticks", "3"]
    args += ["--quiet", "--report", str(report), "--traces", str(traces), "--deadline", "60"]
    assert main(args) == 0
    summary = orjson.loads(report.read_bytes())["summary"]
    decisions = summary["decisions"]
    assert sum(decisions.values()) == 15
    assert decisions["ok"] + decisions["repaired"] >= 5  # real parse results, not scripted
    assert not set(summary["noop_reasons"]) & {"engine_error", "deadline", "no_answer"}
    lines = traces.read_bytes().splitlines()
    assert len(lines) == 15
    first = orjson.loads(lines[0])
    assert first["brain"] == f"vllm:{tiny_model.name}"  # the brain, not the model path
    assert first["prompt"].startswith("<|im_start|>system\n")
    assert first["raw"].startswith("{")

"""The `smallwood` command line: simulate, scenario checks, benchmarks."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from server.cli import main


def test_simulate_writes_the_same_report_for_the_same_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    assert main(["simulate", "--ticks", "120", "--seed", "7", "--report", str(a), "--quiet"]) == 0
    assert main(["simulate", "--ticks", "120", "--seed", "7", "--report", str(b), "--quiet"]) == 0
    assert main(["simulate", "--ticks", "120", "--seed", "8", "--report", str(c), "--quiet"]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_report_follows_the_published_shape(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["simulate", "--ticks", "60", "--seed", "2", "--report", str(out), "--quiet"]) == 0
    report = orjson.loads(out.read_bytes())
    assert report["scenario"] == "The Wood"
    assert report["seed"] == 2
    assert [row["tick"] for row in report["ticks"]] == list(range(1, 61))
    row = report["ticks"][0]
    assert row["season"] == "spring"
    assert set(row["prices"]) == {"acorns", "berries", "mushrooms", "honey", "firewood"}
    assert all(p is None or p > 0 for p in row["prices"].values())
    assert isinstance(row["trades"], int) and isinstance(row["volume"], int)
    assert 0.0 <= row["gini"] <= 1.0
    assert row["decisions"] == {"ok": 5, "repaired": 0, "noop": 0}
    mossback = row["creatures"]["mossback"]
    assert mossback["produces"] == "acorns"
    assert set(mossback) >= {"pebbles", "mood", "exiled"}
    summary = report["summary"]
    assert summary["ticks"] == 60
    assert summary["trades"] == sum(r["trades"] for r in report["ticks"])
    assert summary["volume"] == sum(r["volume"] for r in report["ticks"])
    assert len(summary["state_hash"]) == 64


def test_simulate_draws_a_png_chart(tmp_path: Path) -> None:
    png = tmp_path / "prices.png"
    assert main(["simulate", "--ticks", "150", "--plot", str(png), "--quiet"]) == 0
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000  # a real chart, not an empty canvas


def test_a_bad_scenario_is_refused_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    default = main(["scenario"])
    assert default == 0
    text = capsys.readouterr().out.replace('produces = "honey"', 'produces = "honney"')
    bad.write_text(text)
    assert main(["simulate", "--ticks", "5", "--scenario", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "creatures[1].produces" in err
    assert "honney" in err


def test_scenario_check_accepts_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scenario"]) == 0
    good = tmp_path / "wood.toml"
    good.write_text(capsys.readouterr().out)
    assert main(["scenario", str(good)]) == 0
    assert "5 creatures" in capsys.readouterr().out


def test_bench_step_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["bench", "step", "--creatures", "50", "--ticks", "3", "--warmup", "1", "--json"]) == 0
    )
    figures = orjson.loads(capsys.readouterr().out)
    assert figures["benchmark"] == "step"
    sizes = [r["creatures"] for r in figures["results"]]
    assert sizes == [5, 50]
    assert all(r["step_ms_mean"] > 0 for r in figures["results"])


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "simulate" in capsys.readouterr().out

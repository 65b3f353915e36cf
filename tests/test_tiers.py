"""The CI tier guard, run on a scratch suite in a subprocess: skips fail under CI only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = """
import pytest

@pytest.mark.node
def test_needs_node():
    pytest.skip("needs Node")

@pytest.mark.slow
def test_slow_tier():
    pass

def test_plain():
    pass

@pytest.mark.xfail(reason="known")
def test_known_failure():
    raise AssertionError
"""


def run(tmp_path: Path, ci: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_scratch.py").write_text(SCRATCH, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    node: n\n    slow: s\n", encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.tiers",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rA",
            *args,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_skip_is_a_skip_off_ci(tmp_path: Path) -> None:
    done = run(tmp_path, None)
    assert done.returncode == 0, done.stdout
    assert "2 passed, 1 skipped, 1 xfailed" in done.stdout


def test_a_skip_fails_under_ci_naming_its_tier(tmp_path: Path) -> None:
    done = run(tmp_path, "true")
    assert done.returncode == 1, done.stdout
    assert "skipped under CI (node): needs Node" in done.stdout
    assert "1 failed, 2 passed, 1 xfailed" in done.stdout


def test_ci_false_is_not_ci(tmp_path: Path) -> None:
    assert run(tmp_path, "0").returncode == 0


def test_deselecting_a_tier_fails_under_ci(tmp_path: Path) -> None:
    done = run(tmp_path, "1", "-m", "not slow and not node")
    assert done.returncode == 1, done.stdout
    assert "deselected tier(s) node, slow" in done.stdout
    assert run(tmp_path, None, "-m", "not slow and not node").returncode == 0

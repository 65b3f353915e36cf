"""Under CI, a skipped test is a failed test: every tier CI claims must really run there.

The tiers (`vllm`, `browser`, `node`, `redis`, `slow`) skip on a developer machine that lacks their
parts; with the environment variable CI set, the same skip would hide a tier that silently
never ran. This plugin (loaded by tests/conftest.py) turns every skip under CI into a
failure that names the tier and the reason, and fails the run when a `-m` expression
deselected a tier. xfail is left alone.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

TIERS = ("vllm", "browser", "node", "redis", "slow")


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _tiers_of(item: pytest.Item) -> list[str]:
    return [tier for tier in TIERS if item.get_closest_marker(tier) is not None]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if not (under_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    tiers = ", ".join(_tiers_of(item)) or "no tier"
    report.outcome = "failed"
    report.longrepr = f"skipped under CI ({tiers}): {reason}; CI must run every tier"


_deselected_tiers: set[str] = set()


def pytest_deselected(items: list[pytest.Item]) -> None:
    for item in items:
        _deselected_tiers.update(_tiers_of(item))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if under_ci() and session.config.option.markexpr and _deselected_tiers:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"FAILED: under CI the -m expression deselected tier(s) "
                f"{', '.join(sorted(_deselected_tiers))}; CI must run every tier",
                red=True,
            )

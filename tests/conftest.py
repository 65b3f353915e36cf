"""Suite-wide hooks: under CI a skipped tier fails the run (see tests/tiers.py)."""

from tests.tiers import pytest_deselected, pytest_runtest_makereport, pytest_sessionfinish

__all__ = ["pytest_deselected", "pytest_runtest_makereport", "pytest_sessionfinish"]

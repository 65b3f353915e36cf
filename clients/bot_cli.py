"""`smallwood bot run FILE.py:Class --url ... --token ...`: run a bot class from a file.

Wiring (for `server.cli`): `add_arguments(parser)` fills the `bot run` subcommand's parser and
`run(args)` is its handler, returning the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.protocol import Join

from .bot import Bot, run_bot
from .bot import log as bot_log

TOKEN_ENV = "SMALLWOOD_BOT_TOKEN"


class BotLoadError(Exception):
    """The bot could not be found or built; the message says what to fix."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "bot",
        metavar="FILE.py:Class",
        help="the bot: a Python file (or an importable module) and the class in it",
    )
    parser.add_argument(
        "--url",
        default="ws://127.0.0.1:8765/ws/bot",
        help="the server's bot endpoint, or its base URL (default: ws://127.0.0.1:8765/ws/bot)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV, ""),
        help=f"the creature's bot token (default: ${TOKEN_ENV})",
    )
    parser.add_argument("--name", help="spawn a new creature with this name (no token needed)")
    parser.add_argument("--species", help="the new creature's species")
    parser.add_argument("--produces", help="the good the new creature produces")
    parser.add_argument(
        "--cadence",
        metavar="TICKS|auto",
        help="decide every TICKS ticks (or auto: the server follows the bot's pace); "
        "late answers are then kept for the next due tick (default: every tick)",
    )
    parser.add_argument(
        "--between",
        choices=("hold", "standing"),
        help="with --cadence: hold (do nothing) or standing (repeat the last offers) on the "
        "ticks an answer does not land (default: hold)",
    )
    parser.add_argument(
        "--margin",
        type=float,
        default=0.05,
        metavar="SECONDS",
        help="answer this long before the deadline (default: 0.05)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every turn (the bot SDK's log only)"
    )


def load_bot(spec: str) -> Bot:
    """Build the bot named `path/to/file.py:Class` or `package.module:Class`."""
    target, colon, name = spec.rpartition(":")
    if not colon or not target or not name:
        raise BotLoadError(f"{spec!r}: name the bot as FILE.py:Class or module:Class")
    module: Any
    if target.endswith(".py") or "/" in target:
        path = Path(target)
        if not path.is_file():
            raise BotLoadError(f"{path}: no such file")
        loader = importlib.util.spec_from_file_location(path.stem, path)
        if loader is None or loader.loader is None:
            raise BotLoadError(f"{path}: cannot be imported as Python")
        module = importlib.util.module_from_spec(loader)
        sys.modules[path.stem] = module
        loader.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise BotLoadError(f"cannot import {target!r}: {exc}") from None
    cls = getattr(module, name, None)
    if cls is None:
        raise BotLoadError(f"{target} has no {name!r}")
    bot = cls()
    if not callable(getattr(bot, "act", None)):
        raise BotLoadError(f"{name} has no act(self, turn) method")
    return bot  # type: ignore[no-any-return]


def join_message(args: argparse.Namespace) -> Join:
    """The `join` frame from the flags; BotLoadError naming the flag when one is invalid."""
    try:
        cadence = getattr(args, "cadence", None)
        return Join(
            token=args.token,
            name=args.name,
            species=args.species,
            produces=args.produces,
            cadence=int(cadence) if cadence is not None and cadence.isdigit() else cadence,
            between=getattr(args, "between", None),
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise BotLoadError(f"cannot join with these flags: {problems}") from None


def configure_logging(verbose: bool) -> None:
    """INFO for everything; with `verbose`, DEBUG for the bot SDK's logger alone.

    Libraries (websockets, asyncio) stay at INFO: `-v` is about the bot's turns, not their frames.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    bot_log.setLevel(logging.DEBUG if verbose else logging.NOTSET)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.verbose)
    try:
        bot = load_bot(args.bot)
    except BotLoadError as exc:
        print(f"smallwood bot: {exc}", file=sys.stderr)
        return 2
    spawn = (args.name, args.species, args.produces)
    if not args.token and not all(spawn):
        print(
            f"smallwood bot: give --token (or ${TOKEN_ENV}), or --name, --species and "
            "--produces to bring a new creature into the Wood",
            file=sys.stderr,
        )
        return 2
    try:
        join = join_message(args)
    except BotLoadError as exc:
        print(f"smallwood bot: {exc}", file=sys.stderr)
        return 2
    return run_bot(bot, args.url, join=join, margin=args.margin)

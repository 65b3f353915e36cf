"""`smallwood bot run`: bad flags end in a sentence and exit 2; `-v` is the SDK's log only."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator

import pytest

from clients import bot_cli
from clients.bot import log as bot_log


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bot_cli.add_arguments(parser)
    return parser.parse_args(["clients/examples/market_maker.py:MarketMaker", *argv])


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root, sdk = logging.getLogger().level, bot_log.level
    yield
    logging.getLogger().setLevel(root)
    bot_log.setLevel(sdk)


def test_a_name_too_long_exits_2_with_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("--name", "N" * 41, "--species", "fox", "--produces", "acorns")
    assert bot_cli.run(args) == 2
    err = capsys.readouterr().err
    assert "--name" in err and "40 characters" in err
    assert "Traceback" not in err and "pydantic" not in err


def test_any_invalid_join_field_is_named() -> None:
    args = parse("--name", "Zed", "--species", "", "--produces", "acorns", "--token", "t")
    with pytest.raises(bot_cli.BotLoadError, match="--species"):
        bot_cli.join_message(args)


def test_verbose_sets_debug_on_the_sdk_logger_only() -> None:
    logging.getLogger().setLevel(logging.WARNING)
    bot_cli.configure_logging(verbose=True)
    assert bot_log.getEffectiveLevel() == logging.DEBUG
    assert logging.getLogger().level != logging.DEBUG
    assert logging.getLogger("websockets.client").getEffectiveLevel() > logging.DEBUG
    bot_cli.configure_logging(verbose=False)
    assert bot_log.getEffectiveLevel() > logging.DEBUG

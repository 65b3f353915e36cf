"""The Python bot SDK: write one `act` method, and `run_bot` plays it over `/ws/bot`.

    from clients.bot import Turn, run_bot
    from shared.decision import Decision, Offer

    class Seller:
        def act(self, turn: Turn) -> Decision | None:
            obs = turn.observation
            spare = obs.stores.get(obs.produces, 0) - 3
            if spare <= 0:
                return None
            price = round(obs.prices[obs.produces] * 1.1, 2)
            return Decision(offers=[Offer(side="sell", good=obs.produces, qty=spare, price=price)])

    run_bot(Seller(), "ws://127.0.0.1:8765/ws/bot", token="...")

What a caller may rely on:
- `act` may be a plain or an `async` method. A plain one runs in a worker thread, so a slow
  bot never stops the connection from reading; an async one runs on the event loop.
- It returns an `Act`, a `Decision` (offers, gossip, thought) or None (do nothing this tick).
  The runner sends exactly one `act` per turn, for that turn's tick, before the deadline.
- A bot still thinking at the deadline is told so: its `on_late(turn)` is called if it has one
  (else a warning is logged), and its answer, when it comes, is dropped. The tick is a no-op.
  A bot that joined with a `cadence` (`Join(cadence=3)`, or `"auto"`) is the exception: the
  server keeps a late act for its next due tick, so the runner sends the answer when it comes.
- Errors the server sends are logged (and passed to the bot's `on_error(error)` if it has one).
- The runner reconnects with exponential backoff after a drop or a server restart and joins
  again with the same token; it stops for good on a refused token, when another connection
  takes the creature, or when the token is revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from shared.decision import Decision
from shared.protocol import SERVER, Accepted, Act, CloseCode, Error, ErrorCode, Join, Joined, Turn

from .endpoints import BOT_PATH, websocket_url

__all__ = [
    "Act",
    "ActResult",
    "Bot",
    "BotRunner",
    "BotStats",
    "BotStopped",
    "Decision",
    "Turn",
    "run_bot",
]

log = logging.getLogger("smallwood.bot")

ActResult = Act | Decision | None
"""What `act` may return: a whole act, just the decision, or None for "nothing this tick"."""

FATAL_ERRORS = {ErrorCode.BAD_TOKEN, ErrorCode.JOINING_CLOSED, ErrorCode.SPAWN_REJECTED}
FATAL_CLOSES = {
    CloseCode.REPLACED: "another connection took this creature",
    CloseCode.REVOKED: "the operator revoked this token",
}


@runtime_checkable
class Bot(Protocol):
    """A bot: one method.

    Optional hooks, plain or async: `on_late(turn)`, `on_error(error)`, `on_joined(joined)`.
    """

    def act(self, turn: Turn) -> ActResult | Awaitable[ActResult]: ...


class BotStopped(Exception):
    """The runner stopped for good: the reason says what to fix (token, replaced, revoked)."""


@dataclass
class BotStats:
    """What happened so far; the runner updates it as it plays."""

    connections: int = 0
    joined: int = 0
    turns: int = 0
    acts: int = 0
    accepted: int = 0
    late: int = 0
    """Turns the bot did not answer before the deadline."""
    failed: int = 0
    """Turns whose `act` raised: answered with nothing."""
    errors: Counter[str] = field(default_factory=Counter)
    creature: str | None = None
    last_tick: int | None = None


class BotRunner:
    """Plays one bot on one creature until stopped.

    `url` is the server's bot endpoint (`ws://host:port/ws/bot`; an `http://` base URL or a
    bare `ws://host:port` gets `/ws/bot` added). `join` replaces the default `join` frame (a
    token, or name, species and produces for a new creature). `margin` is the seconds kept
    in hand before the deadline for the answer to reach the server (at most a quarter of the
    turn's deadline).
    """

    def __init__(
        self,
        bot: Bot,
        url: str,
        token: str = "",
        *,
        join: Join | None = None,
        margin: float = 0.05,
        min_backoff: float = 0.25,
        max_backoff: float = 10.0,
        open_timeout: float = 5.0,
    ) -> None:
        self.bot = bot
        self.url = bot_url(url)
        self.join = join or Join(token=token)
        self.margin = margin
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.open_timeout = open_timeout
        self.stats = BotStats()
        self._stop = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._thinking: asyncio.Task[ActResult] | None = None
        self._tasks: set[asyncio.Task[object]] = set()

    @property
    def token(self) -> str:
        """The token in use: given, or handed out by the server to a new creature."""
        return self.join.token

    def stop(self) -> None:
        """Stop playing; `run()` returns after closing the connection."""
        self._stop.set()
        if self._ws is not None:
            self._spawn(self._ws.close())

    async def run(self) -> None:
        """Play until `stop()`; raises `BotStopped` when the server refuses the bot for good."""
        failures = 0
        while not self._stop.is_set():
            try:
                async with connect(self.url, open_timeout=self.open_timeout, max_size=2**22) as ws:
                    self._ws = ws
                    self.stats.connections += 1
                    failures = 0
                    await self._play(ws)
            except BotStopped:
                raise
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else None
                if code in FATAL_CLOSES:
                    raise BotStopped(FATAL_CLOSES[CloseCode(code)]) from None
                log.warning("connection closed (%s); reconnecting", code)
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                log.warning("cannot reach %s (%s); retrying", self.url, exc)
            except InvalidURI as exc:
                raise BotStopped(f"not a websocket URL: {self.url} ({exc})") from None
            finally:
                self._ws = None
                self._drop_thinking()
            if self._stop.is_set():
                break
            delay = min(self.max_backoff, self.min_backoff * 2**failures)
            failures += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay * random.uniform(0.75, 1.25))

    async def _play(self, ws: ClientConnection) -> None:
        await ws.send(self.join.model_dump_json(exclude_none=True))
        async for frame in ws:
            try:
                message = SERVER.validate_json(frame)
            except ValidationError as exc:
                log.warning("ignoring a frame this SDK does not understand: %s", exc)
                continue
            if isinstance(message, Turn):
                self._start_turn(ws, message, time.monotonic())
            elif isinstance(message, Accepted):
                self.stats.accepted += 1
            elif isinstance(message, Error):
                self._on_error(message)
            elif isinstance(message, Joined):
                self._on_joined(message)

    def _on_joined(self, joined: Joined) -> None:
        self.stats.joined += 1
        self.stats.creature = joined.creature
        if joined.token != self.join.token:
            # A new creature: keep its token so a reconnect takes the same one back.
            log.info("the server gave creature %s the token %s", joined.creature, joined.token)
            self.join = Join(
                token=joined.token, cadence=self.join.cadence, between=self.join.between
            )
        log.info(
            "joined as %s at tick %d%s",
            joined.creature,
            joined.tick,
            " (entering the Wood next tick)" if joined.spawning else "",
        )
        self._hook("on_joined", joined)

    def _on_error(self, error: Error) -> None:
        self.stats.errors[error.code.value] += 1
        if error.code == ErrorCode.LATE:
            self.stats.late += 1
        log.warning("server refused: %s: %s", error.code.value, error.message)
        self._hook("on_error", error)
        if error.code in FATAL_ERRORS:
            raise BotStopped(f"{error.code.value}: {error.message}")

    def _start_turn(self, ws: ClientConnection, turn: Turn, received: float) -> None:
        self.stats.turns += 1
        self.stats.last_tick = turn.tick
        # A newer turn supersedes one still being thought about: its deadline has passed.
        self._drop_thinking()
        deadline = turn.deadline_ms / 1000
        # Keep the margin in hand, but never more than a quarter of a short deadline.
        margin = min(self.margin, deadline / 4)
        budget = deadline - margin - (time.monotonic() - received)
        self._thinking = asyncio.ensure_future(self._think(turn))
        self._spawn(self._answer(ws, turn, self._thinking, budget))

    def _spawn(self, work: Coroutine[object, object, object]) -> None:
        # Keep a reference: the event loop holds tasks weakly.
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _think(self, turn: Turn) -> ActResult:
        act = self.bot.act
        if inspect.iscoroutinefunction(act):
            return await act(turn)  # type: ignore[no-any-return]
        result = await asyncio.to_thread(act, turn)
        if inspect.isawaitable(result):
            return await result
        return result

    async def _answer(
        self, ws: ClientConnection, turn: Turn, thinking: asyncio.Task[ActResult], budget: float
    ) -> None:
        done, _ = await asyncio.wait({thinking}, timeout=max(0.0, budget))
        if not done and turn.due is not None:
            # A paced turn: the server keeps a late act for the next due tick.
            self.stats.late += 1
            log.info("tick %d: still thinking at the deadline; sending when done", turn.tick)
            self._hook("on_late", turn)
            done, _ = await asyncio.wait({thinking})
        if not done:
            self.stats.late += 1
            log.warning("tick %d: still thinking at the deadline; this tick is a no-op", turn.tick)
            self._hook("on_late", turn)
            thinking.add_done_callback(_dropped(turn.tick))
            return
        if thinking.cancelled():
            return
        try:
            result = thinking.result()
        except Exception:
            self.stats.failed += 1
            log.exception("tick %d: the bot's act raised; answering with no offers", turn.tick)
            result = None
        act = to_act(turn.tick, result)
        try:
            await ws.send(act.model_dump_json(exclude_none=True))
        except ConnectionClosed:
            return
        self.stats.acts += 1

    def _hook(self, name: str, arg: object) -> None:
        hook = getattr(self.bot, name, None)
        if hook is None:
            return
        try:
            result = hook(arg)
            if inspect.iscoroutine(result):
                self._spawn(result)
        except Exception:
            log.exception("the bot's %s hook raised", name)

    def _drop_thinking(self) -> None:
        if self._thinking is not None and not self._thinking.done():
            self._thinking.cancel()
        self._thinking = None


def to_act(tick: int, result: ActResult) -> Act:
    """The `act` frame for `tick` from whatever the bot returned."""
    if result is None:
        return Act(tick=tick)
    if isinstance(result, Decision):
        return Act(tick=tick, offers=result.offers, gossip=result.gossip, thought=result.thought)
    if result.tick != tick:
        return result.model_copy(update={"tick": tick})
    return result


def bot_url(url: str) -> str:
    """`ws://host:port/ws/bot` from a ws(s):// or http(s):// URL, with or without the path."""
    return websocket_url(url, BOT_PATH)


def _dropped(tick: int) -> Callable[[asyncio.Task[ActResult]], None]:
    def done(task: asyncio.Task[ActResult]) -> None:
        if not task.cancelled() and task.exception() is None:
            log.info("tick %d: the late answer arrived and was dropped", tick)

    return done


def run_bot(bot: Bot, url: str, token: str = "", **options: object) -> int:
    """Play `bot` until interrupted (Ctrl-C). Returns an exit status: 0, or 2 when refused."""

    async def main() -> None:
        await BotRunner(bot, url, token, **options).run()  # type: ignore[arg-type]

    try:
        asyncio.run(main())
    except BotStopped as exc:
        log.error("stopped: %s", exc)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0

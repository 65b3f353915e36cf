"""Mutation testing of the modules that carry the promises, one module at a time (mutmut).

Each module is mutated in a scratch copy of the tracked tree (never in the work tree), with
only the fastest test files that are meant to catch its faults. From the repository root:

    python -m tests.mutation                      # every module below, one after another
    python -m tests.mutation market repair        # some of them
    python -m tests.mutation --list               # the modules and their test subsets

For each module it prints killed/total (the mutation score) and the surviving mutants'
diffs, and writes them to --out (default: $TMPDIR/smallwood-mutation/report.json and
survivors-MODULE.diff). Needs mutmut (a dev dependency). Two workers by default (--jobs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Target:
    sources: tuple[str, ...]
    tests: tuple[str, ...]


TARGETS: dict[str, Target] = {
    "market": Target(
        ("server/world/market.py",),
        ("tests/world/test_market.py", "tests/world/test_mutants_world.py"),
    ),
    "legends": Target(
        ("server/world/legends.py",),
        (
            "tests/world/test_legends.py",
            "tests/world/test_rumour_secrecy.py",
            "tests/world/test_mutants_world.py",
        ),
    ),
    "observe": Target(
        ("server/world/observe.py",),
        (
            "tests/world/test_observe.py",
            "tests/world/test_leaks.py",
            "tests/world/test_mutants_world.py",
        ),
    ),
    "validate": Target(
        ("server/world/validate.py",),
        (
            "tests/world/test_validate.py",
            "tests/world/test_clean_gossip.py",
            "tests/world/test_mutants_world.py",
        ),
    ),
    "spoilage": Target(
        ("server/world/spoilage.py",),
        ("tests/world/test_consumption.py", "tests/world/test_mutants_world.py"),
    ),
    "consumption": Target(
        ("server/world/consumption.py",),
        ("tests/world/test_consumption.py", "tests/world/test_mutants_world.py"),
    ),
    "repair": Target(
        ("server/minds/repair.py",),
        ("tests/minds/test_repair.py", "tests/minds/test_mutants_repair.py"),
    ),
    "json_shape": Target(
        ("server/minds/json_shape.py",),
        ("tests/minds/test_mutants_repair.py", "tests/minds/test_repair.py"),
    ),
    "merge_patch": Target(("shared/merge_patch.py",), ("tests/shared/test_merge_patch.py",)),
    "storyteller": Target(
        ("server/world/storyteller.py",),
        ("tests/world/test_storyteller.py",),
    ),
}


def scratch_copy(dest: Path) -> None:
    """The tracked tree (and new, unignored files) at `dest`: never the .venv or mutants."""
    if dest.exists():
        shutil.rmtree(dest)
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = ROOT / name.decode()
        if src.is_file():
            (dest / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name.decode())


def config(target: Target) -> str:
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["server", "shared", "clients"]\n'
        f"only_mutate = {json.dumps(list(target.sources))}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(list(target.tests))}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
        "timeout_multiplier = 3.0\n"
    )


def mutate(name: str, target: Target, work: Path, jobs: int) -> dict[str, object]:
    tree = work / name
    scratch_copy(tree)
    with (tree / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write(config(target))
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("CI", None)  # the tier guard is for CI's own run, not for mutants
    mutmut = [sys.executable, "-m", "mutmut"]
    began = time.monotonic()
    subprocess.run(
        [*mutmut, "run", "--max-children", str(jobs)],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    seconds = round(time.monotonic() - began)
    subprocess.run(
        [*mutmut, "export-cicd-stats"], cwd=tree, env=env, capture_output=True, check=False
    )
    stats = json.loads((tree / "mutants" / "mutmut-cicd-stats.json").read_text())
    results = subprocess.run(
        [*mutmut, "results"], cwd=tree, env=env, capture_output=True, text=True, check=False
    ).stdout
    # `results` lists every mutant no failing test killed, timeouts included: a timeout
    # counts as caught (the mutant hung the tests); the others survived.
    survivors = [
        name.strip()
        for name, _, status in (line.partition(":") for line in results.splitlines())
        if name.strip() and status.strip() not in ("killed", "timeout")
    ]
    diffs = [
        subprocess.run(
            [*mutmut, "show", m], cwd=tree, env=env, capture_output=True, text=True, check=False
        ).stdout
        for m in survivors
    ]
    scored = stats["total"] - stats["skipped"]
    killed = stats["killed"] + stats["timeout"] + stats["segfault"]
    return {
        "module": name,
        "sources": list(target.sources),
        "tests": list(target.tests),
        "killed": killed,
        "total": scored,
        "score": round(killed / scored, 3) if scored else None,
        "stats": stats,
        "seconds": seconds,
        "survivors": survivors,
        "diffs": diffs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__)
    parser.add_argument("modules", nargs="*", help=f"of: {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="mutmut workers (default 2)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "smallwood-mutation",
        help="where the scratch trees and the report go",
    )
    parser.add_argument("--list", action="store_true", help="print the modules and tests")
    args = parser.parse_args(argv)
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name}: {' '.join(target.sources)} <- {' '.join(target.tests)}")
        return 0
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; pick from {', '.join(TARGETS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    report_path = args.out / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    for name in args.modules or list(TARGETS):
        result = mutate(name, TARGETS[name], args.out, args.jobs)
        diffs = result.pop("diffs")
        report[name] = result
        (args.out / f"survivors-{name}.diff").write_text("\n".join(diffs), encoding="utf-8")
        report_path.write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(
            f"{name}: {result['killed']}/{result['total']} killed "
            f"(score {result['score']}), {len(result['survivors'])} survived, "
            f"{result['seconds']} s",
            flush=True,
        )
    print(f"report: {report_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

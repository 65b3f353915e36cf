"""`smallwood bench viewer`: how smooth the web viewer stays on a busy world.

Starts a server in-process (a world of `--creatures` creatures ticking every `--tick`
seconds), opens the viewer in Debian's headless chromium with Playwright, and measures for
`--seconds` the gaps between animation frames (requestAnimationFrame) and the long tasks the
page's main thread ran (PerformanceObserver), with a Chrome performance trace beside them.
Prints a summary, or one JSON object with `--json`. The target: no frame over 50 ms in a
30-second trace, with 50 creatures at 2 ticks a second and with 1,000 at 1 tick a second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
"""Debian's chromium (never a browser downloaded by `playwright install`)."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TARGET_MS = 50.0
TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline"]
OVERLAY_WIDGETS = "moments,prices,ticker,mood"

_PROBE = """() => {
  window.__frames = [];
  window.__tasks = [];
  window.__ticks = 0;
  window.smallwood.addEventListener("delta", () => { window.__ticks += 1; });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__tasks.push(e.duration);
    }).observe({ type: "longtask", buffered: false });
  } catch (e) {}
  let last = performance.now();
  const loop = (now) => {
    window.__frames.push(now - last);
    last = now;
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--creatures", type=int, default=50, help="world size (default: 50)")
    parser.add_argument(
        "--tick", type=float, default=0.5, metavar="SECONDS", help="tick period (default: 0.5)"
    )
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="how long to measure (default: 30)"
    )
    parser.add_argument(
        "--page", choices=("viewer", "overlay"), default="viewer", help="page to measure"
    )
    parser.add_argument("--width", type=int, default=1280, help="viewport width (default 1280)")
    parser.add_argument("--height", type=int, default=900, help="viewport height (default 900)")
    parser.add_argument(
        "--widgets",
        default=OVERLAY_WIDGETS,
        help=f"the overlay's widgets with --page overlay (default {OVERLAY_WIDGETS}; "
        "'title' gives a near-idle page: the machine's own baseline)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--trace", type=Path, metavar="PATH", help="also write the Chrome trace (open in DevTools)"
    )


def longest_main_task(trace: bytes, clock: str = "dur") -> float:
    """Milliseconds of the longest task on the page's main thread in a Chrome trace: by the
    wall clock (`dur`), or by the thread's own CPU clock (`tdur`: the page's work alone, the
    same on a quiet machine and on one whose cores are shared)."""
    events = json.loads(trace)["traceEvents"]
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M"
        and e.get("name") == "thread_name"
        and e.get("args", {}).get("name") == "CrRendererMain"
    }
    durations = [
        e.get(clock, 0) / 1000
        for e in events
        if e.get("name") == "RunTask" and (e.get("pid"), e.get("tid")) in main
    ]
    return max(durations, default=0.0)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.async_api import async_playwright  # noqa: PLC0415

    from server.serve import ServeConfig, start  # noqa: PLC0415
    from server.world import large_scenario  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="smallwood-bench-") as tmp:
        scenario = Path(tmp) / "scenario.json"
        world = large_scenario(args.creatures).model_dump(by_alias=True, mode="json")
        scenario.write_text(json.dumps(world), encoding="utf-8")
        config = ServeConfig(
            scenario=scenario,
            tick=args.tick,
            port=0,
            data_dir=Path(tmp) / "data",
            seed=1,
            admin_token="bench",
        )
        server = await start(config)
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = await browser.new_page(viewport={"width": args.width, "height": args.height})
                widgets = getattr(args, "widgets", OVERLAY_WIDGETS)
                path = "/" if args.page == "viewer" else f"/overlay?widgets={widgets}"
                await page.goto(server.url + path)
                await page.wait_for_function("Number(document.body.dataset.tick) > 0")
                await page.wait_for_timeout(1000)  # let the first history load settle
                await page.evaluate(_PROBE)
                await browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
                await page.wait_for_timeout(args.seconds * 1000)
                trace = await browser.stop_tracing()
                if getattr(args, "trace", None):
                    args.trace.write_bytes(trace)
                frames: list[float] = await page.evaluate("window.__frames.slice(1)")
                tasks: list[float] = await page.evaluate("window.__tasks")
                ticks: int = await page.evaluate("window.__ticks")
                # The viewer's board is a virtual list: it names its total, and draws
                # only the rows in view.
                cards: int = await page.evaluate(
                    "Number(document.getElementById('creatures')?.dataset.total"
                    " ?? document.querySelectorAll('[data-creature]').length)"
                )
                drawn: int = await page.evaluate(
                    "document.querySelectorAll('[data-creature]:not([hidden])').length"
                )
                await browser.close()
        finally:
            await server.stop()
    longest = max(frames, default=0.0)
    return {
        "page": args.page,
        "creatures": args.creatures,
        "creatures_shown": cards,
        "rows_drawn": drawn,
        "tick_s": args.tick,
        "seconds": args.seconds,
        "ticks_seen": ticks,
        "frames": len(frames),
        "longest_frame_ms": round(longest, 1),
        "p99_frame_ms": round(percentile(frames, 0.99), 1),
        "p50_frame_ms": round(percentile(frames, 0.5), 1),
        "frames_over_50ms": sum(1 for f in frames if f > TARGET_MS),
        "long_tasks": len(tasks),
        "longest_task_ms": round(max(tasks, default=0.0), 1),
        "trace_longest_main_task_ms": round(longest_main_task(trace), 1),
        "trace_longest_main_task_cpu_ms": round(longest_main_task(trace, "tdur"), 1),
        "target_ms": TARGET_MS,
        "ok": longest <= TARGET_MS,
    }


def run(args: argparse.Namespace) -> int:
    """Print the figures as JSON; exit 1 when a frame went over the target."""
    try:
        figures = asyncio.run(measure(args))
    except ImportError as exc:
        print(f"smallwood bench viewer: {exc} (pip install playwright)", file=sys.stderr)
        return 2
    print(json.dumps(figures) if getattr(args, "json", False) else render(figures))
    return 0 if figures["ok"] else 1


def render(figures: dict[str, Any]) -> str:
    """The figures for people, one line each."""
    verdict = "ok" if figures["ok"] else f"over the {figures['target_ms']:.0f} ms target"
    return "\n".join(
        [
            f"{figures['page']}: {figures['creatures']} creatures, a tick every "
            f"{figures['tick_s']} s, {figures['seconds']:.0f} s measured "
            f"({figures['ticks_seen']} ticks)",
            f"frames {figures['frames']}: longest {figures['longest_frame_ms']} ms, "
            f"p99 {figures['p99_frame_ms']} ms, p50 {figures['p50_frame_ms']} ms, "
            f"{figures['frames_over_50ms']} over 50 ms ({verdict})",
            f"main thread: longest task {figures['trace_longest_main_task_ms']} ms in the trace "
            f"({figures['trace_longest_main_task_cpu_ms']} ms of its own CPU time), "
            f"{figures['long_tasks']} long tasks",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.bench_viewer", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())

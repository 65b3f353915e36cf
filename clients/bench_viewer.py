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
import bisect
import itertools
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
  window.__loaf = [];
  window.__ticks = 0;
  window.smallwood.addEventListener("delta", () => { window.__ticks += 1; });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__tasks.push(e.duration);
    }).observe({ type: "longtask", buffered: false });
  } catch (e) {}
  try {
    // Long animation frames, with the scripts that ran in them (where the time went).
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        window.__loaf.push({
          duration: e.duration,
          blocking: e.blockingDuration,
          render: e.renderStart ? e.startTime + e.duration - e.renderStart : 0,
          layout: e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0,
          scripts: e.scripts.map((s) => ({
            what: `${s.invoker || s.invokerType} ${(s.sourceURL || "").split("/").pop()}`
              + `${s.sourceFunctionName ? ":" + s.sourceFunctionName : ""}`,
            ms: s.duration,
            layout: s.forcedStyleAndLayoutDuration,
          })),
        });
      }
    }).observe({ type: "long-animation-frame", buffered: false });
  } catch (e) {}
  let last = performance.now();
  const __frameProbe = (now) => {
    window.__frames.push(now - last);
    last = now;
    requestAnimationFrame(__frameProbe);
  };
  requestAnimationFrame(__frameProbe);
}"""
PROBE_FUNCTION = "__frameProbe"
"""The probe's rAF callback: its calls in the trace mark the frames."""


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


def is_probe(event: dict[str, Any]) -> bool:
    """A call of the frame probe's rAF callback in a Chrome trace."""
    return (
        event.get("name") == "FunctionCall"
        and event.get("ph") == "X"
        and event.get("args", {}).get("data", {}).get("functionName") == PROBE_FUNCTION
    )


def main_thread(events: list[dict[str, Any]]) -> tuple[int, int] | None:
    """The (pid, tid) of the renderer main thread that ran the frame probe."""
    return next(((e["pid"], e["tid"]) for e in events if is_probe(e)), None)


def frame_work(trace: bytes) -> list[dict[str, float]]:
    """Each frame of the probe (from one of its rAF callbacks to the next) from a Chrome
    trace: `gap_ms` by the wall clock, and the page's own work in it, the main thread's tasks
    that began in the gap: `busy_ms` by the wall clock, `cpu_ms` by the thread's own CPU clock.
    A long gap with little work was the machine (other processes had the cores, or the
    compositor was late); a long gap full of work was the page."""
    events = json.loads(trace)["traceEvents"]
    thread = main_thread(events)
    if thread is None:
        return []
    mine = [e for e in events if (e.get("pid"), e.get("tid")) == thread and e.get("ph") == "X"]
    marks = sorted(e["ts"] for e in mine if is_probe(e))
    tasks = sorted(
        (e["ts"], e.get("dur", 0), e.get("tdur", 0)) for e in mine if e["name"] == "RunTask"
    )
    starts = [t[0] for t in tasks]
    frames = []
    for begin, end in itertools.pairwise(marks):
        inside = tasks[bisect.bisect_left(starts, begin) : bisect.bisect_left(starts, end)]
        frames.append(
            {
                "gap_ms": (end - begin) / 1000,
                "busy_ms": sum(t[1] for t in inside) / 1000,
                "cpu_ms": sum(t[2] for t in inside) / 1000,
            }
        )
    return frames


def where_time_went(loaf: list[dict[str, Any]], top: int = 5) -> list[dict[str, Any]]:
    """The scripts that ran longest in long animation frames, summed by what they were."""
    total: dict[str, list[float]] = {}
    for frame in loaf:
        for script in frame.get("scripts", []):
            entry = total.setdefault(script["what"], [0.0, 0.0, 0.0])
            entry[0] += script["ms"]
            entry[1] = max(entry[1], script["ms"])
            entry[2] += script.get("layout") or 0.0
    ranked = sorted(total.items(), key=lambda kv: -kv[1][0])[:top]
    return [
        {
            "script": k,
            "total_ms": round(v[0], 1),
            "longest_ms": round(v[1], 1),
            "forced_layout_ms": round(v[2], 1),
        }
        for k, v in ranked
    ]


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
                loaf: list[dict[str, Any]] = await page.evaluate("window.__loaf")
                parts: dict[str, float] = await page.evaluate(
                    "window.smallwoodViewer ? window.smallwoodViewer.timings : {}"
                )
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
    work = frame_work(trace)
    cpu = [f["cpu_ms"] for f in work]
    slow = sorted(work, key=lambda f: -f["gap_ms"])[:5]
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
        "page_work_frames": len(work),
        "page_work_p50_ms": round(percentile(cpu, 0.5), 1),
        "page_work_p99_ms": round(percentile(cpu, 0.99), 1),
        "page_work_max_ms": round(max(cpu, default=0.0), 1),
        "page_work_frames_over_50ms": sum(1 for c in cpu if c > TARGET_MS),
        "longest_frames": [{k: round(v, 1) for k, v in f.items()} for f in slow],
        "long_animation_frames": len(loaf),
        "long_animation_frame_scripts": where_time_went(loaf),
        "viewer_parts_max_ms": {k: round(v, 2) for k, v in sorted(parts.items())},
        "target_ms": TARGET_MS,
        "ok": longest <= TARGET_MS,
        "page_ok": max(cpu, default=0.0) <= TARGET_MS,
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
            f"the page's own work per frame (main-thread CPU, trace): "
            f"p50 {figures['page_work_p50_ms']} ms, p99 {figures['page_work_p99_ms']} ms, "
            f"max {figures['page_work_max_ms']} ms, "
            f"{figures['page_work_frames_over_50ms']} frames over 50 ms",
            "longest frames (wall / page busy / page CPU, ms): "
            + ", ".join(
                f"{f['gap_ms']}/{f['busy_ms']}/{f['cpu_ms']}" for f in figures["longest_frames"]
            ),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.bench_viewer", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())

"""`smallwood view [URL]`: the live Wood in a terminal, for people on a server over SSH.

`render(world, events)` draws one frame as a rich renderable (testable with a recording
console); `run(args)` follows a server's `/ws` with `clients.stream` and redraws on every tick.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .stream import Status, WorldView, follow

SEASON_STYLE = {"spring": "green", "summer": "yellow", "autumn": "dark_orange", "winter": "cyan"}
STATUS_STYLE = {"live": "bold green", "stale": "bold red", "connecting": "dim"}
TRADE_ROWS = 10
NEWS_ROWS = 8
NARROW_ROWS = 4
"""Trades and news lines when the panels stack, so an 80×24 terminal still reaches the cast."""
WIDE = 100
"""From this many columns on, the market and the trades sit side by side; below, stacked."""
PRICE_WIDTH = 7
"""Every price column is this wide, so `12.34` never becomes `1…`."""
DRIVERS = ("script", "model", "bot")


def brain_kind(creature: Mapping[str, Any], *, detail: bool = True) -> str:
    """Who decides: the world's `driver` when it sends one, else guessed from `brain`.

    With `detail`, a model-driven creature also names its model when `brain` does.
    """
    brain = str(creature.get("brain", ""))
    driver = creature.get("driver")
    if driver in DRIVERS:
        kind = str(driver)
    elif brain == "scripted":
        kind = "script"
    elif brain == "bot":
        kind = "bot"
    else:
        kind = "model"
    if detail and kind == "model" and brain not in ("", "scripted", "bot", "model"):
        return f"model ({brain})"
    return kind


def bar(share: float, width: int = 10) -> str:
    share = max(0.0, min(1.0, share))
    full = round(share * width)
    return "█" * full + "░" * (width - full)


def num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def header(world: Mapping[str, Any], status: Status) -> Text:
    season = world["season"]
    text = Text()
    text.append("smallwood ", style="bold")
    text.append(f"{world['scenario']}  ")
    text.append(f"tick {world['tick']}  ")
    text.append(f"{season}", style=SEASON_STYLE.get(season, ""))
    text.append(f" day {world['day']}/{world['ticks_per_season']}, year {world['year']}  ")
    if season != "winter":
        text.append(f"winter in {world['ticks_to_winter']}  ")
    text.append(f"gini {num(world['gini'])}  ")
    label = {"live": "● live", "stale": "✕ stale: reconnecting", "connecting": "connecting"}
    text.append(label[status], style=STATUS_STYLE[status])
    fuel = world.get("fuel")
    if fuel:
        left = fuel.get("ticks_left")
        text.append("\nwinter fuel ")
        style = "green" if left is None or left > 25 else "yellow" if left > 10 else "bold red"
        text.append(bar(1.0 if left is None else left / 50, 20), style=style)
        text.append(
            f" {fuel['good']}: {fuel['stock']} in stock, {num(fuel['need'])} each per tick"
            + (", nothing burns now" if left is None else f", lasts {num(left, 1)} ticks")
        )
    return text


def creatures_table(world: Mapping[str, Any], *, wide: bool = True) -> Table:
    table = Table(title="creatures", title_justify="left", expand=True, pad_edge=False)
    # Narrow, the columns one can do without go: what it makes, its stores, the model's name.
    columns = ("creature", "brain", "makes", "pebbles", "mood", "state", "stores")
    shown = columns if wide else ("creature", "brain", "pebbles", "mood", "state")
    for column in shown:
        table.add_column(
            column,
            justify="right" if column == "pebbles" else "left",
            no_wrap=column != "stores",
            min_width=PRICE_WIDTH if column == "pebbles" else None,
        )
    for c in world["creatures"].values():
        mood = float(c["mood"])
        mood_style = "green" if mood >= 0.6 else "yellow" if mood >= 0.3 else "red"
        state = (
            f"exiled → {c.get('returns', '?')}"
            if c["status"] == "exiled"
            else f"{'fed' if c['fed'] else 'hungry'}, {'warm' if c['warm'] else 'cold'}"
        )
        stores = " ".join(f"{g[:3]} {n}" for g, n in c["stores"].items())
        who = c["name"] if c["species"].lower() in c["name"].lower() else None
        cells: dict[str, RenderableType] = {
            "creature": Text(
                who or f"{c['name']} ({c['species']})",
                style="dim" if c["status"] == "exiled" else "",
            ),
            "brain": brain_kind(c, detail=wide),
            "makes": c["produces"],
            "pebbles": num(c["pebbles"]),
            "mood": Text(bar(mood, 8), style=mood_style),
            "state": state,
            "stores": stores,
        }
        table.add_row(*(cells[column] for column in shown))
    return table


def prices_table(world: Mapping[str, Any]) -> Table:
    table = Table(title="market (* fuel)", title_justify="left", expand=True, pad_edge=False)
    for column in ("good", "ref", "last", "opening", "supply"):
        fixed = PRICE_WIDTH if column != "good" else None
        table.add_column(
            column,
            justify="left" if column == "good" else "right",
            no_wrap=True,
            min_width=fixed,
        )
    for good, board in world["goods"].items():
        ref = float(board["ref"])
        opening = float(board["opening"])
        style = "green" if ref > opening * 1.05 else "red" if ref < opening * 0.95 else ""
        table.add_row(
            good + ("*" if board.get("fuel") else ""),
            Text(num(ref), style=style),
            num(board.get("last")),
            num(opening),
            str(board["supply"]),
        )
    return table


def trades_table(world: Mapping[str, Any], rows: int = TRADE_ROWS) -> Table:
    names = {cid: c["name"] for cid, c in world["creatures"].items()}
    table = Table(title="trades", title_justify="left", expand=True, pad_edge=False)
    for column in ("tick", "good", "qty", "price", "buyer ← seller"):
        # One line a trade: the names give way (…) before a price does.
        table.add_column(
            column,
            no_wrap=True,
            justify="right" if column in ("qty", "price") else "left",
            min_width=PRICE_WIDTH if column == "price" else None,
            overflow="ellipsis" if column == "buyer ← seller" else "fold",
        )
    trades = sorted(world["trades"].values(), key=lambda t: -t["tick"])[:rows]
    for t in trades:
        table.add_row(
            str(t["tick"]),
            t["good"],
            str(t["qty"]),
            num(t["price"]),
            f"{names.get(t['buyer'], t['buyer'])} ← {names.get(t['seller'], t['seller'])}",
        )
    return table


def news(
    world: Mapping[str, Any],
    events: Iterable[tuple[int, Mapping[str, Any]]],
    rows: int = NEWS_ROWS,
) -> Table:
    names = {cid: c["name"] for cid, c in world["creatures"].items()}
    table = Table(title="legends and gossip", title_justify="left", expand=True, show_header=False)
    table.add_column("when", style="dim", width=6)
    table.add_column("what")
    for legend in world["legends"].values():
        kind = "rumour" if legend["rumour"] else "legend"
        table.add_row(
            f"→{legend['ends']}",
            Text(f"{legend['title']} ({kind}): {legend['story']}", style="bold yellow"),
        )
    lines: list[tuple[int, Text]] = []
    for tick, e in events:
        what = e.get("type")
        creature = str(e.get("creature", ""))
        who = names.get(creature, creature)
        if what == "creature_exiled":
            lines.append((tick, Text(f"{who} is exiled until tick {e['until']}", style="red")))
        elif what == "creature_returned":
            lines.append((tick, Text(f"{who} returns from exile", style="green")))
        elif what == "legend_began":
            lines.append((tick, Text(f"legend begins: {e['title']}", style="yellow")))
        elif what == "rumour_resolved":
            verdict = "true" if e["true"] else "false"
            lines.append((tick, Text(f"the rumour was {verdict}: {e['outcome']}", style="yellow")))
        elif what == "season_began":
            lines.append((tick, Text(f"{e['season']} of year {e['year']} begins")))
        elif what == "creature_joined":
            lines.append((tick, Text(f"{e['name']} the {e['species']} joins the Wood")))
    for g in world["gossip"].values():
        lines.append((g["tick"], Text(f"{g['name']}: “{g['text']}”")))
    lines.sort(key=lambda pair: -pair[0])
    for when, line in lines[:rows]:
        table.add_row(str(when), line)
    return table


class Dashboard:
    """One frame, laid out for the width it is drawn at (so a resized terminal re-flows)."""

    def __init__(
        self,
        world: Mapping[str, Any],
        events: Iterable[tuple[int, Mapping[str, Any]]],
        status: Status,
        problem: str | None = None,
    ) -> None:
        self.world = world
        self.events = list(events)
        self.status = status
        self.problem = problem

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        world = self.world
        wide = options.max_width >= WIDE
        if wide:
            market = Table.grid(expand=True, padding=(0, 2))
            market.add_column(ratio=2)
            market.add_column(ratio=3)
            market.add_row(prices_table(world), trades_table(world))
            panels: list[RenderableType] = [market]
        else:
            panels = [prices_table(world), trades_table(world, NARROW_ROWS)]
        # The creatures go last: on a short terminal, a long cast is what gets cropped.
        top = header(world, self.status)
        if self.problem and self.status != "live":
            top.append("\n" + self.problem, style="bold red")
        yield Group(
            top,
            *panels,
            news(world, self.events, NEWS_ROWS if wide else NARROW_ROWS),
            creatures_table(world, wide=wide),
        )


def render(
    world: Mapping[str, Any] | None,
    events: Iterable[tuple[int, Mapping[str, Any]]] = (),
    *,
    status: Status = "live",
    problem: str | None = None,
) -> RenderableType:
    """One frame of the dashboard for a world document and its recent (tick, event) pairs.

    Below `WIDE` columns the panels stack and the creatures table drops its minor columns.
    """
    if world is None:
        text = Text("waiting for the Wood… (" + status + ")", style=STATUS_STYLE[status])
        if problem:
            text.append("\n" + problem, style="bold red")
        return text
    return Dashboard(world, events, status, problem)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url",
        nargs="?",
        default="http://127.0.0.1:8765",
        help="the server (http://host:port or ws://host:port/ws; default: http://127.0.0.1:8765)",
    )
    parser.add_argument(
        "--fps", type=float, default=4.0, help="most redraws per second (default: 4)"
    )


async def watch(url: str, console: Console | None = None, fps: float = 4.0) -> None:
    view = WorldView()
    with Live(
        render(None, status="connecting"),
        console=console,
        refresh_per_second=max(1.0, fps),
        screen=False,
        auto_refresh=True,
        vertical_overflow="crop",
    ) as live:
        async for current in follow(url, view):
            live.update(
                render(
                    current.world, current.events, status=current.status, problem=current.problem
                )
            )


def run(args: argparse.Namespace) -> int:
    """`smallwood view`: draw the Wood until Ctrl-C."""
    try:
        asyncio.run(watch(args.url, fps=args.fps))
    except KeyboardInterrupt:
        return 0
    return 0

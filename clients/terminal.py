"""`smallwood view [URL]`: the live Wood in a terminal, for people on a server over SSH.

`render(world, events)` draws one frame as a rich renderable (testable with a recording
console); `run(args)` follows a server's `/ws` with `clients.stream` and redraws on every tick.
Given a `height` (the terminal's), a frame fits it: the header, the market beside the trades,
the creatures (the richest first, as many as fit) and the news with what is left; an 80×24
terminal shows them all, a taller or wider one more. Every string a world sent passes through
`clients.screen_text.clean` first: no byte of it can act as a control sequence.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .screen_text import clean, clean_tree
from .stream import Status, WorldView, follow

SEASON_STYLE = {"spring": "green", "summer": "yellow", "autumn": "dark_orange", "winter": "cyan"}
STATUS_STYLE = {
    "live": "bold green",
    "degraded": "bold yellow",
    "paused": "bold cyan",
    "idle": "dim",
    "stale": "bold red",
    "reconnecting": "bold red",
    "connecting": "dim",
}
STATUS_LABEL = {
    "live": "● live",
    "degraded": "▲ degraded",
    "paused": "‖ paused",
    "idle": "○ idle",
    "stale": "■ stale",
    "reconnecting": "↻ reconnecting",
    "connecting": "… connecting",
}
"""The same states and words as the web pages' badge (text marks, no emoji)."""
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


def header(world: Mapping[str, Any], status: Status, reason: str = "") -> Text:
    """Two lines: the world's state first (never cut), where it is in time; then the year's
    pressure: winter, gini and the fuel gauge."""
    season = world["season"]
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(STATUS_LABEL[status], style=STATUS_STYLE[status])
    if reason and status != "live":
        text.append(f" ({reason})", style=STATUS_STYLE[status])
    text.append("  smallwood ", style="bold")
    text.append(f"{world['scenario']}  ")
    text.append(f"tick {world['tick']}  ")
    text.append(f"{season}", style=SEASON_STYLE.get(season, ""))
    text.append(f" {world['day']}/{world['ticks_per_season']}, year {world['year']}")
    text.append("\n")
    text.append("winter now  " if season == "winter" else f"winter in {world['ticks_to_winter']}  ")
    text.append(f"gini {num(world['gini'])}")
    fuel = world.get("fuel")
    if fuel:
        left = fuel.get("ticks_left")
        text.append("  fuel ")
        style = "green" if left is None or left > 25 else "yellow" if left > 10 else "bold red"
        text.append(bar(1.0 if left is None else left / 50, 10), style=style)
        text.append(
            f" {fuel['good']} {fuel['stock']}, {num(fuel['need'])} each a tick"
            + (", none burns" if left is None else f", lasts {num(left, 1)} ticks")
        )
    return text


def compact(title: str, **kwargs: Any) -> Table:
    """A table without rules: a title line, a header line, then one line a row."""
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        expand=True,
        pad_edge=False,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1),
        **kwargs,
    )


def wealth_of(world: Mapping[str, Any], c: Mapping[str, Any]) -> float:
    """Pebbles and stores at reference prices (as the web viewer's board counts it)."""
    goods = world["goods"]
    stores = sum(n * float(goods[g]["ref"]) for g, n in c["stores"].items() if g in goods)
    return float(c["pebbles"]) + float(stores)


def by_wealth(world: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The creatures, the richest first."""
    return sorted(world["creatures"].values(), key=lambda c: -wealth_of(world, c))


def creatures_table(
    world: Mapping[str, Any], *, wide: bool = True, rows: int | None = None
) -> Table:
    creatures = by_wealth(world)
    total = len(creatures)
    shown_rows = creatures if rows is None else creatures[: max(0, rows)]
    title = "creatures, richest first"
    if len(shown_rows) < total:
        title += f" ({len(shown_rows)} of {total}: a taller terminal shows more)"
    table = compact(title)
    # Narrow, the columns one can do without go: what it makes, its stores, the model's name.
    columns = ("creature", "brain", "makes", "wealth", "pebbles", "mood", "state", "stores")
    shown = columns if wide else ("creature", "brain", "wealth", "pebbles", "mood", "state")
    for column in shown:
        money = column in ("wealth", "pebbles")
        table.add_column(
            column,
            justify="right" if money else "left",
            no_wrap=column != "stores",
            min_width=PRICE_WIDTH if money else None,
        )
    for c in shown_rows:
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
            "wealth": num(wealth_of(world, c), 1),
            "pebbles": num(c["pebbles"]),
            "mood": Text(bar(mood, 8 if wide else 6), style=mood_style),
            "state": state,
            "stores": stores,
        }
        table.add_row(*(cells[column] for column in shown))
    return table


def prices_table(world: Mapping[str, Any], *, wide: bool = True) -> Table:
    table = compact("market (* fuel)")
    columns = ("good", "ref", "last", "opening", "supply") if wide else ("good", "ref", "last")
    for column in columns:
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
        cells = [
            good + ("*" if board.get("fuel") else ""),
            Text(num(ref), style=style),
            num(board.get("last")),
            num(opening),
            str(board["supply"]),
        ]
        table.add_row(*cells[: len(columns)])
    return table


def trades_table(world: Mapping[str, Any], rows: int = TRADE_ROWS, *, wide: bool = True) -> Table:
    names = {cid: c["name"] for cid, c in world["creatures"].items()}
    table = compact("trades")
    columns: tuple[str, ...] = ("tick", "good", "qty", "price", "buyer ← seller")
    if not wide:
        columns = columns[1:]  # narrow, the tick goes: the newest come first anyway
    for column in columns:
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
        cells = [
            str(t["tick"]),
            t["good"],
            str(t["qty"]),
            num(t["price"]),
            f"{names.get(t['buyer'], t['buyer'])} ← {names.get(t['seller'], t['seller'])}",
        ]
        table.add_row(*cells[len(cells) - len(columns) :])
    return table


def news(
    world: Mapping[str, Any],
    events: Iterable[tuple[int, Mapping[str, Any]]],
    rows: int = NEWS_ROWS,
) -> Table:
    names = {cid: c["name"] for cid, c in world["creatures"].items()}
    table = compact("legends and gossip", show_header=False)
    table.add_column("when", style="dim", width=6, no_wrap=True)
    table.add_column("what", no_wrap=True, overflow="ellipsis")
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
    for when, line in lines[: max(0, rows - table.row_count)]:
        table.add_row(str(when), line)
    return table


class Dashboard:
    """One frame, laid out for the size it is drawn at (so a resized terminal re-flows).

    With `height`, the frame fits in that many lines: header, then the market beside the
    trades, then as many creatures as fit (the richest first), then the news.
    """

    def __init__(
        self,
        world: Mapping[str, Any],
        events: Iterable[tuple[int, Mapping[str, Any]]],
        status: Status,
        problem: str | None = None,
        height: int | None = None,
        reason: str = "",
    ) -> None:
        self.world = clean_tree(world)
        self.events = [(tick, clean_tree(e)) for tick, e in events]
        self.status = status
        self.problem = clean(problem) if problem else None
        self.height = height
        self.reason = clean(reason)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        world = self.world
        width = options.max_width
        wide = width >= WIDE
        top = header(world, self.status, self.reason)
        if self.problem and self.status != "live":
            top.append("\n" + self.problem, style="bold red")
        head_lines = len(top.wrap(console, width, no_wrap=True))
        goods = len(world["goods"])
        height = self.height
        if width >= 72:
            # The market beside the trades: one block as tall as the list of goods.
            market = Table.grid(expand=True, padding=(0, 2))
            market.add_column(width=54 if wide else 30)
            market.add_column(ratio=1)
            market.add_row(
                prices_table(world, wide=wide), trades_table(world, max(goods, 3), wide=wide)
            )
            market_lines = max(goods, 3) + 3
            blocks: list[RenderableType] = [market]
        else:
            blocks = [prices_table(world, wide=False), trades_table(world, NARROW_ROWS)]
            market_lines = goods + 3 + NARROW_ROWS + 3
        n = len(world["creatures"])
        if height is None:
            creature_rows: int | None = None
            news_rows = NEWS_ROWS if wide else NARROW_ROWS
        else:
            left = max(0, height - head_lines - market_lines)
            news_min = 4 if left >= 12 else 0  # title, rule and two lines of news
            creature_rows = max(0, min(n, left - 3 - news_min))
            news_rows = max(0, left - (creature_rows + 3) - 2)
        out: list[RenderableType] = [top, *blocks]
        out.append(creatures_table(world, wide=wide, rows=creature_rows))
        if news_rows > 0:
            out.append(news(world, self.events, news_rows))
        yield Group(*out)


def render(
    world: Mapping[str, Any] | None,
    events: Iterable[tuple[int, Mapping[str, Any]]] = (),
    *,
    status: Status = "live",
    problem: str | None = None,
    height: int | None = None,
    reason: str = "",
) -> RenderableType:
    """One frame of the dashboard for a world document and its recent (tick, event) pairs.

    Below `WIDE` columns the tables drop their minor columns; with `height` the frame fits
    that many lines (see `Dashboard`).
    """
    if world is None:
        text = Text(f"waiting for the Wood… ({STATUS_LABEL[status]})", style=STATUS_STYLE[status])
        if problem:
            text.append("\n" + clean(problem), style="bold red")
        return text
    return Dashboard(world, events, status, problem, height, reason)


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
    """Draw the Wood at `url` until cancelled, redrawing on every frame and at `fps` (so a
    world that goes quiet turns stale, and a resized terminal re-flows)."""
    view = WorldView()
    console = console or Console()
    fit = console.is_terminal

    def frame() -> RenderableType:
        return render(
            view.world,
            view.events,
            status=view.status,
            problem=view.problem,
            height=console.size.height if fit else None,
            reason=view.reason,
        )

    async def follow_all() -> None:
        async for _ in follow(url, view):
            changed.set()

    changed = asyncio.Event()
    with Live(
        frame(),
        console=console,
        auto_refresh=False,
        screen=fit,
        vertical_overflow="crop",
    ) as live:
        task = asyncio.create_task(follow_all())
        try:
            while not task.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 1.0 / max(0.5, fps))
                changed.clear()
                live.update(frame(), refresh=True)
            task.result()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def run(args: argparse.Namespace) -> int:
    """`smallwood view`: draw the Wood until Ctrl-C."""
    try:
        asyncio.run(watch(args.url, fps=args.fps))
    except KeyboardInterrupt:
        return 0
    return 0

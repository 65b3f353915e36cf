"""The simulation chart: prices per good and wealth per creature over time, with the
seasons shaded and the legends marked, drawn from a finished report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SEASON_COLOURS = {
    "spring": "#e8f5e9",
    "summer": "#fffde7",
    "autumn": "#fbe9e7",
    "winter": "#e3f2fd",
}
GOOD_COLOURS = ["#8d6e63", "#c2185b", "#6d4c41", "#f9a825", "#e65100", "#5e35b1", "#00897b"]


def plot_report(report: dict[str, Any], path: str | Path) -> Path:
    """Write a PNG chart of `report` to `path` (matplotlib, no display needed)."""
    import matplotlib  # noqa: PLC0415 - heavy: only when a chart is asked for

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    rows = report["ticks"]
    ticks = [r["tick"] for r in rows]
    fig, (ax_price, ax_wealth) = plt.subplots(
        2, 1, figsize=(13, 8.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    fig.suptitle(f"{report['scenario']} — seed {report['seed']}, {len(rows)} ticks", fontsize=14)
    for ax in (ax_price, ax_wealth):
        _shade_seasons(ax, rows)
    goods = list(rows[0]["ref_prices"]) if rows else []
    for i, good in enumerate(goods):
        colour = GOOD_COLOURS[i % len(GOOD_COLOURS)]
        ax_price.plot(
            ticks, [r["ref_prices"][good] for r in rows], color=colour, lw=1.6, label=good
        )
        cleared = [(r["tick"], r["prices"][good]) for r in rows if r["prices"][good] is not None]
        if cleared:
            xs, ys = zip(*cleared, strict=True)
            ax_price.scatter(xs, ys, color=colour, s=4, alpha=0.35, linewidths=0)
    _mark_legends(ax_price, report)
    ax_price.set_ylabel("pebbles per unit\n(line: reference, dots: cleared)")
    ax_price.set_yscale("log")
    ax_price.legend(
        loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(goods) or 1, fontsize=9, frameon=False
    )
    ax_price.grid(alpha=0.25)

    creatures = list(rows[0]["creatures"]) if rows else []
    for cid in creatures:
        ax_wealth.plot(ticks, [r["creatures"][cid]["wealth"] for r in rows], lw=1.3, label=cid)
    ax_wealth.set_ylabel("wealth (pebbles + stores\nat reference prices)")
    ax_wealth.set_xlabel("tick")
    ax_wealth.grid(alpha=0.25)
    if len(creatures) <= 12:
        ax_wealth.legend(loc="upper left", ncol=min(6, len(creatures)), fontsize=9, frameon=False)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _shade_seasons(ax: Any, rows: list[dict[str, Any]]) -> None:
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i]["season"] != rows[start]["season"]:
            season = rows[start]["season"]
            ax.axvspan(
                rows[start]["tick"] - 0.5,
                rows[i - 1]["tick"] + 0.5,
                color=SEASON_COLOURS.get(season, "#ffffff"),
                lw=0,
                zorder=0,
            )
            start = i


def _mark_legends(ax: Any, report: dict[str, Any]) -> None:
    for told in report["summary"]["legends"]:
        if "title" not in told:
            continue
        ax.axvline(told["tick"], color="#444", lw=0.8, ls="--", zorder=1)
        ax.annotate(
            told["title"].removeprefix("The "),
            xy=(told["tick"], 1),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=7,
            color="#333",
        )

// board.js: the creatures ranked by wealth, as a virtual list (only the rows in view exist),
// with a search box and a top-N choice, so one board serves 5 creatures or 1,000.
import { brainKind, brainLabel, fmt, h, setText } from "./wood.js";
import { wealthOf } from "./series.js";

export const ROW_H = 42; // px: every row is this tall (style.css agrees), so the list can be virtual
export const TREND_TICKS = 10;

export class Board {
  /**
   * `list` holds the rows and `spacer` gives it its full height; `search` and `top` filter;
   * `count` says how many show; `onOpen(id)` runs when a row is clicked or Enter is pressed.
   */
  constructor({ list, spacer, search, top, count, onOpen }) {
    Object.assign(this, { list, spacer, search, top, count, onOpen });
    this.rows = []; // the pool of row elements
    this.ranking = []; // [{id, wealth, trend, rank}] after search and top-N
    this.height = 0;
    // The scroll position as the last scroll event left it: reading `scrollTop` while
    // drawing, after the frame's other writes, would force a layout every tick.
    this.scrollTop = list.scrollTop;
    list.addEventListener("scroll", () => { this.scrollTop = list.scrollTop; }, { passive: true });
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver((entries) => {
        this.height = entries[0].contentRect.height;
      }).observe(list);
    }
  }

  /** The richest creature's id (with no search, the ranking's first). */
  leader() {
    return this.ranking.length && !this.search.value ? this.ranking[0].id : null;
  }

  _row() {
    const el = h("div", { class: "row-c", role: "listitem", tabindex: "-1" });
    el.innerHTML = `
      <span class="c-rank muted"></span>
      <span class="c-who"><span class="c-line1"><strong class="c-name"></strong><span class="c-brain pill"></span></span>
        <span class="c-line2 muted small"><span class="c-species"></span> · <span class="c-produces"></span></span></span>
      <span class="c-wealth num"></span>
      <span class="c-trend num small"></span>
      <span class="c-purse num"></span>
      <span class="mood" title="mood"><span class="mood-bar"></span></span>
      <span class="c-flags small"></span>`;
    const q = (s) => el.querySelector(s);
    const row = {
      el, id: null, rank: q(".c-rank"), name: q(".c-name"), species: q(".c-species"), brain: q(".c-brain"),
      produces: q(".c-produces"), wealth: q(".c-wealth"), trend: q(".c-trend"), purse: q(".c-purse"),
      mood: q(".mood-bar"), flags: q(".c-flags"), moodValue: -1,
    };
    el.addEventListener("click", () => row.id && this.onOpen(row.id));
    el.addEventListener("keydown", (e) => {
      if ((e.key === "Enter" || e.key === " ") && row.id) this.onOpen(row.id);
    });
    return row;
  }

  /** Back to the top of the list (a new search or top-N). */
  toTop() {
    this.list.scrollTop = 0;
    this.scrollTop = 0;
  }

  /** Rank `world`'s creatures by wealth (the last of `wealth`'s series, as charted). */
  rank(world, wealth) {
    const query = this.search.value.trim().toLowerCase();
    const top = this.top.value;
    const all = [];
    for (const id of Object.keys(world.creatures)) {
      const series = wealth[id] || [];
      const now = series.length ? series[series.length - 1] : wealthOf(world, world.creatures[id]);
      const then = series.length > TREND_TICKS ? series[series.length - 1 - TREND_TICKS] : series.find((v) => v !== null);
      all.push({ id, wealth: now, trend: then === null || then === undefined ? 0 : now - then });
    }
    all.sort((a, b) => b.wealth - a.wealth || (a.id < b.id ? -1 : 1));
    all.forEach((r, i) => { r.rank = i + 1; });
    let shown = all;
    if (query) {
      shown = all.filter(({ id }) => {
        const c = world.creatures[id];
        return [id, c.name, c.species, c.produces].some((s) => String(s).toLowerCase().includes(query));
      });
    }
    if (top !== "all") shown = shown.slice(0, Number(top));
    this.ranking = shown;
    this.list.dataset.total = String(all.length);
    this.list.dataset.shown = String(shown.length);
    setText(this.count, shown.length === all.length ? `(${all.length})` : `(${shown.length} of ${all.length})`);
  }

  /** Draw the rows in view; `selected` is the creature whose view is open. */
  render(world, selected) {
    const { list, spacer, rows, ranking } = this;
    // The scroll position and height as their observers last saw them: no layout forced.
    const scrollTop = this.scrollTop;
    const viewHeight = this.height || list.clientHeight || 600;
    const height = `${ranking.length * ROW_H}px`;
    if (spacer.style.height !== height) spacer.style.height = height;
    const first = Math.max(0, Math.floor(scrollTop / ROW_H) - 2);
    const count = Math.min(ranking.length - first, Math.ceil(viewHeight / ROW_H) + 4);
    while (rows.length < count) {
      const row = this._row();
      rows.push(row);
      list.append(row.el);
    }
    for (let i = 0; i < rows.length; i += 1) {
      const row = rows[i];
      const entry = i < count ? ranking[first + i] : null;
      if (!entry) {
        if (!row.el.hidden) row.el.hidden = true;
        row.id = null;
        continue;
      }
      if (row.el.hidden) row.el.hidden = false;
      this._fill(row, entry, world.creatures[entry.id], first + i, selected);
    }
  }

  _fill(row, entry, c, index, selected) {
    if (row.id !== entry.id) {
      row.id = entry.id;
      row.el.dataset.creature = entry.id;
      row.moodValue = -1;
    }
    const y = `translateY(${index * ROW_H}px)`;
    if (row.el.style.transform !== y) row.el.style.transform = y;
    const kind = brainKind(c);
    setText(row.rank, entry.rank);
    setText(row.name, c.name);
    setText(row.species, c.species);
    setText(row.brain, brainLabel(c));
    if (row.brain.dataset.kind !== kind) row.brain.dataset.kind = kind;
    setText(row.produces, `makes ${c.produces}`);
    setText(row.wealth, fmt(entry.wealth, 1));
    setText(row.purse, fmt(c.pebbles, 1));
    const t = entry.trend;
    const dir = t > 0.05 ? "up" : t < -0.05 ? "down" : "flat";
    if (row.trend.dataset.trend !== dir) row.trend.dataset.trend = dir;
    setText(row.trend, dir === "flat" ? "0" : `${t > 0 ? "+" : "−"}${fmt(Math.abs(t), 1)}`);
    if (row.moodValue !== c.mood) {
      row.moodValue = c.mood;
      row.mood.style.transform = `scaleX(${Math.max(0, Math.min(1, c.mood)).toFixed(3)})`;
      row.mood.dataset.level = c.mood < 0.3 ? "low" : c.mood < 0.6 ? "mid" : "high";
      row.mood.parentElement.title = `mood ${fmt(c.mood, 2)}`;
    }
    const exiled = c.status === "exiled";
    setText(row.flags, exiled ? `exiled → ${c.returns ?? "?"}` : `${c.fed ? "fed" : "hungry"}, ${c.warm ? "warm" : "cold"}`);
    if (row.el.dataset.status !== c.status) row.el.dataset.status = c.status;
    const isSelected = entry.id === selected ? "true" : "false";
    if (row.el.getAttribute("aria-selected") !== isSelected) row.el.setAttribute("aria-selected", isSelected);
  }
}

// series.js: what the viewer remembers of the Wood's past, for its charts and its board.
//
// A history is a plain object: `ticks` and `season` per tick, `prices` and `last` per good,
// `wealth` per creature (from /api/history, then live), `docs` (per tick, the world's
// creatures map: unchanged creatures share their objects, so a tick costs one map) and
// `spans` (legends, for the charts). The functions here fill it; no module state.

export const HISTORY_POINTS = 300;

export function emptyHistory() {
  return { ticks: [], season: [], prices: {}, last: {}, docs: [], wealth: {}, spans: [] };
}

/** A history begun from `/api/history`'s columns (or empty when the server had none). */
export function historyFrom(fetched, world) {
  const history = emptyHistory();
  if (fetched && Array.isArray(fetched.ticks)) {
    history.ticks = fetched.ticks.slice();
    history.season = fetched.season.slice();
    history.docs = fetched.ticks.map(() => null);
    for (const g of Object.keys(world.goods)) {
      history.prices[g] = (fetched.prices[g] || fetched.ticks.map(() => null)).slice();
      history.last[g] = (fetched.last[g] || fetched.ticks.map(() => null)).slice();
    }
    for (const [id, s] of Object.entries(fetched.wealth || {})) history.wealth[id] = s.slice();
  }
  return history;
}

/** Pebbles and stores at reference prices, to the cent. */
export function wealthOf(world, c) {
  let w = c.pebbles;
  for (const [g, n] of Object.entries(c.stores)) w += n * (world.goods[g]?.ref ?? 0);
  return Math.round(w * 100) / 100;
}

/** Add `world`'s tick to `history` (once per tick); trims to HISTORY_POINTS in steps. */
export function extendHistory(history, world) {
  const n = history.ticks.length;
  if (n && history.ticks[n - 1] >= world.tick) return;
  history.ticks.push(world.tick);
  history.season.push(world.season);
  history.docs.push(world.creatures);
  for (const [g, board] of Object.entries(world.goods)) {
    if (!history.prices[g]) {
      history.prices[g] = history.ticks.slice(0, -1).map(() => null);
      history.last[g] = history.ticks.slice(0, -1).map(() => null);
    }
    history.prices[g].push(board.ref);
    history.last[g].push(board.last ?? null);
  }
  for (const [id, c] of Object.entries(world.creatures)) {
    let series = history.wealth[id];
    if (!series) series = history.wealth[id] = history.ticks.slice(0, -1).map(() => null);
    while (series.length < history.ticks.length - 1) series.push(null);
    series.push(wealthOf(world, c));
  }
  for (const [id, l] of Object.entries(world.legends)) {
    if (!history.spans.some((s) => s.id === id && s.from === l.began)) {
      history.spans.push({ id, from: l.began, to: l.ends, label: l.title + (l.rumour ? " (rumour)" : "") });
    }
  }
  // Trimmed in steps, not every tick: one splice per series per 50 ticks.
  if (history.ticks.length > HISTORY_POINTS + 50) {
    const cut = history.ticks.length - HISTORY_POINTS;
    for (const key of ["ticks", "season", "docs"]) history[key].splice(0, cut);
    for (const g of Object.keys(history.prices)) {
      history.prices[g].splice(0, cut);
      history.last[g].splice(0, cut);
    }
    for (const [id, series] of Object.entries(history.wealth)) {
      series.splice(0, cut);
      if (!(id in world.creatures) && series.every((v) => v === null)) delete history.wealth[id];
    }
    history.spans = history.spans.filter((s) => s.to >= history.ticks[0]);
  }
}

/** Ticks in a year of `world`. */
export function perYear(world) {
  return 4 * world.ticks_per_season;
}

// The viewer page: the creatures by wealth, the market with history charts, the chronicle,
// trades, legends and gossip; click a creature for its story.
//
// Built for 5 creatures and for 1,000: the board is a virtualised list (only the rows in
// view exist), with search and top-N; every panel updates once per animation frame.
import { LineChart, seasonBands } from "./chart.js";
import { Chronicle } from "./chronicle.js";
import { seasonIcon } from "./icons.js";
import {
  GOOD_COLORS, SEASON_COLORS, WoodStream, brainKind, brainLabel, fetchHistory, fmt, goodColor, h, renderBadge,
  serverBase, setText,
} from "./wood.js";

const HISTORY_POINTS = 300;
const TICKER_ROWS = 40;
const FEED_ROWS = 60;
const ROW_H = 42; // px: every board row is this tall, so the list can be virtual
const TREND_TICKS = 10;
const CREATURE_TAPE = 400; // trades and gossip kept for creature views

const $ = (id) => document.getElementById(id);
const base = serverBase();
const stream = new WoodStream({ base });
const boards = new Map();
const chronicle = new Chronicle($("chronicle"));
let history = emptyHistory();
let dirty = false;
let pendingEvents = [];
let tape = { trades: [], gossip: [] }; // recent, for creature views
let ranking = []; // [{id, wealth, trend}] sorted by wealth, after search and top-N
let selected = null; // the creature in the creature view

function emptyHistory() {
  // docs: per tick, the world's creatures map (unchanged creatures share objects, so a tick
  // costs one map); wealth: per creature, from /api/history then live.
  return { ticks: [], season: [], prices: {}, last: {}, docs: [], wealth: {}, spans: [] };
}

// ---- history ---------------------------------------------------------------------------

async function loadHistory(world) {
  const fetched = await fetchHistory(base, HISTORY_POINTS);
  history = emptyHistory();
  if (fetched && Array.isArray(fetched.ticks)) {
    history.ticks = fetched.ticks.slice();
    history.season = fetched.season.slice();
    history.docs = fetched.ticks.map(() => null);
    for (const g of Object.keys(world.goods)) {
      history.prices[g] = (fetched.prices[g] || fetched.ticks.map(() => null)).slice();
      history.last[g] = (fetched.last[g] || fetched.ticks.map(() => null)).slice();
    }
    for (const [id, series] of Object.entries(fetched.wealth || {})) history.wealth[id] = series.slice();
  }
  extendHistory(stream.world || world);
  schedule();
}

function wealthOf(world, c) {
  let w = c.pebbles;
  for (const [g, n] of Object.entries(c.stores)) w += n * (world.goods[g]?.ref ?? 0);
  return Math.round(w * 100) / 100;
}

function extendHistory(world) {
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

function perYear(world) {
  return 4 * world.ticks_per_season;
}

// ---- the board: creatures by wealth ----------------------------------------------------

const board = $("creatures");
const spacer = $("creatures-spacer");
const rows = []; // the pool of row elements in view

function rowElement() {
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
  el.addEventListener("click", () => row.id && openCreature(row.id));
  el.addEventListener("keydown", (e) => {
    if ((e.key === "Enter" || e.key === " ") && row.id) openCreature(row.id);
  });
  return row;
}

function rankCreatures(world) {
  const query = $("creature-search").value.trim().toLowerCase();
  const top = $("creature-top").value;
  const all = [];
  for (const id of Object.keys(world.creatures)) {
    const series = history.wealth[id] || [];
    const wealth = series.length ? series[series.length - 1] : wealthOf(world, world.creatures[id]);
    const then = series.length > TREND_TICKS ? series[series.length - 1 - TREND_TICKS] : series.find((v) => v !== null);
    all.push({ id, wealth, trend: then === null || then === undefined ? 0 : wealth - then });
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
  ranking = shown;
  board.dataset.total = String(all.length);
  board.dataset.shown = String(shown.length);
  setText($("creature-count"), shown.length === all.length ? `(${all.length})` : `(${shown.length} of ${all.length})`);
}

let boardHeight = 0;
if (typeof ResizeObserver !== "undefined") {
  new ResizeObserver((entries) => {
    boardHeight = entries[0].contentRect.height;
  }).observe(board);
}

function renderBoard(world) {
  // Read the scroll position first and write after: no layout forced in between.
  const scrollTop = board.scrollTop;
  const viewHeight = boardHeight || board.clientHeight || 600;
  const height = `${ranking.length * ROW_H}px`;
  if (spacer.style.height !== height) spacer.style.height = height;
  const first = Math.max(0, Math.floor(scrollTop / ROW_H) - 2);
  const count = Math.min(ranking.length - first, Math.ceil(viewHeight / ROW_H) + 4);
  while (rows.length < count) {
    const row = rowElement();
    rows.push(row);
    board.append(row.el);
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
    const c = world.creatures[entry.id];
    if (row.id !== entry.id) {
      row.id = entry.id;
      row.el.dataset.creature = entry.id;
      row.moodValue = -1;
    }
    const y = `translateY(${(first + i) * ROW_H}px)`;
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

board.addEventListener("scroll", () => stream.world && renderBoard(stream.world), { passive: true });
for (const id of ["creature-search", "creature-top"]) {
  $(id).addEventListener("input", () => {
    if (!stream.world) return;
    rankCreatures(stream.world);
    board.scrollTop = 0;
    renderBoard(stream.world);
  });
}

// ---- the creature view -----------------------------------------------------------------

const views = {
  purse: new LineChart($("cv-purse"), { height: 90, label: "wealth and purse" }),
  mood: new LineChart($("cv-mood"), { height: 70, label: "mood", format: (v) => v.toFixed(2) }),
  stores: new LineChart($("cv-stores"), { height: 90, label: "stores", format: (v) => v.toFixed(0) }),
};

function openCreature(id) {
  selected = id;
  $("creature-view").hidden = false;
  document.body.dataset.creatureView = id;
  renderCreatureView(stream.world);
  if (stream.world) renderBoard(stream.world);
  $("cv-close").focus({ preventScroll: true });
}

function closeCreature() {
  selected = null;
  $("creature-view").hidden = true;
  delete document.body.dataset.creatureView;
  if (stream.world) renderBoard(stream.world);
}

$("cv-close").addEventListener("click", closeCreature);
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && selected) closeCreature();
});

function nameOf(world, id) {
  return world.creatures[id]?.name ?? id;
}

function renderCreatureView(world) {
  if (!selected || !world) return;
  const id = selected;
  const c = world.creatures[id];
  const view = $("creature-view");
  view.dataset.creature = id;
  if (!c) {
    setText($("cv-name"), id);
    setText($("cv-sub"), "has left the Wood");
    return;
  }
  setText($("cv-name"), c.name);
  setText($("cv-sub"), `${c.species} · makes ${c.produces} · ${c.personality || ""}`);
  const drivers = { script: "its script", model: "a language model", bot: "a bot over the websocket" };
  const facts = [
    ["decided by", `${drivers[brainKind(c)] || brainKind(c)} (brain: ${c.brain})`],
    ["wealth", `${fmt(wealthOf(world, c), 2)} (${fmt(c.pebbles, 2)} pebbles)`],
    ["mood", `${fmt(c.mood, 2)} · ${c.fed ? "fed" : "hungry"} · ${c.warm ? "warm" : "cold"}`],
    ["stores", Object.entries(c.stores).map(([g, n]) => `${g} ${n}`).join(", ")],
    ["state", c.status === "exiled" ? `exiled, returns at tick ${c.returns ?? "?"}` : "in the Wood"],
  ];
  $("cv-facts").replaceChildren(...facts.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
  const ticks = history.ticks;
  const docs = history.docs;
  const pick = (f) => docs.map((d) => (d && d[id] ? f(d[id]) : null));
  const bands = seasonBands(ticks, history.season, SEASON_COLORS);
  const years = { perYear: perYear(world) };
  views.purse.update({
    x: ticks, bands, years, seasons: history.season,
    series: [
      { name: "wealth", values: history.wealth[id] || [], color: "#d9a441" },
      { name: "pebbles", values: pick((x) => x.pebbles), color: "#7bc46d", dash: [3, 3], width: 1.2 },
    ],
  });
  views.mood.update({ x: ticks, bands, years, seasons: history.season, series: [{ name: "mood", values: pick((x) => x.mood), color: "#7fb2f0" }] });
  const goods = Object.keys(world.goods);
  views.stores.update({
    x: ticks, bands, years, seasons: history.season,
    series: goods.map((g) => ({ name: g, values: pick((x) => x.stores[g] ?? 0), color: goodColor(world, g), width: 1.3 })),
  });
  const key = goods.join();
  if ($("cv-stores-key").dataset.key !== key) {
    $("cv-stores-key").dataset.key = key;
    $("cv-stores-key").replaceChildren(...goods.map((g) => h("span", { class: "key" },
      h("span", { class: "swatch", style: `background:${goodColor(world, g)}` }), g)));
  }
  const trades = tape.trades.filter((t) => t.buyer === id || t.seller === id).slice(-30).reverse();
  $("cv-trades").replaceChildren(...(trades.length ? trades.map((t) => h("li", { "data-tick": String(t.tick) },
    h("span", { class: "muted", text: `#${t.tick} ` }),
    t.buyer === id ? `bought ${t.qty} ${t.good} from ${nameOf(world, t.seller)}` : `sold ${t.qty} ${t.good} to ${nameOf(world, t.buyer)}`,
    ` at ${fmt(t.price)}`)) : [h("li", { class: "muted", text: "no trades seen yet" })]));
  const said = tape.gossip.filter((g) => g.creature === id).slice(-20).reverse();
  $("cv-gossip").replaceChildren(...(said.length ? said.map((g) => h("li", {}, h("span", { class: "muted", text: `#${g.tick} ` }), `“${g.text}”`))
    : [h("li", { class: "muted", text: "nothing said yet" })]));
}

// ---- market ----------------------------------------------------------------------------

function marketRow(world, good) {
  const el = h("div", { class: "good", "data-good": good });
  const head = h("div", { class: "good-head" });
  const name = h("strong", { text: good });
  name.style.color = goodColor(world, good);
  const price = h("span", { class: "good-price" });
  const meta = h("span", { class: "muted small good-meta" });
  head.append(name, price, meta);
  const chartBox = h("div", { class: "chart" });
  el.append(head, chartBox);
  return { el, price, meta, chart: new LineChart(chartBox, { height: 96, label: `${good} price history` }), prev: null };
}

function renderSeasonKey(world) {
  const box = $("season-key");
  if (box.dataset.ready) return;
  box.dataset.ready = "1";
  box.append(...Object.entries(SEASON_COLORS).map(([season, color]) =>
    h("span", { class: "key", "data-season": season }, h("span", { class: "swatch", style: `background:${color.replace(/[\d.]+\)$/, "0.55)")}` }), season)),
  h("span", { class: "key" }, h("span", { class: "swatch legend-swatch" }), "a legend"),
  h("span", { class: "key key-note muted", text: `year = ${perYear(world)} ticks` }));
}

function renderMarket(world) {
  const box = $("market");
  renderSeasonKey(world);
  const bands = seasonBands(history.ticks, history.season, SEASON_COLORS);
  const years = { perYear: perYear(world) };
  for (const [good, b] of Object.entries(world.goods)) {
    let row = boards.get(good);
    if (!row) {
      row = marketRow(world, good);
      boards.set(good, row);
      box.append(row.el);
    }
    const trend = row.prev === null || b.ref === row.prev ? "flat" : b.ref > row.prev ? "up" : "down";
    row.prev = b.ref;
    setText(row.price, fmt(b.ref));
    row.price.dataset.trend = trend;
    setText(row.meta, `last ${fmt(b.last)} · supply ${b.supply}${b.fuel ? " · fuel" : ""}`);
    const color = goodColor(world, good);
    row.chart.update({
      x: history.ticks, bands, years, spans: history.spans, seasons: history.season,
      series: [
        { name: "ref", values: history.prices[good] || [], color },
        { name: "last", values: history.last[good] || [], color, dash: [3, 3], width: 1 },
      ],
    });
  }
}

// ---- trades and feed -------------------------------------------------------------------

function tradeItem(world, t) {
  return h(
    "li",
    { class: "trade", "data-buyer": t.buyer, "data-seller": t.seller, "data-good": t.good, "data-tick": String(t.tick) },
    h("span", { class: "muted small", text: `#${t.tick} ` }),
    h("strong", { text: nameOf(world, t.buyer) }),
    ` bought ${t.qty} ${t.good} from `,
    h("strong", { text: nameOf(world, t.seller) }),
    ` at ${fmt(t.price)}`,
  );
}

function feedItem(kind, tick, ...content) {
  return h("li", { class: `news news-${kind}`, "data-kind": kind }, h("span", { class: "muted small", text: `#${tick} ` }), ...content);
}

function describeEvent(world, e, tick) {
  switch (e.type) {
    case "gossip_spoken":
      return feedItem("gossip", tick, h("strong", { text: nameOf(world, e.creature) }), `: “${e.text}”`);
    case "legend_began":
      return feedItem("legend", tick, h("span", { class: "icon-legend", "aria-hidden": "true" }), h("strong", { text: e.title }), e.rumour ? " (a rumour)" : "", ` until tick ${e.ends}`);
    case "legend_ended":
      return feedItem("legend", tick, h("span", { class: "icon-legend", "aria-hidden": "true" }), `the ${e.key.replaceAll("_", " ")} is over`);
    case "rumour_resolved":
      return feedItem("legend", tick, e.true ? "the rumour was true: " : "the rumour was false: ", e.outcome);
    case "creature_exiled":
      return feedItem("exile", tick, h("strong", { text: nameOf(world, e.creature) }), ` is exiled until tick ${e.until}`);
    case "creature_returned":
      return feedItem("exile", tick, h("strong", { text: nameOf(world, e.creature) }), ` returns with ${fmt(e.stake)} pebbles`);
    case "creature_joined":
      return feedItem("join", tick, h("strong", { text: e.name }), ` the ${e.species} joins the Wood, making ${e.produces}`);
    case "season_began":
      return feedItem("season", tick, seasonIcon(e.season), ` ${e.season} of year ${e.year} begins`);
    default:
      return null;
  }
}

function prependCapped(list, items, cap) {
  if (!items.length) return;
  const frag = document.createDocumentFragment();
  for (const item of items) frag.append(item);
  list.prepend(frag);
  while (list.children.length > cap) list.lastElementChild.remove();
}

function remember(list, items) {
  for (const item of items) list.push(item);
  if (list.length > CREATURE_TAPE * 1.5) list.splice(0, list.length - CREATURE_TAPE);
}

function seedTapes(world) {
  waiting.trades = [];
  waiting.feed = [];
  const trades = Object.values(world.trades).sort((a, b) => b.tick - a.tick);
  $("trades").replaceChildren(...trades.slice(0, TICKER_ROWS).map((t) => tradeItem(world, t)));
  const gossip = Object.values(world.gossip).sort((a, b) => b.tick - a.tick);
  $("feed").replaceChildren(
    ...gossip.slice(0, FEED_ROWS).map((g) => feedItem("gossip", g.tick, h("strong", { text: g.name }), `: “${g.text}”`)),
  );
  tape = { trades: trades.slice().reverse(), gossip: gossip.slice().reverse() };
}

// A list out of view is not drawn into: its newest rows wait (capped) until it is seen.
const inView = { trades: true, feed: true };
const waiting = { trades: [], feed: [] };
if (typeof IntersectionObserver !== "undefined") {
  const seen = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const key = entry.target.id;
      inView[key] = entry.isIntersecting;
      if (entry.isIntersecting && waiting[key].length && stream.world) flushList(stream.world, key);
    }
  }, { rootMargin: "100px" });
  seen.observe($("trades"));
  seen.observe($("feed"));
}

function flushList(world, key) {
  const rowsKept = key === "trades" ? TICKER_ROWS : FEED_ROWS;
  const pending = waiting[key].splice(0);
  const items = [];
  for (let i = pending.length - 1; i >= 0 && items.length < rowsKept; i -= 1) {
    const item = key === "trades" ? tradeItem(world, pending[i]) : describeEvent(world, pending[i].event, pending[i].tick);
    if (item) items.push(item);
  }
  prependCapped($(key), items, rowsKept);
}

function queue(key, items, cap) {
  const list = waiting[key];
  for (const item of items) list.push(item);
  if (list.length > cap * 4) list.splice(0, list.length - cap);
}

function renderEvents(world, events) {
  // A big Wood trades hundreds of times a tick: elements only for the rows the lists keep,
  // and only for lists in view.
  const trades = [];
  const news = [];
  for (const { tick, event } of events) {
    if (event.type === "trade_cleared") {
      trades.push({ ...event, tick });
    } else {
      if (event.type === "gossip_spoken") tape.gossip.push({ ...event, tick });
      news.push({ tick, event });
    }
  }
  remember(tape.trades, trades);
  remember(tape.gossip, []);
  queue("trades", trades, TICKER_ROWS);
  queue("feed", news.filter((n) => n.event.type !== "market_cleared"), FEED_ROWS);
  if (inView.trades) flushList(world, "trades");
  if (inView.feed) flushList(world, "feed");
}

function renderLegends(world) {
  const legends = Object.entries(world.legends);
  const box = $("legends");
  const key = legends.map(([id, l]) => `${id}:${l.ends}`).join(",");
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  if (!legends.length) {
    box.replaceChildren(h("p", { class: "muted small", text: "No legend walks the Wood." }));
    return;
  }
  box.replaceChildren(
    ...legends.map(([id, l]) =>
      h("div", { class: "legend", "data-legend": id },
        h("strong", { text: l.title }), l.rumour ? h("span", { class: "pill", text: "rumour" }) : null,
        h("span", { class: "muted small", text: ` ticks ${l.began}–${l.ends}` }),
        h("p", { class: "small", text: l.story })),
    ),
  );
}

// ---- the frame -------------------------------------------------------------------------

function renderHeader(world) {
  setText($("scenario"), world.scenario);
  const icon = $("season-icon");
  if (icon.dataset.season !== world.season) {
    icon.dataset.season = world.season;
    icon.replaceChildren(seasonIcon(world.season));
  }
  setText($("season-name"), world.season);
  $("season").dataset.season = world.season;
  setText($("tick"), `tick ${world.tick} · day ${world.day}/${world.ticks_per_season} · year ${world.year}`);
  setText($("gini"), fmt(world.gini, 2));
  setText($("commons"), fmt(world.commons, 0));
  setText($("winter-line"), world.season === "winter" ? "Winter is here" : `Winter in ${world.ticks_to_winter} ticks`);
  const fuel = world.fuel;
  $("fuel").hidden = !fuel;
  if (fuel) {
    const left = fuel.ticks_left;
    setText($("fuel-text"), `${fuel.good}: ${fuel.stock} in stock, ${fmt(fuel.need)} each per tick` +
      (left === undefined ? ", nothing burns now" : `, lasts ${fmt(left, 1)} ticks`));
    const share = left === undefined ? 1 : Math.max(0, Math.min(1, left / 50));
    $("fuel-bar").style.transform = `scaleX(${share.toFixed(3)})`;
    $("fuel-bar").dataset.level = left === undefined || left > 25 ? "ok" : left > 10 ? "low" : "critical";
  }
  document.body.dataset.tick = String(world.tick);
}

const timings = {}; // milliseconds each part of the last frame took (for the benchmark)

function timed(name, f) {
  const t0 = performance.now();
  f();
  timings[name] = Math.max(timings[name] || 0, performance.now() - t0);
}

function render() {
  dirty = false;
  const world = stream.world;
  if (!world) return;
  timed("header", () => renderHeader(world));
  timed("rank", () => rankCreatures(world));
  timed("board", () => renderBoard(world));
  timed("market", () => renderMarket(world));
  timed("legends", () => renderLegends(world));
  timed("events", () => renderEvents(world, pendingEvents));
  timed("chronicle", () => chronicle.observe(world, pendingEvents, leaderOf(world)));
  pendingEvents = [];
  timed("creature", () => renderCreatureView(world));
}

function leaderOf(world) {
  if (!$("creature-search").value && ranking.length) return ranking[0].id;
  let best = null;
  let bestWealth = -Infinity;
  for (const [id, c] of Object.entries(world.creatures)) {
    const w = wealthOf(world, c);
    if (w > bestWealth) [best, bestWealth] = [id, w];
  }
  return best;
}

function schedule() {
  if (dirty) return;
  dirty = true;
  requestAnimationFrame(render);
}

stream.addEventListener("snapshot", (e) => {
  pendingEvents = [];
  seedTapes(e.detail.world);
  chronicle.reset(e.detail.world);
  extendHistory(e.detail.world);
  loadHistory(e.detail.world);
  schedule();
});

stream.addEventListener("delta", (e) => {
  const { world, events, tick } = e.detail;
  timed("history", () => extendHistory(world));
  for (const event of events) pendingEvents.push({ tick, event });
  schedule();
});

stream.addEventListener("status", (e) => {
  const { status, tick } = e.detail;
  renderBadge($("badge"), status, e.detail.reason);
  document.body.dataset.status = status;
  $("stale-note").hidden = status !== "reconnecting";
  setText($("stale-tick"), tick ?? "?");
});

$("trend-ticks").textContent = String(TREND_TICKS);
window.smallwood = stream; // for the console and the browser tests
window.smallwoodViewer = { openCreature, closeCreature, charts: () => [...boards.values()].map((r) => r.chart), views, timings };
export { GOOD_COLORS };
stream.start();

// The viewer page: the creatures by wealth, the market with history charts, the chronicle,
// trades, legends and gossip; click a creature for its story.
//
// Built for 5 creatures and for 1,000: the board is a virtualised list (only the rows in
// view exist), with search and top-N; every panel updates once per animation frame.
import { Board, TREND_TICKS } from "./board.js";
import { LineChart, seasonBands } from "./chart.js";
import { Chronicle } from "./chronicle.js";
import { CreatureView } from "./creature_view.js";
import { seasonIcon } from "./icons.js";
import { HISTORY_POINTS, emptyHistory, extendHistory, historyFrom, perYear, wealthOf } from "./series.js";
import {
  SEASON_COLORS, WoodStream, chooseServer, fetchHistory, fmt, goodColor, h, pageBase, renderBadge, setText,
  showRefusal,
} from "./wood.js";

const TICKER_ROWS = 40;
const FEED_ROWS = 60;
const CREATURE_TAPE = 400; // trades and gossip kept for creature views

const $ = (id) => document.getElementById(id);
// `?server=` only where this page's server allows it: nothing connects before the answer.
const server = await chooseServer();
const base = server.base ?? pageBase();
const stream = new WoodStream({ base });
const boards = new Map();
const chronicle = new Chronicle($("chronicle"));
let history = emptyHistory();
let dirty = false;
let pendingEvents = [];
let tape = { trades: [], gossip: [] }; // recent, for creature views

async function loadHistory(world) {
  history = historyFrom(await fetchHistory(base, HISTORY_POINTS), world);
  extendHistory(history, stream.world || world);
  schedule();
}

const board = new Board({
  list: $("creatures"), spacer: $("creatures-spacer"), search: $("creature-search"), top: $("creature-top"),
  count: $("creature-count"), onOpen: openCreature,
});
const creatureView = new CreatureView($("creature-view"), { onClose: () => stream.world && board.render(stream.world, null) });

function openCreature(id) {
  creatureView.open(id);
  if (!stream.world) return;
  creatureView.render(stream.world, history, tape);
  board.render(stream.world, id);
}

$("creatures").addEventListener("scroll", () => stream.world && board.render(stream.world, creatureView.selected), { passive: true });
for (const id of ["creature-search", "creature-top"]) {
  $(id).addEventListener("input", () => {
    if (!stream.world) return;
    board.rank(stream.world, history.wealth);
    board.toTop();
    board.render(stream.world, creatureView.selected);
  });
}

function nameOf(world, id) {
  return world.creatures[id]?.name ?? id;
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
  timed("rank", () => board.rank(world, history.wealth));
  timed("board", () => board.render(world, creatureView.selected));
  timed("market", () => renderMarket(world));
  timed("legends", () => renderLegends(world));
  timed("events", () => renderEvents(world, pendingEvents));
  timed("chronicle", () => chronicle.observe(world, pendingEvents, leaderOf(world)));
  pendingEvents = [];
  timed("creature", () => creatureView.render(world, history, tape));
}

function leaderOf(world) {
  const first = board.leader();
  if (first) return first;
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
  extendHistory(history, e.detail.world);
  loadHistory(e.detail.world);
  schedule();
});

stream.addEventListener("delta", (e) => {
  const { world, events, tick } = e.detail;
  timed("history", () => extendHistory(history, world));
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
window.smallwoodViewer = {
  openCreature, closeCreature: () => creatureView.close(), charts: () => [...boards.values()].map((r) => r.chart),
  views: creatureView.views, timings,
};
if (server.base) stream.start();
else showRefusal(server.refused);

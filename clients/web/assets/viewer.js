// The viewer page: creatures, market board with history charts, trades, legends and gossip.
import { LineChart, seasonBands } from "./chart.js";
import {
  SEASON_COLORS, WoodStream, renderBadge, brainKind, brainLabel, fetchHistory, fmt, goodColor, h, serverBase, setText,
} from "./wood.js";

const HISTORY_POINTS = 300;
const TICKER_ROWS = 40;
const FEED_ROWS = 60;
const SEASON_ICON = { spring: "🌱", summer: "☀️", autumn: "🍂", winter: "❄️" };

const $ = (id) => document.getElementById(id);
const base = serverBase();
const stream = new WoodStream({ base });
const cards = new Map();
const boards = new Map();
let history = emptyHistory();
let dirty = false;
let pendingEvents = [];

function emptyHistory() {
  return { ticks: [], season: [], prices: {}, last: {} };
}

// ---- history ---------------------------------------------------------------------------

async function loadHistory(world) {
  const fetched = await fetchHistory(base, HISTORY_POINTS);
  history = emptyHistory();
  if (fetched && Array.isArray(fetched.ticks)) {
    history.ticks = fetched.ticks.slice();
    history.season = fetched.season.slice();
    for (const g of Object.keys(world.goods)) {
      history.prices[g] = (fetched.prices[g] || fetched.ticks.map(() => null)).slice();
      history.last[g] = (fetched.last[g] || fetched.ticks.map(() => null)).slice();
    }
  }
  extendHistory(stream.world || world);
  schedule();
}

function extendHistory(world) {
  const n = history.ticks.length;
  if (n && history.ticks[n - 1] >= world.tick) return;
  history.ticks.push(world.tick);
  history.season.push(world.season);
  for (const [g, board] of Object.entries(world.goods)) {
    if (!history.prices[g]) {
      history.prices[g] = history.ticks.slice(0, -1).map(() => null);
      history.last[g] = history.ticks.slice(0, -1).map(() => null);
    }
    history.prices[g].push(board.ref);
    history.last[g].push(board.last ?? null);
  }
  if (history.ticks.length > HISTORY_POINTS) {
    const cut = history.ticks.length - HISTORY_POINTS;
    history.ticks.splice(0, cut);
    history.season.splice(0, cut);
    for (const g of Object.keys(history.prices)) {
      history.prices[g].splice(0, cut);
      history.last[g].splice(0, cut);
    }
  }
}

// ---- creatures -------------------------------------------------------------------------

function creatureCard(id) {
  const el = h("article", { class: "card", "data-creature": id });
  el.innerHTML = `
    <div class="card-head"><strong class="c-name"></strong> <span class="c-species muted"></span>
      <span class="c-brain pill"></span></div>
    <div class="c-line"><span class="c-produces muted"></span><span class="c-purse"></span></div>
    <div class="mood" title="mood"><div class="mood-bar"></div></div>
    <div class="c-flags small"></div>
    <div class="c-stores small muted"></div>`;
  const q = (s) => el.querySelector(s);
  return {
    el, name: q(".c-name"), species: q(".c-species"), brain: q(".c-brain"), produces: q(".c-produces"),
    purse: q(".c-purse"), mood: q(".mood-bar"), flags: q(".c-flags"), stores: q(".c-stores"), moodValue: -1,
  };
}

function renderCreatures(world) {
  const box = $("creatures");
  const ids = Object.keys(world.creatures);
  for (const [id, card] of cards) {
    if (!(id in world.creatures)) {
      card.el.remove();
      cards.delete(id);
    }
  }
  for (const id of ids) {
    const c = world.creatures[id];
    let card = cards.get(id);
    if (!card) {
      card = creatureCard(id);
      cards.set(id, card);
      box.append(card.el);
    }
    const kind = brainKind(c);
    setText(card.name, c.name);
    setText(card.species, c.species);
    setText(card.brain, brainLabel(c));
    if (card.brain.dataset.kind !== kind) card.brain.dataset.kind = kind;
    setText(card.produces, `makes ${c.produces}`);
    setText(card.purse, `${fmt(c.pebbles)} pebbles`);
    if (card.moodValue !== c.mood) {
      card.moodValue = c.mood;
      card.mood.style.transform = `scaleX(${Math.max(0, Math.min(1, c.mood)).toFixed(3)})`;
      card.mood.dataset.level = c.mood < 0.3 ? "low" : c.mood < 0.6 ? "mid" : "high";
      card.mood.parentElement.title = `mood ${fmt(c.mood, 2)}`;
    }
    const exiled = c.status === "exiled";
    const flags = exiled
      ? `exiled, returns at tick ${c.returns ?? "?"}`
      : `${c.fed ? "fed" : "hungry"} · ${c.warm ? "warm" : "cold"}`;
    setText(card.flags, flags);
    if (card.el.dataset.status !== c.status) card.el.dataset.status = c.status;
    setText(card.stores, Object.entries(c.stores).map(([g, n]) => `${g} ${n}`).join(" · "));
  }
  setText($("creature-count"), `(${ids.length})`);
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
  return { el, price, meta, chart: new LineChart(chartBox, { height: 84, label: `${good} price history` }), prev: null };
}

function renderMarket(world) {
  const box = $("market");
  for (const [good, board] of Object.entries(world.goods)) {
    let row = boards.get(good);
    if (!row) {
      row = marketRow(world, good);
      boards.set(good, row);
      box.append(row.el);
    }
    const arrow = row.prev === null || board.ref === row.prev ? "" : board.ref > row.prev ? " ▲" : " ▼";
    row.prev = board.ref;
    setText(row.price, `${fmt(board.ref)}${arrow}`);
    row.price.dataset.trend = arrow.includes("▲") ? "up" : arrow.includes("▼") ? "down" : "flat";
    setText(row.meta, `last ${fmt(board.last)} · supply ${board.supply}${board.fuel ? " · fuel" : ""}`);
    const color = goodColor(world, good);
    row.chart.update({
      x: history.ticks,
      bands: seasonBands(history.ticks, history.season, SEASON_COLORS),
      series: [
        { values: history.prices[good] || [], color },
        { values: history.last[good] || [], color, dash: [3, 3], width: 1 },
      ],
    });
  }
}

// ---- trades and feed -------------------------------------------------------------------

function nameOf(world, id) {
  return world.creatures[id]?.name ?? id;
}

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
      return feedItem("legend", tick, "📜 ", h("strong", { text: e.title }), e.rumour ? " (a rumour)" : "", ` until tick ${e.ends}`);
    case "legend_ended":
      return feedItem("legend", tick, `📜 the ${e.key.replaceAll("_", " ")} is over`);
    case "rumour_resolved":
      return feedItem("legend", tick, e.true ? "✔ the rumour was true: " : "✘ the rumour was false: ", e.outcome);
    case "creature_exiled":
      return feedItem("exile", tick, h("strong", { text: nameOf(world, e.creature) }), ` is exiled until tick ${e.until}`);
    case "creature_returned":
      return feedItem("exile", tick, h("strong", { text: nameOf(world, e.creature) }), ` returns with ${fmt(e.stake)} pebbles`);
    case "creature_joined":
      return feedItem("join", tick, h("strong", { text: e.name }), ` the ${e.species} joins the Wood, making ${e.produces}`);
    case "season_began":
      return feedItem("season", tick, `${SEASON_ICON[e.season] || ""} ${e.season} of year ${e.year} begins`);
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

function seedTapes(world) {
  const trades = Object.values(world.trades).sort((a, b) => b.tick - a.tick);
  $("trades").replaceChildren(...trades.slice(0, TICKER_ROWS).map((t) => tradeItem(world, t)));
  const gossip = Object.values(world.gossip).sort((a, b) => b.tick - a.tick);
  $("feed").replaceChildren(
    ...gossip.slice(0, FEED_ROWS).map((g) => feedItem("gossip", g.tick, h("strong", { text: g.name }), `: “${g.text}”`)),
  );
}

function renderEvents(world, events) {
  const trades = [];
  const news = [];
  for (const { tick, event } of events) {
    if (event.type === "trade_cleared") trades.push(tradeItem(world, { ...event, tick }));
    else {
      const item = describeEvent(world, event, tick);
      if (item) news.push(item);
    }
  }
  prependCapped($("trades"), trades.reverse(), TICKER_ROWS);
  prependCapped($("feed"), news.reverse(), FEED_ROWS);
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
  setText($("season"), `${SEASON_ICON[world.season] || ""} ${world.season}`);
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

function render() {
  dirty = false;
  const world = stream.world;
  if (!world) return;
  renderHeader(world);
  renderCreatures(world);
  renderMarket(world);
  renderLegends(world);
  renderEvents(world, pendingEvents);
  pendingEvents = [];
}

function schedule() {
  if (dirty) return;
  dirty = true;
  requestAnimationFrame(render);
}

stream.addEventListener("snapshot", (e) => {
  pendingEvents = [];
  seedTapes(e.detail.world);
  extendHistory(e.detail.world);
  loadHistory(e.detail.world);
  schedule();
});

stream.addEventListener("delta", (e) => {
  const { world, events, tick } = e.detail;
  extendHistory(world);
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

window.smallwood = stream; // for the console and the browser tests
stream.start();

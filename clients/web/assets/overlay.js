// The stream overlay: the moments that matter, large and outlined, on a transparent page.
//
// URL options:
//   widgets   comma list of moments, prices, ticker, mood (default moments,prices,ticker)
//   theme     dark (light text, dark outline; default) or light
//   corner    br, bl, tr or tl: where the stack of widgets sits (default br)
//   big       a trade worth at least this many pebbles is a moment (default 25)
//   creatures how many creatures the mood widget lists (default 6)
//   hold      seconds a moment stays up (default 7)
import { WoodStream, fmt, h, serverBase, setText } from "./wood.js";

const params = new URLSearchParams(location.search);
const KNOWN_WIDGETS = ["moments", "prices", "ticker", "mood"];
const DEFAULT_WIDGETS = "moments,prices,ticker";
const WIDGETS = new Set((params.get("widgets") || DEFAULT_WIDGETS).split(",").map((s) => s.trim()).filter(Boolean));
for (const name of WIDGETS) {
  // A typo would otherwise just leave a widget missing from the stream, with no hint why.
  if (!KNOWN_WIDGETS.includes(name)) console.warn(`smallwood overlay: unknown widget "${name}" ignored; known: ${KNOWN_WIDGETS.join(", ")}`);
}
const THEME = params.get("theme") === "light" ? "light" : "dark";
const CORNER = ["br", "bl", "tr", "tl"].includes(params.get("corner")) ? params.get("corner") : "br";
const BIG = Number(params.get("big") || 25);
const MOOD_ROWS = Math.max(1, Math.min(12, Number(params.get("creatures") || 6)));
const HOLD_MS = Math.max(2, Number(params.get("hold") || 7)) * 1000;
const MAX_MOMENTS = 3;
const TICKER_CHIPS = 8;
const FORTUNE_STEP = 50;

document.body.dataset.theme = THEME;
document.body.dataset.corner = CORNER;
for (const name of KNOWN_WIDGETS) {
  document.getElementById(name).hidden = !WIDGETS.has(name);
}

const $ = (id) => document.getElementById(id);
const stream = new WoodStream({ base: serverBase() });
const previous = new Map();
const fortunes = new Map();

// ---- moments ---------------------------------------------------------------------------

function moment(kind, headline, detail = "") {
  if (!WIDGETS.has("moments")) return;
  const box = $("moments");
  const el = h("div", { class: "moment", "data-kind": kind },
    h("div", { class: "headline", text: headline }),
    detail ? h("div", { class: "detail", text: detail }) : null);
  box.append(el);
  while (box.children.length > MAX_MOMENTS) box.firstElementChild.remove();
  setTimeout(() => {
    el.classList.add("leaving");
    setTimeout(() => el.remove(), 450);
  }, HOLD_MS);
}

function nameOf(world, id) {
  return world.creatures[id]?.name ?? id;
}

function momentsOf(world, events) {
  for (const e of events) {
    switch (e.type) {
      case "trade_cleared":
        if (e.qty * e.price >= BIG) {
          moment("trade", `${e.qty} ${e.good} @ ${fmt(e.price)}`,
            `Big trade: ${nameOf(world, e.buyer)} bought from ${nameOf(world, e.seller)}, ${fmt(e.qty * e.price, 0)} pebbles`);
        }
        break;
      case "legend_began":
        moment("legend", `📜 ${e.title}${e.rumour ? " (rumour)" : ""}`, e.story);
        break;
      case "rumour_resolved":
        moment("legend", e.true ? "The rumour was true" : "The rumour was false", e.outcome);
        break;
      case "legend_ended":
        moment("legend", `The legend ends`, e.key.replaceAll("_", " "));
        break;
      case "creature_exiled":
        moment("exile", `${nameOf(world, e.creature)} is exiled`, `ruined; back at tick ${e.until}`);
        break;
      case "creature_returned":
        moment("exile", `${nameOf(world, e.creature)} returns`, `with ${fmt(e.stake)} pebbles from the commons`);
        break;
      default:
        break;
    }
  }
  fortuneMoments(world, true);
}

/**
 * The woodcutter's fortune: the richest maker of the fuel, each time its purse passes another
 * FORTUNE_STEP pebbles (one moment at a time, however many woodcutters the Wood has).
 */
function fortuneMoments(world, announce) {
  const fuel = world.fuel?.good;
  if (!fuel) return;
  const makers = Object.entries(world.creatures).filter(([, c]) => c.produces === fuel && c.status === "active");
  if (!makers.length) return;
  const [id, c] = makers.reduce((a, b) => (b[1].pebbles > a[1].pebbles ? b : a));
  const level = Math.floor(c.pebbles / FORTUNE_STEP);
  const before = fortunes.get(id);
  fortunes.set(id, Math.max(level, before ?? level));
  if (!announce || before === undefined || level <= before) return;
  const richest = Object.values(world.creatures).every((o) => o.pebbles <= c.pebbles);
  const who = makers.length === 1 ? `the ${c.species} who alone makes ${fuel}` : `the richest ${fuel} maker`;
  moment("fortune", `${c.name}: ${fmt(c.pebbles, 0)} pebbles`,
    `The woodcutter's fortune: ${who}${richest ? ", now the richest in the Wood" : ""}`);
}

// ---- widgets ---------------------------------------------------------------------------

function renderPrices(world) {
  if (!WIDGETS.has("prices")) return;
  const box = $("prices");
  if (!box.dataset.ready) {
    box.dataset.ready = "1";
    box.append(h("div", { class: "title line", text: "Market" }));
    for (const good of Object.keys(world.goods)) {
      box.append(h("div", { class: "line", "data-good": good },
        h("span", { class: "name", text: good }), h("span", { class: "value" })));
    }
    box.append(h("div", { class: "line fuelline" }));
  }
  for (const [good, board] of Object.entries(world.goods)) {
    const value = box.querySelector(`[data-good="${CSS.escape(good)}"] .value`);
    if (!value) continue;
    const prev = previous.get(good);
    const trend = prev === undefined || prev === board.ref ? "flat" : board.ref > prev ? "up" : "down";
    previous.set(good, board.ref);
    setText(value, `${fmt(board.ref)} ${trend === "up" ? "▲" : trend === "down" ? "▼" : "•"}`);
    value.dataset.trend = trend;
  }
  const fuel = world.fuel;
  const fuelLine = box.querySelector(".fuelline");
  const season = world.season === "winter" ? "Winter" : `Winter in ${world.ticks_to_winter}`;
  setText(fuelLine, fuel && fuel.ticks_left !== undefined
    ? `${season} · ${fuel.good} lasts ${fmt(fuel.ticks_left, 0)} ticks`
    : `${season} · ${world.season}`);
}

function renderMood(world) {
  if (!WIDGETS.has("mood")) return;
  const rows = Object.entries(world.creatures)
    .filter(([, c]) => c.status === "active")
    .sort((a, b) => b[1].pebbles - a[1].pebbles)
    .slice(0, MOOD_ROWS);
  const box = $("mood");
  const key = rows.map(([id]) => id).join(",");
  if (box.dataset.key !== key) {
    box.dataset.key = key;
    box.replaceChildren(h("div", { class: "title line", text: "Mood of the richest" }),
      ...rows.map(([id, c]) => h("div", { class: "line", "data-creature": id },
        h("span", { class: "who", text: c.name }), h("span", { class: "bar" }, h("span", { class: "fill", style: "display:block" })))));
  }
  for (const [id, c] of rows) {
    const fill = box.querySelector(`[data-creature="${CSS.escape(id)}"] .fill`);
    if (!fill) continue;
    fill.style.transform = `scaleX(${Math.max(0, Math.min(1, c.mood)).toFixed(3)})`;
    fill.dataset.level = c.mood < 0.3 ? "low" : c.mood < 0.6 ? "mid" : "high";
  }
}

function renderTicker(world, events) {
  if (!WIDGETS.has("ticker")) return;
  const box = $("ticker");
  const chips = events
    .filter((e) => e.type === "trade_cleared")
    .map((e) => h("span", { class: "chip" }, h("b", { text: e.good }), ` ${e.qty} @ ${fmt(e.price)} `,
      `${nameOf(world, e.seller)} → ${nameOf(world, e.buyer)}`));
  if (!chips.length) return;
  box.prepend(...chips.reverse());
  while (box.children.length > TICKER_CHIPS) box.lastElementChild.remove();
}

// ---- wiring ----------------------------------------------------------------------------

stream.addEventListener("snapshot", (e) => {
  const world = e.detail.world;
  fortuneMoments(world, false);
  const recent = Object.values(world.trades).sort((a, b) => a.tick - b.tick).map((t) => ({ type: "trade_cleared", ...t }));
  requestAnimationFrame(() => {
    renderPrices(world);
    renderMood(world);
    $("ticker").replaceChildren();
    renderTicker(world, recent.slice(-TICKER_CHIPS));
    document.body.dataset.tick = String(world.tick);
  });
});

stream.addEventListener("delta", (e) => {
  const { world, events } = e.detail;
  momentsOf(world, events);
  const tick = world.tick;
  requestAnimationFrame(() => {
    renderPrices(stream.world);
    renderMood(stream.world);
    renderTicker(world, events);
    document.body.dataset.tick = String(tick);
  });
});

// Silent reconnects: the overlay never shows connection trouble on stream.
stream.addEventListener("status", (e) => {
  document.body.dataset.status = e.detail.status;
});
window.smallwood = stream;
stream.start();

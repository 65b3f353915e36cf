// The stream overlay: the moments that matter, large and outlined, on a transparent page.
//
// URL options (a bad one is reported in the console and in a dev hint on the page):
//   widgets   comma list of moments, prices, ticker, mood, title (default moments,prices,ticker)
//   theme     dark (light text, dark outline; default) or light
//   corner    br, bl, tr or tl: where the stack of widgets sits (default br)
//   big       a trade worth at least this many pebbles is a moment (default 25)
//   creatures how many creatures the mood widget lists (1 to 12, default 6)
//   hold      seconds a moment stays up (2 to 60, default 7)
//   title     the title widget's heading (default: the world's name); implies widgets+=title
//   cta       the title widget's call to action, e.g. "join at wood.example/play"
//   badge     on (default): the world state badge; trouble: only when not live; off
//   speed     ticker speed in pixels a second (20 to 400, default 90)
import { WoodStream, chooseServer, fmt, h, pageBase, renderBadge, setText, showRefusal } from "./wood.js";

const params = new URLSearchParams(location.search);
const KNOWN_WIDGETS = ["moments", "prices", "ticker", "mood", "title"];
const DEFAULT_WIDGETS = "moments,prices,ticker";
const KNOWN_OPTIONS = ["widgets", "theme", "corner", "big", "creatures", "hold", "title", "cta", "badge", "speed", "server"];
const problems = [];

function choice(name, allowed, fallback) {
  const value = params.get(name);
  if (value === null) return fallback;
  if (allowed.includes(value)) return value;
  problems.push(`${name}="${value}" is not one of ${allowed.join(", ")}; using ${fallback}`);
  return fallback;
}

function number(name, fallback, lo, hi) {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value)) {
    problems.push(`${name}="${raw}" is not a number; using ${fallback}`);
    return fallback;
  }
  if (value < lo || value > hi) {
    const kept = Math.max(lo, Math.min(hi, value));
    problems.push(`${name}=${raw} is outside ${lo} to ${hi}; using ${kept}`);
    return kept;
  }
  return value;
}

for (const key of new Set(params.keys())) {
  if (!KNOWN_OPTIONS.includes(key)) problems.push(`unknown option "${key}" ignored; known: ${KNOWN_OPTIONS.join(", ")}`);
}
const WIDGETS = new Set((params.get("widgets") || DEFAULT_WIDGETS).split(",").map((s) => s.trim()).filter(Boolean));
for (const name of WIDGETS) {
  // A typo would otherwise just leave a widget missing from the stream, with no hint why.
  if (!KNOWN_WIDGETS.includes(name)) problems.push(`unknown widget "${name}" ignored; known: ${KNOWN_WIDGETS.join(", ")}`);
}
if (params.has("title") || params.has("cta")) WIDGETS.add("title");
const THEME = choice("theme", ["dark", "light"], "dark");
const CORNER = choice("corner", ["br", "bl", "tr", "tl"], "br");
const BADGE = choice("badge", ["on", "trouble", "off"], "on");
const BIG = number("big", 25, 0, 1e9);
const MOOD_ROWS = Math.round(number("creatures", 6, 1, 12));
const HOLD_MS = number("hold", 7, 2, 60) * 1000;
const SPEED = number("speed", 90, 20, 400);
const TITLE = (params.get("title") || "").slice(0, 80);
const CTA = (params.get("cta") || "").slice(0, 120);
const MAX_MOMENTS = 3;
const TICKER_CHIPS = 24;
const FORTUNE_STEP = 50;

document.body.dataset.theme = THEME;
document.body.dataset.corner = CORNER;
document.body.dataset.badge = BADGE;
for (const name of KNOWN_WIDGETS) {
  document.getElementById(name).hidden = !WIDGETS.has(name);
}
if (problems.length) {
  for (const p of problems) console.warn(`smallwood overlay: ${p}`);
  const hint = document.getElementById("dev-hint");
  hint.replaceChildren(h("strong", { text: "overlay options: " }), ...problems.map((p) => h("div", { text: p })));
  hint.hidden = false;
}

const $ = (id) => document.getElementById(id);
// `?server=` only where this page's server allows it: nothing connects before the answer.
const server = await chooseServer();
const stream = new WoodStream({ base: server.base ?? pageBase() });
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
        moment("legend", `${e.title}${e.rumour ? " (rumour)" : ""}`, e.story);
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
        h("span", { class: "who", text: c.name }), h("span", { class: "bar" }, h("span", { class: "fill", style: "display:block" })),
        h("span", { class: "val" }))));
  }
  for (const [id, c] of rows) {
    const line = box.querySelector(`[data-creature="${CSS.escape(id)}"]`);
    const fill = line?.querySelector(".fill");
    if (!fill) continue;
    setText(line.querySelector(".val"), `${Math.round(Math.max(0, Math.min(1, c.mood)) * 100)}%`);
    fill.style.transform = `scaleX(${Math.max(0, Math.min(1, c.mood)).toFixed(3)})`;
    fill.dataset.level = c.mood < 0.3 ? "low" : c.mood < 0.6 ? "mid" : "high";
  }
}

// The ticker scrolls right to left at SPEED px/s: new trades join at the end of the track,
// a chip that has left on the left goes round to the end again until newer chips replace it.
let tickerOffset = 0;
let tickerLast = null;

function tradeChip(world, e) {
  return h("span", { class: "chip", "data-good": e.good }, h("b", { text: e.good }), ` ${e.qty} @ ${fmt(e.price)} `,
    `${nameOf(world, e.seller)} sold to ${nameOf(world, e.buyer)}`);
}

function renderTicker(world, events) {
  if (!WIDGETS.has("ticker")) return;
  const track = $("ticker-track");
  const chips = events.filter((e) => e.type === "trade_cleared").map((e) => tradeChip(world, e));
  if (!chips.length) return;
  track.append(...chips);
  // Too many queued: the oldest not yet shown go first.
  while (track.children.length > TICKER_CHIPS) track.firstElementChild.remove();
}

function scrollTicker(now) {
  const track = $("ticker-track");
  const dt = tickerLast === null ? 0 : Math.min(100, now - tickerLast);
  tickerLast = now;
  const first = track.firstElementChild;
  if (first && track.scrollWidth > 0) {
    tickerOffset += (SPEED * dt) / 1000;
    const gone = first.offsetWidth + 36;
    if (tickerOffset >= gone) {
      tickerOffset -= gone;
      track.append(first); // round again, behind the newest
    }
    track.style.transform = `translateX(${-tickerOffset.toFixed(1)}px)`;
  }
  requestAnimationFrame(scrollTicker);
}
if (WIDGETS.has("ticker")) requestAnimationFrame(scrollTicker);

function renderTitle(world) {
  if (!WIDGETS.has("title")) return;
  setText($("title-name"), TITLE || world.scenario);
  setText($("title-cta"), CTA);
  $("title-cta").hidden = !CTA;
}

// ---- wiring ----------------------------------------------------------------------------

stream.addEventListener("snapshot", (e) => {
  const world = e.detail.world;
  fortuneMoments(world, false);
  const recent = Object.values(world.trades).sort((a, b) => a.tick - b.tick).map((t) => ({ type: "trade_cleared", ...t }));
  requestAnimationFrame(() => {
    renderPrices(world);
    renderMood(world);
    $("ticker-track").replaceChildren();
    renderTicker(world, recent.slice(-TICKER_CHIPS));
    renderTitle(world);
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

// The same badge as every client; `badge=trouble` shows it only when the world is not live.
stream.addEventListener("status", (e) => {
  document.body.dataset.status = e.detail.status;
  renderBadge($("badge"), e.detail.status, e.detail.reason);
  $("badge").hidden = BADGE === "off" || (BADGE === "trouble" && e.detail.status === "live");
});
window.smallwood = stream;
if (server.base) stream.start();
else showRefusal(server.refused, $("dev-hint"));

// The play page: the bot protocol's first client, driven by a person.
// join {token} → joined; each tick turn {tick, deadline_ms, observation} → act {tick, offers, gossip}.
import { OrderLog, note as noteIn, reasonText } from "./orders.js";
import {
  WoodStream, chooseServer, fmt, h, pageBase, renderBadge, safeText, showRefusal, socketUrl,
} from "./wood.js";

const MAX_OFFERS = 3;
const FINAL_CLOSE = { 4000: "another connection took this creature", 4001: "the token was revoked" };
const $ = (id) => document.getElementById(id);

let socket = null;
let token = "";
let wanted = false; // the player wants to stay connected
let attempts = 0;
let turn = null; // {tick, deadlineAt, deadlineMs, observation}
let sentTick = null;
let queued = false; // the player pressed send after the deadline: send on the next turn
let goods = [];
const SEND_NOW = "Send this turn";
const SEND_NEXT = "Send on next turn";

// ---- the order form --------------------------------------------------------------------

function offerRow(i) {
  return h("div", { class: "row offer-row", "data-offer": String(i) },
    h("select", { name: `side${i}`, "aria-label": `offer ${i + 1} side`, onchange: suggestPrices },
      h("option", { value: "", text: "—" }), h("option", { value: "buy", text: "buy" }), h("option", { value: "sell", text: "sell" })),
    h("select", { name: `good${i}`, "aria-label": `offer ${i + 1} good` }),
    h("input", { name: `qty${i}`, type: "number", min: "1", max: "999", step: "1", placeholder: "qty", "aria-label": `offer ${i + 1} quantity`, oninput: suggestPrices }),
    h("input", { name: `price${i}`, type: "number", min: "0.01", step: "0.01", placeholder: "limit price", "aria-label": `offer ${i + 1} limit price`, oninput: suggestPrices }),
    h("span", { class: "hint muted small", "aria-live": "off" }));
}

function setGoods(list) {
  if (list.join() === goods.join()) return;
  goods = list;
  for (const select of document.querySelectorAll('select[name^="good"]')) {
    const keep = select.value;
    select.replaceChildren(...list.map((g) => h("option", { value: g, text: g })));
    if (list.includes(keep)) select.value = keep;
    select.onchange = suggestPrices;
  }
  suggestPrices();
}

/** The live board's price for `good`: the viewer stream's when it runs, else the last turn's. */
function boardOf(good) {
  const board = world?.goods?.[good];
  if (board) return { ref: board.ref, last: board.last ?? null, tick: world.tick };
  const obs = turn?.observation;
  if (obs && good in obs.prices) return { ref: obs.prices[good], last: obs.last_prices[good] ?? null, tick: obs.tick };
  return null;
}

// Every tick and every keystroke: the suggested limit is the board's price now, never a copy
// taken when the good was chosen. The field itself holds only what the player typed.
function suggestPrices() {
  for (let i = 0; i < MAX_OFFERS; i += 1) {
    const row = document.querySelector(`[data-offer="${i}"]`);
    if (!row) continue;
    const side = row.querySelector(`[name="side${i}"]`).value;
    const good = row.querySelector(`[name="good${i}"]`).value;
    const price = row.querySelector(`[name="price${i}"]`);
    const qty = Number(row.querySelector(`[name="qty${i}"]`).value) || 0;
    const hint = row.querySelector(".hint");
    const board = good ? boardOf(good) : null;
    if (!board) {
      price.placeholder = "limit price";
      hint.textContent = "";
      continue;
    }
    price.placeholder = `board ${fmt(board.ref)}`;
    const typed = Number(price.value);
    const parts = [`board ${fmt(board.ref)}`];
    if (board.last !== null) parts.push(`last ${fmt(board.last)}`);
    if (typed > 0 && side) {
      const gap = ((typed - board.ref) / board.ref) * 100;
      parts.push(`${Math.abs(gap) < 0.5 ? "at" : gap > 0 ? `${fmt(gap, 0)}% above` : `${fmt(-gap, 0)}% below`} the board`);
      if (qty > 0) parts.push(side === "buy" ? `pays at most ${fmt(typed * qty)}` : `gets at least ${fmt(typed * qty)}`);
    }
    hint.textContent = `${parts.join(" · ")} (tick ${board.tick})`;
    hint.dataset.tick = String(board.tick);
  }
}

function readOffers() {
  const offers = [];
  const problems = [];
  for (let i = 0; i < MAX_OFFERS; i += 1) {
    const row = document.querySelector(`[data-offer="${i}"]`);
    const side = row.querySelector(`[name="side${i}"]`).value;
    if (!side) continue;
    const good = row.querySelector(`[name="good${i}"]`).value;
    const qty = Number(row.querySelector(`[name="qty${i}"]`).value);
    const price = Number(row.querySelector(`[name="price${i}"]`).value);
    if (!good || !Number.isInteger(qty) || qty < 1 || !(price > 0)) {
      problems.push(`offer ${i + 1}: choose a good, a whole quantity and a price above 0`);
      continue;
    }
    offers.push({ side, good, qty, price });
  }
  return { offers, problems };
}

function pastDeadline() {
  return !turn || performance.now() >= turn.deadlineAt;
}

function setSendButton(label, disabled) {
  $("send").textContent = label;
  $("send").disabled = disabled;
}

// Pressed by hand: in time, the orders go for this turn; past the deadline the server would
// answer `late`, so they wait for the next `turn` and go for that turn's tick.
function requestSend() {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  if (turn && !pastDeadline()) {
    pressed = true;
    sendAct();
    return;
  }
  queued = true;
  setSendButton(SEND_NEXT, true);
  note("sent", "queued: these orders go with the next turn");
}

function sendAct() {
  if (!turn || !socket || socket.readyState !== WebSocket.OPEN || sentTick === turn.tick) return;
  const { offers, problems } = readOffers();
  for (const p of problems) note("error", p);
  // Gossip is said once: the field empties when it is sent, so "every turn" repeats only orders.
  const gossip = $("gossip").value.slice(0, 120);
  $("gossip").value = "";
  const act = { type: "act", tick: turn.tick, offers, gossip };
  socket.send(JSON.stringify(act));
  sentTick = turn.tick;
  queued = false;
  setSendButton(SEND_NOW, true);
  orders.add(act, $("standing").checked && !pressed);
  pressed = false;
}

// ---- what the creature sees ------------------------------------------------------------

function dl(pairs) {
  return h("dl", { class: "kv" }, ...pairs.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
}

function units(map) {
  const parts = Object.entries(map).map(([g, n]) => `${g} ${n}`);
  return parts.length ? parts.join(", ") : "nothing";
}

function renderObservation(obs, events) {
  const prices = Object.keys(obs.prices).map((g) => `${g} ${fmt(obs.prices[g])}` + (g in obs.last_prices ? ` (last ${fmt(obs.last_prices[g])})` : ""));
  const box = $("observation");
  box.classList.remove("muted");
  box.replaceChildren(
    dl([
      ["you", `${whoIs(obs)}, makes ${obs.produces}${obs.exiled ? " — exiled" : ""}`],
      ["when", `tick ${obs.tick}, ${obs.season} day ${obs.day}/${obs.ticks_per_season}, year ${obs.year}` + (obs.ticks_to_winter ? `; winter in ${obs.ticks_to_winter}` : "")],
      ["pebbles", fmt(obs.pebbles)],
      ["stores", units(obs.stores)],
      ["mood", `${fmt(obs.mood)} · ${obs.fed ? "fed" : "hungry"} · ${obs.warm ? "warm" : "cold"}`],
      ["short of", units(obs.short_of)],
      ["never buy", obs.never_buy.join(", ") || "–"],
      ["fuel", obs.fuel_good ? `${obs.fuel_good}, ${fmt(obs.fuel_per_tick)} per tick` : "none"],
      ["prices", prices.join(" · ")],
      ["legends", obs.legends.map((l) => `${l.title}${l.rumour ? " (rumour)" : ""}, ${l.ticks_left} ticks left: ${l.story}`).join(" | ") || "none"],
      ["trades", obs.trades.slice(-5).map((t) => tradeLine(t, obs.name)).join("; ") || "none"],
      ["gossip", obs.gossip.slice(-3).map((g) => `${g.creature}: ${g.text}`).join(" | ") || "none"],
      ["your news", (events || []).map((e) => describeNews(e, obs.creature)).join("; ") || "nothing"],
    ]),
  );
  setGoods(Object.keys(obs.prices));
}

/**
 * A trade as a sentence from the player's side: "you sold 2 mushrooms to Vesper at 9.37",
 * or "Mossback bought 1 berries from Vesper at 12.95" when the player is in neither side.
 * `buyer` and `seller` are names or ids; `me` is the player's (same kind).
 */
export function tradeLine(t, me, names = {}) {
  const buyer = names[t.buyer] ?? t.buyer;
  const seller = names[t.seller] ?? t.seller;
  const what = `${t.qty} ${t.good}`;
  const at = `at ${fmt(t.price)}`;
  if (t.seller === me) return `you sold ${what} to ${buyer} ${at}`;
  if (t.buyer === me) return `you bought ${what} from ${seller} ${at}`;
  return `${buyer} bought ${what} from ${seller} ${at}`;
}

/** "Zed the wolf", or just "Zed the Wolf" when the name already says the species. */
export function whoIs(obs) {
  const species = String(obs.species || "");
  if (!species || String(obs.name).toLowerCase().includes(species.toLowerCase())) return obs.name;
  return `${obs.name} the ${species}`;
}

function describeNews(e, me) {
  if (e.type === "trade_cleared") return tradeLine(e, me, names());
  if (e.type === "offer_rejected") return `offer ${e.index + 1} refused: ${reasonText(e.reason)}`;
  if (e.type === "creature_exiled") return `exiled until tick ${e.until}`;
  if (e.type === "creature_returned") return `back, with ${fmt(e.stake)} pebbles`;
  return e.type;
}

// ---- countdown -------------------------------------------------------------------------

function tickCountdown() {
  if (!turn) return;
  const left = Math.max(0, turn.deadlineAt - performance.now());
  $("countdown-bar").style.transform = `scaleX(${(left / Math.max(1, turn.deadlineMs)).toFixed(3)})`;
  $("countdown-text").textContent = left > 0 ? `${(left / 1000).toFixed(1)} s to the deadline` : "deadline passed";
  if (left > 0) requestAnimationFrame(tickCountdown);
  else if (sentTick !== turn.tick && !queued) setSendButton(SEND_NEXT, false);
}

// ---- the socket ------------------------------------------------------------------------

function names() {
  const out = {};
  for (const [id, c] of Object.entries(world?.creatures || {})) out[id] = c.name;
  return out;
}

const orders = new OrderLog(document.getElementById("log"), names);
const note = (kind, text) => noteIn($("log"), kind, text);

// ---- purse and P&L ---------------------------------------------------------------------

let startWorth = null; // {pebbles, worth} at the first turn after joining

function worthOf(obs) {
  let worth = obs.pebbles;
  for (const [g, n] of Object.entries(obs.stores)) worth += n * (obs.prices[g] ?? 0);
  return worth;
}

function signed(x) {
  return `${x >= 0 ? "+" : "−"}${fmt(Math.abs(x))}`;
}

function renderPurse(obs) {
  const worth = worthOf(obs);
  if (startWorth === null) startWorth = { pebbles: obs.pebbles, worth };
  const pnl = worth - startWorth.worth;
  const box = $("purse");
  box.hidden = false;
  box.dataset.pnl = pnl > 0.005 ? "up" : pnl < -0.005 ? "down" : "flat";
  box.replaceChildren(
    h("span", {}, "purse ", h("strong", { text: `${fmt(obs.pebbles)} pebbles` })),
    h("span", {}, "worth ", h("strong", { text: fmt(worth) }), h("span", { class: "muted small", text: " (pebbles + stores at board prices)" })),
    h("span", { class: "pnl" }, "P&L since you took it ", h("strong", { text: signed(pnl) }),
      h("span", { class: "muted small", text: ` (pebbles ${signed(obs.pebbles - startWorth.pebbles)})` })),
  );
}

// The badge tells the world's state (the same as every client), from the viewer stream;
// the header tells whether you hold a creature.
function setBadge() {
  renderBadge($("badge"), stream.status, stream.reason);
  document.body.dataset.status = stream.status;
}

function connect() {
  const ws = new WebSocket(socketUrl("ws/bot", server.base));
  socket = ws;
  link = "connecting";
  showWho();
  ws.onopen = () => ws.send(JSON.stringify({ type: "join", token }));
  ws.onmessage = (e) => receive(JSON.parse(e.data));
  ws.onclose = (e) => {
    if (socket !== ws) return;
    socket = null;
    turn = null;
    queued = false;
    setSendButton(SEND_NOW, true);
    if (FINAL_CLOSE[e.code]) {
      wanted = false;
      note("error", `disconnected: ${FINAL_CLOSE[e.code]}`);
    }
    if (!wanted) {
      link = "off";
      if (heldId) note("sent", `let go of ${heldName || heldId}: it goes back to its own mind`);
      released = heldName || heldId;
      heldId = "";
      heldName = "";
      startWorth = null;
      delete document.body.dataset.creature;
      $("purse").hidden = true;
      showWho();
      $("join-button").disabled = false;
      $("leave-button").disabled = true;
      return;
    }
    link = "reconnecting";
    showWho();
    const delay = Math.min(8000, 500 * 2 ** attempts);
    attempts += 1;
    setTimeout(() => wanted && connect(), delay);
  };
}

let heldId = "";
let heldName = "";
let spawning = false;
let link = "off"; // the bot socket: off, connecting, joined, reconnecting
let released = "";
let pressed = false; // this act was sent by the button, not by "every turn"

function showWho() {
  const who = $("who");
  who.dataset.holding = heldId && link === "joined" ? "yes" : "no";
  if (heldId && link === "joined") {
    who.replaceChildren("your creature: ", h("strong", { text: heldName || heldId }),
      spawning ? " (enters the Wood next tick)" : "");
  } else if (heldId && link === "reconnecting") {
    who.replaceChildren("taking back ", h("strong", { text: heldName || heldId }), " (reconnecting…)");
  } else if (link === "connecting") {
    who.textContent = "joining…";
  } else {
    who.textContent = safeText(released ? `not holding a creature (you let go of ${released})` : "not holding a creature");
  }
}

function receive(msg) {
  switch (msg.type) {
    case "joined":
      attempts = 0;
      link = "joined";
      if (heldId !== msg.creature) startWorth = null;
      heldName = world?.creatures?.[msg.creature]?.name || "";
      spawning = Boolean(msg.spawning);
      heldId = msg.creature;
      released = "";
      showWho();
      document.body.dataset.creature = msg.creature;
      note("joined", `took ${heldName || msg.creature} at tick ${msg.tick}`);
      break;
    case "turn":
      turn = { tick: msg.tick, deadlineMs: msg.deadline_ms, deadlineAt: performance.now() + msg.deadline_ms, observation: msg.observation };
      document.body.dataset.turn = String(msg.tick);
      $("turn-tick").textContent = String(msg.tick);
      heldName = whoIs(msg.observation);
      spawning = false;
      showWho();
      orders.settle(msg.tick - 1, msg.events || [], msg.observation.creature);
      renderObservation(msg.observation, msg.events);
      renderPurse(msg.observation);
      suggestPrices();
      setSendButton(SEND_NOW, false);
      requestAnimationFrame(tickCountdown);
      if (queued || $("standing").checked) sendAct();
      break;
    case "accepted":
      orders.accepted(msg);
      break;
    case "error": {
      if (!orders.refused(msg)) {
        note("error", `${msg.code}${msg.tick !== undefined && msg.tick !== null ? ` (tick ${msg.tick})` : ""}: ${msg.message}`);
      }
      if (msg.code === "bad_token") {
        wanted = false;
        socket?.close();
      }
      break;
    }
    default:
      break;
  }
}

// ---- page ------------------------------------------------------------------------------

$("offers").append(...Array.from({ length: MAX_OFFERS }, (_, i) => offerRow(i)));

// `?server=` only where this page's server allows it: a bot token never goes anywhere else.
const server = await chooseServer();
const stream = new WoodStream({ base: server.base ?? pageBase() });
let world = null;
stream.addEventListener("status", setBadge);
// The bot socket's `joined` may come before the viewer stream's first world: the header
// names the creature by its id until the world (or the first turn) says its name.
function learnName() {
  const name = world?.creatures?.[heldId]?.name;
  if (heldId && !heldName && name) {
    heldName = name;
    showWho();
  }
}
stream.addEventListener("snapshot", (e) => {
  world = e.detail.world;
  learnName();
  suggestPrices();
});
stream.addEventListener("delta", (e) => {
  world = e.detail.world;
  learnName();
  suggestPrices();
});
window.smallwood = stream;
if (server.base) {
  stream.start();
} else {
  showRefusal(server.refused);
  $("join-button").disabled = true;
}

function join() {
  token = $("token").value.trim();
  if (!token) return;
  if (!server.base) {
    note("error", `not joining: ${server.refused}`);
    return;
  }
  wanted = true;
  attempts = 0;
  $("join-button").disabled = true;
  $("leave-button").disabled = false;
  connect();
}

$("join").addEventListener("submit", (e) => {
  e.preventDefault();
  join();
});
// A link with `#token=...` joins at once; the token leaves the address bar (and history).
const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) {
  $("token").value = fromHash;
  history.replaceState(null, "", location.pathname + location.search);
  join();
}
$("leave-button").addEventListener("click", () => {
  wanted = false;
  socket?.close();
});
$("act").addEventListener("submit", (e) => {
  e.preventDefault();
  requestSend();
});

// The play page: the bot protocol's first client, driven by a person.
// join {token} → joined; each tick turn {tick, deadline_ms, observation} → act {tick, offers, gossip}.
import { fmt, h, serverBase, socketUrl } from "./wood.js";

const MAX_OFFERS = 3;
const LOG_ROWS = 80;
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
    h("select", { name: `side${i}`, "aria-label": `offer ${i + 1} side` },
      h("option", { value: "", text: "—" }), h("option", { value: "buy", text: "buy" }), h("option", { value: "sell", text: "sell" })),
    h("select", { name: `good${i}`, "aria-label": `offer ${i + 1} good` }),
    h("input", { name: `qty${i}`, type: "number", min: "1", max: "999", step: "1", placeholder: "qty", "aria-label": `offer ${i + 1} quantity` }),
    h("input", { name: `price${i}`, type: "number", min: "0.01", step: "0.01", placeholder: "limit price", "aria-label": `offer ${i + 1} limit price` }));
}

function setGoods(list, prices) {
  if (list.join() === goods.join()) return;
  goods = list;
  for (const select of document.querySelectorAll('select[name^="good"]')) {
    const keep = select.value;
    select.replaceChildren(...list.map((g) => h("option", { value: g, text: g })));
    if (list.includes(keep)) select.value = keep;
    select.onchange = () => {
      const price = select.parentElement.querySelector('input[name^="price"]');
      if (!price.value && prices[select.value]) price.value = String(prices[select.value]);
    };
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
    sendAct();
    return;
  }
  queued = true;
  setSendButton(SEND_NEXT, true);
  log("sent", "queued: these orders go with the next turn");
}

function sendAct() {
  if (!turn || !socket || socket.readyState !== WebSocket.OPEN || sentTick === turn.tick) return;
  const { offers, problems } = readOffers();
  for (const p of problems) log("error", p);
  // Gossip is said once: the field empties when it is sent, so "every turn" repeats only orders.
  const gossip = $("gossip").value.slice(0, 120);
  $("gossip").value = "";
  const act = { type: "act", tick: turn.tick, offers, gossip };
  socket.send(JSON.stringify(act));
  sentTick = turn.tick;
  queued = false;
  setSendButton(SEND_NOW, true);
  const said = gossip ? `; said “${gossip}”` : "";
  log("sent", `tick ${act.tick}: ${offers.length ? offers.map((o) => `${o.side} ${o.qty} ${o.good} @ ${o.price}`).join(", ") : "no offers"}${said}`);
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
      ["trades", obs.trades.slice(-5).map((t) => `${t.buyer} ← ${t.qty} ${t.good} @ ${fmt(t.price)} ← ${t.seller}`).join("; ") || "none"],
      ["gossip", obs.gossip.slice(-3).map((g) => `${g.creature}: ${g.text}`).join(" | ") || "none"],
      ["your news", (events || []).map(describeNews).join("; ") || "nothing"],
    ]),
  );
  setGoods(Object.keys(obs.prices), obs.prices);
}

/** "Zed the wolf", or just "Zed the Wolf" when the name already says the species. */
export function whoIs(obs) {
  const species = String(obs.species || "");
  if (!species || String(obs.name).toLowerCase().includes(species.toLowerCase())) return obs.name;
  return `${obs.name} the ${species}`;
}

function describeNews(e) {
  if (e.type === "trade_cleared") return `${e.buyer} bought ${e.qty} ${e.good} from ${e.seller} at ${fmt(e.price)}`;
  if (e.type === "offer_rejected") return `offer ${e.index + 1} refused: ${e.reason}`;
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

function log(kind, text) {
  const list = $("log");
  list.prepend(h("li", { "data-kind": kind, text: `${new Date().toLocaleTimeString()} ${text}` }));
  while (list.children.length > LOG_ROWS) list.lastElementChild.remove();
}

function setBadge(status, text) {
  $("badge").dataset.status = status;
  $("badge").textContent = text;
}

function connect() {
  const ws = new WebSocket(socketUrl("ws/bot", serverBase()));
  socket = ws;
  setBadge("connecting", "connecting");
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
      log("error", `disconnected: ${FINAL_CLOSE[e.code]}`);
    }
    if (!wanted) {
      setBadge("connecting", "offline");
      $("join-button").disabled = false;
      $("leave-button").disabled = true;
      return;
    }
    setBadge("stale", "reconnecting");
    const delay = Math.min(8000, 500 * 2 ** attempts);
    attempts += 1;
    setTimeout(() => wanted && connect(), delay);
  };
}

let heldId = "";
let heldName = "";
let spawning = false;

function showWho() {
  $("who").textContent = `you hold ${heldName || heldId}` + (spawning ? " (entering the Wood next tick)" : "");
}

function receive(msg) {
  switch (msg.type) {
    case "joined":
      attempts = 0;
      setBadge("live", "playing");
      heldName = "";
      spawning = Boolean(msg.spawning);
      heldId = msg.creature;
      showWho();
      document.body.dataset.creature = msg.creature;
      log("accepted", `joined as ${msg.creature} at tick ${msg.tick}`);
      break;
    case "turn":
      turn = { tick: msg.tick, deadlineMs: msg.deadline_ms, deadlineAt: performance.now() + msg.deadline_ms, observation: msg.observation };
      document.body.dataset.turn = String(msg.tick);
      $("turn-tick").textContent = String(msg.tick);
      heldName = whoIs(msg.observation);
      spawning = false;
      showWho();
      renderObservation(msg.observation, msg.events);
      setSendButton(SEND_NOW, false);
      requestAnimationFrame(tickCountdown);
      if (queued || $("standing").checked) sendAct();
      break;
    case "accepted":
      log("accepted", `tick ${msg.tick}: accepted, it trades this tick`);
      break;
    case "error":
      log("error", `${msg.code}${msg.tick !== undefined ? ` (tick ${msg.tick})` : ""}: ${msg.message}`);
      if (msg.code === "bad_token") {
        wanted = false;
        socket?.close();
      }
      break;
    default:
      break;
  }
}

// ---- page ------------------------------------------------------------------------------

$("offers").append(...Array.from({ length: MAX_OFFERS }, (_, i) => offerRow(i)));
const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) $("token").value = fromHash;

$("join").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("token").value.trim();
  if (!token) return;
  wanted = true;
  attempts = 0;
  $("join-button").disabled = true;
  $("leave-button").disabled = false;
  connect();
});
$("leave-button").addEventListener("click", () => {
  wanted = false;
  socket?.close();
});
$("act").addEventListener("submit", (e) => {
  e.preventDefault();
  requestSend();
});

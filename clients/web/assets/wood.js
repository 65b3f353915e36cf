// wood.js: one live copy of the world document, kept by protocol v1 over `/ws`.
//
// The server sends a snapshot, then one delta per tick (an RFC 7396 merge patch and the
// tick's events). A WoodStream applies them in order, reconnects with backoff and
// `?since=SEQ`, and says what state the world is in (WORLD_STATES: live, paused, idle,
// degraded, stale, reconnecting), from the server's `status` frames and its own watch on
// the ticks: while disconnected the world it holds is the last one it saw, and it says so.

/** RFC 7396: `doc` with `patch` merged in. Never modifies its arguments. */
export function mergePatch(doc, patch) {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out = doc !== null && typeof doc === "object" && !Array.isArray(doc) ? { ...doc } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** An http(s) or ws(s) URL of `path` relative to the page (or to `base`), as a websocket URL. */
export function socketUrl(path, base = location.href) {
  const url = new URL(path, base);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  return url;
}

/** The page's own server: the folder the page was served from (so a path prefix works). */
export function pageBase(page = location.href) {
  return new URL(".", page).href;
}

const SERVER_SCHEMES = { "http:": "http:", "https:": "https:", "ws:": "http:", "wss:": "https:" };

/** An origin as the browser writes it (`https://example.org`), or null for a non-URL. */
function originOf(text) {
  try {
    const url = new URL(String(text).trim());
    return url.protocol in SERVER_SCHEMES ? url.origin : null;
  } catch {
    return null;
  }
}

/**
 * Where a page given `?server=` (`given`: the raw value; null when absent) may connect, by
 * the rule every page follows: its own origin always, another only when the server that
 * served the page lists it (`allowed`: the origins from its `GET api/origins`, the
 * operator's SMALLWOOD_ORIGINS; null when that list could not be read, which refuses every
 * other origin). A page must never carry a viewer, let alone a bot token, to a host its
 * operator did not name. Returns {base} (the server's folder, as an http(s) URL) or
 * {refused, malformed} with the reason in words.
 */
export function serverChoice(given, page = location.href, allowed = []) {
  if (given === null || given === undefined) return { base: pageBase(page) };
  const shown = safeText(given).slice(0, 200);
  let url;
  try {
    url = new URL(String(given).trim());
  } catch {
    return { malformed: true, refused: `?server=${shown} is not a URL: write it whole, e.g. ?server=http://host:8765/` };
  }
  if (!(url.protocol in SERVER_SCHEMES)) {
    return { malformed: true, refused: `?server=${shown} is not an http(s) or ws(s) URL` };
  }
  if (url.username || url.password) {
    return { malformed: true, refused: `?server=${shown} carries a user name or password: refused` };
  }
  url.protocol = SERVER_SCHEMES[url.protocol];
  url.search = "";
  url.hash = "";
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  const own = new URL(page).origin;
  if (url.origin === own) return { base: url.href };
  if (allowed === null) {
    return { refused: `This page could not ask its server which other servers it may use, so ?server=${url.origin} is refused` };
  }
  const listed = new Set(allowed.map(originOf).filter(Boolean));
  if (listed.has(url.origin)) return { base: url.href };
  const others = listed.size ? ` and ${[...listed].sort().join(", ")}` : "";
  return {
    refused: `This server does not let its pages connect to ${url.origin}: only to its own (${own})${others}. ` +
      "Its operator can allow more with SMALLWOOD_ORIGINS.",
  };
}

/** The origins, beside its own, the page's server lets its pages use; null when unknown. */
export async function allowedOrigins(page = location.href) {
  try {
    const res = await fetch(new URL("api/origins", pageBase(page)), { cache: "no-store" });
    if (!res.ok) return null;
    const body = await res.json();
    return Array.isArray(body?.origins) ? body.origins.map(String) : null;
  } catch {
    return null;
  }
}

/**
 * Where this page connects: `serverChoice` for the page's own `?server=`, asking its server
 * for the allowed origins only when another origin is named. Nothing connects before this.
 */
export async function chooseServer(page = location.href) {
  const params = new URL(page).searchParams;
  const given = params.has("server") ? params.get("server") : null;
  const first = serverChoice(given, page, []);
  if (first.base || first.malformed) return first;
  return serverChoice(given, page, await allowedOrigins(page));
}

/**
 * Say, on the page and in the console, that the server named by `?server=` was refused:
 * a banner at the top (`#server-refused`; inside `box` when given), the badge, and
 * `body[data-server="refused"]`.
 */
export function showRefusal(message, box = null) {
  console.error(`smallwood: ${message}`);
  document.body.dataset.server = "refused";
  const line = h("div", { id: "server-refused", class: "server-refused", role: "alert" },
    h("strong", { text: "Not connected. " }), h("span", { text: message }));
  document.getElementById("server-refused")?.remove();
  if (box) {
    box.append(line); // the overlay's dev hint
    box.hidden = false;
  } else {
    document.body.prepend(line);
  }
  const badge = document.getElementById("badge");
  if (badge) renderBadge(badge, "refused", message);
  const tick = document.getElementById("tick");
  if (tick) setText(tick, "not connected");
}

/**
 * The world's state as every client shows it, worst first: what a person needs to know.
 * - connecting: no world yet; reconnecting: the socket is down, the world shown is the last seen;
 * - paused: an operator stopped the clock; idle: the world sleeps with no one watching;
 * - stale: connected, but no tick for longer than the clock promises;
 * - degraded: ticking, but some minds failed last tick; live: all well.
 */
export const WORLD_STATES = {
  connecting: "connecting",
  reconnecting: "reconnecting",
  paused: "paused",
  idle: "idle",
  stale: "stale",
  degraded: "degraded",
  live: "live",
};

/** Ticks that may pass in silence before a world that says it runs is called stale. */
export const STALE_TICKS = 3;

/**
 * The world state from the connection (`link`: "connecting", "open", "down"), the server's
 * last `status` frame ({status, period, reason}) and the milliseconds since the last delta.
 */
export function worldState(link, hasWorld, server, silentMs) {
  if (!hasWorld) return link === "down" ? "reconnecting" : "connecting";
  if (link !== "open") return "reconnecting";
  const status = server?.status || "live";
  if (status === "paused" || status === "idle") return status;
  const period = (server?.period || 1) * 1000;
  if (silentMs > STALE_TICKS * period + 1000) return "stale";
  return status === "degraded" ? "degraded" : "live";
}

/**
 * Draw the state badge: a CSS-drawn mark, the state's word and, as a title, why. Beside the
 * world states, "refused": the page was pointed (`?server=`) at a server it may not use.
 */
export function renderBadge(el, state, reason = "") {
  if (el.dataset.status !== state) el.dataset.status = state;
  setText(el, WORLD_STATES[state] || state);
  el.title = reason || "";
}

/**
 * Events (EventTarget):
 * - "snapshot": detail {world, seq, tick}; a whole new world (first connect, or after a gap)
 * - "delta": detail {world, seq, tick, patch, events}; one tick applied
 * - "status": detail {status, tick, reason}; status is one of WORLD_STATES
 */
export class WoodStream extends EventTarget {
  constructor({ base = pageBase(), minDelay = 500, maxDelay = 8000 } = {}) {
    super();
    this.base = base;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.world = null;
    this.seq = null;
    this.tick = null;
    this.status = "connecting";
    this.reason = "";
    this.link = "connecting";
    this.server = null; // the last `status` frame: {status, period, reason}
    this.lastDelta = performance.now();
    this.socket = null;
    this.attempts = 0;
    this.timer = null;
    this.watch = null;
    this.closed = false;
  }

  start() {
    this.closed = false;
    this._connect();
    // Silence is news too: a world that stops ticking without saying why turns stale.
    this.watch = setInterval(() => this._update(), 250);
    return this;
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.watch);
    if (this.socket) this.socket.close();
  }

  /** Seconds a tick lasts, as the server last said (1 until it says). */
  get period() {
    return this.server?.period || 1;
  }

  _connect() {
    const url = socketUrl("ws", this.base);
    url.searchParams.set("status", "1"); // the world's state in `status` frames
    if (this.seq !== null) url.searchParams.set("since", String(this.seq));
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      this._retry();
      return;
    }
    this.socket = ws;
    ws.onopen = () => {
      // A resume that the server can serve sends nothing until the next tick; one it cannot
      // serve sends a snapshot at once. Either way what we hold is current from here on.
      this.attempts = 0;
      this.link = "open";
      this.lastDelta = performance.now();
      this._update();
    };
    ws.onmessage = (e) => this._receive(ws, e.data);
    ws.onclose = () => {
      if (this.socket !== ws) return;
      this.socket = null;
      this.link = "down";
      this.server = this.server && { ...this.server, status: "live", reason: null };
      this._update();
      if (!this.closed) this._retry();
    };
    ws.onerror = () => ws.close();
  }

  _retry() {
    const delay = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempts);
    this.attempts += 1;
    // Jitter, so a restarted server is not met by every viewer in the same millisecond.
    this.timer = setTimeout(() => this._connect(), delay * (0.75 + Math.random() * 0.5));
  }

  _receive(ws, data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg.type === "snapshot") {
      this.world = msg.world;
      this.seq = msg.seq;
      this.tick = msg.tick;
      this.lastDelta = performance.now();
      this._update();
      this.dispatchEvent(new CustomEvent("snapshot", { detail: { world: this.world, seq: msg.seq, tick: msg.tick } }));
    } else if (msg.type === "delta") {
      if (this.world === null || msg.seq !== this.seq + 1) {
        // A gap: start again from what we hold; the server resends or sends a snapshot.
        ws.close();
        return;
      }
      this.world = mergePatch(this.world, msg.patch);
      this.seq = msg.seq;
      this.tick = msg.tick;
      this.lastDelta = performance.now();
      this._update();
      this.dispatchEvent(
        new CustomEvent("delta", {
          detail: { world: this.world, seq: msg.seq, tick: msg.tick, patch: msg.patch, events: msg.events || [] },
        }),
      );
    } else if (msg.type === "status") {
      this.server = { status: msg.status, period: msg.period, reason: msg.reason || null };
      this._update();
    }
  }

  _update() {
    const status = worldState(this.link, this.world !== null, this.server, performance.now() - this.lastDelta);
    const reason = status === "stale"
      ? `no tick for ${((performance.now() - this.lastDelta) / 1000).toFixed(0)} s`
      : status === "degraded" || status === "paused" || status === "idle" ? this.server?.reason || "" : "";
    if (status === this.status && reason === this.reason) return;
    this.status = status;
    this.reason = reason;
    this.dispatchEvent(new CustomEvent("status", { detail: { status, tick: this.tick, reason } }));
  }
}

/** Fetch `/api/history` (price series for charts); null when the server has none. */
export async function fetchHistory(base = pageBase(), last = 300) {
  try {
    const res = await fetch(new URL(`api/history?last=${last}`, base));
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}

const DRIVERS = new Set(["script", "model", "bot"]);

/**
 * Who decides for a creature, in three words: "model", "script" or "bot".
 * Takes the creature: its `driver` when the server sends one, else guessed from `brain`.
 */
export function brainKind(creature) {
  if (DRIVERS.has(creature.driver)) return creature.driver;
  if (creature.brain === "scripted") return "script";
  if (creature.brain === "bot") return "bot";
  return "model";
}

/** The pill text: the model's name when a model decides and the world names it, else the kind. */
export function brainLabel(creature) {
  const kind = brainKind(creature);
  const brain = creature.brain;
  if (kind === "model" && brain && !["scripted", "bot", "model"].includes(brain)) return brain;
  return kind;
}

export const SEASON_COLORS = {
  spring: "rgba(120, 200, 120, 0.16)",
  summer: "rgba(240, 200, 80, 0.16)",
  autumn: "rgba(220, 130, 60, 0.16)",
  winter: "rgba(120, 170, 240, 0.20)",
};

export const GOOD_COLORS = ["#c8873a", "#c23b5a", "#8a6bbf", "#e3b021", "#4f8f4a", "#3a8fc8", "#b0b0b0"];

/** A stable colour per good, in the order the world lists its goods. */
export function goodColor(world, good) {
  const index = Object.keys(world.goods).indexOf(good);
  return GOOD_COLORS[(index < 0 ? 0 : index) % GOOD_COLORS.length];
}

export function fmt(value, digits = 2) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "–";
  const s = value.toFixed(digits);
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

// Control, bidi and invisible characters a world's strangers may put in a name or a line:
// a right-to-left override would turn "at 1.25" into "52.1 ta". The joiner (U+200D) and
// variation selectors stay, so emoji sequences stay whole.
const UNSAFE = /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u061c\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
const BREAKS = /[\t\n\v\f\r\u2028\u2029]/g;

/** `text` as one line fit for the page: no control, bidi or invisible characters. */
export function safeText(text) {
  const s = String(text);
  return s.replace(BREAKS, " ").replace(UNSAFE, "");
}

/** Create an element with attributes and children (strings become text, made safe). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = safeText(v);
    else if (k.startsWith("data-")) el.setAttribute(k, v);
    else if (k === "style") el.setAttribute("style", v);
    else el[k] = v;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(safeText(child)));
  }
  return el;
}

/** Set text only when it changed: keeps layout work per tick to what really moved. */
export function setText(el, text) {
  const s = safeText(text);
  if (el.textContent !== s) el.textContent = s;
}

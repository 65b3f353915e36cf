// wood.js: one live copy of the world document, kept by protocol v1 over `/ws`.
//
// The server sends a snapshot, then one delta per tick (an RFC 7396 merge patch and the
// tick's events). A WoodStream applies them in order, reconnects with backoff and
// `?since=SEQ`, and says whether what it holds is live or stale: while disconnected the
// world it holds is the last one it saw, and `status` says so.

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

/** Where the server lives: the page's own origin, or `?server=http://host:port/`. */
export function serverBase() {
  const given = new URLSearchParams(location.search).get("server");
  return given ? new URL(given.endsWith("/") ? given : given + "/", location.href).href : new URL(".", location.href).href;
}

/**
 * Events (EventTarget):
 * - "snapshot": detail {world, seq, tick}; a whole new world (first connect, or after a gap)
 * - "delta": detail {world, seq, tick, patch, events}; one tick applied
 * - "status": detail {status, since}; status is "connecting", "live" or "stale"
 */
export class WoodStream extends EventTarget {
  constructor({ base = serverBase(), minDelay = 500, maxDelay = 8000 } = {}) {
    super();
    this.base = base;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.world = null;
    this.seq = null;
    this.tick = null;
    this.status = "connecting";
    this.socket = null;
    this.attempts = 0;
    this.timer = null;
    this.closed = false;
  }

  start() {
    this.closed = false;
    this._connect();
    return this;
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close();
  }

  _connect() {
    const url = socketUrl("ws", this.base);
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
      if (this.world !== null) this._setStatus("live");
    };
    ws.onmessage = (e) => this._receive(ws, e.data);
    ws.onclose = () => {
      if (this.socket !== ws) return;
      this.socket = null;
      this._setStatus(this.world === null ? "connecting" : "stale");
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
      this._setStatus("live");
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
      if (this.status !== "live") this._setStatus("live");
      this.dispatchEvent(
        new CustomEvent("delta", {
          detail: { world: this.world, seq: msg.seq, tick: msg.tick, patch: msg.patch, events: msg.events || [] },
        }),
      );
    }
  }

  _setStatus(status) {
    this.status = status;
    this.dispatchEvent(new CustomEvent("status", { detail: { status, tick: this.tick } }));
  }
}

/** Fetch `/api/history` (price series for charts); null when the server has none. */
export async function fetchHistory(base = serverBase(), last = 300) {
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

/** Create an element with attributes and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("data-")) el.setAttribute(k, v);
    else if (k === "style") el.setAttribute("style", v);
    else el[k] = v;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Set text only when it changed: keeps layout work per tick to what really moved. */
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

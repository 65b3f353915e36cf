// orders.js: the play page's order log. One entry per act, kept (the last LOG_ROWS): what
// was sent, then the server's answer at once (accepted, or refused with its reason), then the
// market's answer for each order when the next turn brings the tick's events: filled (qty,
// price, from or to whom), partly filled, refused (with the world's reason) or not filled.
import { fmt, h, safeText } from "./wood.js";

export const LOG_ROWS = 200;

const REASONS = {
  insufficient_goods: "you do not hold that many",
  insufficient_pebbles: "not enough pebbles for that limit",
  exiled: "your creature is in exile",
  unknown_good: "no such good here",
  own_good: "a creature never buys what it makes",
};

/** A refusal's reason in words, with its code. */
export function reasonText(reason) {
  return REASONS[reason] ? `${REASONS[reason]} (${reason})` : String(reason || "refused").replaceAll("_", " ");
}

export function stamp() {
  return h("span", { class: "muted small", text: `${new Date().toLocaleTimeString()} ` });
}

/** A line in `list` that is not an order: joins, errors, queued sends. */
export function note(list, kind, text) {
  list.prepend(h("li", { "data-kind": kind }, stamp(), text));
  while (list.children.length > LOG_ROWS) list.lastElementChild.remove();
}

export class OrderLog {
  /** `list` is the <ol>; `names()` maps creature ids to names (from the live world). */
  constructor(list, names) {
    this.list = list;
    this.names = names;
    this.orders = new Map(); // tick → {el, offers, lines, status}
  }

  get(tick) {
    return this.orders.get(tick);
  }

  /** A new entry for `act` ({tick, offers, gossip}); `standing` marks a repeated order. */
  add(act, standing) {
    const el = h("li", { class: "order", "data-kind": "sent", "data-tick": String(act.tick) });
    const head = h("div", { class: "order-head" }, stamp(), h("strong", { text: `tick ${act.tick}` }), " ",
      h("span", { class: "order-status", text: "sent" }), standing ? h("span", { class: "pill", text: "standing" }) : null);
    const lines = act.offers.map((o, i) =>
      h("div", { class: "offer-line", "data-index": String(i), "data-result": "sent" },
        `${o.side} ${o.qty} ${o.good} at ${o.side === "buy" ? "most" : "least"} ${fmt(o.price)}`,
        h("span", { class: "offer-result", text: "" })));
    el.append(head, ...lines);
    if (!act.offers.length) el.append(h("div", { class: "offer-line muted", text: "no offers" }));
    if (act.gossip) el.append(h("div", { class: "offer-line muted", text: `said “${act.gossip}”` }));
    this.list.prepend(el);
    while (this.list.children.length > LOG_ROWS) this.list.lastElementChild.remove();
    const entry = { el, offers: act.offers, lines, status: "sent" };
    this.orders.set(act.tick, entry);
    for (const old of this.orders.keys()) if (old < act.tick - LOG_ROWS) this.orders.delete(old);
    return entry;
  }

  /** The server's answer to an act: `accepted` (with any offers refused at the edge). */
  accepted(msg) {
    const entry = this.orders.get(msg.tick);
    if (!entry) return;
    status(entry, "accepted", "accepted: the market answers next tick");
    for (const r of msg.refused || []) result(entry, r.index, "refused", `refused: ${reasonText(r.reason)}`);
  }

  /** An `error` about an act's tick: the whole act refused. False when no entry waits. */
  refused(msg) {
    const entry = msg.tick !== undefined && msg.tick !== null ? this.orders.get(msg.tick) : null;
    if (!entry || entry.status !== "sent") return false;
    status(entry, "refused", `refused: ${msg.code.replaceAll("_", " ")}: ${msg.message}`);
    entry.lines.forEach((_, i) => result(entry, i, "refused", "not traded"));
    return true;
  }

  /** The market's answer to the act for `tick`, from the events the next turn carries. */
  settle(tick, events, me) {
    const entry = this.orders.get(tick);
    if (!entry || entry.status === "refused") return;
    const names = this.names();
    const refused = new Map();
    const fills = [];
    for (const e of events) {
      if (e.type === "offer_rejected" && e.creature === me) refused.set(e.index, e.reason);
      if (e.type === "trade_cleared" && (e.buyer === me || e.seller === me)) fills.push(e);
    }
    let filled = 0;
    let refusedCount = 0;
    entry.offers.forEach((o, i) => {
      if (refused.has(i)) {
        refusedCount += 1;
        result(entry, i, "refused", `refused: ${reasonText(refused.get(i))}`);
        return;
      }
      const buying = o.side === "buy";
      const mine = fills.filter((f) => f.good === o.good && (buying ? f.buyer === me : f.seller === me));
      const qty = mine.reduce((n, f) => n + f.qty, 0);
      if (!qty) {
        result(entry, i, "unfilled", `not filled: no ${buying ? "seller" : "buyer"} met your limit`);
        return;
      }
      filled += 1;
      const who = [...new Set(mine.map((f) => (buying ? f.seller : f.buyer)).map((id) => names[id] ?? id))];
      const text = `${qty < o.qty ? `partly filled, ${qty} of ${o.qty}` : `filled ${qty}`} at ${fmt(mine[0].price)}` +
        ` (${buying ? "from" : "to"} ${who.join(", ")})`;
      result(entry, i, qty < o.qty ? "partial" : "filled", text);
    });
    const n = entry.offers.length;
    if (!n) status(entry, "done", "nothing to trade");
    else if (refusedCount === n) status(entry, "refused", "refused by the market");
    else if (filled) status(entry, "filled", `${filled} of ${n} filled`);
    else status(entry, "unfilled", refusedCount ? `${refusedCount} refused, none filled` : "none filled");
  }
}

function status(entry, kind, text) {
  entry.el.dataset.kind = kind;
  entry.status = kind;
  entry.el.querySelector(".order-status").textContent = safeText(text);
}

function result(entry, index, kind, text) {
  const line = entry.lines[index];
  if (!line) return;
  line.dataset.result = kind;
  line.querySelector(".offer-result").textContent = safeText(` → ${text}`);
}

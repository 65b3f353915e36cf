// chronicle.js: the Wood's chronicle, short headlines made from public events only.
//
// Everything it tells, every viewer saw: the trades, legends, exiles and prices in the
// published document and its events. It never knows a hidden fact (a rumour's truth comes
// only from `rumour_resolved`, after the Wood learns it).
import { fmt, h } from "./wood.js";

const ROWS = 60;
const SPIKE = 0.2; // a price that moves this much within SPIKE_TICKS ticks is news
const SPIKE_TICKS = 5;
const BIG_TRADE = 10; // pebbles: a season's record trade below this is not news

export class Chronicle {
  constructor(list) {
    this.list = list;
    this.reset(null);
  }

  /** Start again from a snapshot: what the world already is is not news. */
  reset(world) {
    this.prices = {}; // good → [{tick, ref}]
    this.leader = null;
    this.seasonKey = world ? `${world.year}:${world.season}` : null;
    this.record = 0; // the season's biggest trade, in pebbles
    this.lastSpike = {}; // good → tick of its last headline
    this.headlines = 0;
  }

  /** Read one frame's world and events; add the headlines they make. */
  observe(world, events, leader) {
    const items = [];
    const name = (id) => world.creatures[id]?.name ?? id;
    const season = `${world.year}:${world.season}`;
    if (season !== this.seasonKey) {
      this.seasonKey = season;
      this.record = 0;
    }
    let best = null;
    for (const { tick, event: e } of events) {
      switch (e.type) {
        case "trade_cleared": {
          const value = e.qty * e.price;
          if (value >= BIG_TRADE && value > this.record && (!best || value > best.value)) best = { tick, e, value };
          break;
        }
        case "legend_began":
          items.push(this.item("legend", tick, `${e.title}${e.rumour ? ": a rumour runs through the Wood" : " begins"}`, e.story));
          break;
        case "legend_ended":
          items.push(this.item("legend", tick, `The ${e.key.replaceAll("_", " ")} is over`));
          break;
        case "rumour_resolved":
          items.push(this.item("legend", tick, e.true ? "The rumour was true" : "The rumour was false", e.outcome));
          break;
        case "creature_exiled":
          items.push(this.item("exile", tick, `${name(e.creature)} is ruined and exiled`, `back at tick ${e.until}`));
          break;
        case "creature_returned":
          items.push(this.item("exile", tick, `${name(e.creature)} returns from exile`, `with ${fmt(e.stake)} pebbles from the commons`));
          break;
        case "creature_joined":
          items.push(this.item("join", tick, `${e.name} the ${e.species} joins the Wood`, `making ${e.produces}`));
          break;
        default:
          break;
      }
    }
    if (best) {
      this.record = best.value;
      const { e } = best;
      items.push(this.item("trade", best.tick, `Biggest trade of the ${world.season}: ${fmt(best.value, 0)} pebbles`,
        `${name(e.buyer)} bought ${e.qty} ${e.good} from ${name(e.seller)} at ${fmt(e.price)}`));
    }
    for (const [good, board] of Object.entries(world.goods)) {
      const series = (this.prices[good] ||= []);
      series.push({ tick: world.tick, ref: board.ref });
      while (series.length && series[0].tick < world.tick - SPIKE_TICKS) series.shift();
      const then = series[0];
      if (!then || then.tick === world.tick || then.ref <= 0) continue;
      const change = (board.ref - then.ref) / then.ref;
      if (Math.abs(change) >= SPIKE && (this.lastSpike[good] ?? -Infinity) < world.tick - SPIKE_TICKS) {
        this.lastSpike[good] = world.tick;
        const verb = change > 0 ? "jumps" : "falls";
        items.push(this.item("price", world.tick, `${cap(good)} ${verb} ${fmt(Math.abs(change) * 100, 0)}% to ${fmt(board.ref)}`,
          `from ${fmt(then.ref)} in ${world.tick - then.tick} ticks`));
      }
    }
    if (leader && leader !== this.leader) {
      if (this.leader !== null && world.creatures[this.leader]) {
        items.push(this.item("top", world.tick, `${name(leader)} is now the richest in the Wood`, `ahead of ${name(this.leader)}`));
      }
      this.leader = leader;
    }
    if (!items.length) return;
    if (!this.headlines) this.list.replaceChildren();
    this.headlines += items.length;
    const frag = document.createDocumentFragment();
    for (const item of items.reverse()) frag.append(item);
    this.list.prepend(frag);
    while (this.list.children.length > ROWS) this.list.lastElementChild.remove();
  }

  item(kind, tick, headline, detail = "") {
    return h("li", { class: `headline headline-${kind}`, "data-kind": kind, "data-tick": String(tick) },
      h("span", { class: "muted small", text: `#${tick} ` }), h("strong", { text: headline }),
      detail ? h("span", { class: "muted small", text: ` ${detail}` }) : null);
  }
}

function cap(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

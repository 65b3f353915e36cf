// creature_view.js: one creature's story, in a panel beside the board: its wealth, purse,
// mood and stores over time, its trades and gossip, and who decides for it.
import { LineChart, seasonBands } from "./chart.js";
import { perYear, wealthOf } from "./series.js";
import { SEASON_COLORS, brainKind, fmt, goodColor, h, setText } from "./wood.js";

function nameOf(world, id) {
  return world.creatures[id]?.name ?? id;
}

export class CreatureView {
  /** `root` is the panel; its parts are found by id (cv-name, cv-purse...). */
  constructor(root, { onClose }) {
    this.root = root;
    this.selected = null;
    this.onClose = onClose;
    const $ = (x) => document.getElementById(x);
    this.views = {
      purse: new LineChart($("cv-purse"), { height: 90, label: "wealth and purse" }),
      mood: new LineChart($("cv-mood"), { height: 70, label: "mood", format: (v) => v.toFixed(2) }),
      stores: new LineChart($("cv-stores"), { height: 90, label: "stores", format: (v) => v.toFixed(0) }),
    };
    $("cv-close").addEventListener("click", () => this.close());
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.selected) this.close();
    });
  }

  open(id) {
    this.selected = id;
    this.root.hidden = false;
    document.body.dataset.creatureView = id;
    document.getElementById("cv-close").focus({ preventScroll: true });
  }

  close() {
    this.selected = null;
    this.root.hidden = true;
    delete document.body.dataset.creatureView;
    this.onClose();
  }

  /** Draw the open creature's view from `world`, the `history` and the `tape` of trades and gossip. */
  render(world, history, tape) {
    const id = this.selected;
    if (!id || !world) return;
    const $ = (x) => document.getElementById(x);
    const views = this.views;
    const c = world.creatures[id];
    const view = $("creature-view");
    view.dataset.creature = id;
    if (!c) {
      setText($("cv-name"), id);
      setText($("cv-sub"), "has left the Wood");
      return;
    }
    setText($("cv-name"), c.name);
    setText($("cv-sub"), `${c.species} · makes ${c.produces} · ${c.personality || ""}`);
    const drivers = { script: "its script", model: "a language model", bot: "a bot over the websocket" };
    const facts = [
      ["decided by", `${drivers[brainKind(c)] || brainKind(c)} (brain: ${c.brain})`],
      ["wealth", `${fmt(wealthOf(world, c), 2)} (${fmt(c.pebbles, 2)} pebbles)`],
      ["mood", `${fmt(c.mood, 2)} · ${c.fed ? "fed" : "hungry"} · ${c.warm ? "warm" : "cold"}`],
      ["stores", Object.entries(c.stores).map(([g, n]) => `${g} ${n}`).join(", ")],
      ["state", c.status === "exiled" ? `exiled, returns at tick ${c.returns ?? "?"}` : "in the Wood"],
    ];
    // Lists are rebuilt only when what they show changed, not on every tick.
    if (changed($("cv-facts"), facts.flat().join("\u0000"))) {
      $("cv-facts").replaceChildren(...facts.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
    }
    const ticks = history.ticks;
    const docs = history.docs;
    const pick = (f) => docs.map((d) => (d && d[id] ? f(d[id]) : null));
    const bands = seasonBands(ticks, history.season, SEASON_COLORS);
    const years = { perYear: perYear(world) };
    views.purse.update({
      x: ticks, bands, years, seasons: history.season,
      series: [
        { name: "wealth", values: history.wealth[id] || [], color: "#d9a441" },
        { name: "pebbles", values: pick((x) => x.pebbles), color: "#7bc46d", dash: [3, 3], width: 1.2 },
      ],
    });
    views.mood.update({ x: ticks, bands, years, seasons: history.season, series: [{ name: "mood", values: pick((x) => x.mood), color: "#7fb2f0" }] });
    const goods = Object.keys(world.goods);
    views.stores.update({
      x: ticks, bands, years, seasons: history.season,
      series: goods.map((g) => ({ name: g, values: pick((x) => x.stores[g] ?? 0), color: goodColor(world, g), width: 1.3 })),
    });
    const key = goods.join();
    if ($("cv-stores-key").dataset.key !== key) {
      $("cv-stores-key").dataset.key = key;
      $("cv-stores-key").replaceChildren(...goods.map((g) => h("span", { class: "key" },
        h("span", { class: "swatch", style: `background:${goodColor(world, g)}` }), g)));
    }
    const trades = tape.trades.filter((t) => t.buyer === id || t.seller === id).slice(-30).reverse();
    if (changed($("cv-trades"), `${id}:${trades.length}:${trades[0]?.tick}:${trades[0]?.price}:${trades[0]?.qty}`)) {
      $("cv-trades").replaceChildren(...(trades.length ? trades.map((t) => h("li", { "data-tick": String(t.tick) },
        h("span", { class: "muted", text: `#${t.tick} ` }),
        t.buyer === id ? `bought ${t.qty} ${t.good} from ${nameOf(world, t.seller)}` : `sold ${t.qty} ${t.good} to ${nameOf(world, t.buyer)}`,
        ` at ${fmt(t.price)}`)) : [h("li", { class: "muted", text: "no trades seen yet" })]));
    }
    const said = tape.gossip.filter((g) => g.creature === id).slice(-20).reverse();
    if (changed($("cv-gossip"), `${id}:${said.length}:${said[0]?.tick}:${said[0]?.text}`)) {
      $("cv-gossip").replaceChildren(...(said.length ? said.map((g) => h("li", {}, h("span", { class: "muted", text: `#${g.tick} ` }), `“${g.text}”`))
        : [h("li", { class: "muted", text: "nothing said yet" })]));
    }
  }
}

/** Whether `key` differs from what `el` last showed (and remember it). */
function changed(el, key) {
  if (el.__shown === key) return false;
  el.__shown = key;
  return true;
}

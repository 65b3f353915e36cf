// chart.js: a small line chart on a canvas, for price history with season bands.
//
//   const chart = new LineChart(container, { height: 90 });
//   chart.update({ x: [1, 2, 3], series: [{ values: [4, 4.2, null], color: "#c8873a", name: "ref" }],
//                  bands: [{ from: 1, to: 3, color: "rgba(...)", label: "spring" }],
//                  spans: [{ from: 2, to: 9, label: "The Drought" }],   // legends, marked
//                  years: { perYear: 100 } });                          // a tick and year axis
//
// The x axis is labelled in ticks, with a "year N" mark where a year begins; hovering (or
// tapping) shows a read-out of every series at that tick, and `axisLabels()` says which
// labels were drawn (for tests and screen readers).
//
// Nulls break a line (a good that has not traded yet). Drawing is coalesced into one
// requestAnimationFrame, and the canvas follows its container's size and the pixel ratio.

import { safeText } from "./wood.js";

const FONT = "11px system-ui, sans-serif";

export class LineChart {
  constructor(container, { height = 96, padding = [6, 34, 16, 4], grid = 3, label = null, format = null } = {}) {
    this.container = container;
    this.height = height;
    this.padding = padding; // top, right, bottom, left
    this.grid = grid;
    this.label = label;
    this.format = format || ((v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)));
    this.data = { x: [], series: [], bands: [], spans: [] };
    this.labels = [];
    this.hover = null; // index under the pointer
    container.style.position = "relative";
    this.canvas = document.createElement("canvas");
    this.canvas.style.display = "block";
    this.canvas.style.width = "100%";
    this.canvas.style.height = `${height}px`;
    this.canvas.setAttribute("role", "img");
    container.append(this.canvas);
    this.readout = document.createElement("div");
    this.readout.className = "chart-readout";
    this.readout.hidden = true;
    container.append(this.readout);
    const move = (e) => this._hover(e);
    this.canvas.addEventListener("pointermove", move);
    this.canvas.addEventListener("pointerdown", move);
    this.canvas.addEventListener("pointerleave", () => {
      this.hover = null;
      this.readout.hidden = true;
      this.schedule();
    });
    this.width = container.clientWidth || 300;
    this.pending = false;
    if (typeof ResizeObserver !== "undefined") {
      this.observer = new ResizeObserver((entries) => {
        const w = Math.round(entries[0].contentRect.width);
        if (w > 0 && w !== this.width) {
          this.width = w;
          this.schedule();
        }
      });
      this.observer.observe(container);
    }
  }

  /** Replace the data and redraw on the next frame. */
  update(data) {
    this.data = data;
    this.schedule();
    if (this.hover !== null) this._readout();
  }

  /** The x axis labels drawn last: [{text, x}] (tick numbers and "year N" marks). */
  axisLabels() {
    return this.labels.slice();
  }

  _hover(e) {
    const { x } = this.data;
    if (!x.length || !this.geometry) return;
    const rect = this.canvas.getBoundingClientRect();
    const { left, plotW, x0, x1 } = this.geometry;
    const t = x0 + ((e.clientX - rect.left - left) / plotW) * (x1 - x0);
    let best = 0;
    for (let i = 1; i < x.length; i += 1) if (Math.abs(x[i] - t) < Math.abs(x[best] - t)) best = i;
    this.hover = best;
    this._readout();
    this.schedule();
  }

  _readout() {
    const { x, series, seasons } = this.data;
    const i = Math.min(this.hover, x.length - 1);
    if (i < 0) return;
    const parts = [`tick ${x[i]}`];
    if (seasons && seasons[i]) parts.push(seasons[i]);
    for (const s of series) {
      const v = s.values[i];
      if (v !== null && v !== undefined) parts.push(`${s.name || ""} ${this.format(v)}`.trim());
    }
    const span = (this.data.spans || []).find((sp) => sp.from <= x[i] && x[i] <= sp.to);
    if (span) parts.push(span.label);
    this.readout.textContent = safeText(parts.join(" · "));
    this.readout.hidden = false;
    const px = this.geometry ? this.geometry.px(x[i]) : 0;
    this.readout.style.left = `${Math.max(0, Math.min(this.width - 160, px - 80))}px`;
  }

  /** The chart's ink colours from the stylesheet, read once (and again when the colour
   * scheme changes): a style read per draw would force a style recalculation per frame. */
  _inks() {
    if (!this.inks) {
      const css = getComputedStyle(this.container);
      this.inks = {
        ink: css.getPropertyValue("--chart-ink").trim() || "#888",
        gridInk: css.getPropertyValue("--chart-grid").trim() || "rgba(128,128,128,0.25)",
      };
      if (!this.schemeWatch && typeof matchMedia === "function") {
        this.schemeWatch = matchMedia("(prefers-color-scheme: light)");
        this.schemeWatch.addEventListener?.("change", () => {
          this.inks = null;
          this.schedule();
        });
      }
    }
    return this.inks;
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const { x, series, bands } = this.data;
    const ratio = window.devicePixelRatio || 1;
    const w = this.width;
    const h = this.height;
    if (this.canvas.width !== Math.round(w * ratio) || this.canvas.height !== Math.round(h * ratio)) {
      this.canvas.width = Math.round(w * ratio);
      this.canvas.height = Math.round(h * ratio);
    }
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const [top, right, bottom, left] = this.padding;
    const plotW = Math.max(1, w - left - right);
    const plotH = Math.max(1, h - top - bottom);
    if (x.length === 0) return;

    const x0 = x[0];
    const x1 = x.length > 1 ? x[x.length - 1] : x0 + 1;
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of series) {
      for (const v of s.values) {
        if (v === null || v === undefined) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (!Number.isFinite(lo)) return;
    if (hi - lo < 1e-9) {
      hi += 0.5;
      lo = Math.max(0, lo - 0.5);
    }
    const pad = (hi - lo) * 0.08;
    lo = Math.max(0, lo - pad);
    hi += pad;
    const px = (t) => left + ((t - x0) / (x1 - x0 || 1)) * plotW;
    const py = (v) => top + (1 - (v - lo) / (hi - lo)) * plotH;

    for (const band of bands || []) {
      const a = Math.max(left, px(band.from - 0.5));
      const b = Math.min(left + plotW, px(band.to + 0.5));
      if (b <= a) continue;
      ctx.fillStyle = band.color;
      ctx.fillRect(a, top, b - a, plotH);

    }

    const { ink, gridInk } = this._inks();
    this.geometry = { left, plotW, x0, x1, px };

    // Legends: a bar along the top of the plot from the tick a legend began to its end.
    for (const span of this.data.spans || []) {
      const a = Math.max(left, px(span.from - 0.5));
      const b = Math.min(left + plotW, px(span.to + 0.5));
      if (b <= a) continue;
      ctx.fillStyle = span.color || "rgba(217, 164, 65, 0.85)";
      ctx.fillRect(a, top, b - a, 3);
      ctx.fillStyle = "rgba(217, 164, 65, 0.10)";
      ctx.fillRect(a, top + 3, b - a, plotH - 3);
    }

    // The time axis: tick numbers at round steps, and a mark where each year begins.
    this.labels = [];
    ctx.font = FONT;
    ctx.textBaseline = "bottom";
    ctx.fillStyle = ink;
    const span = Math.max(1, x1 - x0);
    const roughly = Math.max(2, Math.floor(plotW / 70));
    const step = niceStep(span / roughly);
    let lastRight = -Infinity;
    const perYear = this.data.years?.perYear;
    if (perYear) {
      for (let y = Math.ceil((x0 - 1) / perYear) * perYear + 1; y <= x1; y += perYear) {
        if (y < x0) continue;
        const X = Math.round(px(y)) + 0.5;
        ctx.strokeStyle = ink;
        ctx.beginPath();
        ctx.moveTo(X, top);
        ctx.lineTo(X, top + plotH);
        ctx.stroke();
        const text = `year ${Math.floor((y - 1) / perYear) + 1}`;
        ctx.fillText(text, X + 2, h - 1);
        lastRight = X + 2 + ctx.measureText(text).width;
        this.labels.push({ text, x: X });
      }
    }
    ctx.strokeStyle = gridInk;
    for (let t = Math.ceil(x0 / step) * step; t <= x1; t += step) {
      const X = px(t);
      const text = String(t);
      const wText = ctx.measureText(text).width;
      ctx.beginPath();
      ctx.moveTo(Math.round(X) + 0.5, top + plotH);
      ctx.lineTo(Math.round(X) + 0.5, top + plotH + 3);
      ctx.stroke();
      const at = Math.max(left, Math.min(left + plotW - wText, X - wText / 2));
      if (this.labels.some((l) => Math.abs(l.x - X) < wText + 50 && l.text.startsWith("year")) && at < lastRight + 4) continue;
      ctx.fillText(text, at, h - 1);
      this.labels.push({ text, x: X });
    }
    ctx.font = FONT;
    ctx.textBaseline = "middle";
    ctx.lineWidth = 1;
    for (let i = 0; i <= this.grid; i += 1) {
      const v = lo + ((hi - lo) * i) / this.grid;
      const y = Math.round(py(v)) + 0.5;
      ctx.strokeStyle = gridInk;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + plotW, y);
      ctx.stroke();
      ctx.fillStyle = ink;
      ctx.textBaseline = "middle";
      ctx.fillText(this.format(v), left + plotW + 4, y);
    }

    for (const s of series) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = s.width || 1.6;
      ctx.setLineDash(s.dash || []);
      ctx.beginPath();
      let drawing = false;
      for (let i = 0; i < x.length; i += 1) {
        const v = s.values[i];
        if (v === null || v === undefined) {
          drawing = false;
          continue;
        }
        const X = px(x[i]);
        const Y = py(v);
        if (drawing) ctx.lineTo(X, Y);
        else ctx.moveTo(X, Y);
        drawing = true;
      }
      ctx.stroke();
      ctx.setLineDash([]);
      const last = s.values[s.values.length - 1];
      if (last !== null && last !== undefined) {
        ctx.fillStyle = s.color;
        ctx.beginPath();
        ctx.arc(px(x[x.length - 1]), py(last), 2.5, 0, Math.PI * 2);
        ctx.fill();
      }
    }
    if (this.hover !== null && this.hover < x.length) {
      const X = Math.round(px(x[this.hover])) + 0.5;
      ctx.strokeStyle = ink;
      ctx.setLineDash([2, 2]);
      ctx.beginPath();
      ctx.moveTo(X, top);
      ctx.lineTo(X, top + plotH);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    if (this.label) this.canvas.setAttribute("aria-label", this.label);
  }
}

/** A round step (1, 2, 5 × 10^n) near `raw`. */
export function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** Season bands from a season per tick: contiguous runs become bands. */
export function seasonBands(ticks, seasons, colors) {
  const bands = [];
  for (let i = 0; i < ticks.length; i += 1) {
    const season = seasons[i];
    const last = bands[bands.length - 1];
    if (last && last.label === season) last.to = ticks[i];
    else bands.push({ from: ticks[i], to: ticks[i], label: season, color: colors[season] || "transparent" });
  }
  return bands;
}

// chart.js: a small line chart on a canvas, for price history with season bands.
//
//   const chart = new LineChart(container, { height: 90 });
//   chart.update({ x: [1, 2, 3], series: [{ values: [4, 4.2, null], color: "#c8873a" }],
//                  bands: [{ from: 1, to: 3, color: "rgba(...)", label: "spring" }] });
//
// Nulls break a line (a good that has not traded yet). Drawing is coalesced into one
// requestAnimationFrame, and the canvas follows its container's size and the pixel ratio.

const FONT = "11px system-ui, sans-serif";

export class LineChart {
  constructor(container, { height = 96, padding = [6, 34, 14, 4], grid = 3, label = null } = {}) {
    this.container = container;
    this.height = height;
    this.padding = padding; // top, right, bottom, left
    this.grid = grid;
    this.label = label;
    this.data = { x: [], series: [], bands: [] };
    this.canvas = document.createElement("canvas");
    this.canvas.style.display = "block";
    this.canvas.style.width = "100%";
    this.canvas.style.height = `${height}px`;
    this.canvas.setAttribute("role", "img");
    container.append(this.canvas);
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
      if (band.label && b - a > 44) {
        ctx.fillStyle = "rgba(128,128,128,0.9)";
        ctx.font = FONT;
        ctx.textBaseline = "bottom";
        ctx.fillText(band.label, a + 3, h - 1);
      }
    }

    const css = getComputedStyle(this.container);
    const ink = css.getPropertyValue("--chart-ink").trim() || "#888";
    const gridInk = css.getPropertyValue("--chart-grid").trim() || "rgba(128,128,128,0.25)";
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
      ctx.fillText(v >= 100 ? v.toFixed(0) : v.toFixed(1), left + plotW + 4, y);
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
    if (this.label) this.canvas.setAttribute("aria-label", this.label);
  }
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

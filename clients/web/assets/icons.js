// icons.js: the few icons the pages draw, as inline SVG (no emoji font needed anywhere).

const NS = "http://www.w3.org/2000/svg";

const SEASON_PATHS = {
  // a sprout
  spring: [["path", { d: "M12 21v-9", stroke: "currentColor", "stroke-width": "2", fill: "none", "stroke-linecap": "round" }],
    ["path", { d: "M12 12c0-4 3-7 8-7 0 4-3 7-8 7z", fill: "currentColor" }],
    ["path", { d: "M12 14c0-3-2.5-5.5-7-5.5 0 3 2.5 5.5 7 5.5z", fill: "currentColor" }]],
  // a sun
  summer: [["circle", { cx: "12", cy: "12", r: "4.5", fill: "currentColor" }],
    ["path", { d: "M12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1 7 17M17 7l2.1-2.1", stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round" }]],
  // a falling leaf
  autumn: [["path", { d: "M5 19C5 10 10 5 20 4c-1 10-6 15-15 15z", fill: "currentColor" }],
    ["path", { d: "M5 19 14 10", stroke: "var(--bg, #000)", "stroke-width": "1.5" }]],
  // a snowflake
  winter: [["path", { d: "M12 2v20M3.3 7l17.4 10M3.3 17 20.7 7M9 3.5l3 2 3-2M9 20.5l3-2 3 2", stroke: "currentColor", "stroke-width": "1.8", fill: "none", "stroke-linecap": "round" }]],
};

/** An inline SVG icon for a season, sized to the text (1em), with the season as its title. */
export function seasonIcon(season) {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "1em");
  svg.setAttribute("height", "1em");
  svg.setAttribute("class", `season-icon season-${season}`);
  svg.setAttribute("aria-hidden", "true");
  for (const [tag, attrs] of SEASON_PATHS[season] || []) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    svg.append(el);
  }
  return svg;
}

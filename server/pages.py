"""Placeholder pages for `/` and `/overlay` until the clients issue brings the real ones.

Each is one self-contained page (no CDN, no build) that connects to `/ws`, applies every
merge patch, and shows the tick, so the wiring can be seen working end to end.
"""

from __future__ import annotations

_SCRIPT = """
<script>
function merge(doc, patch) {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out = (doc && typeof doc === "object" && !Array.isArray(doc)) ? {...doc} : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]; else out[k] = merge(out[k], v);
  }
  return out;
}
let world = null, seq = null;
function connect() {
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (seq !== null) url.searchParams.set("since", seq);
  const ws = new WebSocket(url);
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "snapshot") { world = m.world; seq = m.seq; }
    else if (m.type === "delta" && world !== null && m.seq === seq + 1) {
      world = merge(world, m.patch); seq = m.seq;
    } else if (m.type === "delta") { ws.close(); return; }
    render(world);
  };
  ws.onclose = () => {
    document.getElementById("state").textContent = "reconnecting";
    setTimeout(connect, 1000);
  };
  ws.onopen = () => { document.getElementById("state").textContent = "live"; };
}
connect();
</script>
"""

VIEWER = (
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>smallwood</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}</style></head>
<body>
<h1>smallwood</h1>
<p>This is a placeholder page: the real viewer comes with the clients. It shows the world
ticking over <code>/ws</code>.</p>
<p>Connection: <span id="state">connecting</span></p>
<p id="tick">No world yet.</p>
<script>
function render(w) {
  document.getElementById("tick").textContent =
    `${w.scenario}: tick ${w.tick}, ${w.season} of year ${w.year}, ` +
    `${Object.keys(w.creatures).length} creatures`;
}
</script>
"""
    + _SCRIPT
    + "</body></html>\n"
)

OVERLAY = (
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>smallwood overlay</title>
<style>
html,body{background:transparent;margin:0;overflow:hidden}
#tick{position:fixed;right:2rem;bottom:2rem;font:700 48px system-ui,sans-serif;color:#fff;
-webkit-text-stroke:2px #000}
#state{display:none}
</style></head>
<body>
<!-- Placeholder overlay: the real one comes with the clients. -->
<span id="state"></span><div id="tick">smallwood (placeholder overlay)</div>
<script>
function render(w) { document.getElementById("tick").textContent = `tick ${w.tick}`; }
</script>
"""
    + _SCRIPT
    + "</body></html>\n"
)

import BreakwaterCore

/// The live dashboard served at `<stats uri>/live`: one self-contained page (no CDN, no build step) that
/// reads `<stats uri>/events` (server-sent events, one JSON snapshot a second).
///
/// Fixed memory budget by construction: every view's DOM and its canvases are built once at load and
/// only shown or hidden; per-backend charts are a fixed set of canvases redrawn for whichever backend is
/// shown; history lives in fixed-size ring buffers; table rows are keyed and removed (with their
/// references) when their server disappears. It uses 2D canvases only, never WebGL.
public enum DashboardPage {
    public static func render(statsURI: String) -> String {
        let events = statsURI + "/events"
        return head + "<script>const EVENTS = " + JSONText.quote(events) + ";\n" + script + "</script></body></html>\n"
    }

    static let head = """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8"><title>Breakwater live</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>
    body{font:13px system-ui,sans-serif;margin:0;background:#10151c;color:#dde3ea}
    header{display:flex;align-items:center;gap:16px;padding:8px 16px;background:#1b2430}
    header h1{font-size:15px;margin:0} nav a{color:#8cc4ff;margin-right:12px;text-decoration:none}
    nav a.on{color:#fff;font-weight:bold} main{padding:12px 16px} section[hidden]{display:none}
    table{border-collapse:collapse;margin:8px 0} td,th{padding:3px 8px;border-bottom:1px solid #2a3644;text-align:right}
    td:first-child,th:first-child{text-align:left} .UP{color:#6fdc8c}.DOWN{color:#ff6b6b}.MAINT,.DRAIN{color:#f5c85b}
    .charts{display:grid;grid-template-columns:repeat(2,360px);gap:12px} figure{margin:0}
    figcaption{color:#9aa8b8;font-size:12px} canvas{background:#161e28;border:1px solid #2a3644}
    #status{color:#9aa8b8;margin-left:auto} .empty{color:#9aa8b8;font-style:italic}
    </style></head><body>
    <header><h1>Breakwater</h1><nav id="nav">
    <a href="#/overview">Overview</a><span id="beLinks"></span><a href="#/tables">Tables</a><a href="#/mux">MySQL mux</a><a href="#/telemetry">Telemetry</a><a href="#/jobs">Jobs</a>
    </nav><span id="status">connecting…</span></header>
    <main>
    <section id="v-overview"><h2>Overview</h2>
    <div class="charts"><figure><canvas id="c-total-rate" width="360" height="80"></canvas><figcaption>requests/s (all backends)</figcaption></figure>
    <figure><canvas id="c-total-err" width="360" height="80"></canvas><figcaption>errors/s (all backends)</figcaption></figure></div>
    <table><thead><tr><th>backend</th><th>state</th><th>req/s</th><th>err/s</th><th>queue</th><th>p50 ms</th><th>p99 ms</th><th>servers up</th></tr></thead><tbody id="t-backends"></tbody></table>
    <h3>State changes</h3><ol id="changes"></ol></section>
    <section id="v-backend" hidden><h2 id="be-title">Backend</h2>
    <div class="charts"><figure><canvas id="c-be-rate" width="360" height="80"></canvas><figcaption>requests/s</figcaption></figure>
    <figure><canvas id="c-be-err" width="360" height="80"></canvas><figcaption>errors/s</figcaption></figure>
    <figure><canvas id="c-be-queue" width="360" height="80"></canvas><figcaption>queue depth</figcaption></figure>
    <figure><canvas id="c-be-lat" width="360" height="80"></canvas><figcaption>p50 (blue) / p99 (orange) ms</figcaption></figure></div>
    <table><thead><tr><th>server</th><th>state</th><th>req/s</th><th>err/s</th><th>cur</th><th>queue</th><th>checks down</th><th>last change s</th></tr></thead><tbody id="t-servers"></tbody></table></section>
    <section id="v-tables" hidden><h2>Stick tables</h2><div id="tables"></div>
    <h3>Frontends</h3><table><thead><tr><th>frontend</th><th>req/s</th><th>denied + tarpit</th><th>req errors</th><th>cur</th><th>TLS resumption</th></tr></thead><tbody id="t-frontends"></tbody></table></section>
    <section id="v-mux" hidden><h2>MySQL mux</h2><div id="g-mysql-mux"></div></section>
    <section id="v-telemetry" hidden><h2>Telemetry</h2><div id="g-telemetry"></div></section>
    <section id="v-jobs" hidden><h2>Jobs</h2><div id="g-jobs"></div></section>
    </main>

    """

    static let script = #"""
    "use strict";
    const HISTORY = 120;               // samples kept per series (2 minutes)
    const MAX_SERIES = 2048;           // bound on backends+servers with history
    const series = new Map();          // key -> {rate, err, queue, p50, p99}: Float64Array rings
    const rows = new Map();            // "tbody id|key" -> <tr>
    let prev = null, ticks = 0, view = "overview", shownBackend = null, changes = [];
    const $ = (id) => document.getElementById(id);
    const charts = {};                 // canvas id -> 2D context, created once
    for (const c of document.querySelectorAll("canvas")) charts[c.id] = c.getContext("2d");

    function ring() { return {buf: new Float64Array(HISTORY), n: 0, i: 0}; }
    function push(r, v) { r.buf[r.i] = v; r.i = (r.i + 1) % HISTORY; if (r.n < HISTORY) r.n++; }
    function seriesFor(key) {
      let s = series.get(key);
      if (!s) {
        if (series.size >= MAX_SERIES) return null;
        s = {rate: ring(), err: ring(), queue: ring(), p50: ring(), p99: ring()};
        series.set(key, s);
      }
      return s;
    }
    function draw(id, rings, colors) {
      const ctx = charts[id]; if (!ctx) return;
      const w = ctx.canvas.width, h = ctx.canvas.height;
      ctx.clearRect(0, 0, w, h);
      let max = 1;
      for (const r of rings) for (let k = 0; k < r.n; k++) max = Math.max(max, r.buf[k]);
      rings.forEach((r, j) => {
        ctx.strokeStyle = colors[j]; ctx.lineWidth = 1.5; ctx.beginPath();
        for (let k = 0; k < r.n; k++) {
          const v = r.buf[(r.i - r.n + k + HISTORY) % HISTORY];
          const x = (k / (HISTORY - 1)) * w, y = h - 4 - (v / max) * (h - 8);
          k ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
        }
        ctx.stroke();
      });
      ctx.fillStyle = "#9aa8b8"; ctx.fillText(max.toFixed(max < 10 ? 1 : 0), 4, 12);
    }
    // Keyed rows: created once per key, updated in place, removed with their map entry when gone.
    function syncRows(tbodyId, items, keyOf, cells) {
      const tbody = $(tbodyId), seen = new Set();
      for (const it of items) {
        const key = tbodyId + "|" + keyOf(it); seen.add(key);
        let tr = rows.get(key);
        const values = cells(it);
        if (!tr) {
          tr = document.createElement("tr");
          for (let k = 0; k < values.length; k++) tr.appendChild(document.createElement("td"));
          rows.set(key, tr);
        }
        if (tr.parentNode !== tbody || tbody.lastChild !== tr) tbody.appendChild(tr);
        values.forEach((v, k) => {
          const td = tr.children[k], text = String(Array.isArray(v) ? v[0] : v);
          if (td.textContent !== text) td.textContent = text;
          const cls = Array.isArray(v) ? v[1] : "";
          if (td.className !== cls) td.className = cls;
        });
      }
      for (const [key, tr] of rows) if (key.startsWith(tbodyId + "|") && !seen.has(key)) { tr.remove(); rows.delete(key); }
    }
    function quantile(bounds, now, before, q) {
      const cur = now.map((c, k) => c - (before ? before[k] : 0)), total = cur[cur.length - 1];
      if (!total) return 0;
      for (let k = 0; k < cur.length; k++) if (cur[k] >= q * total) return k < bounds.length ? bounds[k] : bounds[bounds.length - 1] * 2;
      return 0;
    }
    const perSecond = (a, b, dt) => Math.max(0, (a - (b ?? a)) / dt);

    function onSnapshot(s) {
      ticks++;
      const dt = prev ? Math.max(0.001, (s.t - prev.t) / 1000) : 1;
      const pb = new Map((prev?.backends ?? []).map(b => [b.name, b]));
      let totRate = 0, totErr = 0;
      const beRows = [];
      for (const b of s.backends) {
        const p = pb.get(b.name), ser = seriesFor("be:" + b.name);
        const rate = perSecond(b.req, p?.req, dt), err = perSecond(b.err, p?.err, dt);
        const p50 = quantile(s.bounds, b.hist, p?.hist, 0.5), p99 = quantile(s.bounds, b.hist, p?.hist, 0.99);
        totRate += rate; totErr += err;
        if (ser) { push(ser.rate, rate); push(ser.err, err); push(ser.queue, b.qcur); push(ser.p50, p50); push(ser.p99, p99); }
        const ps = new Map((p?.servers ?? []).map(x => [x.name, x]));
        for (const sv of b.servers) {
          const old = ps.get(sv.name), ss = seriesFor("sv:" + b.name + "/" + sv.name);
          if (ss) { push(ss.rate, perSecond(sv.req, old?.req, dt)); push(ss.err, perSecond(sv.err, old?.err, dt)); }
          sv._rate = perSecond(sv.req, old?.req, dt); sv._err = perSecond(sv.err, old?.err, dt);
          if (old && old.status !== sv.status) {
            changes.unshift(new Date(s.t).toLocaleTimeString() + " " + b.name + "/" + sv.name + ": " + old.status + " → " + sv.status);
            if (changes.length > 20) changes.length = 20;
          }
        }
        beRows.push({b, rate, err, p50, p99});
      }
      const tot = seriesFor("total");
      if (tot) { push(tot.rate, totRate); push(tot.err, totErr); }
      // Series of backends and servers that disappeared are dropped.
      const live = new Set(["total"]);
      for (const b of s.backends) { live.add("be:" + b.name); for (const sv of b.servers) live.add("sv:" + b.name + "/" + sv.name); }
      for (const k of series.keys()) if (!live.has(k)) series.delete(k);
      window.__last = {beRows, s, dt};
      syncNav(s);
      render();
      prev = s;
      $("status").textContent = "live · " + new Date(s.t).toLocaleTimeString() + " · " + s.conns + " connections";
    }
    function syncNav(s) {
      const span = $("beLinks"), want = s.backends.map(b => b.name).join("\n");
      if (span.dataset.names === want) return;
      span.dataset.names = want;
      span.replaceChildren(...s.backends.map(b => { const a = document.createElement("a"); a.href = "#/backend/" + encodeURIComponent(b.name); a.textContent = b.name; return a; }));
    }
    function gaugesInto(divId, section, gauges) {
      const div = $(divId), g = gauges[section];
      const want = g ? JSON.stringify(g) : "";
      if (div.dataset.v === want && div.firstChild) return;
      div.dataset.v = want;
      if (!g) { div.replaceChildren(Object.assign(document.createElement("p"), {className: "empty", textContent: "section not configured (no " + section + " gauges published)"})); return; }
      const table = document.createElement("table");
      for (const [k, v] of Object.entries(g).sort()) { const tr = table.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = String(v); }
      div.replaceChildren(table);
    }
    function render() {
      const L = window.__last; if (!L) return;
      const {beRows, s, dt} = L;
      const tot = series.get("total");
      if (view === "overview") {
        if (tot) { draw("c-total-rate", [tot.rate], ["#4fa3ff"]); draw("c-total-err", [tot.err], ["#ff6b6b"]); }
        syncRows("t-backends", beRows, r => r.b.name, r => [r.b.name, [r.b.status, r.b.status.split(" ")[0]], r.rate.toFixed(1), r.err.toFixed(1), r.b.qcur, r.p50, r.p99,
          r.b.servers.filter(x => x.status.startsWith("UP") || x.status === "no check").length + "/" + r.b.servers.length]);
        const ol = $("changes");
        while (ol.children.length > changes.length) ol.lastChild.remove();
        changes.forEach((c, k) => { let li = ol.children[k]; if (!li) li = ol.appendChild(document.createElement("li")); if (li.textContent !== c) li.textContent = c; });
      } else if (view === "backend") {
        const r = beRows.find(x => x.b.name === shownBackend);
        $("be-title").textContent = r ? "Backend " + shownBackend : "Backend " + shownBackend + " (not found)";
        const ser = series.get("be:" + shownBackend);
        if (ser) { draw("c-be-rate", [ser.rate], ["#4fa3ff"]); draw("c-be-err", [ser.err], ["#ff6b6b"]); draw("c-be-queue", [ser.queue], ["#f5c85b"]); draw("c-be-lat", [ser.p50, ser.p99], ["#4fa3ff", "#ff9f43"]); }
        syncRows("t-servers", r ? r.b.servers : [], x => x.name, x => [x.name, [x.status, x.status.split(" ")[0]], x._rate.toFixed(1), x._err.toFixed(1), x.scur, x.qcur, x.chkdown, x.lastchg]);
      } else if (view === "tables") {
        const pf = new Map((prev?.frontends ?? []).map(f => [f.name, f]));
        syncRows("t-frontends", s.frontends, f => f.name, f => [f.name, perSecond(f.req, pf.get(f.name)?.req, dt).toFixed(1), f.denied, f.ereq, f.scur,
          f.tls_resumed == null ? "n/a" : (100 * f.tls_resumed).toFixed(0) + " %"]);
        const div = $("tables");
        const want = JSON.stringify(s.tables);
        if (div.dataset.v !== want) {
          div.dataset.v = want;
          if (!s.tables.length) div.replaceChildren(Object.assign(document.createElement("p"), {className: "empty", textContent: "no stick tables configured"}));
          else div.replaceChildren(...s.tables.map(t => {
            const box = document.createElement("div");
            box.appendChild(Object.assign(document.createElement("h3"), {textContent: t.name + " — " + t.used + " / " + t.size + " entries" + (t.note ? " (" + t.note + ")" : "")}));
            const table = document.createElement("table"), h = table.insertRow();
            for (const c of ["top talker", t.metric || "rate"]) h.appendChild(Object.assign(document.createElement("th"), {textContent: c}));
            for (const e of t.top) { const tr = table.insertRow(); tr.insertCell().textContent = e.key; tr.insertCell().textContent = String(e.value); }
            box.appendChild(table);
            return box;
          }));
        }
      } else if (view === "mux") gaugesInto("g-mysql-mux", "mysql-mux", s.gauges);
      else if (view === "telemetry") gaugesInto("g-telemetry", "telemetry", s.gauges);
      else if (view === "jobs") gaugesInto("g-jobs", "jobs", s.gauges);
    }
    const VIEWS = ["overview", "backend", "tables", "mux", "telemetry", "jobs"];
    function route() {
      const h = location.hash.replace(/^#\/?/, "");
      const [name, ...rest] = h.split("/");
      view = VIEWS.includes(name) ? name : "overview";
      shownBackend = view === "backend" ? decodeURIComponent(rest.join("/")) : null;
      for (const v of VIEWS) $("v-" + v).hidden = v !== view;
      for (const a of document.querySelectorAll("nav a")) a.className = a.getAttribute("href") === "#/" + h ? "on" : "";
      render();
      window.__dashboard.view = h || "overview";
      window.dispatchEvent(new Event("dashboard-routed"));
    }
    window.__dashboard = {view: null, get ticks() { return ticks; }, get series() { return series.size; }, get rows() { return rows.size; }};
    window.addEventListener("hashchange", route);
    const source = new EventSource(EVENTS);
    source.onmessage = (e) => { try { onSnapshot(JSON.parse(e.data)); } catch (err) { $("status").textContent = "bad snapshot: " + err; } };
    source.onerror = () => { $("status").textContent = "reconnecting…"; };
    route();
    """#
}

"""The report as one self-contained HTML page: an icicle chart of the import tree (switchable
between time, RSS and Python allocations) and the package/module tables. No network: styles,
script and data are inline, the chart is SVG drawn by the inline script."""

from __future__ import annotations

import html
import json
import re

from lazymed.profiler._json import report_dict
from lazymed.profiler._model import Report
from lazymed.profiler._suggest import suggestion_toml
from lazymed.profiler._table import (
    Table,
    lazy_table,
    module_table,
    overhead_line,
    package_table,
    summary_lines,
)

TABLE_ROWS = 50
_PLACEHOLDER = re.compile(r"__(TITLE|CSS|SUMMARY|TABLES|TOML|OVERHEAD|WARNINGS|DATA|JS)__")

_CSS = """
:root { --fg:#1d2330; --muted:#5d6677; --line:#d9dde5; --bg:#ffffff; --panel:#f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--fg); background: var(--bg); }
header { padding: 16px 24px 8px; border-bottom: 1px solid var(--line); background: var(--panel); }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 24px 0 8px; }
main { padding: 8px 24px 32px; }
.summary { margin: 0; color: var(--muted); white-space: pre-wrap; font: 12px/1.5 ui-monospace,
           SFMono-Regular, Menlo, Consolas, monospace; }
.controls { display: flex; gap: 8px; align-items: center; margin: 12px 0 8px; flex-wrap: wrap; }
.controls button { border: 1px solid var(--line); background: #fff; padding: 4px 12px;
                   border-radius: 4px; cursor: pointer; font: inherit; }
.controls button.on { background: #1d2330; color: #fff; border-color: #1d2330; }
.controls button:disabled { opacity: .4; cursor: default; }
#crumb { color: var(--muted); margin-left: 8px; }
#chart { width: 100%; border: 1px solid var(--line); border-radius: 4px; overflow: hidden; }
#chart svg { display: block; width: 100%; }
#chart rect { stroke: #fff; stroke-width: .6; cursor: pointer; }
#chart rect.failed { stroke: #c62828; stroke-dasharray: 3 2; }
#chart text { font: 11px system-ui, sans-serif; fill: #111; pointer-events: none; }
#tip { position: fixed; pointer-events: none; background: #1d2330; color: #fff; padding: 6px 8px;
       border-radius: 4px; font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace;
       white-space: pre; display: none; z-index: 10; max-width: 60vw; overflow: hidden; }
#legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 8px 0; color: var(--muted);
          font-size: 12px; }
#legend span i { display: inline-block; width: 10px; height: 10px; margin-right: 4px;
                 border-radius: 2px; vertical-align: -1px; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { text-align: left; background: var(--panel); cursor: pointer; user-select: none; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: 600; }
.wrap { overflow-x: auto; }
pre.toml { background: var(--panel); border: 1px solid var(--line); padding: 10px 12px;
           border-radius: 4px; overflow-x: auto; }
.note { color: var(--muted); font-size: 12px; }
"""

_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("profile-data").textContent);
  var mods = data.modules;
  var METRICS = {
    time: {key: "seconds", label: "time", fmt: ms},
    rss: {key: "rss_bytes", label: "RSS", fmt: mib},
    alloc: {key: "alloc_bytes", label: "Python allocations", fmt: mib}
  };
  function ms(v) { return v === null ? "-" : (v * 1000).toFixed(1) + " ms"; }
  function mib(v) { return v === null ? "-" : (v / 1048576).toFixed(1) + " MiB"; }
  function num(v) { return v === null ? "-" : Math.round(v).toLocaleString("en-US"); }
  var metric = "time";
  var kids = {};
  var roots = [];
  mods.forEach(function (m) {
    if (m.parent_id === null) { roots.push(m); }
    else { (kids[m.parent_id] = kids[m.parent_id] || []).push(m); }
  });
  var top = {id: -1, name: data.target.kind === "modules" ? "<modules>" : "__main__",
             package: "", chain: [], self: {}, cumulative: data.totals, root: true};
  function children(n) { return n.root ? roots : (kids[n.id] || []); }
  var memo = {};
  function value(n) {
    var k = metric + ":" + n.id;
    if (k in memo) { return memo[k]; }
    var own = n.root ? 0 : Math.max(0, n.self[METRICS[metric].key] || 0);
    var v = own;
    children(n).forEach(function (c) { v += value(c); });
    memo[k] = v;
    return v;
  }
  function hue(s) {
    var h = 0;
    for (var i = 0; i < s.length; i++) { h = (h * 31 + s.charCodeAt(i)) >>> 0; }
    return h % 360;
  }
  var kinds = {};
  data.packages.forEach(function (p) { kinds[p.name] = p.kind; });
  function color(pkg) {
    var k = kinds[pkg];
    var sat = k === "stdlib" ? 12 : (k === "first-party" ? 55 : 70);
    var light = k === "stdlib" ? 80 : 72;
    return "hsl(" + hue(pkg) + "," + sat + "%," + light + "%)";
  }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }
  var focus = top;
  var nodesById = {};
  mods.forEach(function (m) { nodesById[m.id] = m; });
  function ancestors(n) {
    var out = [];
    while (!n.root) {
      n = n.parent_id === null ? top : nodesById[n.parent_id];
      out.unshift(n);
    }
    return out;
  }
  var W = 1200, ROW = 20;
  var shown = [];
  function draw() {
    var rects = [];
    shown = [];
    var anc = ancestors(focus);
    anc.forEach(function (a, depth) { rects.push([a, 0, W, depth]); });
    var base = anc.length;
    var total = value(focus);
    var maxDepth = base;
    function lay(n, x, w, depth) {
      if (w < 0.3) { return; }
      rects.push([n, x, w, depth]);
      if (depth > maxDepth) { maxDepth = depth; }
      var v = value(n);
      if (v <= 0) { return; }
      var cx = x;
      if (!n.root) { cx += w * Math.max(0, n.self[METRICS[metric].key] || 0) / v; }
      children(n).forEach(function (c) {
        var cw = w * value(c) / v;
        lay(c, cx, cw, depth + 1);
        cx += cw;
      });
    }
    if (total > 0) { lay(focus, 0, W, base); } else { rects.push([focus, 0, W, base]); }
    var H = (maxDepth + 1) * ROW;
    var svg = ['<svg viewBox="0 0 ' + W + " " + H + '" height="' + H + '" ' +
               'preserveAspectRatio="none" role="img" aria-label="import icicle">'];
    rects.forEach(function (r, i) {
      var n = r[0], x = r[1], w = r[2], y = r[3] * ROW;
      shown.push(n);
      var fill = n.root ? "#cfd5df" : color(n.package);
      var extra = n.error ? ' class="failed"' : "";
      if (n.error) { fill = "#ffffff"; }
      svg.push('<rect data-i="' + i + '" x="' + x.toFixed(2) + '" y="' + y + '" width="' +
               Math.max(0.5, w).toFixed(2) + '" height="' + (ROW - 1) + '" fill="' + fill +
               '"' + extra + "/>");
      if (w > 46) {
        var label = n.name;
        var maxChars = Math.floor((w - 8) / 6.2);
        if (label.length > maxChars) {
          label = label.slice(0, Math.max(1, maxChars - 1)) + "\u2026";
        }
        svg.push('<text x="' + (x + 4).toFixed(2) + '" y="' + (y + 14) + '">' + esc(label) +
                 "</text>");
      }
    });
    svg.push("</svg>");
    var chart = document.getElementById("chart");
    chart.innerHTML = svg.join("");
    chart.querySelector("svg").style.height = H + "px";
    var crumb = anc.concat([focus]).map(function (n) { return n.name; }).join(" \u203a ");
    document.getElementById("crumb").textContent = crumb + " \u2014 " +
      METRICS[metric].fmt(value(focus)) + " (" + METRICS[metric].label + ", click a bar to zoom)";
  }
  function tipText(n) {
    if (n.root) {
      return n.name + "\nall top-level imports\ncumulative " + ms(n.cumulative.seconds) +
        ", RSS " + mib(n.cumulative.rss_bytes) + ", alloc " + mib(n.cumulative.alloc_bytes);
    }
    var s = n.self, c = n.cumulative;
    var lines = [
      n.name + (n.c_extension ? "  [C extension]" : "") +
        (n.error ? "  [failed: " + n.error + "]" : ""),
      "package      " + n.package + " (" + (kinds[n.package] || "?") + ")",
      "             self          cumulative",
      "time         " + pad(ms(s.seconds)) + ms(c.seconds),
      "RSS          " + pad(mib(s.rss_bytes)) + mib(c.rss_bytes),
      "allocated    " + pad(mib(s.alloc_bytes)) + mib(c.alloc_bytes),
      "gc objects   " + pad(num(s.gc_objects)) + num(c.gc_objects),
      "threads      " + pad(num(s.threads)) + num(c.threads),
      "imported by  " + n.chain.join(" > "),
      "at           " + (n.imported_at || "-")
    ];
    return lines.join("\n");
  }
  function pad(s) { while (s.length < 14) { s += " "; } return s; }
  var tip = document.getElementById("tip");
  var chartEl = document.getElementById("chart");
  chartEl.addEventListener("mousemove", function (ev) {
    var i = ev.target.getAttribute && ev.target.getAttribute("data-i");
    if (i === null || i === undefined) { tip.style.display = "none"; return; }
    tip.textContent = tipText(shown[+i]);
    tip.style.display = "block";
    var x = ev.clientX + 14, y = ev.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth) { x = ev.clientX - tip.offsetWidth - 14; }
    if (y + tip.offsetHeight > window.innerHeight) { y = ev.clientY - tip.offsetHeight - 14; }
    tip.style.left = Math.max(0, x) + "px";
    tip.style.top = Math.max(0, y) + "px";
  });
  chartEl.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  chartEl.addEventListener("click", function (ev) {
    var i = ev.target.getAttribute && ev.target.getAttribute("data-i");
    if (i === null || i === undefined) { return; }
    var n = shown[+i];
    if (n !== focus) { focus = n; }
    else if (!n.root) { focus = n.parent_id === null ? top : nodesById[n.parent_id]; }
    draw();
  });
  var buttons = document.querySelectorAll("[data-metric]");
  buttons.forEach(function (b) {
    var m = b.getAttribute("data-metric");
    var key = m === "time" ? "seconds" : METRICS[m].key;
    if (data.totals[key] === null) { b.disabled = true; b.title = "not measured"; }
    b.addEventListener("click", function () { setMetric(m); draw(); });
  });
  document.getElementById("reset").addEventListener("click", function () { focus = top; draw(); });
  var legend = document.getElementById("legend");
  data.packages.slice(0, 16).forEach(function (p) {
    var s = document.createElement("span");
    s.innerHTML = '<i style="background:' + color(p.name) + '"></i>' + esc(p.name);
    legend.appendChild(s);
  });
  document.querySelectorAll("table.sortable").forEach(function (t) {
    t.querySelectorAll("thead th").forEach(function (th, col) {
      th.addEventListener("click", function () {
        var body = t.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var numeric = th.classList.contains("r");
        var dir = th.getAttribute("data-dir") === "desc" ? 1 : -1;
        th.setAttribute("data-dir", dir === 1 ? "asc" : "desc");
        rows.sort(function (a, b) {
          var x = a.cells[col].textContent, y = b.cells[col].textContent;
          if (numeric) {
            x = parseFloat(x.replace(/,/g, "")) || 0;
            y = parseFloat(y.replace(/,/g, "")) || 0;
            return dir * (x - y);
          }
          return dir * String(x).localeCompare(String(y));
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  function setMetric(m) {
    var b = document.querySelector('[data-metric="' + m + '"]');
    if (!b || b.disabled) { return; }
    metric = m;
    buttons.forEach(function (o) { o.classList.toggle("on", o === b); });
  }
  // State in the address: #metric=rss&focus=module.name (shareable, and scriptable headless).
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var i = kv.indexOf("="), k = kv.slice(0, i), v = decodeURIComponent(kv.slice(i + 1));
    if (k === "metric") { setMetric(v); }
    if (k === "focus") {
      mods.some(function (m) { if (m.name === v) { focus = m; } return m.name === v; });
    }
  });
  draw();
  document.body.setAttribute("data-ready", "1");
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lazymed profile: __TITLE__</title>
<style>__CSS__</style>
</head>
<body>
<header>
<h1>lazymed profile: __TITLE__</h1>
<pre class="summary">__SUMMARY__</pre>
</header>
<main>
<h2>Import tree, cumulative cost</h2>
<div class="controls">
<button type="button" data-metric="time" class="on">Time</button>
<button type="button" data-metric="rss">Memory (RSS)</button>
<button type="button" data-metric="alloc">Memory (Python allocations)</button>
<button type="button" id="reset">Reset zoom</button>
<span id="crumb"></span>
</div>
<div id="chart"><p class="note">The chart needs JavaScript; the tables below do not.</p></div>
<div id="legend"></div>
<p class="note">Each bar is one module load; its width is its cumulative cost (itself plus what it
imported), its children are the modules it imported. Colour = top-level package (grey: standard
library; dashed red outline: failed import). Negative growths (memory freed) are drawn as zero.</p>
__TABLES__
<h2>Suggested configuration</h2>
<pre class="toml">__TOML__</pre>
<p class="note">__OVERHEAD__</p>
__WARNINGS__
</main>
<div id="tip"></div>
<script type="application/json" id="profile-data">__DATA__</script>
<script>__JS__</script>
</body>
</html>
"""


def _table_html(table: Table, css_class: str = "sortable") -> str:
    head = "".join(
        f'<th class="{"r" if a == "r" else ""}">{html.escape(h)}</th>' for h, a in table.columns
    )
    body = []
    for row in table.rows:
        cells = "".join(
            f'<td class="{"r" if a == "r" else ""}">{html.escape(c)}</td>'
            for (_, a), c in zip(table.columns, row, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    foot = ""
    if table.footer:
        cells = "".join(
            f'<td class="{"r" if a == "r" else ""}">{html.escape(c)}</td>'
            for (_, a), c in zip(table.columns, table.footer, strict=True)
        )
        foot = f"<tfoot><tr>{cells}</tr></tfoot>"
    return (
        f'<h2>{html.escape(table.title)}</h2>\n<div class="wrap"><table class="{css_class}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>{foot}</table></div>"
    )


def _json_for_script(data: object) -> str:
    """JSON safe inside ``<script>``: no ``</`` or ``<!--`` can close or confuse the element."""
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(report: Report, *, top: int = TABLE_ROWS, sort: str = "time") -> str:
    """The report as a self-contained HTML page (a ``str``; write it with UTF-8)."""
    title = html.escape(report.target.describe())
    parts = [package_table(report, top, sort), module_table(report, top, sort)]
    lazy = lazy_table(report)
    if lazy is not None:
        parts.append(lazy)
    tables = "\n".join(_table_html(t) for t in parts)
    warnings = "".join(f'<p class="note">warning: {html.escape(w)}</p>' for w in report.warnings)
    replacements = {
        "__TITLE__": title,
        "__CSS__": _CSS,
        "__SUMMARY__": html.escape("\n".join(summary_lines(report))),
        "__TABLES__": tables,
        "__TOML__": html.escape(suggestion_toml(report)),
        "__OVERHEAD__": html.escape(overhead_line(report)),
        "__WARNINGS__": warnings,
        "__DATA__": _json_for_script(report_dict(report)),
        "__JS__": _JS,
    }
    # One pass, so that text inserted for one placeholder is never read as another.
    return _PLACEHOLDER.sub(lambda m: replacements[m.group(0)], _PAGE)

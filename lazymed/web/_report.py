"""``GET {prefix}/report``: the same data for people (HTML with an inline SVG chart; no
script, nothing loaded from elsewhere) or, with ``Accept: application/json``, as JSON."""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._endpoints import WebState

__all__ = ["render_html", "report_data"]

MB = 1024 * 1024
_LEVEL_COLOURS = {
    "ok": "#2e7d32",
    "warning": "#f9a825",
    "critical": "#ef6c00",
    "emergency": "#c62828",
}


def report_data(state: WebState) -> dict[str, Any]:
    """``{"snapshot": <stats>, "history": [{wall, rss_bytes, vms_bytes, threads}],
    "targets": [{name, value_bytes, target_bytes, ok}]}``."""
    snap = state.snapshot()
    proc = snap.get("process") or {}
    th = snap.get("thresholds") or {}
    targets = []
    for name, value, key in (
        ("RSS vs budget", proc.get("rss_bytes"), "budget"),
        ("RSS vs warning", proc.get("rss_bytes"), "warning"),
        ("RSS vs critical", proc.get("rss_bytes"), "critical"),
        ("RSS vs emergency", proc.get("rss_bytes"), "emergency"),
        ("VMS vs alert", proc.get("vms_bytes"), "vms_alert"),
    ):
        target = th.get(key)
        ok = None if value is None or target is None else value < target
        targets.append({"name": name, "value_bytes": value, "target_bytes": target, "ok": ok})
    return {"snapshot": snap, "history": state.history_points(), "targets": targets}


def _mb(value: Any) -> str:
    return "n/a" if value is None else f"{value / MB:.1f} MB"


def _num(value: Any, fmt: str = "{:.3f}") -> str:
    return "" if value is None else fmt.format(value)


def _when(value: Any) -> str:
    if value is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(value)) + " UTC"


def _chart(history: list[dict[str, Any]], width: int = 720, height: int = 220) -> str:
    """Inline SVG: RSS and VMS (MB, left axis) and threads (right axis) against time."""
    pts = [p for p in history if p.get("wall") is not None and p.get("rss_bytes") is not None]
    head = (
        f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'role="img" aria-label="RSS, VMS and threads over time">'
    )
    if len(pts) < 2:
        return (
            head + f'<text x="10" y="30">{len(pts)} sample(s) so far: the chart needs two '
            "(a sample is taken at each request and every few seconds).</text></svg>"
        )
    left, right, top, bottom = 60, 50, 20, 30
    w, h = width - left - right, height - top - bottom
    t0, t1 = pts[0]["wall"], pts[-1]["wall"]
    span = max(t1 - t0, 1e-9)
    mem_max = max(max(p["rss_bytes"] or 0, p.get("vms_bytes") or 0) for p in pts) / MB or 1.0
    thr_max = max(p.get("threads") or 0 for p in pts) or 1

    def x(t: float) -> float:
        return float(left + (t - t0) / span * w)

    def line(key: str, scale: float, colour: str, divisor: float) -> str:
        coords = " ".join(
            f"{x(p['wall']):.1f},{top + h - (p[key] / divisor) / scale * h:.1f}"
            for p in pts
            if p.get(key) is not None
        )
        return (
            f'<polyline class="series-{key}" fill="none" stroke="{colour}" '
            f'stroke-width="2" points="{coords}"/>'
        )

    parts = [
        head,
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for i in range(5):
        y = top + h - i * h / 4
        parts.append(
            f'<text x="{left - 5}" y="{y + 4:.0f}" font-size="10" text-anchor="end">'
            f"{mem_max * i / 4:.0f} MB</text>"
        )
        parts.append(
            f'<text x="{left + w + 5}" y="{y + 4:.0f}" font-size="10">{thr_max * i / 4:.3g}</text>'
        )
    parts.append(line("rss_bytes", mem_max, "#1565c0", MB))
    parts.append(line("vms_bytes", mem_max, "#8e24aa", MB))
    parts.append(line("threads", thr_max, "#2e7d32", 1))
    parts.append(
        f'<text x="{left}" y="{height - 8}" font-size="10">{html.escape(_when(t0))}</text>'
    )
    parts.append(
        f'<text x="{left + w}" y="{height - 8}" font-size="10" text-anchor="end">'
        f"{html.escape(_when(t1))} ({span:.0f} s, {len(pts)} samples)</text>"
    )
    parts.append(
        '<text x="70" y="14" font-size="11"><tspan fill="#1565c0">RSS</tspan> '
        '<tspan fill="#8e24aa">VMS</tspan> (MB, left) <tspan fill="#2e7d32">threads</tspan> '
        "(right)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _table(tid: str, headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p id="{tid}" class="empty">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f'<table id="{tid}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_html(data: dict[str, Any]) -> str:
    """The page; every value is HTML-escaped."""
    snap = data["snapshot"]
    proc = snap.get("process") or {}
    level = str(snap.get("level"))
    colour = _LEVEL_COLOURS.get(level, "#555")
    targets = [
        [
            t["name"],
            _mb(t["value_bytes"]),
            _mb(t["target_bytes"]),
            "n/a" if t["ok"] is None else ("under" if t["ok"] else "OVER"),
        ]
        for t in data["targets"]
    ]
    events = [
        [
            _when(e.get("wall")),
            str(e.get("kind")),
            f"{e.get('previous')} -> {e.get('level')}",
            _mb(e.get("rss_bytes")),
            str(e.get("message") or ""),
        ]
        for e in reversed(snap.get("history") or [])
    ]
    modules = [
        [
            str(m.get("name")),
            str(m.get("role")),
            str(m.get("state")),
            _num(m.get("load_seconds")),
            _mb(m.get("rss_growth_bytes")),
            str(m.get("imported_at") or ""),
            str(m.get("first_used_attr") or ""),
        ]
        for m in snap.get("modules") or []
    ]
    services = [
        [
            str(s.get("name")),
            str(s.get("backend")),
            str(s.get("state")),
            str(s.get("pid") or ""),
            _mb(s.get("rss_bytes")),
            str(s.get("calls")),
            str(s.get("restarts")),
        ]
        for s in snap.get("services") or []
    ]
    actions = []
    for report in reversed(snap.get("actions") or []):
        for a in report.get("actions") or []:
            actions.append(
                [
                    _when(report.get("started_at")),
                    str(report.get("trigger")),
                    str(a.get("name")),
                    str(a.get("status")),
                    _mb(a.get("rss_freed_bytes")),
                    str(a.get("detail") or ""),
                ]
            )
    caches = [
        [
            str(c.get("name")),
            str(c.get("entries")),
            _mb(c.get("size_bytes")),
            _mb(c.get("max_bytes")),
            str(c.get("hits")),
            str(c.get("misses")),
        ]
        for c in snap.get("caches") or []
    ]
    leak = snap.get("leak") or {}
    style = (
        "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;"
        "padding:3px 8px;font-size:13px;text-align:left}th{background:#eee}"
        ".level{display:inline-block;padding:2px 10px;color:#fff;"
        f"background:{colour};border-radius:4px}}"
    )
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            f"<title>lazymed memory report (pid {snap.get('pid')})</title>",
            f"<style>{style}</style></head><body>",
            f"<h1>Memory report</h1><p>pid {snap.get('pid')} at "
            f"{html.escape(_when(snap.get('wall')))}: level "
            f'<span class="level" id="level">{html.escape(level)}</span>, '
            f"RSS {_mb(proc.get('rss_bytes'))}, VMS {_mb(proc.get('vms_bytes'))}, "
            f"USS {_mb(proc.get('uss_bytes'))}, threads {proc.get('threads')}, "
            f"leak suspected: {'yes' if leak.get('suspected') else 'no'} "
            f"(slope {_num(leak.get('slope_mb_h'), '{:.1f}')} MB/h), "
            f"monitor running: {snap.get('monitor_running')}</p>",
            "<h2>Figures against the targets</h2>",
            _table("targets", ["figure", "value", "target", ""], targets, "no thresholds"),
            "<h2>RSS, VMS and threads over time</h2>",
            _chart(data["history"]),
            "<h2>Level events</h2>",
            _table(
                "events",
                ["when", "kind", "change", "RSS", "message"],
                events,
                "No level events yet.",
            ),
            "<h2>Modules</h2>",
            _table(
                "modules",
                ["module", "role", "state", "load s", "memory impact", "imported at", "first used"],
                modules,
                "lazymed manages no modules in this process.",
            ),
            "<h2>Isolated services</h2>",
            _table(
                "services",
                ["service", "backend", "state", "pid", "RSS", "calls", "restarts"],
                services,
                "No isolated services in this process.",
            ),
            "<h2>Caches</h2>",
            _table(
                "caches",
                ["cache", "entries", "size", "bound", "hits", "misses"],
                caches,
                "No bounded caches.",
            ),
            "<h2>Last actions</h2>",
            _table(
                "actions",
                ["when", "trigger", "action", "status", "RSS freed", "detail"],
                actions,
                "No action chain has run yet.",
            ),
            "</body></html>",
        ]
    )

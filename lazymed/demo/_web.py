"""The demo's epilogue: the lazy app once more, with lazymed's /memory endpoints on, and a saved
copy of its ``/memory/report`` (the page the demo points at).

The child is the same ``serve.py`` in lazy mode with ``MEDICAL_APP_WEB=1`` (the app applies
``lazymed.web.flask.LazyMed``); its GET endpoints are public for this short-lived child only
(``LAZYMED_WEB__PUBLIC_STATS=true``; the app's file keeps ``loopback_only = true``) and optimize
needs a random token that only the child knows. The demo talks to it over HTTP and never imports
``lazymed.web`` itself.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

import psutil

from lazymed.demo._app import RAG_REQUEST, TRIAGE_REQUEST, package_parent
from lazymed.demo._child import ChildServer, child_env
from lazymed.demo._model import DemoError

__all__ = ["ENDPOINTS", "save_report"]

#: What the epilogue lists (the /memory endpoints; docs/web.md).
ENDPOINTS = (
    "GET /memory/stats",
    "POST /memory/optimize",
    "GET /memory/report",
    "GET /memory/metrics",
)


def save_report(app_dir: Path, out: Path, *, timeout: float = 120.0) -> dict[str, Any]:
    """Serve the lazy app with the /memory endpoints, make a triage and a RAG request, save
    ``/memory/report`` (HTML) to ``out``. Returns ``{"path", "rss_bytes", "outside_rss_bytes",
    "level", "endpoints"}``: the RSS the app reports in ``/memory/stats`` and psutil's reading of
    the same pid from this process. Raises DemoError if the child fails or an endpoint does not
    answer 200."""
    extra = {
        "MEDICAL_APP_LAZY": "1",
        "MEDICAL_APP_PROFILE": "",
        "MEDICAL_APP_WEB": "1",
        "LAZYMED_WEB__PUBLIC_STATS": "true",
        "LAZYMED_WEB_TOKEN": secrets.token_urlsafe(32),
    }
    env = child_env(os.environ, {}, [app_dir, package_parent()])
    env.update(extra)  # child_env drops the caller's LAZYMED_* switches; these are the demo's
    argv = [sys.executable, str(app_dir / "serve.py"), "--host", "127.0.0.1", "--port", "0"]
    with ChildServer(argv, env=env, cwd=app_dir) as server:
        server.wait_ready(timeout)
        server.request("POST", "/triage", TRIAGE_REQUEST)
        server.request("POST", "/rag", RAG_REQUEST)
        stats = server.request("GET", "/memory/stats")
        report = server.request("GET", "/memory/report")
        if stats.status != 200 or report.status != 200:
            raise DemoError(
                f"/memory endpoints answered {stats.status} and {report.status}"
                f"\n--- child stderr ---\n{server.stderr_tail()}"
            )
        data = stats.json()
        outside = psutil.Process(server.pid).memory_info().rss
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(report.body)
    return {
        "path": str(out),
        "rss_bytes": data["process"]["rss_bytes"],
        "outside_rss_bytes": outside,
        "level": data["level"],
        "endpoints": list(ENDPOINTS),
    }

"""Benchmark 9 — threads of the reference app (``examples/medical_app``) with and without
``[tool.lazymed.startup] max_threads``.

Each variant starts ``serve.py`` in a fresh interpreter (3 alternating rounds full, 1 quick):
eager imports, lazymed, and lazymed with ``max_threads = 1`` (given as
``LAZYMED_STARTUP__MAX_THREADS=1``, the environment form of the key, so the app's own
pyproject.toml is used unchanged). After ``POST /triage`` and ``POST /rag`` (which loads
llama_index.core and numpy's BLAS) the thread count is read from outside (psutil
``num_threads()``), with the native pools' sizes from the child (threadpoolctl, when installed).
The memory plan's target: fewer than 8 threads.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _bench
import psutil
import pytest

from lazymed.demo._app import RAG_REQUEST, TRIAGE_REQUEST

APP_DIR = Path(__file__).resolve().parent.parent / "examples" / "medical_app"
TRIAGE = TRIAGE_REQUEST  # the demo's own request bodies
RAG = RAG_REQUEST
VARIANTS: dict[str, dict[str, str]] = {
    "eager": {},
    "lazymed": {"MEDICAL_APP_LAZY": "1"},
    "lazymed + max_threads = 1": {"MEDICAL_APP_LAZY": "1", "LAZYMED_STARTUP__MAX_THREADS": "1"},
}


def _post(port: int, path: str, body: dict[str, Any]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def run_once(extra: dict[str, str], env: dict[str, str]) -> dict[str, Any]:
    child_env = {**env, **extra, "PYTHONPATH": f"{APP_DIR}{os.pathsep}{env.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, "serve.py", "--port", "0"],
        cwd=APP_DIR,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        deadline = time.monotonic() + 120
        port = None
        while port is None and time.monotonic() < deadline:
            try:
                message = json.loads(lines.get(timeout=1))
            except (queue.Empty, ValueError):
                continue
            if isinstance(message, dict) and message.get("event") == "ready":
                port = int(message["port"])
        assert port is not None, "no ready line"
        threads_at_start = psutil.Process(proc.pid).num_threads()
        statuses = [_post(port, "/triage", TRIAGE), _post(port, "/rag", RAG)]
        time.sleep(0.5)  # pools start their workers lazily
        threads = psutil.Process(proc.pid).num_threads()
        rss = psutil.Process(proc.pid).memory_info().rss
    finally:
        proc.terminate()
        proc.wait(30)
    return {
        "statuses": statuses,
        "threads_at_start": threads_at_start,
        "threads_after_requests": threads,
        "rss_after_requests": rss,
    }


def measure() -> dict[str, Any]:
    n = _bench.rounds(full=3, quick=1)
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    with _bench.workspace("max-threads") as work:
        env = _bench.child_env(work / "cache")
        for rnd in range(n + 1):
            order = list(VARIANTS) if rnd % 2 else list(VARIANTS)[::-1]
            for variant in order:
                row = run_once(VARIANTS[variant], env)
                if rnd:
                    runs[variant].append(row)
    return {"rounds": n, "runs": runs}


def analyse(measured: dict[str, Any]) -> dict[str, Any]:
    per = {}
    for variant, rows in measured["runs"].items():
        per[variant] = {
            "threads_at_start": max(r["threads_at_start"] for r in rows),
            "threads_after_requests": max(r["threads_after_requests"] for r in rows),
            "rss_after_requests_mib": _bench.mib(
                _bench.summary([r["rss_after_requests"] for r in rows])["median"]
            ),
        }
    capped = per["lazymed + max_threads = 1"]["threads_after_requests"]
    return {
        "description": "threads of examples/medical_app after POST /triage and POST /rag "
        "(psutil from outside; the most seen over the rounds)",
        "cores": os.cpu_count(),
        "rounds": measured["rounds"],
        "variants": per,
        "targets": [
            _bench.target(
                "threads of the reference app with max_threads = 1 (memory plan: < 8)",
                capped,
                8,
                "threads",
                strict=True,
            )
        ],
        "raw": measured["runs"],
    }


def test_max_threads(benchmark: Any, record: Callable[[str, dict[str, Any]], Path]) -> None:
    if not (APP_DIR / "serve.py").exists():
        pytest.skip("examples/medical_app is not in this checkout")
    measured = benchmark.pedantic(measure, rounds=1, iterations=1)
    record("max_threads", analyse(measured))
    for rows in measured["runs"].values():
        for row in rows:
            assert row["statuses"] == [200, 200]

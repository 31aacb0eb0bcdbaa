"""Benchmark 14 — the /memory endpoints under a real server: latency and a leak soak.

The reference medical app (lazy mode) under gunicorn, 2 sync workers, lazymed's hooks and
prometheus-client multiprocess mode, on 127.0.0.1. The load comes from a second process (this
one: the server is its own process group), 2 client threads, one request in flight per
thread (bounded load, no open-loop flood), a new connection per request (sync workers close it).

* **Latency**: p50 / p99 of ``GET /memory/stats`` (with the token), ``GET /memory/metrics`` and
  of the app's own ``GET /healthz`` and ``POST /vitals/news2`` (the baseline, in the same run).
  Target: p99 < 200 ms (the memory plan's response time).
* **Soak**: 20,000 requests (quick: 2,000), a mix of the app's endpoints and /memory/stats;
  every 500 requests (quick: 100) the RSS of every worker is read from outside (psutil). The
  slope of RSS against requests (least squares, after the first 20 % as warm-up: the history
  ring and the allocator fill), per 1k requests with its 95 % confidence interval (t
  distribution on the slope's standard error). Target: the interval contains 0, i.e.
  indistinguishable from no growth. This is the memory plan's "no leak in 24 h" criterion scaled
  down to one run.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _bench
import psutil

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = ROOT / "examples" / "medical_app"
TOKEN = "bench-token-0f9e"
VITALS = json.dumps(
    {
        "respiratory_rate": 18,
        "spo2": 97,
        "on_oxygen": False,
        "systolic_bp": 120,
        "heart_rate": 70,
        "consciousness": "A",
        "temperature": 37.0,
    }
).encode()
LATENCY_N = _bench.rounds(2000, 200)
SOAK_N = _bench.rounds(20000, 2000)
SOAK_STEP = _bench.rounds(500, 100)
ENDPOINTS: dict[str, tuple[str, str, bytes | None, dict[str, str]]] = {
    "memory_stats": ("GET", "/memory/stats", None, {"Authorization": f"Bearer {TOKEN}"}),
    "memory_metrics": ("GET", "/memory/metrics", None, {"Authorization": f"Bearer {TOKEN}"}),
    "app_healthz": ("GET", "/healthz", None, {}),
    "app_news2": ("POST", "/vitals/news2", VITALS, {"Content-Type": "application/json"}),
}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _request(
    port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> float:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise OSError(f"{method} {path}: HTTP {response.status}")
    finally:
        conn.close()
    return time.perf_counter() - start


def _load(port: int, plan: list[str], threads: int = 2) -> dict[str, list[float]]:
    """Run ``plan`` (endpoint names) from ``threads`` threads; seconds per request by name."""
    out: dict[str, list[float]] = {name: [] for name in set(plan)}
    lock = threading.Lock()
    it = iter(plan)

    def worker() -> None:
        while True:
            with lock:
                name = next(it, None)
            if name is None:
                return
            seconds = _request(port, *ENDPOINTS[name])
            with lock:
                out[name].append(seconds)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return out


def _pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, math.ceil(q * len(data)) - 1)]


def _slope_ci(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares slope and its 95 % interval (t distribution, n - 2 degrees of freedom)."""
    n = len(xs)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    resid = [y - (my + slope * (x - mx)) for x, y in zip(xs, ys, strict=True)]
    se = math.sqrt(sum(r * r for r in resid) / (n - 2) / sxx) if n > 2 else float("inf")
    t = {
        1: 12.71,
        2: 4.30,
        3: 3.18,
        4: 2.78,
        5: 2.57,
        6: 2.45,
        7: 2.36,
        8: 2.31,
        9: 2.26,
        10: 2.23,
        15: 2.13,
        20: 2.09,
        30: 2.04,
    }
    df = n - 2
    tv = t.get(df) or t[max(k for k in t if k <= df)] if df >= 1 else float("inf")
    return slope, slope - tv * se, slope + tv * se


def measure(tmp: Path) -> dict[str, Any]:
    port = _port()
    mp = tmp / "prom"
    mp.mkdir()
    env = _bench.child_env(tmp / "cache")
    env.update(
        PYTHONPATH=os.pathsep.join([env.get("PYTHONPATH", ""), str(APP_DIR)]).strip(os.pathsep),
        LAZYMED_WEB_TOKEN=TOKEN,
        MEDICAL_APP_LAZY="1",
        PROMETHEUS_MULTIPROC_DIR=str(mp),
        MEDAPP_BIND=f"127.0.0.1:{port}",
        MEDAPP_WORKERS="2",
    )
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    with (tmp / "gunicorn.log").open("wb") as log:
        proc = subprocess.Popen(
            [gunicorn, "-c", "gunicorn.conf.py", "medapp.wsgi:app"],
            cwd=APP_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _request(port, *ENDPOINTS["app_healthz"])
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((tmp / "gunicorn.log").read_text()[-2000:]) from None
                time.sleep(0.2)
        _load(port, [n for n in ENDPOINTS for _ in range(50)])  # warm-up, discarded
        latency = {}
        for name in ENDPOINTS:
            seconds = _load(port, [name] * LATENCY_N)[name]
            latency[name] = {
                "n": len(seconds),
                "p50_ms": round(_pct(seconds, 0.5) * 1e3, 3),
                "p99_ms": round(_pct(seconds, 0.99) * 1e3, 3),
                "max_ms": round(max(seconds) * 1e3, 3),
            }
        workers = [psutil.Process(c.pid) for c in psutil.Process(proc.pid).children()]
        mix = ["app_healthz", "app_news2", "app_news2", "memory_stats"]
        readings: list[dict[str, Any]] = []
        done = 0
        soak_start = time.perf_counter()
        while done < SOAK_N:
            _load(port, [mix[i % len(mix)] for i in range(SOAK_STEP)])
            done += SOAK_STEP
            readings.append(
                {"requests": done, "rss_bytes": {str(w.pid): w.memory_info().rss for w in workers}}
            )
        soak_seconds = time.perf_counter() - soak_start
        alive = [w for w in workers if w.is_running()]
        assert len(alive) == 2, "no worker restarted during the soak"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    skip = max(2, len(readings) // 5)
    slopes = {}
    for w in workers:
        xs = [r["requests"] / 1000 for r in readings[skip:]]
        ys = [r["rss_bytes"][str(w.pid)] / 1024 for r in readings[skip:]]
        slope, low, high = _slope_ci(xs, ys)
        slopes[str(w.pid)] = {
            "kib_per_1k_requests": round(slope, 3),
            "ci95": [round(low, 3), round(high, 3)],
            "rss_first_mib": round(readings[0]["rss_bytes"][str(w.pid)] / 2**20, 2),
            "rss_last_mib": round(readings[-1]["rss_bytes"][str(w.pid)] / 2**20, 2),
        }
    return {
        "latency": latency,
        "soak": {
            "requests": SOAK_N,
            "seconds": round(soak_seconds, 2),
            "step": SOAK_STEP,
            "warmup_readings_skipped": skip,
            "readings": readings,
            "slopes": slopes,
        },
    }


def analyse(m: dict[str, Any]) -> dict[str, Any]:
    targets = []
    for name, lat in m["latency"].items():
        targets.append(_bench.target(f"{name} p99", lat["p99_ms"], 200, "ms", strict=True))
    base = m["latency"]["app_healthz"]["p50_ms"]
    ratio = m["latency"]["memory_stats"]["p50_ms"] / base
    for pid, s in m["soak"]["slopes"].items():
        low, high = s["ci95"]
        # an interval that cannot exclude anything (too few readings) is not a pass
        contains_zero = math.isfinite(high - low) and low <= 0 <= high
        targets.append(
            {
                "name": f"RSS slope worker {pid} (KiB per 1k requests; 95% CI contains 0)",
                "measured": s["kib_per_1k_requests"],
                "limit": 0,
                "unit": "KiB/1k",
                "met": contains_zero,
                "ci95": s["ci95"],
                "note": "24-hour no-leak criterion scaled down to one soak",
            }
        )
    return {**m, "stats_p50_vs_healthz_p50": round(ratio, 3), "targets": targets}


def test_web(benchmark: Any, record: Callable[[str, dict[str, Any]], Path], tmp_path: Path) -> None:
    measured = benchmark.pedantic(measure, args=(tmp_path,), rounds=1, iterations=1)
    result = analyse(measured)
    record("web", result)
    assert all(lat["n"] == LATENCY_N for lat in result["latency"].values())
    assert len(result["soak"]["readings"]) == SOAK_N // SOAK_STEP

"""Benchmark 10 — ``gunicorn --preload -w 4``: total PSS once every worker has used the SDKs,
eager vs lazymed vs lazymed with ``[tool.lazymed.startup] prefork``, and start-up of each.

A WSGI app imports flask, google.cloud.storage, firebase_admin, supabase and llama_index.core
at module level. ``/use`` touches one attribute of each (a lazy module loads there) and then
holds the worker for 0.3 s so that parallel requests spread over the workers; ``/ping`` touches
nothing. Variants, each a fresh gunicorn (2 alternating rounds full, 1 quick, after a discarded
warm-up round):

* ``eager``: plain imports; the master imports everything before forking (``--preload``).
* ``lazymed``: ``lazymed.install()`` first; each worker loads the SDKs at its first ``/use``.
* ``lazymed + prefork``: the same, plus ``prefork = [the five]`` and the
  ``lazymed.integrations.gunicorn`` hooks: the master loads them (and ``gc.freeze()``) before
  forking, so the workers share those pages.

Measured from outside (psutil ``memory_full_info().pss``, loopback only, bounded): start-up as
the time from ``Popen`` to the first answer of ``/ping``; the master's and the workers' PSS at
start and after every worker served ``/use``. PSS splits shared pages among the processes that
map them, so the sum over master + workers is the memory the server really takes.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _bench
import psutil
import pytest

NAMES = [name for name, _ in _bench.HEAVY]
WORKERS = 4

APP = f"""
import json, os, time
if os.environ.get("BENCH_MODE") != "eager":
    import lazymed
    lazymed.install()
{"".join(f"import {name}" + chr(10) for name in NAMES)}
def app(environ, start_response):
    if environ["PATH_INFO"] == "/use":
{"".join(f"        {name}.{attr}" + chr(10) for name, attr in _bench.HEAVY)}        time.sleep(0.3)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({{"pid": os.getpid()}}).encode()]
"""

HOOKS = "from lazymed.integrations.gunicorn import post_fork, pre_fork, when_ready\n"
VARIANTS = ("eager", "lazymed", "lazymed + prefork")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(port: int, path: str, timeout: float = 60) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise OSError(f"{path}: HTTP {response.status}")
        result: dict[str, Any] = json.loads(body)
        return result
    finally:
        conn.close()


def _pss(pids: list[int]) -> dict[int, int]:
    return {pid: int(psutil.Process(pid).memory_full_info().pss) for pid in pids}


def run_once(variant: str, directory: Path, env: dict[str, str]) -> dict[str, Any]:
    port = _port()
    child_env = {**env, "BENCH_MODE": "eager" if variant == "eager" else "lazy"}
    child_env["PYTHONPATH"] = f"{directory}{os.pathsep}{env.get('PYTHONPATH', '')}"
    argv = [sys.executable, "-m", "gunicorn", "--preload", "-w", str(WORKERS)]
    argv += ["-b", f"127.0.0.1:{port}", "--timeout", "120"]
    if variant == "lazymed + prefork":
        argv += ["-c", "gunicorn_prefork.conf.py"]
    else:
        argv += ["-c", "gunicorn_plain.conf.py"]
    started = time.perf_counter()
    server = subprocess.Popen(
        [*argv, "app:app"],
        cwd=directory,
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                _get(port, "/ping", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"gunicorn ({variant}) did not answer") from None
                time.sleep(0.05)
        startup = time.perf_counter() - started
        master = psutil.Process(server.pid)
        deadline = time.monotonic() + 60
        while len(master.children()) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [p.pid for p in master.children()]
        at_start = _pss([server.pid, *workers])
        seen: set[int] = set()
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            for _ in range(15):  # bounded: 15 waves of 4 parallel requests
                for answer in pool.map(lambda _: _get(port, "/use", 120), range(WORKERS)):
                    seen.add(int(answer["pid"]))
                if seen >= set(workers):
                    break
        after = _pss([server.pid, *workers])
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return {
        "startup_s": startup,
        "workers_used": len(seen & set(workers)),
        "master_pss_start": at_start[server.pid],
        "workers_pss_start": sum(v for k, v in at_start.items() if k != server.pid),
        "master_pss_after": after[server.pid],
        "workers_pss_after": sum(v for k, v in after.items() if k != server.pid),
        "total_pss_after": sum(after.values()),
        "total_pss_start": sum(at_start.values()),
    }


def measure() -> dict[str, Any]:
    n = _bench.rounds(full=2, quick=1)
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    with _bench.workspace("prefork") as work:
        env = _bench.child_env(work / "cache")
        (work / "app.py").write_text(APP)
        (work / "gunicorn_prefork.conf.py").write_text(HOOKS)
        (work / "gunicorn_plain.conf.py").write_text("")
        names = ", ".join(json.dumps(n) for n in NAMES)
        (work / "pyproject.toml").write_text(
            f'[project]\nname = "bench"\nversion = "0"\n\n[tool.lazymed]\nlazy = [{names}]\n'
            f"[tool.lazymed.startup]\nprefork = [{names}]\n"
        )
        for rnd in range(n + 1):
            order = list(VARIANTS) if rnd % 2 else list(VARIANTS)[::-1]
            for variant in order:
                row = run_once(variant, work, env)
                if rnd:
                    runs[variant].append(row)
    return {"rounds": n, "runs": runs}


def analyse(measured: dict[str, Any]) -> dict[str, Any]:
    per: dict[str, Any] = {}
    for variant, rows in measured["runs"].items():

        def med(key: str, rows: list[dict[str, Any]] = rows) -> float:
            return float(_bench.summary([r[key] for r in rows])["median"])

        per[variant] = {
            "startup_s": round(med("startup_s"), 3),
            "total_pss_start_mib": _bench.mib(med("total_pss_start")),
            "total_pss_after_mib": _bench.mib(med("total_pss_after")),
            "master_pss_after_mib": _bench.mib(med("master_pss_after")),
            "workers_pss_after_mib": _bench.mib(med("workers_pss_after")),
        }
    eager = per["eager"]["total_pss_after_mib"]
    return {
        "description": f"gunicorn --preload -w {WORKERS}: total PSS (master + workers, psutil "
        "from outside) at start and once every worker served /use (which uses "
        + ", ".join(NAMES)
        + "), and start-up (Popen to the first /ping answer)",
        "rounds": measured["rounds"],
        "variants": per,
        "targets": [],
        "ratios": [
            _bench.ratio(
                "total PSS after use, lazymed + prefork / eager",
                [r["total_pss_after"] for r in measured["runs"]["lazymed + prefork"]],
                [r["total_pss_after"] for r in measured["runs"]["eager"]],
                note=f"eager: {eager} MiB",
            ),
            _bench.ratio(
                "total PSS after use, lazymed (no prefork) / eager",
                [r["total_pss_after"] for r in measured["runs"]["lazymed"]],
                [r["total_pss_after"] for r in measured["runs"]["eager"]],
            ),
            _bench.ratio(
                "start-up, lazymed / eager",
                [r["startup_s"] for r in measured["runs"]["lazymed"]],
                [r["startup_s"] for r in measured["runs"]["eager"]],
            ),
        ],
        "raw": measured["runs"],
    }


def test_prefork(benchmark: Any, record: Callable[[str, dict[str, Any]], Path]) -> None:
    for name in ("gunicorn", *NAMES):
        if _find(name) is None:
            pytest.skip(f"{name} is not installed")
    measured = benchmark.pedantic(measure, rounds=1, iterations=1)
    record("prefork", analyse(measured))
    for rows in measured["runs"].values():
        for row in rows:
            assert row["workers_used"] == WORKERS


def _find(name: str) -> object:
    import importlib.util

    try:
        return importlib.util.find_spec(name)
    except ModuleNotFoundError:
        return None

"""Benchmark 8 — VMS of 32 threads that allocate and exit, with and without
``[tool.lazymed.startup] malloc_arena_max = 2`` (glibc ``mallopt(M_ARENA_MAX)``).

Each variant in a fresh interpreter (5 alternating rounds full, 1 quick): ``install()`` with or
without the key, then 32 threads start together (a barrier), each allocates 4,000 small objects
(~8 MB in all), waits for the others, frees them and exits. VmSize and VmRSS before and after
(``/proc/self/status``; RSS also read from outside with psutil). glibc gives each thread that
contends for the heap an arena of its own (up to 8 x cores), each reserving 64 MiB of address
space; capped, the threads share two. Target (reported): capped VMS growth <= 1/4 of uncapped.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _bench
import pytest

CHILD = """
import threading
import lazymed
lazymed.install()
from lazymed import _startup
def status():
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmSize", "VmRSS", "Threads"):
                out[key] = int(rest.split()[0])
    return out
before = status()
barrier = threading.Barrier(32)
def work():
    barrier.wait()
    junk = [bytearray(2000) for _ in range(4000)]
    barrier.wait()
    del junk
threads = [threading.Thread(target=work) for _ in range(32)]
for t in threads:
    t.start()
for t in threads:
    t.join()
after = status()
_probe("after", vms_before=before["VmSize"] * 1024, vms_after=after["VmSize"] * 1024,
       rss_before=before["VmRSS"] * 1024, threads_after=after["Threads"],
       applied=_startup.APPLIED.get("malloc_arena_max", "-"))
"""

VARIANTS = {
    "uncapped": "gc_freeze = false\n",
    "malloc_arena_max = 2": "malloc_arena_max = 2\n",
}


def measure() -> dict[str, Any]:
    n = _bench.rounds(full=5, quick=1)
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    with _bench.workspace("arena") as work:
        env = _bench.child_env(work / "cache")
        dirs = {}
        for variant, table in VARIANTS.items():
            d = work / variant.replace(" ", "").replace("=", "_")
            d.mkdir()
            (d / "pyproject.toml").write_text(
                '[project]\nname = "bench"\nversion = "0"\n\n[tool.lazymed]\n'
                f"[tool.lazymed.startup]\n{table}"
            )
            dirs[variant] = d
        for rnd in range(n + 1):
            order = list(VARIANTS) if rnd % 2 else list(VARIANTS)[::-1]
            for variant in order:
                reading = _bench.ChildRun(CHILD, dirs[variant], env).run(["after"])
                r = reading.readings["after"]
                if rnd == 0:
                    continue
                v = r.values
                runs[variant].append(
                    {
                        "vms_growth": int(v["vms_after"]) - int(v["vms_before"]),
                        "rss_growth": r.rss_psutil - int(v["rss_before"]),
                        "threads_after": int(v["threads_after"]),
                        "applied": v["applied"],
                        "rss_disagreement": r.rss_disagreement,
                    }
                )
    return {"rounds": n, "runs": runs}


def analyse(measured: dict[str, Any]) -> dict[str, Any]:
    per = {}
    for variant, rows in measured["runs"].items():
        per[variant] = {
            "vms_growth_mib": _bench.mib(statistics.median(r["vms_growth"] for r in rows)),
            "rss_growth_mib": _bench.mib(statistics.median(r["rss_growth"] for r in rows)),
            "mallopt": rows[0]["applied"],
            # Linux's RSS counters are per-thread/per-CPU caches folded in lazily: with 32 threads
            # just gone, the child's own reading and psutil's may differ by a few MiB. The RSS
            # growth above is psutil's (outside); VMS is /proc/self/status VmSize.
            "max_rss_disagreement_mib": _bench.mib(max(r["rss_disagreement"] for r in rows)),
        }
    capped = per["malloc_arena_max = 2"]["vms_growth_mib"]
    uncapped = per["uncapped"]["vms_growth_mib"]
    return {
        "description": "VMS and RSS growth of 32 threads that allocate ~8 MB together and exit, "
        "with and without [tool.lazymed.startup] malloc_arena_max = 2",
        "rounds": measured["rounds"],
        "variants": per,
        "targets": [
            _bench.target(
                "VMS growth capped / uncapped (malloc_arena_max = 2, 32 threads)",
                capped / uncapped if uncapped else 0.0,
                0.25,
                "x",
            )
        ],
        "raw": measured["runs"],
    }


@pytest.mark.skipif(
    not (hasattr(os, "confstr") and os.confstr("CS_GNU_LIBC_VERSION")), reason="glibc only"
)
def test_arena_cap(benchmark: Any, record: Callable[[str, dict[str, Any]], Path]) -> None:
    measured = benchmark.pedantic(measure, rounds=1, iterations=1)
    result = analyse(measured)
    record("arena_cap", result)
    assert {r["applied"] for r in measured["runs"]["malloc_arena_max = 2"]} == {"done"}

"""Benchmark 2 — what ``import lazymed; lazymed.install()`` adds to a bare interpreter.

Both commands run exactly as written, from a directory whose ``pyproject.toml`` has a
``[tool.lazymed]`` table with four lazy names:

    python -c pass
    python -c "import lazymed; lazymed.install()"
    python -c "import lazymed; lazymed.install(lazy=[...the same four...], from_import='eager')"

*Wall time*: many alternating pairs (the order flips every pair), timed from this process from
start to reaped; medians. CPU time (user + system, from ``wait4``) is reported beside it: on
two shared, noisy cores it moves less than wall time.

*Peak RSS*: ``VmHWM`` of separate runs of the same two programs followed by ``_probe`` (see
``_bench.PROBE_PRELUDE``; both programs carry it), read from ``/proc/<pid>/status`` by this
process and cross-checked against the child's own reading. (``wait4``'s ``ru_maxrss`` would
report this process's size instead: see ``_bench``.)

Before measuring, one child checks that ``install()`` really read that config (a benchmark of a
no-op would be void). The very first run, with an empty config cache, is reported apart.

The third command is timed in the same rotation: keywords must not put validation (or anything
else) on the path; the check child reports whether ``lazymed._validate`` was imported.

Targets (full mode, reported, never asserted): wall <= 1.12x (both forms), peak RSS <= +2 MiB.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _bench

LAZY = ["google.cloud.storage", "firebase_admin", "supabase", "llama_index.core"]
PASS = "pass"
INSTALL = "import lazymed; lazymed.install()"
INSTALL_KW = f"import lazymed; lazymed.install(lazy={LAZY!r}, from_import='eager')"

VERIFY = """\
import lazymed
lazymed.install()
_s = lazymed.status()
_probe(
    "check",
    installed=_s.installed,
    config_path=_s.config_path,
    lazy=",".join(sorted(m.name for m in _s.modules if m.role == "lazy")),
)
"""
VERIFY_KW = f"""\
import sys
{INSTALL_KW}
_s = lazymed.status()
_probe(
    "check",
    installed=_s.installed,
    lazy=",".join(_s.lazy),
    lazy_from=_s.sources["lazy"],
    validator_imported="lazymed._validate" in sys.modules,
)
"""


def measure() -> dict[str, Any]:
    pairs = _bench.rounds(full=300, quick=20)
    mem_runs = _bench.rounds(full=25, quick=3)
    exe = sys.executable
    with _bench.workspace("install") as work:
        app = work / "app"
        app.mkdir()
        pyproject = _bench.write_pyproject(app, LAZY)
        env = _bench.child_env(work / "cache")
        # The first run ever: nothing cached (lazymed parses the TOML and writes its cache).
        cold = _bench.run_timed([exe, "-c", INSTALL], app, env)
        check = _bench.ChildRun(VERIFY, app, env).run(["check"]).readings["check"].values
        check_kw = _bench.ChildRun(VERIFY_KW, app, env).run(["check"]).readings["check"].values
        codes = {"pass": PASS, "install": INSTALL, "install_kw": INSTALL_KW}
        for _ in range(5):  # warm-up, not recorded
            for code in codes.values():
                _bench.run_timed([exe, "-c", code], app, env)
        timed: dict[str, list[_bench.Timed]] = {which: [] for which in codes}
        rotation = list(codes)
        for i in range(pairs):
            order = rotation[i % 3 :] + rotation[: i % 3]  # each goes first, second, third
            for which in order:
                timed[which].append(_bench.run_timed([exe, "-c", codes[which]], app, env))
        memory: dict[str, list[_bench.ProbeReading]] = {"pass": [], "install": []}
        for i in range(mem_runs):
            order = ("pass", "install") if i % 2 == 0 else ("install", "pass")
            for which in order:
                code = "_probe('end')\n" if which == "pass" else INSTALL + "\n_probe('end')\n"
                run = _bench.ChildRun(code, app, env).run(["end"])
                memory[which].append(run.readings["end"])
    return {
        "pairs": pairs,
        "memory_runs": mem_runs,
        "pyproject": str(pyproject),
        "check": check,
        "check_keywords": check_kw,
        "cold_ns": cold.wall_ns,
        "timed": timed,
        "memory": memory,
    }


def analyse(m: dict[str, Any]) -> dict[str, Any]:
    timed: dict[str, list[_bench.Timed]] = m["timed"]
    memory: dict[str, list[_bench.ProbeReading]] = m["memory"]
    wall = {k: [t.wall_ns for t in v] for k, v in timed.items()}
    cpu = {k: [t.cpu_ns for t in v] for k, v in timed.items()}
    peak = {k: [r.hwm_proc_status for r in v] for k, v in memory.items()}
    rss = {k: [r.rss_psutil for r in v] for k, v in memory.items()}
    med = {
        name: {k: _bench.summary(v)["median"] for k, v in series.items()}
        for name, series in (("wall", wall), ("cpu", cpu), ("peak", peak), ("rss", rss))
    }
    wall_ratio = med["wall"]["install"] / med["wall"]["pass"]
    cpu_ratio = med["cpu"]["install"] / med["cpu"]["pass"]
    kw_wall_ratio = med["wall"]["install_kw"] / med["wall"]["pass"]
    kw_cpu_ratio = med["cpu"]["install_kw"] / med["cpu"]["pass"]
    peak_delta = med["peak"]["install"] - med["peak"]["pass"]
    return {
        "description": "python -c 'import lazymed; lazymed.install()' (pyproject with "
        "[tool.lazymed], 4 lazy names), and the same with the names as install() keywords, "
        "vs python -c pass, fresh interpreters, in rotation.",
        "pairs": m["pairs"],
        "memory_runs": m["memory_runs"],
        "config_seen_by_install": m["check"],
        "config_seen_by_keyword_install": m["check_keywords"],
        "wall_ms": {
            k: {kk: _bench.ms(vv) if kk != "n" else vv for kk, vv in _bench.summary(v).items()}
            for k, v in wall.items()
        },
        "cpu_ms": {k: _bench.ms(v) for k, v in med["cpu"].items()},
        "peak_rss_mib": {k: _bench.mib(v) for k, v in med["peak"].items()},
        "rss_at_exit_mib": {k: _bench.mib(v) for k, v in med["rss"].items()},
        "cold_first_install_run_ms": _bench.ms(m["cold_ns"]),
        "wall_ratio": round(wall_ratio, 4),
        "wall_added_ms": _bench.ms(med["wall"]["install"] - med["wall"]["pass"]),
        "cpu_ratio": round(cpu_ratio, 4),
        "keywords_wall_ratio": round(kw_wall_ratio, 4),
        "keywords_cpu_ratio": round(kw_cpu_ratio, 4),
        "peak_rss_delta_mib": _bench.mib(peak_delta),
        "max_rss_disagreement_bytes": max(r.rss_disagreement for v in memory.values() for r in v),
        "targets": [
            _bench.target(
                "install() wall / python -c pass",
                wall_ratio,
                1.12,
                "x",
                ci=_bench.ratio_ci(wall["install"], wall["pass"]),
                cpu_ratio=cpu_ratio,
                paired_ratio=_bench.paired_median_ratio(wall["install"], wall["pass"]),
            ),
            _bench.target(
                "install(lazy=..., from_import=...) wall / python -c pass",
                kw_wall_ratio,
                1.12,
                "x",
                ci=_bench.ratio_ci(wall["install_kw"], wall["pass"]),
                cpu_ratio=kw_cpu_ratio,
                paired_ratio=_bench.paired_median_ratio(wall["install_kw"], wall["pass"]),
            ),
            _bench.target(
                "install() peak RSS - python -c pass", _bench.mib(peak_delta), 2.0, "MiB"
            ),
        ],
        "anomalies": [],
        "raw": {
            "wall_ms": {k: [_bench.ms(x) for x in v] for k, v in wall.items()},
            "cpu_ms": {k: [_bench.ms(x) for x in v] for k, v in cpu.items()},
            "peak_rss_bytes": peak,
        },
    }


def test_install_overhead(benchmark: Any, record: Callable[[str, dict[str, Any]], Path]) -> None:
    measured = benchmark.pedantic(measure, rounds=1, iterations=1)
    result = analyse(measured)
    record("install_overhead", result)
    check = measured["check"]
    # install() really read the temp project's [tool.lazymed], and deferred without importing.
    assert check["installed"] == "True", check
    assert check["config_path"] == measured["pyproject"], check
    assert check["lazy"] == ",".join(sorted(LAZY)), check
    check_kw = measured["check_keywords"]
    assert check_kw["installed"] == "True", check_kw
    assert check_kw["lazy"] == ",".join(LAZY), check_kw
    assert check_kw["lazy_from"] == "install() keyword", check_kw
    assert check_kw["validator_imported"] == "False", check_kw  # README: only on a miss/error
    for which in ("pass", "install", "install_kw"):
        assert all(t.wall_ns > 0 and t.cpu_ns > 0 for t in measured["timed"][which])
    for which in ("pass", "install"):  # peak RSS: the file form (keywords add no module)
        for reading in measured["memory"][which]:
            assert reading.hwm_proc_status >= reading.rss_proc_status > 4 * _bench.MIB
            assert reading.rss_disagreement <= _bench.RSS_AGREEMENT_BYTES, reading
    # An interpreter that runs more code cannot be faster in CPU terms by a wide margin.
    assert result["cpu_ratio"] > 0.8, result["cpu_ratio"]

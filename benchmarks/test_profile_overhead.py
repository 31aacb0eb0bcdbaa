"""Benchmark 6 — what ``lazymed profile`` costs over running its target plainly.

Target: ``--modules flask,google.cloud.storage`` (about 670 modules, ~0.45 s on an idle core).
Each round runs three things in fresh interpreters, in a shuffled order:

* **plain**: the target as the profiler's own plain run runs it,
  ``python -c "import flask\\nimport google.cloud.storage"`` (``Target.python_args()``), timed
  here with ``_bench.run_timed`` (start to reaped; CPU time from ``wait4``);
* **timing pass**: the profiler's timing pass (``lazymed.profiler._runner.traced_run`` with the
  tracer and without tracemalloc or gc counts, exactly as ``profile()`` calls it), timed here
  around the call (wall clock; CPU time from ``RUSAGE_CHILDREN`` before and after). That
  interval also holds reading the tracer's report file (``harness`` in the results, ~1 % of the
  run). The profiler's own clock for the same child is recorded beside it;
* **command**: ``python -m lazymed profile --json --modules flask,google.cloud.storage`` with
  its defaults (allocation pass, timing pass, plain run, report), timed here as a whole. Its
  JSON gives the overhead the profiler measures and prints itself (``overhead``: timing pass,
  plain run, their ratio, allocation pass, tracer bookkeeping).

A warm-up round (plain, timing pass, ``--no-alloc --no-baseline`` command) is discarded. Figures
are medians. Recorded without a goal (none is stated): timing pass / plain measured here, the
same ratio as the profiler reports it, and the whole command / plain. The profiler's figures are
compared with the ones measured here (``agreement``). Nothing here is asserted on a timing.
Only logical bounds are asserted: the command's wall time holds its three children, and the
interval timed here holds the profiler's own interval for the same child.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _bench
import psutil
import pytest

from lazymed.profiler import Target
from lazymed.profiler._runner import traced_run, tracer_code

MODULES = "flask,google.cloud.storage"
VARIANTS = ("command", "timing_pass", "plain")


def command_argv(*options: str) -> list[str]:
    """``python -m lazymed profile --json [options] --modules MODULES``."""
    return [sys.executable, "-m", "lazymed", "profile", "--json", *options, "--modules", MODULES]


@contextmanager
def _kill_new_children_after(seconds: float) -> Iterator[None]:
    """Kill the children this process starts inside the block if they still run after
    ``seconds`` (a hang must fail the benchmark, not stall CI)."""
    me = psutil.Process()
    before = {child.pid for child in me.children()}

    def kill() -> None:
        for child in me.children():
            if child.pid not in before:
                child.kill()

    timer = threading.Timer(seconds, kill)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _children_cpu_ns() -> int:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round((usage.ru_utime + usage.ru_stime) * 1e9)


def timing_pass(
    target: Target, tracer: str, work: Path, app: Path, env: dict[str, str]
) -> dict[str, Any]:
    """One profiler timing pass, timed here. Raises ChildFailed when it wrote no report."""
    cpu0 = _children_cpu_ns()
    start = time.perf_counter_ns()
    with _kill_new_children_after(_bench.CHILD_TIMEOUT_S):
        run = traced_run(
            target,
            python=sys.executable,
            workdir=str(work),
            tracer=tracer,
            alloc=False,
            gc_objects=False,
            cwd=str(app),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    wall = time.perf_counter_ns() - start
    cpu = _children_cpu_ns() - cpu0
    if run.returncode != 0 or run.raw is None:
        raise _bench.ChildFailed(
            f"timing pass exited {run.returncode}, report: {run.raw is not None}"
        )
    raw = run.raw
    return {
        "wall_ns": wall,
        "cpu_ns": cpu,
        "profiler_clock_ns": round(run.seconds * 1e9),
        "harness_ns": wall - round(run.seconds * 1e9),
        "tracer_bookkeeping_ns": round(float(raw["end"]["tracer_seconds"]) * 1e9),
        "exit_code": raw["exit_code"],
        "not_found": raw["not_found"],
        "modules_imported": raw["modules_at_exit"] - raw["startup_modules"],
    }


def run_command(app: Path, env: dict[str, str], *options: str) -> dict[str, Any]:
    """``lazymed profile --json`` timed here as a whole; its report's overhead and run info."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out:
        timed = _bench.run_timed(command_argv(*options), app, env, stdout=out)
        out.seek(0)
        report = json.load(out)
    return {
        "wall_ns": timed.wall_ns,
        "cpu_ns": timed.cpu_ns,
        "schema": report["schema"],
        "overhead": report["overhead"],
        "exit_code": report["run"]["exit_code"],
        "modules_imported": report["run"]["modules_imported"],
        "packages": [p["name"] for p in report["packages"]],
        "warnings": report["warnings"],
    }


def measure() -> dict[str, Any]:
    """The three variants in a shuffled order per round, after a discarded warm-up round."""
    n = _bench.rounds(full=12, quick=1)
    target = Target("modules", MODULES)
    plain_argv = [sys.executable, *target.python_args()]
    rows: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    rng = random.Random(6)
    with _bench.workspace("profile") as work:
        app = work / "app"
        app.mkdir()
        _bench.write_pyproject(app)  # empty [tool.lazymed]: ends lazymed's config walk here
        env = _bench.child_env(work / "cache")
        tracer = tracer_code(str(work), sys.executable)  # marshalled, as profile() does
        # Warm-up: .pyc files and page cache of the target, the tracer and the CLI.
        _bench.run_timed(plain_argv, app, env)
        timing_pass(target, tracer, work, app, env)
        run_command(app, env, "--no-alloc", "--no-baseline")
        for _ in range(n):
            order = list(VARIANTS)
            rng.shuffle(order)
            for variant in order:
                if variant == "plain":
                    t = _bench.run_timed(plain_argv, app, env)
                    rows["plain"].append({"wall_ns": t.wall_ns, "cpu_ns": t.cpu_ns})
                elif variant == "timing_pass":
                    rows["timing_pass"].append(timing_pass(target, tracer, work, app, env))
                else:
                    rows["command"].append(run_command(app, env))
    return {
        "rounds": n,
        "plain_argv": plain_argv[1:],
        "command": command_argv()[1:],
        "rows": rows,
    }


def analyse(measured: dict[str, Any]) -> dict[str, Any]:
    rows: dict[str, list[dict[str, Any]]] = measured["rows"]
    wall = {v: [float(r["wall_ns"]) for r in rows[v]] for v in VARIANTS}
    cpu = {v: [float(r["cpu_ns"]) for r in rows[v]] for v in VARIANTS}
    med = {v: statistics.median(wall[v]) for v in VARIANTS}
    reported = [r["overhead"] for r in rows["command"]]

    def rep(key: str) -> list[float]:
        return [float(o[key]) for o in reported]

    outside = _bench.ratio(
        "profiler timing pass / plain run, timed here",
        wall["timing_pass"],
        wall["plain"],
        cpu["timing_pass"],
        cpu["plain"],
    )
    as_reported = _bench.ratio(
        "profiler timing pass / plain run, as `lazymed profile` reports it",
        rep("profiled_seconds"),
        rep("plain_seconds"),
        note="paired: median of the overhead.ratio of each report",
    )
    whole = _bench.ratio(
        "`lazymed profile --json` whole command / plain run",
        wall["command"],
        wall["plain"],
        cpu["command"],
        cpu["plain"],
    )
    alloc = _bench.ratio(
        "allocation pass / plain run, as `lazymed profile` reports it",
        rep("alloc_pass_seconds"),
        rep("plain_seconds"),
    )

    def ms_summary(values: list[float]) -> dict[str, float]:
        return {k: _bench.ms(v) if k != "n" else v for k, v in _bench.summary(values).items()}

    return {
        "description": f"python -m lazymed profile --json --modules {MODULES} vs the same "
        "target run plainly; the profiler's timing pass timed here and as the profiler "
        "reports it; fresh interpreters, shuffled order per round, medians.",
        "target": MODULES,
        "target_imports": [f"import {name}" for name in MODULES.split(",")],
        "rounds": measured["rounds"],
        "plain_command": ["python", *measured["plain_argv"]],
        "profile_command": ["python", *measured["command"]],
        "wall_ms": {v: ms_summary(wall[v]) for v in VARIANTS},
        "cpu_ms": {v: _bench.ms(statistics.median(cpu[v])) for v in VARIANTS},
        "modules_imported": int(
            statistics.median(r["modules_imported"] for r in rows["timing_pass"])
        ),
        "timing_pass": {
            "ratio_timed_here": outside["measured"],
            "ratio_reported": {
                "ratio_of_medians": as_reported["measured"],
                "median_of_reports": as_reported["paired_median_ratio"],
                "iqr": round(_bench.summary(rep("ratio"))["iqr"], 4),
            },
            "harness_ms": _bench.ms(
                statistics.median(r["harness_ns"] for r in rows["timing_pass"])
            ),
            "tracer_bookkeeping_ms": _bench.ms(
                statistics.median(r["tracer_bookkeeping_ns"] for r in rows["timing_pass"])
            ),
        },
        # The profiler's overhead figures (its JSON's overhead.*_seconds), medians, in ms.
        "reported_ms": {
            name: _bench.ms(statistics.median(rep(key)) * 1e9)
            for name, key in (
                ("timing_pass", "profiled_seconds"),
                ("plain_run", "plain_seconds"),
                ("alloc_pass", "alloc_pass_seconds"),
                ("tracer_bookkeeping", "tracer_seconds"),
            )
        },
        "alloc_pass_ratio_reported": alloc["measured"],
        "whole_command_ratio": whole["measured"],
        "agreement": {
            "profiler_plain_run_over_timed_here": round(
                statistics.median(rep("plain_seconds")) * 1e9 / med["plain"], 4
            ),
            "profiler_timing_pass_over_timed_here": round(
                statistics.median(rep("profiled_seconds")) * 1e9 / med["timing_pass"], 4
            ),
            "reported_ratio_minus_ratio_timed_here": round(
                as_reported["measured"] - outside["measured"], 4
            ),
        },
        "targets": [],
        "ratios": [outside, as_reported, whole, alloc],
        "anomalies": sorted(
            {w for r in rows["command"] for w in r["warnings"]}
            | {
                f"timing pass: modules not found: {r['not_found']}"
                for r in rows["timing_pass"]
                if r["not_found"]
            }
        ),
        "raw": {
            "wall_ms": {v: [_bench.ms(x) for x in wall[v]] for v in VARIANTS},
            "cpu_ms": {v: [_bench.ms(x) for x in cpu[v]] for v in VARIANTS},
            "reported_overhead": reported,
            "timing_pass": rows["timing_pass"],
        },
    }


def test_profile_overhead(benchmark: Any, record: Callable[[str, dict[str, Any]], Path]) -> None:
    measured = benchmark.pedantic(measure, rounds=1, iterations=1)
    result = analyse(measured)
    record("profile_overhead", result)
    rows: dict[str, list[dict[str, Any]]] = measured["rows"]
    # Sanity, in every mode (the ratios are reported, never asserted):
    for variant in VARIANTS:
        assert len(rows[variant]) == measured["rounds"], f"missing {variant} runs"
        for row in rows[variant]:
            assert row["wall_ns"] > 0 and row["cpu_ns"] > 0, (variant, row)
    for row in rows["timing_pass"]:
        # The tracer ran the whole target: both packages and their ~600 modules imported.
        assert row["exit_code"] == 0 and row["not_found"] == [], row
        assert row["modules_imported"] > 300, row
        # The interval timed here holds the profiler's own interval for the same child.
        assert 0 <= row["harness_ns"] < row["wall_ns"], row
        assert 0 < row["tracer_bookkeeping_ns"] < row["profiler_clock_ns"], row
    for row in rows["command"]:
        ov = row["overhead"]
        assert row["schema"] == "lazymed.profile" and row["exit_code"] == 0, row
        assert row["modules_imported"] > 300 and {"flask", "google"} <= set(row["packages"])
        assert ov["runs"] == 1 and all(
            ov[k] > 0 for k in ("profiled_seconds", "plain_seconds", "alloc_pass_seconds")
        ), ov
        assert ov["ratio"] == pytest.approx(ov["profiled_seconds"] / ov["plain_seconds"])
        assert 0 < ov["tracer_seconds"] < ov["profiled_seconds"], ov
        # Its three children ran one after the other inside the command timed here.
        children_s = ov["alloc_pass_seconds"] + ov["profiled_seconds"] + ov["plain_seconds"]
        assert children_s * 1e9 < row["wall_ns"], (children_s, row["wall_ns"])

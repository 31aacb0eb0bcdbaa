"""pytest wiring of the benchmark suite: the ``record`` fixture and a targets summary.

Each benchmark is one pytest-benchmark test that wraps its whole campaign (many fresh
interpreters, variants alternating) in ``benchmark.pedantic(..., rounds=1)``; pytest-benchmark's
own table therefore shows how long each campaign took. The figures themselves go to
``benchmarks/results/<name>.json`` (``results/quick/`` in quick mode) and to the targets summary
printed at the end of the run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _bench

_RECORDED: list[tuple[str, Path, dict[str, Any]]] = []


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Callable[[str, dict[str, Any]], Path]:
    """``record(name, result)``: write ``<results>/<name>.json``, attach the targets to the
    pytest-benchmark entry (``extra_info``) and queue them for the end-of-run summary."""

    def _record(name: str, result: dict[str, Any]) -> Path:
        path = _bench.write_result(name, result)
        _RECORDED.append((name, path, result))
        bench = request.node.funcargs.get("benchmark")
        if bench is not None:
            bench.extra_info["targets"] = result.get("targets", [])
            bench.extra_info["result_file"] = str(path)
        return path

    return _record


def pytest_report_header(config: pytest.Config) -> list[str]:
    mode = "quick (BENCH_QUICK=1)" if _bench.QUICK else "full"
    return [f"lazymed benchmarks: {mode} mode; results -> {_bench.results_dir()}"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _RECORDED:
        return
    tr = terminalreporter
    tr.section("lazymed benchmark targets and ratios (reported, not asserted)")
    for name, path, result in _RECORDED:
        for t in result.get("targets", []):
            verdict = "met" if t["met"] else "MISSED"
            extra = []
            if "ci95" in t:
                extra.append(f"95% CI {t['ci95'][0]}-{t['ci95'][1]}")
            if "paired_median_ratio" in t:
                extra.append(f"paired {t['paired_median_ratio']}")
            if "cpu_time_ratio" in t:
                extra.append(f"CPU {t['cpu_time_ratio']}")
            detail = f"  ({'; '.join(extra)})" if extra else ""
            tr.write_line(
                f"{name:18} {t['name']}: {t['measured']} {t['unit']} "
                f"(target {t.get('comparison', '<=')} {t['limit']}){detail} -> {verdict}"
            )
        for r in result.get("ratios", []):
            extra = [f"95% CI {r['ci95'][0]}-{r['ci95'][1]}"]
            if "paired_median_ratio" in r:
                extra.append(f"paired {r['paired_median_ratio']}")
            if "cpu_time_ratio" in r:
                extra.append(f"CPU {r['cpu_time_ratio']}")
            tr.write_line(f"{name:18} {r['name']}: {r['measured']} x  ({'; '.join(extra)})")
        for anomaly in result.get("anomalies", []):
            tr.write_line(f"{name:18} anomaly: {anomaly}")
        tr.write_line(f"{name:18} -> {path}")
    if _bench.QUICK:
        tr.write_line("quick mode: few repetitions; these numbers are not the benchmark's verdict")

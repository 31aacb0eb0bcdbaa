"""Benchmark 7 — ``import pkg.sub`` with ``pkg`` lazy, over every installed distribution.

Runs :mod:`submodule_laziness` (see its docstring for the method and the sampling bound) and
records the table in ``results/submodule_laziness.json``. Target (reported, never asserted):
at least 98 % of the pure-Python pairs leave the package unrun. Asserted: every pair produced a
result, and every counted pair's final state after first use equals eager CPython's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import _bench
import submodule_laziness


def test_submodule_laziness(benchmark: Any, record: Callable[[str, dict[str, Any]], Path]) -> None:
    result = benchmark.pedantic(
        submodule_laziness.campaign, args=(_bench.QUICK,), rounds=1, iterations=1
    )
    assert result["pairs_run"] > 0
    assert not [r for r in result["rows"] if "outcome" not in r]
    share = result["stay_lazy_share"]
    not_lazy = 1 - share if share is not None else 1.0
    result["targets"] = [
        _bench.target(
            "pure-Python (package, submodule) pairs where `import pkg.sub` runs pkg",
            not_lazy,
            0.02,
            "share",
            note=result["sample"],
        )
    ]
    record("submodule_laziness", result)
    assert result["state_mismatches"] == [], result["state_mismatches"]

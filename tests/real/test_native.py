"""The native backend (PEP 810, Python 3.15+) and deep laziness on the real heavy packages.

Each workload runs in fresh interpreters: eagerly (the oracle), with ``backend="native"``, and
with ``backend="native", deep=[<package>]``. Results must equal eager CPython's. Packages that
break under deep laziness are listed in ``DEEP_BREAKS`` with the reason (docs/pep810.md).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from ._runner import Run, ours, run_snippet, state_changes, with_parents
from ._workloads import ALL, BY_KEY, RunCache, snippet

pytestmark = pytest.mark.skipif(
    not hasattr(sys, "set_lazy_imports_filter"),
    reason="the native backend needs PEP 810 (Python 3.15+; this is "
    f"{sys.version_info.major}.{sys.version_info.minor})",
)

KEYS = [w.key for w in ALL]

#: Packages whose results differ from eager CPython under deep laziness, with the reason.
#: Empty: every workload passed on 3.15.2 (see docs/pep810.md for what was checked).
DEEP_BREAKS: dict[str, str] = {}


class NativeRuns:
    """Each (key, mode) snippet once per session; modes "native" and "deep"."""

    def __init__(self, root: Path, data: dict[str, Any]) -> None:
        self.root = root
        self.data = data
        self.runs: dict[tuple[str, str], Run] = {}

    def get(self, key: str, mode: str) -> Run:
        if (key, mode) not in self.runs:
            w = BY_KEY[key]
            deep = [w.registered] if mode == "deep" else []
            install = f"lazymed.install(lazy={[w.registered]!r}, backend='native', deep={deep!r})"
            self.runs[key, mode] = run_snippet(
                snippet([w]),
                workdir=self.root / f"{key}-{mode}",
                install=install,
                data=self.data,
            )
        return self.runs[key, mode]


@pytest.fixture(scope="session")
def native_runs(
    tmp_path_factory: pytest.TempPathFactory, service_account: dict[str, Any]
) -> NativeRuns:
    return NativeRuns(tmp_path_factory.mktemp("native-runs"), service_account)


@pytest.mark.parametrize("key", KEYS)
def test_native_returns_the_eager_result(
    real_runs: RunCache, native_runs: NativeRuns, key: str
) -> None:
    eager = real_runs.get([key], "eager")
    native = native_runs.get(key, "native")
    assert eager[f"result:{key}"], "the workload produced nothing to compare"
    assert native[f"result:{key}"] == eager[f"result:{key}"]
    assert native["identity"] == eager["identity"]


@pytest.mark.parametrize("key", KEYS)
def test_native_import_runs_none_of_the_package(native_runs: NativeRuns, key: str) -> None:
    w = BY_KEY[key]
    native = native_runs.get(key, "native")
    changes = state_changes(native["before_import"], native["after_import"])
    added = set(changes.pop("modules_added", []))
    # PEP 810 defers without touching sys.modules: not even the package itself is there.
    assert added - ours(added) <= with_parents(w.imports) - set(w.imports), added
    assert changes == {}
    status = native["status_after_import"][w.registered]
    assert (status["role"], status["state"]) == ("lazy", "lazy"), status
    first = native.statement_line(f"import {w.imports[0]}")
    assert status["imported_at"].endswith(f"snippet.py:{first}"), status
    after = native["status_after_use"][w.registered]
    assert (after["state"], after["error"]) == ("loaded", None), after
    assert after["imported_at"] == status["imported_at"]
    used = RunCache.use_span(native, key)
    assert int(after["first_used_at"].rpartition(":")[2]) in used, after


@pytest.mark.parametrize("key", KEYS)
def test_deep_returns_the_eager_result(
    real_runs: RunCache, native_runs: NativeRuns, key: str
) -> None:
    eager = real_runs.get([key], "eager")
    deep = native_runs.get(key, "deep")
    if key in DEEP_BREAKS:
        assert deep[f"result:{key}"] != eager[f"result:{key}"], DEEP_BREAKS[key]
        return
    assert deep[f"result:{key}"] == eager[f"result:{key}"]
    assert deep["identity"] == eager["identity"]


def _loaded(run: Run) -> set[str]:
    added = set(state_changes(run["before_import"], run["after_use"])["modules_added"])
    return added - ours(added)


@pytest.mark.parametrize("key", KEYS)
def test_deep_loads_fewer_modules_than_native(native_runs: NativeRuns, key: str) -> None:
    """After the same real use, deep laziness has left part of the package unloaded, and
    loaded nothing the native backend does not. (Before deep checked that a top-level package
    exists, llama_index.core loaded ~400 extra modules here: its optional-dependency probe
    `from llama_index.core.bridge.langchain import ...`, whose first line `import langchain`
    fails eagerly, ran on into langchain_core and langsmith.)"""
    native = _loaded(native_runs.get(key, "native"))
    deep = _loaded(native_runs.get(key, "deep"))
    assert deep < native, sorted(deep - native)

"""Each real heavy package, alone: eager CPython is the oracle for what lazymed must produce.

For every workload two fresh interpreters run the same program (see ``_workloads.snippet``):
one eager, one after ``lazymed.install(lazy=[<package>])``. The program snapshots the process
around its ``import`` statements, uses the package offline, then snapshots again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._runner import effects, ours, state_changes, with_parents
from ._workloads import ALL, BY_KEY, RunCache

KEYS = [w.key for w in ALL]


@pytest.mark.parametrize("key", KEYS)
def test_lazy_run_returns_the_eager_result(real_runs: RunCache, key: str) -> None:
    eager = real_runs.get([key], "eager")
    lazy = real_runs.get([key], "lazy")
    assert eager[f"result:{key}"], "the workload produced nothing to compare"
    assert lazy[f"result:{key}"] == eager[f"result:{key}"]


@pytest.mark.parametrize("key", KEYS)
def test_lazy_import_runs_none_of_the_package(real_runs: RunCache, key: str) -> None:
    w = BY_KEY[key]
    lazy = real_runs.get([key], "lazy")
    changes = state_changes(lazy["before_import"], lazy["after_import"])
    # Only the imported names and their parent packages may appear (namespace packages such as
    # google and google.cloud run no code); none of their submodules, no dependency.
    added = set(changes.pop("modules_added", []))
    # lazymed's own lazy-module machinery is loaded by the first lazy import, not by install().
    assert added - ours(added) <= with_parents(w.imports), added
    # No thread started, os.environ, sys.meta_path, sys.path_hooks, sys.path, atexit, warnings
    # filters, signal handlers, exception hooks and recursion limit untouched.
    assert changes == {}
    status = lazy["status_after_import"][w.registered]
    assert (status["role"], status["state"]) == ("lazy", "lazy"), status


@pytest.mark.parametrize("key", KEYS)
def test_eager_import_runs_the_package(real_runs: RunCache, key: str) -> None:
    """The counter-check: the same import statements, eager, do load the package's code."""
    w = BY_KEY[key]
    eager = real_runs.get([key], "eager")
    changes = state_changes(eager["before_import"], eager["after_import"])
    # Besides modules, each of these packages touched another probe when this was written
    # (atexit handlers: all but langchain_core; warnings filters: google.cloud.storage,
    # firebase_admin, llama_index.core, langchain_core; a BLAS thread: llama_index.core on a
    # multi-core machine), so the lazy test's "nothing else changed" is not vacuous.
    assert set(changes) - {"modules_added"}, changes.keys()
    added = set(changes["modules_added"])
    beyond = added - with_parents(w.imports)
    own_submodules = {m for m in beyond if m.startswith(w.registered + ".")}
    assert own_submodules, f"eager `import {w.imports}` loaded no submodule of {w.registered}"
    assert len(beyond) > 20, sorted(beyond)


@pytest.mark.parametrize("key", KEYS)
def test_install_adds_one_finder_and_nothing_else(real_runs: RunCache, key: str) -> None:
    lazy = real_runs.get([key], "lazy")
    before, after = lazy["pre_install"]["meta_path"], lazy["after_import"]["meta_path"]
    added = [f for f in after if f not in before]
    assert len(added) == 1, added
    assert added[0].startswith("lazymed."), added
    assert [f for f in after if f != added[0]] == before


@pytest.mark.parametrize("key", KEYS)
def test_after_first_use_modules_are_ordinary(real_runs: RunCache, key: str) -> None:
    """type(mod) is types.ModuleType and the bound name is sys.modules[name], for every import."""
    w = BY_KEY[key]
    lazy = real_runs.get([key], "lazy")
    assert lazy["identity"] == {name: [True, True, "module"] for name in w.imports}
    status = lazy["status_after_use"][w.registered]
    assert (status["state"], status["error"]) == ("loaded", None), status


@pytest.mark.parametrize("key", KEYS)
def test_status_names_the_import_and_the_first_use(real_runs: RunCache, key: str) -> None:
    w = BY_KEY[key]
    lazy = real_runs.get([key], "lazy")
    status = lazy["status_after_use"][w.registered]
    first_import = next(
        n for n in w.imports if n == w.registered or n.startswith(w.registered + ".")
    )
    imported_file, _, imported_line = status["imported_at"].rpartition(":")
    assert Path(imported_file).resolve() == lazy.script.resolve(), status
    assert int(imported_line) == lazy.statement_line(f"import {first_import}"), status
    used_file, _, used_line = status["first_used_at"].rpartition(":")
    assert Path(used_file).resolve() == lazy.script.resolve(), status
    assert int(used_line) in RunCache.use_span(lazy, key), status
    # Before first use nothing was loaded, so nothing was measured or attributed yet.
    before = lazy["status_after_import"][w.registered]
    assert before["first_used_at"] is None, before
    assert before["load_seconds"] is None, before


@pytest.mark.parametrize("key", KEYS)
def test_after_first_use_the_process_matches_eager(real_runs: RunCache, key: str) -> None:
    """Same modules loaded, same module namespaces, same import-time side effects as eager."""
    w = BY_KEY[key]
    eager = real_runs.get([key], "eager")
    lazy = real_runs.get([key], "lazy")
    eager_modules = set(eager["after_use"]["modules"])
    lazy_modules = set(lazy["after_use"]["modules"])
    # lazymed's own modules and what install() imported are the only extras allowed.
    installed = set(lazy["post_install"]["modules"]) - set(lazy["pre_install"]["modules"])
    assert sorted(eager_modules - lazy_modules) == []
    assert sorted(lazy_modules - eager_modules - installed - ours(lazy_modules)) == []
    assert lazy["module_keys"] == eager["module_keys"]
    # Threads started, atexit handlers and warnings filters registered, environment written,
    # finders added... by the package at import time: deferred, but not lost.
    eager_effects = effects(eager["post_install"], eager["after_use"])
    lazy_effects = effects(lazy["post_install"], lazy["after_use"])
    assert lazy_effects == eager_effects, w.registered

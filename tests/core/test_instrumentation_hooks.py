"""wrapt post-import hooks (APM and tracing agents) and lazy modules (issue 11, defect 11).

Agents register ``wrapt.when_imported(name)(hook)`` before or after ``install()``. Either way the
module must stay lazy at its import statement, the hook must run once when the module really
loads (with the loaded module), and ``status()`` must tell the truth.
"""

from __future__ import annotations

import sys

import pytest
from conftest import Packages

import lazymed

wrapt = pytest.importorskip("wrapt")


@pytest.fixture(autouse=True)
def _wrapt_state() -> object:
    """wrapt keeps its hooks and its finder process-wide: restore both."""
    from wrapt import importer

    hooks = {k: list(v) for k, v in importer._post_import_hooks.items()}
    init = importer._post_import_hooks_init
    # The import-state fixture restores sys.meta_path after each test, which drops the finder
    # wrapt put there once per process: let wrapt put it back when a test registers a hook.
    importer._post_import_hooks_init = any(
        isinstance(f, importer.ImportHookFinder) for f in sys.meta_path
    )
    yield
    importer._post_import_hooks.clear()
    importer._post_import_hooks.update(hooks)
    importer._post_import_hooks_init = init


def _state(name: str) -> str:
    return {m.name: m.state for m in lazymed.status().modules}[name]


@pytest.mark.parametrize("order", ["hook-after-install", "hook-before-install"])
def test_hook_runs_at_the_real_load_and_the_import_stays_lazy(pkgs: Packages, order: str) -> None:
    pkgs.module("ih_metrics", "def emit():\n    return 'real'\n")
    seen: list[tuple[str, bool]] = []

    def hook(module: object) -> None:
        seen.append((module.__name__, "emit" in vars(module)))  # type: ignore[attr-defined]
        module.emit = lambda: "instrumented"  # type: ignore[attr-defined]

    if order == "hook-before-install":
        wrapt.when_imported("ih_metrics")(hook)
    lazymed.install(lazy=["ih_metrics"])
    if order == "hook-after-install":
        wrapt.when_imported("ih_metrics")(hook)

    import ih_metrics

    assert pkgs.runs == []  # lazy at the statement
    assert seen == []
    assert _state("ih_metrics") == "lazy"
    assert ih_metrics.emit() == "instrumented"  # the hook ran on the loaded module
    assert seen == [("ih_metrics", True)]
    assert _state("ih_metrics") == "loaded"
    assert pkgs.runs == ["ih_metrics"]
    assert type(sys.modules["ih_metrics"]).__name__ == "module"


def test_hook_for_an_unmanaged_module_is_untouched(pkgs: Packages) -> None:
    pkgs.module("ih_plain", "X = 1\n")
    seen: list[str] = []
    lazymed.install(lazy=["ih_other"])
    wrapt.when_imported("ih_plain")(lambda m: seen.append(m.__name__))
    import ih_plain  # noqa: F401

    assert seen == ["ih_plain"]
    assert pkgs.runs == ["ih_plain"]


def test_query_from_find_spec_is_still_a_query(pkgs: Packages) -> None:
    import importlib.util

    pkgs.module("ih_q", "X = 1\n")
    lazymed.install(lazy=["ih_q"])
    wrapt.when_imported("ih_q")(lambda m: None)
    spec = importlib.util.find_spec("ih_q")
    assert spec is not None
    assert "ih_q" not in sys.modules
    assert pkgs.runs == []

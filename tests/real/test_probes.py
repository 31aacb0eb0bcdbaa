"""The harness's probes can fail: a package that does every import-time side effect at once.

The real packages touch only some probes (modules, atexit, warnings filters, a BLAS thread on
multi-core machines). This stand-in package touches all of them, so each "unchanged after a lazy
import" assertion of the real-package tests is shown to detect its effect (eager run), and lazymed
is shown to defer every kind of effect to first use, where it equals the eager one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._runner import Run, effects, lazy_install, ours, run_snippet, state_changes

PACKAGE = "lazymed_probe_pkg"

INIT = '''\
"""Does at import time what heavy packages do."""
import atexit
import os
import signal
import sys
import threading
import warnings

from . import helpers

_stop = threading.Event()
threading.Thread(target=_stop.wait, name="probe-pool", daemon=True).start()
os.environ["PROBE_PKG_LOADED"] = "1"


class _Finder:
    def find_spec(self, name, path=None, target=None):
        return None


sys.meta_path.append(_Finder())
sys.path_hooks.append(helpers.no_hook)
sys.path.append("/nonexistent/probe-pkg")
atexit.register(helpers.noop)
warnings.filterwarnings("ignore", message="probe-pkg")
signal.signal(signal.SIGUSR1, helpers.noop)
sys.excepthook = helpers.excepthook
sys.setrecursionlimit(sys.getrecursionlimit() + 7)
VALUE = helpers.VALUE
'''

HELPERS = """\
VALUE = 42


def noop(*args):
    return None


def no_hook(path):
    raise ImportError(path)


def excepthook(*args):
    return None
"""

CODE = f"""
BEFORE_IMPORT = snapshot()
import {PACKAGE}
AFTER_IMPORT = snapshot()
report("before_import", BEFORE_IMPORT)
report("after_import", AFTER_IMPORT)
report("value", {PACKAGE}.VALUE)
report("after_use", snapshot())
"""

#: Every probe of ``snapshot()`` besides ``modules``, each changed by the stand-in package.
PROBES = {
    "native_threads",
    "python_threads",
    "environ",
    "meta_path",
    "path_hooks",
    "path",
    "atexit_handlers",
    "warnings_filters",
    "signal_handlers",
    "excepthooks",
    "recursion_limit",
}


def _run(tmp_path: Path, mode: str) -> Run:
    workdir = tmp_path / mode
    package = workdir / PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(INIT, encoding="utf-8")
    (package / "helpers.py").write_text(HELPERS, encoding="utf-8")
    install = lazy_install([PACKAGE]) if mode == "lazy" else None
    return run_snippet(CODE, workdir=workdir, install=install)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    root = tmp_path_factory.mktemp("probes")
    return {mode: _run(root, mode) for mode in ("eager", "lazy")}


def test_eager_import_changes_every_probe(runs: dict[str, Run]) -> None:
    eager = runs["eager"]
    changes = state_changes(eager["before_import"], eager["after_import"])
    assert set(changes) == PROBES | {"modules_added"}
    assert f"{PACKAGE}.helpers" in changes["modules_added"]


def test_lazy_import_changes_no_probe(runs: dict[str, Run]) -> None:
    lazy = runs["lazy"]
    changes = state_changes(lazy["before_import"], lazy["after_import"])
    added = set(changes.pop("modules_added"))
    assert changes == {}
    assert added - ours(added) == {PACKAGE}


def test_first_use_brings_every_effect_as_eager(runs: dict[str, Run]) -> None:
    eager, lazy = runs["eager"], runs["lazy"]
    assert lazy["value"] == eager["value"] == 42
    eager_effects = effects(eager["before_import"], eager["after_use"])
    lazy_effects = effects(lazy["before_import"], lazy["after_use"])
    assert set(eager_effects) == PROBES
    assert lazy_effects == eager_effects
    lazy_modules = state_changes(lazy["before_import"], lazy["after_use"])["modules_added"]
    eager_modules = state_changes(eager["before_import"], eager["after_use"])["modules_added"]
    assert sorted(set(lazy_modules) - ours(set(lazy_modules))) == eager_modules


def test_the_network_is_cut_off(tmp_path: Path) -> None:
    code = """
import urllib.request
try:
    urllib.request.urlopen("http://192.0.2.1/", timeout=2)
    report("error", None)
except OSError as exc:
    report("error", str(exc))
"""
    run = run_snippet(code, workdir=tmp_path)
    assert "network access is disabled" in run["error"]

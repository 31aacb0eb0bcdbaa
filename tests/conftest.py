"""Shared fixtures: import-state isolation and synthetic packages.

Every test runs with the import state snapshotted and restored (after CPython's
``test_importlib.util.import_state``/``uncache`` and pytest's ``SysModulesSnapshot``):
``sys.meta_path``, ``sys.path``, ``sys.path_hooks``, ``sys.path_importer_cache`` and the *new*
``sys.modules`` keys. lazymed is uninstalled and its registry reset; a test that leaves a lazymed
finder on ``sys.meta_path`` fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import lazymed
from lazymed import _cpython, _registry

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def import_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Snapshot and restore the import system; reset lazymed; isolate its config cache."""
    for name in list(os.environ):
        if name.startswith("LAZYMED_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LAZYMED_CACHE_DIR", str(tmp_path / "lazymed-cache"))
    modules = set(sys.modules)
    meta_path = list(sys.meta_path)
    path = list(sys.path)
    path_hooks = list(sys.path_hooks)
    importer_cache = dict(sys.path_importer_cache)
    pep810 = _pep810_state()
    try:
        yield
    finally:
        lazymed.uninstall()
        leaked = [f for f in sys.meta_path if getattr(f, "_lazymed_finder", False)]
        pep810_left = _pep810_state()
        for name in set(sys.modules) - modules:
            if name != "lazymed" and not name.startswith("lazymed."):
                # lazymed's own modules stay: a second copy of _load would not know the
                # pending modules (and the importlib route) of the first
                del sys.modules[name]
        sys.meta_path[:] = meta_path
        sys.path[:] = path
        sys.path_hooks[:] = path_hooks
        sys.path_importer_cache.clear()
        sys.path_importer_cache.update(importer_cache)
        lazymed.uninstall()  # no pending module left in sys.modules: the importlib patch goes
        patched = _cpython.patched()
        _cpython.unpatch()
        _registry.REGISTRY.reset()
    assert not leaked, f"lazymed.uninstall() left finders on sys.meta_path: {leaked}"
    assert not patched, "lazymed left _lock_unlock_module or _is_initializing patched"
    assert pep810_left == pep810, f"lazymed.uninstall() left PEP 810 state: {pep810_left}"


def _pep810_state() -> tuple[object, object]:
    """PEP 810's process-wide lazy-imports mode and filter (Python 3.15+), else (None, None)."""
    if not hasattr(sys, "get_lazy_imports"):
        return None, None
    return sys.get_lazy_imports(), sys.get_lazy_imports_filter()


class Packages:
    """Writes synthetic packages under a temp dir on ``sys.path``.

    Every module written with :meth:`module` appends its ``__name__`` to ``runs`` (a list kept
    in a module ``lmlog_<id>``) when its code executes, so tests can count executions.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.logname = f"lmlog_{id(self):x}"
        self.log = types.ModuleType(self.logname)
        self.log.runs = []  # type: ignore[attr-defined]
        sys.modules[self.logname] = self.log
        sys.path.insert(0, str(root))

    @property
    def runs(self) -> list[str]:
        runs: list[str] = self.log.runs  # type: ignore[attr-defined]
        return runs

    def module(self, dotted: str, body: str = "", *, package: bool = False) -> Path:
        """Write module ``dotted`` (``package=True``: ``dotted/__init__.py``) with ``body``;
        parent packages are created as plain packages when missing."""
        parts = dotted.split(".")
        directory = self.root.joinpath(*parts[:-1])
        for i in range(1, len(parts)):
            pkg = self.root.joinpath(*parts[:i])
            pkg.mkdir(parents=True, exist_ok=True)
            init = pkg / "__init__.py"
            if not init.exists():
                init.write_text(self._header())
        target = directory / parts[-1] / "__init__.py" if package else directory / f"{parts[-1]}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self._header() + textwrap.dedent(body))
        return target

    def _header(self) -> str:
        return f"import {self.logname} as _lmlog\n_lmlog.runs.append(__name__)\n"


@pytest.fixture
def pkgs(tmp_path: Path) -> Packages:
    root = tmp_path / "site"
    root.mkdir()
    return Packages(root)


def run_python(
    code: str,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with this checkout importable."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    extra = dict(env or {})
    full_env["PYTHONPATH"] = os.pathsep.join(
        [
            *filter(None, [extra.pop("PYTHONPATH", None)]),
            str(ROOT),
            *filter(None, [full_env.get("PYTHONPATH")]),
        ]
    )
    full_env.update(extra)
    return subprocess.run(
        [sys.executable, *(args or ["-c", textwrap.dedent(code)])],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_json(code: str, **kwargs: object) -> object:
    """Run ``code`` (which prints one JSON document last) and return the parsed document."""
    proc = run_python(code, **kwargs)  # type: ignore[arg-type]
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def python() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_python

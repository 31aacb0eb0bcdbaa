"""Run a Python snippet in a fresh interpreter and get back what it reported, as JSON.

Every real heavy package is exercised in its own interpreter (``sys.executable``), so nothing a
package does at import time can leak into the pytest process or into another test.

The snippet is written to ``<workdir>/snippet.py`` after a prelude that

* cuts the network off (``socket`` connect / sendto / ``getaddrinfo`` raise ``OSError``), so an
  accidental request fails loudly instead of reaching out;
* defines ``report(key, value)``: stores a JSON-serialisable value under ``key`` in the result file
  (non-serialisable values are an error, never silently ``repr``-ed);
* defines ``snapshot()``: the process state a package may change at import time (loaded modules,
  native and Python threads, ``os.environ``, ``sys.meta_path``, ``sys.path_hooks``, ``sys.path``,
  atexit handlers, warnings filters, signal handlers, exception hooks, recursion limit);
* defines ``DATA``: the ``data`` mapping given to :func:`run_snippet`;
* records ``PRE_INSTALL = snapshot()``, then (lazy runs only) ``import lazymed`` and the install
  statement, then ``POST_INSTALL = snapshot()``; both are reported as ``pre_install`` and
  ``post_install``. ``LAZY`` is True when lazymed was installed.

The interpreter runs with ``cwd=workdir`` (so no project ``pyproject.toml`` is picked up unless the
test writes one there), with every ``LAZYMED_*`` variable removed from its environment (so a
developer's ``LAZYMED_DISABLE=1`` cannot turn a lazy run eager) except ``LAZYMED_CACHE_DIR``, set
to ``<workdir>/lazymed-cache``, and with the directory that holds
the ``lazymed`` package under test first on ``PYTHONPATH`` (unless that is the interpreter's own
site-packages, as under tox).
"""

from __future__ import annotations

import importlib.util
import json
import os
import site
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Seconds a single snippet may take before the test fails (a heavy import is ~1-3 s here).
DEFAULT_TIMEOUT = 180.0

_PRELUDE = '''\
import atexit as _atexit
import json as _json
import os as _os
import signal as _signal
import socket as _socket
import sys as _sys
import threading as _threading
import warnings as _warnings


def _no_network(*args, **kwargs):
    raise OSError("network access is disabled in lazymed's real-package tests")


_socket.socket.connect = _no_network
_socket.socket.connect_ex = _no_network
_socket.getaddrinfo = _no_network
_socket.create_connection = _no_network
_socket.socket.sendto = _no_network

_RESULT_PATH = _sys.argv[1]
with open(_sys.argv[2], encoding="utf-8") as _f:
    DATA = _json.load(_f)
_REPORTS = {}


def report(key, value):
    """Store a JSON-serialisable value under key in the result file."""
    _REPORTS[key] = value
    text = _json.dumps(_REPORTS, sort_keys=True)
    with open(_RESULT_PATH, "w", encoding="utf-8") as f:
        f.write(text)


def _describe(obj):
    cls = obj if isinstance(obj, type) else type(obj)
    kind = "class" if isinstance(obj, type) else "instance"
    return f"{cls.__module__}.{cls.__qualname__} ({kind})"


def _name_of(obj):
    """A name that is the same in every interpreter (no addresses): module.qualname or repr."""
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(qualname, str):
        return f"{getattr(obj, '__module__', None)}.{qualname}"
    return repr(obj)


_SIGNALS = [s for s in ("SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGCHLD",
                        "SIGPIPE") if hasattr(_signal, s)]


def snapshot():
    """The process state a package can change at import time (JSON-serialisable)."""
    try:
        native_threads = len(_os.listdir("/proc/self/task"))
    except OSError:
        native_threads = None
    return {
        "modules": sorted(_sys.modules),
        "native_threads": native_threads,
        "python_threads": _threading.active_count(),
        "environ": dict(_os.environ),
        "meta_path": [_describe(f) for f in _sys.meta_path],
        "path_hooks": [_name_of(h) for h in _sys.path_hooks],
        "path": list(_sys.path),
        "atexit_handlers": _atexit._ncallbacks(),
        "warnings_filters": [repr(f) for f in _warnings.filters],
        "signal_handlers": {s: _name_of(_signal.getsignal(getattr(_signal, s))) for s in _SIGNALS},
        "excepthooks": [_name_of(_sys.excepthook), _name_of(_threading.excepthook)],
        "recursion_limit": _sys.getrecursionlimit(),
    }


PRE_INSTALL = snapshot()
'''

_POST_INSTALL = """
POST_INSTALL = snapshot()
report("pre_install", PRE_INSTALL)
report("post_install", POST_INSTALL)
"""


@dataclass(frozen=True)
class Run:
    """One finished snippet: its reports (JSON-decoded), output streams and script."""

    reports: dict[str, Any]
    stdout: str
    stderr: str
    script: Path
    source: str

    def __getitem__(self, key: str) -> Any:
        try:
            return self.reports[key]
        except KeyError:
            raise AssertionError(
                f"the snippet did not report {key!r}; it reported {sorted(self.reports)}\n"
                f"stderr:\n{self.stderr}"
            ) from None

    def line_of(self, text: str) -> int:
        """The 1-based line number of the only line of the script that contains ``text``."""
        hits = [n for n, line in enumerate(self.source.splitlines(), 1) if text in line]
        if len(hits) != 1:
            raise AssertionError(f"{text!r} is on lines {hits} of {self.script}, expected one")
        return hits[0]

    def statement_line(self, statement: str) -> int:
        """The 1-based line number of the only line of the script that is exactly ``statement``."""
        hits = [n for n, line in enumerate(self.source.splitlines(), 1) if line == statement]
        if len(hits) != 1:
            raise AssertionError(f"{statement!r} is lines {hits} of {self.script}, expected one")
        return hits[0]


def lazy_install(names: Sequence[str]) -> str:
    """The install statement that registers ``names`` as lazy by keyword."""
    return f"lazymed.install(lazy={list(names)!r})"


def lazymed_search_path() -> str:
    """The directory that holds the ``lazymed`` package the tests should exercise.

    The one the pytest process would import (an installed wheel under tox, the checkout when
    ``PYTHONPATH`` points at it), else this checkout. ``find_spec`` of a top-level name does not
    import it.
    """
    spec = importlib.util.find_spec("lazymed")
    if spec is not None and spec.origin is not None:
        return str(Path(spec.origin).resolve().parents[1])
    return str(REPO_ROOT)


def _on_default_path(directory: str) -> bool:
    """Whether a fresh ``sys.executable`` has ``directory`` on its path already (site-packages)."""
    known = [*site.getsitepackages(), site.getusersitepackages()]
    return any(os.path.realpath(directory) == os.path.realpath(k) for k in known)


def child_env(workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a snippet: ours minus ``LAZYMED_*``, lazymed importable, plus extra.

    lazymed's parsed-config cache goes to ``<workdir>/lazymed-cache``, never the user's
    ``~/.cache``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    env["LAZYMED_CACHE_DIR"] = str(workdir / "lazymed-cache")
    where = lazymed_search_path()
    # An installed lazymed (tox) needs nothing; prepending site-packages would reorder sys.path.
    path = [] if _on_default_path(where) else [where]
    if env.get("PYTHONPATH"):
        path.append(env["PYTHONPATH"])
    if path:
        env["PYTHONPATH"] = os.pathsep.join(path)
    env.pop("PYTHONWARNINGS", None)
    env.pop("PYTHONSTARTUP", None)
    if extra:
        env.update(extra)
    return env


def run_snippet(
    code: str,
    *,
    workdir: Path,
    install: str | None = None,
    data: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Run:
    """Run ``code`` after the prelude in a fresh ``sys.executable`` and return its reports.

    install: Python source run right after ``import lazymed`` (e.g. :func:`lazy_install`); None
        runs eagerly and never imports lazymed.
    data: JSON-serialisable values the snippet reads as ``DATA``.
    env: extra environment variables (after ``LAZYMED_*`` were removed).

    Raises AssertionError (with the snippet's stderr) when the interpreter exits non-zero or
    times out.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    parts = [_PRELUDE]
    if install is not None:
        parts.append(f"LAZY = True\nimport lazymed\n{install}\n")
    else:
        parts.append("LAZY = False\n")
    parts.append(_POST_INSTALL)
    parts.append("\n# ---- snippet ----\n")
    parts.append(code)
    source = "".join(parts)
    script = workdir / "snippet.py"
    script.write_text(source, encoding="utf-8")
    result_path = workdir / "result.json"
    result_path.write_text("{}", encoding="utf-8")
    data_path = workdir / "data.json"
    data_path.write_text(json.dumps(dict(data or {})), encoding="utf-8")
    try:
        proc = subprocess.run(
            [sys.executable, str(script), str(result_path), str(data_path)],
            cwd=workdir,
            env=child_env(workdir, env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"{script} did not finish within {timeout} s\nstderr:\n{exc.stderr!r}"
        ) from None
    if proc.returncode != 0:
        raise AssertionError(
            f"{script} exited with status {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    reports: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    return Run(reports, proc.stdout, proc.stderr, script, source)


def state_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """What changed between two ``snapshot()`` results.

    Returns a dict with only the changed probes: ``modules_added`` / ``modules_removed`` (sorted
    names), ``environ`` (``{name: [before, after]}``, None for absent) and, for every other
    probe, ``[before, after]``.
    """
    changes: dict[str, Any] = {}
    old_modules, new_modules = set(before["modules"]), set(after["modules"])
    if new_modules - old_modules:
        changes["modules_added"] = sorted(new_modules - old_modules)
    if old_modules - new_modules:
        changes["modules_removed"] = sorted(old_modules - new_modules)
    env_before: dict[str, str] = before["environ"]
    env_after: dict[str, str] = after["environ"]
    env_changed = {
        k: [env_before.get(k), env_after.get(k)]
        for k in sorted(set(env_before) | set(env_after))
        if env_before.get(k) != env_after.get(k)
    }
    if env_changed:
        changes["environ"] = env_changed
    for key in before:
        if key not in ("modules", "environ") and before[key] != after[key]:
            changes[key] = [before[key], after[key]]
    return changes


def with_parents(names: Sequence[str]) -> set[str]:
    """Every name and each of its parent packages: ``a.b.c`` -> ``{a, a.b, a.b.c}``."""
    out: set[str] = set()
    for name in names:
        parts = name.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def effects(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The side effects between two snapshots, comparable across two interpreters.

    Counts become deltas, lists become ``{"added": [...], "removed": [...]}``, dicts become
    ``{key: [before, after]}`` of the changed keys; ``modules`` is left out (compare module sets
    separately). Only changed probes appear.
    """
    out: dict[str, Any] = {}
    for key, old in before.items():
        new = after[key]
        if key == "modules" or old == new:
            continue
        if isinstance(old, int) and isinstance(new, int):
            out[key] = new - old
        elif isinstance(old, list) and isinstance(new, list):
            out[key] = {
                "added": [x for x in new if x not in old],
                "removed": [x for x in old if x not in new],
            }
        elif isinstance(old, dict) and isinstance(new, dict):
            out[key] = {
                k: [old.get(k), new.get(k)]
                for k in sorted(set(old) | set(new))
                if old.get(k) != new.get(k)
            }
        else:
            out[key] = [old, new]
    return out


#: Standard-library modules lazymed itself may import at a first use (import-statement analysis:
#: opcode numbers, and ast for reading a package's ``__init__``; see README "Semantics").
LAZYMED_HELPER_MODULES = frozenset(
    {"opcode", "_opcode", "ast", "_ast"}
    # ast.unparse (naming what made a parent run early) lives in _ast_unparse on 3.14+; the static
    # reading's module starts with `from __future__ import annotations`, which imports __future__
    | {"_ast_unparse", "__future__"}
    # what `import ast` itself brings on Python 3.11 (standard library)
    | {"_collections", "_functools", "_operator", "collections", "contextlib", "enum"}
    | {"functools", "itertools", "keyword", "operator", "reprlib", "types"}
)


def ours(modules: set[str]) -> set[str]:
    """The subset of ``modules`` that lazymed brings: its own package and its helper imports."""
    return {
        m
        for m in modules
        if m == "lazymed" or m.startswith("lazymed.") or m in LAZYMED_HELPER_MODULES
    }

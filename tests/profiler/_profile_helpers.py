"""Helpers for the ``lazymed profile`` tests: run the CLI in a fresh interpreter, write modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


def env_with(paths: Sequence[Path] = (), extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment with the repo (and ``paths``) on PYTHONPATH, no LAZYMED_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *map(str, paths)])
    env.pop("PYTHONSTARTUP", None)
    env.update(extra or {})
    return env


def run_cli(
    *args: str,
    cwd: Path,
    paths: Sequence[Path] = (),
    timeout: float = 300,
    preamble: str = "",
) -> subprocess.CompletedProcess[str]:
    """``python -m lazymed profile ARGS`` in a fresh interpreter, output captured.

    ``preamble`` is Python code run first in that interpreter (e.g. to hide rich); the CLI then
    runs as ``python -m lazymed`` would run it.
    """
    if preamble:
        code = (
            f"{preamble}\nimport runpy, sys\nsys.argv = ['lazymed', 'profile', *sys.argv[1:]]\n"
            "runpy.run_module('lazymed', run_name='__main__', alter_sys=True)"
        )
        cmd = [sys.executable, "-c", code, *args]
    else:
        cmd = [sys.executable, "-m", "lazymed", "profile", *args]
    return subprocess.run(
        cmd, cwd=cwd, env=env_with(paths), capture_output=True, text=True, timeout=timeout
    )


def run_json(*args: str, cwd: Path, paths: Sequence[Path] = ()) -> dict[str, Any]:
    """Run the CLI with ``--json`` and return the parsed report (asserting exit status 0)."""
    proc = run_cli("--json", *args, cwd=cwd, paths=paths)
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def write(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``{relative path: source}`` under ``root`` (sources are dedented)."""
    for rel, source in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return root


def module(report: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The first load of ``name`` in a JSON report."""
    for m in report["modules"]:
        if m["name"] == name:
            found: dict[str, Any] = m
            return found
    raise AssertionError(f"{name} not in report: {[m['name'] for m in report['modules']]}")


def package(report: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The top-level package ``name`` in a JSON report."""
    for p in report["packages"]:
        if p["name"] == name:
            found: dict[str, Any] = p
            return found
    raise AssertionError(f"package {name} not in report")

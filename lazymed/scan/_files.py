"""Which files a scan reads, and the scan of a whole tree."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

from lazymed._config import Config, load_config
from lazymed.scan._model import ParseError, ScanResult
from lazymed.scan._scanner import scan_source

#: Directory names never descended into.
SKIP_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__", "node_modules"})


def _skip_dir(directory: str, name: str) -> bool:
    if name in SKIP_DIRS or name.startswith("."):
        return True
    return os.path.isfile(os.path.join(directory, name, "pyvenv.cfg"))  # a virtualenv


def iter_files(paths: Sequence[str]) -> Iterator[str]:
    """``*.py`` files under ``paths`` (files given explicitly are always included), each once,
    directories walked in sorted order. Raises FileNotFoundError for a path that does not exist."""
    seen: set[str] = set()
    for path in paths:
        if os.path.isfile(path):
            candidates: Iterable[str] = [path]
        elif os.path.isdir(path):
            candidates = _walk(path)
        else:
            raise FileNotFoundError(f"no such file or directory: {path}")
        for candidate in candidates:
            key = os.path.realpath(candidate)
            if key not in seen:
                seen.add(key)
                yield candidate


def _walk(top: str) -> list[str]:
    found: list[str] = []
    for directory, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not _skip_dir(directory, d)]
        found.extend(os.path.join(directory, n) for n in files if n.endswith(".py"))
    return sorted(os.path.normpath(p) for p in found)


def scan_paths(paths: Sequence[str], lazy: Sequence[str], from_import: str) -> ScanResult:
    """Scan every file under ``paths``. Raises FileNotFoundError for a missing path."""
    result = ScanResult()
    for path in iter_files(paths):
        result.files.append(path)
        try:
            with open(path, "rb") as fh:
                source = fh.read()
        except OSError as exc:
            result.errors.append(ParseError(path, None, f"cannot read: {exc.strerror}"))
            continue
        try:
            result.findings.extend(scan_source(path, source, lazy, from_import))
        except SyntaxError as exc:
            result.errors.append(ParseError(path, exc.lineno, f"syntax error: {exc.msg}"))
        except ValueError as exc:  # e.g. null bytes
            result.errors.append(ParseError(path, None, f"cannot parse: {exc}"))
        except RecursionError:  # generated code with expressions nested thousands deep
            result.errors.append(ParseError(path, None, "too deeply nested to analyse"))
    return result


def config_for(
    paths: Sequence[str],
    config: str | os.PathLike[str] | None = None,
    *,
    profile: str | None = None,
) -> Config:
    """The configuration a scan of ``paths`` uses: ``config`` if given (else
    ``$LAZYMED_CONFIG``), else the nearest pyproject.toml with ``[tool.lazymed]`` above the first
    path, else above the working directory (the project the scan runs in); ``profile`` (else
    ``$LAZYMED_PROFILE``) activated. Raises ConfigError as ``install()`` would."""
    first = paths[0] if paths else os.curdir
    start = first if os.path.isdir(first) else os.path.dirname(first) or os.curdir
    cfg = load_config(config, profile=profile, start_dir=start, profile_from="--profile")
    if cfg.path is None:  # nothing above the scanned code: the project we are in
        cfg = load_config(config, profile=profile, start_dir=os.getcwd(), profile_from="--profile")
    return cfg

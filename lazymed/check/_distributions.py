"""Hints for names that are pip distribution names (``llama-index-core``) rather than module
names, read from installed distributions' metadata (``importlib_metadata``, imported on use)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lazymed._errors import ConfigError
from lazymed.check._resolve import _is_ext, resolve


def _module_of(parts: Sequence[str]) -> str | None:
    """The dotted module name of an installed file (``a/b/__init__.py`` -> ``a.b``,
    ``a/c.py`` -> ``a.c``, an extension module likewise), None for anything else."""
    if not parts or any(p in ("..", "__pycache__") for p in parts):
        return None
    filename = parts[-1]
    if filename == "__init__.py":
        names = list(parts[:-1])
    elif filename.endswith(".py") or _is_ext(filename):
        names = [*parts[:-1], filename.partition(".")[0]]
    else:
        return None
    if not names or not all(n.isidentifier() for n in names):
        return None
    return ".".join(names)


def distribution_modules(name: str) -> tuple[str, tuple[str, ...]] | None:
    """``(distribution name, modules)`` when ``name`` is the name of an installed pip
    distribution (compared the way pip does: case, ``-``, ``_`` and ``.`` do not matter), else
    None. ``modules`` are the outermost modules and packages it installs -- ``llama_index.core``
    for ``llama-index-core`` (``llama_index`` is a namespace package it shares), ``yaml`` and
    ``_yaml`` for ``PyYAML`` -- public ones first. Read from the distribution's file list
    (``RECORD``), else from ``importlib_metadata.packages_distributions()``."""
    try:
        import importlib_metadata as metadata  # the runtime dependency importlib-metadata
    except ImportError:  # pragma: no cover - a broken installation
        return None
    try:
        dist = metadata.distribution(name)
    except (metadata.PackageNotFoundError, ValueError):
        return None
    dist_name = str(dist.metadata["Name"] or name)
    found: set[str] = set()
    for path in dist.files or ():
        module = _module_of(path.parts)
        if module is not None:
            found.add(module)
    if not found:  # no RECORD: the top-level names pip knows this distribution by
        found = {
            top
            for top, dists in metadata.packages_distributions().items()
            if dist_name in dists and top.isidentifier()
        }
    parents = [".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 1)]
    inner = found.intersection(parents)
    roots = {m for m in found if not any(m.startswith(p + ".") for p in inner)}
    ranked = sorted(
        roots, key=lambda m: (any(p.startswith("_") for p in m.split(".")), m.count("."), m)
    )
    return dist_name, tuple(ranked)


def distribution_text(name: str, dist: str, modules: Sequence[str]) -> str:
    """Why ``name`` is not a module and which module name to write instead."""
    if not modules:
        return f"{name!r} is the name of the pip distribution {dist}, which installs no module"
    listed = ", ".join(repr(m) for m in modules[:5])
    what = "the module" if len(modules) == 1 else "the modules"
    return (
        f"{name!r} is the name of the pip distribution {dist}, not of a module; it installs "
        f"{what} {listed}: write {modules[0]!r}"
    )


def distribution_hint(name: str) -> tuple[str, tuple[str, ...], str] | None:
    """For a name that looks like a pip distribution name: ``(distribution, modules, text)``
    (:func:`distribution_modules`, :func:`distribution_text`); None when none matches."""
    found = distribution_modules(name)
    if found is None:
        return None
    dist, modules = found
    return dist, modules, distribution_text(name, dist, modules)


def config_error_hints(error: ConfigError) -> list[dict[str, object]]:
    """Hints for the names a configuration error rejects as not dotted module names
    (``error.rejected``): when one is an installed pip distribution (``llama-index-core``), the
    modules it installs; else a spelling with ``_`` or ``.`` for ``-`` that resolves. Each hint
    is ``{"name", "distribution" (str or None), "modules" (list[str]), "message"}``."""
    hints: list[dict[str, object]] = []
    for name in dict.fromkeys(error.rejected):
        found = distribution_hint(name)
        if found is not None:
            dist, modules, text = found
            hints.append(
                {"name": name, "distribution": dist, "modules": list(modules), "message": text}
            )
            continue
        for candidate in (name.replace("-", "_"), name.replace("-", ".")):
            if not all(p.isidentifier() for p in candidate.split(".")):
                continue
            if resolve(candidate, sys.path, suggest=False).found:
                text = f"{name!r} is not a module name (no installed pip distribution has it "
                text += f"either); did you mean {candidate!r}?"
                hints.append(
                    {"name": name, "distribution": None, "modules": [candidate], "message": text}
                )
                break
    return hints

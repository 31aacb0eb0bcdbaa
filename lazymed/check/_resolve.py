"""Where a dotted module name would be imported from, found without importing anything.

Walks :class:`importlib.machinery.PathFinder` over a search path and each parent's
``submodule_search_locations`` (``importlib.util.find_spec("a.b")`` would import ``a``). A
feature layer above the core: standard library only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.machinery import (
    EXTENSION_SUFFIXES,
    BuiltinImporter,
    FrozenImporter,
    ModuleSpec,
    PathFinder,
)
from typing import Any

from lazymed._typos import close_matches

#: The code a fresh interpreter runs to list what is imported at start-up (imports nothing).
STARTUP_PROBE = "import sys; sys.stdout.write('\\n'.join(sorted(sys.modules)))"


@dataclass(frozen=True)
class Resolution:
    """Where a dotted name would be imported from, found without importing anything.

    ``kind``: "package", "namespace package", "module", "extension module", "built-in module",
    "frozen module", "frozen package" or None (not found). ``missing``: the first dotted prefix
    that does not exist; ``not_package``: the prefix that is a plain module, so its "submodules"
    exist only if its code creates them (``os.path``). ``extensions``: C extension files inside
    the package (or the module itself), absolute paths, sorted. ``distribution``: for a name that
    is not found but is the name of an installed pip distribution (``llama-index-core``), that
    distribution as its metadata spells it; ``provides``: the modules it installs (outermost
    ones, e.g. ``llama_index.core``).
    """

    name: str
    found: bool
    kind: str | None = None
    origin: str | None = None
    locations: tuple[str, ...] = ()
    finder: str | None = None
    missing: str | None = None
    not_package: str | None = None
    suggestion: str | None = None
    lookup_error: str | None = None
    extensions: tuple[str, ...] = ()
    via_extra_path: bool = False
    distribution: str | None = None
    provides: tuple[str, ...] = ()


def _is_ext(filename: str) -> bool:
    return any(filename.endswith(suffix) for suffix in EXTENSION_SUFFIXES)


def _spec_locations(spec: ModuleSpec) -> list[str] | None:
    """A spec's submodule search locations as a list, without touching the parent module.

    Iterating a namespace package's ``_NamespacePath`` recomputes it from the parent module in
    ``sys.modules`` (absent here: nothing was imported), so its computed ``_path`` is read.
    """
    locs: Any = spec.submodule_search_locations
    if locs is None:
        return None
    if isinstance(locs, list):
        return [str(p) for p in locs]
    computed = getattr(locs, "_path", None)
    if isinstance(computed, list):
        return [str(p) for p in computed]
    try:
        return [str(p) for p in locs]
    except Exception:  # a foreign path object that needs its parent imported
        return []


def _other_finders() -> list[Any]:
    """``sys.meta_path`` finders other than the standard three and lazymed's own, in order
    (editable installs put theirs here)."""
    from lazymed._registry import LazyFinder

    standard = (BuiltinImporter, FrozenImporter, PathFinder)
    return [
        f
        for f in sys.meta_path
        if not any(f is s for s in standard)
        and not isinstance(f, LazyFinder)
        and hasattr(f, "find_spec")
    ]


def _finder_name(finder: Any) -> str:
    cls = finder if isinstance(finder, type) else type(finder)
    return f"{cls.__module__}.{cls.__qualname__}"


def _find(
    fullname: str, part: str, path: Sequence[str], top: bool
) -> tuple[ModuleSpec | None, str | None, str | None]:
    """``(spec, finder name, error)`` for one component, searched in ``path`` (the search path
    for a top-level name, else the parent package's locations).

    The standard finders are asked first, as the import system does; other meta path finders
    only when those find nothing. PathFinder is given the bare component (its file lookup uses
    only the last component; a dotted name would make a namespace package's path object look up
    its parent in ``sys.modules``).
    """
    if top:
        if part in sys.builtin_module_names:
            spec = BuiltinImporter.find_spec(part)
            if spec is not None:
                return spec, _finder_name(BuiltinImporter), None
        spec = FrozenImporter.find_spec(part)
        if spec is not None:
            return spec, _finder_name(FrozenImporter), None
    spec = PathFinder.find_spec(part, list(path))
    if spec is not None:
        return spec, _finder_name(PathFinder), None
    for finder in _other_finders():
        try:
            spec = finder.find_spec(fullname, None if top else list(path))
        except Exception as exc:  # a third-party finder failing must not stop the check
            return None, None, f"{_finder_name(finder)}.find_spec({fullname!r}) raised {exc!r}"
        if spec is not None:
            return spec, _finder_name(finder), None
    return None, None, None


def _kind(spec: ModuleSpec, locations: list[str] | None) -> str:
    origin = spec.origin
    if origin == "built-in":
        return "built-in module"
    if origin == "frozen":
        return "frozen package" if locations is not None else "frozen module"
    if locations is not None:
        if spec.loader is None or type(spec.loader).__name__ == "NamespaceLoader":
            return "namespace package"
        return "package"
    if origin is not None and _is_ext(origin):
        return "extension module"
    return "module"


def _child_names(directories: Iterable[str]) -> set[str]:
    """Importable names directly inside ``directories``: modules, packages, namespace packages
    and extension modules. Reads directory listings only."""
    names: set[str] = set()
    for directory in directories:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir:
                stem = entry.name
            elif entry.name.endswith(".py") or _is_ext(entry.name):
                stem = entry.name.partition(".")[0]
            else:
                continue
            if stem.isidentifier() and stem != "__pycache__":
                names.add(stem)
    return names


def _extension_files(locations: Sequence[str]) -> tuple[str, ...]:
    found: list[str] = []
    for top in locations:
        for directory, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            found.extend(os.path.join(directory, f) for f in sorted(files) if _is_ext(f))
    return tuple(sorted(set(found)))


def resolve(
    name: str, search_path: Sequence[str], extra: Sequence[str] = (), *, suggest: bool = True
) -> Resolution:
    """Resolve dotted ``name`` component by component without importing anything.

    ``search_path`` is searched for the top-level component (``sys.path`` plus ``extra``);
    ``extra`` marks entries that are not on ``sys.path`` (``via_extra_path`` tells whether the
    name was found only there). Never raises for a missing name: see :class:`Resolution`.

    For a missing name, ``suggestion`` (when ``suggest``) is a "did you mean": the missing
    component replaced by a close match among its siblings (:func:`close_matches`), kept only
    if the whole suggested name resolves -- same number of components, every one found -- so
    ``myapp.triage`` never becomes ``mmap.triage``.
    """
    parts = name.split(".")
    locations: list[str] | None = None
    spec: ModuleSpec | None = None
    finder: str | None = None
    for i, part in enumerate(parts):
        prefix = ".".join(parts[: i + 1])
        if i > 0 and locations is None:
            parent = ".".join(parts[:i])
            return Resolution(name, False, missing=prefix, not_package=parent)
        where = list(search_path) if i == 0 else (locations or [])
        try:
            spec, finder, error = _find(prefix, part, where, top=i == 0)
        except Exception as exc:  # a path hook or finder failing on an odd sys.path entry
            spec, error = None, f"looking up {prefix!r} raised {exc!r}"
        if spec is None:
            suggestion = None
            if suggest:
                siblings = _child_names(where)
                if i == 0:
                    siblings |= set(sys.builtin_module_names)
                for close in close_matches(part, siblings):
                    candidate = ".".join([*parts[:i], close, *parts[i + 1 :]])
                    if resolve(candidate, search_path, extra, suggest=False).found:
                        suggestion = candidate
                        break
            return Resolution(
                name, False, missing=prefix, suggestion=suggestion, lookup_error=error
            )
        locations = _spec_locations(spec)
    assert spec is not None
    kind = _kind(spec, locations)
    origin = spec.origin if spec.has_location or spec.origin in ("built-in", "frozen") else None
    if kind == "extension module":
        extensions: tuple[str, ...] = (spec.origin,) if spec.origin else ()
    elif locations is not None and kind != "frozen package":
        extensions = _extension_files(locations)
    else:
        extensions = ()
    via_extra = False
    if extra:
        files = [origin] if origin else list(locations or [])
        via_extra = bool(files) and all(
            any(f == e or f.startswith(e.rstrip(os.sep) + os.sep) for e in extra) for f in files
        )
    return Resolution(
        name,
        True,
        kind=kind,
        origin=origin,
        locations=tuple(locations or ()),
        finder=finder,
        extensions=extensions,
        via_extra_path=via_extra,
    )


def startup_modules(python: str = sys.executable) -> tuple[frozenset[str] | None, str | None]:
    """Names in ``sys.modules`` of a fresh ``python -c`` before it runs any code of its own.

    This is what is imported before an application's ``lazymed.install()`` can run (``site``,
    ``.pth`` files, ``sitecustomize``). Returns ``(names, None)`` or ``(None, reason)``.
    """
    try:
        proc = subprocess.run(
            [python, "-c", STARTUP_PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"could not run {python}: {exc}"
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no message"]
        return None, f"{python} -c exited with status {proc.returncode}: {tail[0]}"
    return frozenset(proc.stdout.split()), None

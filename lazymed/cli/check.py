"""``lazymed check``: validate ``[tool.lazymed]`` and resolve every registered name, importing none.

Usage::

    python -m lazymed check [--config PATH] [--profile NAME] [--json] [--strict]

What it does:

* loads the configuration exactly as ``lazymed.install()`` would (file, active profile,
  ``LAZYMED_*`` environment variables, defaults) and prints every effective setting with where
  its value came from; every other profile of the file is loaded too, so a broken profile or a
  misspelt name in a profile is caught without activating it;
* resolves each registered name (``lazy``, ``critical``, ``disabled_modules``) by walking
  :class:`importlib.machinery.PathFinder` over ``sys.path`` (plus the config file's directory and
  its ``src/``) and each parent's ``submodule_search_locations``. Nothing is imported: not the
  name, not its parent packages (``importlib.util.find_spec("a.b")`` would import ``a``);
* reports, per name: found or not, kind (package, namespace package, module, extension module,
  built-in, frozen), where, the C extension files it contains (its own files only: what it
  imports when it loads may bring more, which ``lazymed profile`` shows), whether a fresh
  interpreter has it imported at start-up already (before any ``install()`` could run: ``.pth``
  files, ``sitecustomize``), and whether it belongs to the standard library;
* for a name that is not found, suggests a plausible close name (same number of components,
  resolving completely) or, when the name is a pip distribution's (``llama-index-core``,
  ``pyyaml``), the modules that distribution installs;
* lists problems, each with a fix.

Exit status: 0 no errors (warnings allowed); 1 errors found, or warnings with ``--strict``;
2 usage or configuration error (the configuration cannot be loaded, or a ``LAZYMED_*``
variable such as ``LAZYMED_DISABLE`` has a bad value: whatever ``install()`` would raise
ConfigError for). See docs/check-and-scan.md for every problem code and the JSON schema
(``lazymed.check/1``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from importlib.machinery import (
    EXTENSION_SUFFIXES,
    BuiltinImporter,
    FrozenImporter,
    ModuleSpec,
    PathFinder,
)
from typing import Any

from lazymed._config import Config, env_flag, load_config
from lazymed._errors import ConfigError
from lazymed._keys import ENV_PREFIX

PROG = "lazymed check"
SCHEMA = "lazymed.check/1"
ROLES = ("critical", "lazy", "disabled")
_ROLE_KEY = {"lazy": "lazy", "critical": "critical", "disabled": "disabled_modules"}
#: The code a fresh interpreter runs to list what is imported at start-up (imports nothing).
STARTUP_PROBE = "import sys; sys.stdout.write('\\n'.join(sorted(sys.modules)))"
#: Extension files listed per package in the output (all are counted).
MAX_LISTED_EXTENSIONS = 5


# --------------------------------------------------------------------------- resolution


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
    from lazymed._finder import LazyFinder

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


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
    neighbouring characters each count 1 (``sbu`` -> ``sub`` is 1)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            row.append(cost)
        prev2, prev = prev, row
    return prev[-1]


def close_matches(word: str, candidates: Iterable[str]) -> list[str]:
    """Candidates that look like a typo of ``word``, closest first: at most 1 edit for a word
    of up to 5 characters, 2 for longer ones (``supabse`` -> ``supabase``; ``myapp`` is not
    ``mmap``), case differences counting as edits."""
    limit = 1 if len(word) <= 5 else 2
    scored = []
    for candidate in set(candidates) - {word}:
        if abs(len(candidate) - len(word)) > limit:
            continue
        distance = edit_distance(word, candidate)
        if distance <= limit:
            scored.append((distance, candidate))
    return [c for _, c in sorted(scored)]


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


# --------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class Role:
    """One registration of a name: role, the profile of the configuration that registers it,
    whether that configuration is the effective one, and where the value came from."""

    role: str
    profile: str | None
    in_effect: bool
    source: str


@dataclass
class ModuleReport:
    """Everything ``check`` found out about one registered name."""

    name: str
    roles: list[Role]
    resolution: Resolution
    stdlib: bool
    imported_at_startup: bool | None


@dataclass(frozen=True)
class Problem:
    """``severity``: "error" or "warning"; ``code``: see docs/check-and-scan.md."""

    severity: str
    code: str
    name: str | None
    message: str
    fix: str


@dataclass
class Report:
    """The outcome of a check (see :func:`report_json` for its JSON form)."""

    config: Config
    settings: list[tuple[str, object, str]]
    search_path_extra: list[str]
    modules: list[ModuleReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    startup_error: str | None = None

    @property
    def errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)

    def exit_status(self, strict: bool) -> int:
        return 1 if self.errors or (strict and self.warnings) else 0


def _flatten(table: dict[str, object], prefix: str = "") -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            out.extend(_flatten(value, f"{prefix}{key}."))
        else:
            out.append((f"{prefix}{key}", value))
    return out


def source_kind(source: str) -> str:
    """ "default", "environment", "keyword", "profile" or "file" for a ``Config.sources`` value."""
    if source == "default":
        return "default"
    if source.startswith("environment "):
        return "environment"
    if source.startswith("install()"):
        return "keyword"
    if "[tool.lazymed.profiles." in source:
        return "profile"
    return "file"


def _extra_path(cfg: Config) -> list[str]:
    """The config file's directory and its ``src/``, where they are not on ``sys.path``: an
    application usually runs from there, so its own modules (``critical``) live there."""
    if cfg.path is None:
        return []
    root = os.path.dirname(cfg.path)
    on_path = {os.path.abspath(p or os.curdir) for p in sys.path}
    return [d for d in (root, os.path.join(root, "src")) if os.path.isdir(d) and d not in on_path]


def _registrations(
    configs: Sequence[tuple[Config, bool]],
) -> dict[str, list[Role]]:
    names: dict[str, list[Role]] = {}
    seen: set[tuple[str, str]] = set()
    for cfg, in_effect in configs:
        for role in ROLES:
            key = _ROLE_KEY[role]
            values: tuple[str, ...] = getattr(cfg, key)
            for name in values:
                if (name, role) in seen:
                    continue
                seen.add((name, role))
                names.setdefault(name, []).append(
                    Role(role, cfg.profile, in_effect, cfg.describe(key))
                )
    return names


def _where(role: Role) -> str:
    return "" if role.in_effect else f" (profile {role.profile!r}, not active)"


def _problems_for(mod: ModuleReport) -> list[Problem]:
    res = mod.resolution
    out: list[Problem] = []
    for role in mod.roles:
        label = f"{role.role} {mod.name!r}{_where(role)}"
        key = _ROLE_KEY[role.role]
        if res.not_package is not None:
            out.append(
                Problem(
                    "warning",
                    "not-a-package",
                    mod.name,
                    f"{label}: {res.not_package!r} is a module, not a package; "
                    f"{mod.name!r} exists only if {res.not_package!r} creates it when it "
                    "runs, which cannot be verified without importing it",
                    f"register the package or module that is imported ({res.not_package!r}),"
                    f" or check the name in {key} ({role.source})",
                )
            )
        elif not res.found:
            detail = ""
            if res.missing and res.missing != mod.name:
                detail = f" ({res.missing!r} does not exist)"
            if res.lookup_error:
                detail += f" [{res.lookup_error}]"
            mean = f" — did you mean {res.suggestion!r}?" if res.suggestion else ""
            if res.distribution is not None:
                mean = f" — {distribution_text(mod.name, res.distribution, res.provides)}"
            if role.role == "critical":
                out.append(
                    Problem(
                        "error",
                        "not-found",
                        mod.name,
                        f"critical module {mod.name!r} not found{detail}{mean}{_where(role)}",
                        f"install it or remove it from critical ({role.source}): install() "
                        "imports critical modules at once and would raise ModuleNotFoundError",
                    )
                )
            elif role.role == "lazy":
                out.append(
                    Problem(
                        "error",
                        "not-found",
                        mod.name,
                        f"lazy module {mod.name!r} not found{detail}{mean}{_where(role)}",
                        f"correct the name in lazy ({role.source}) or install the package that "
                        "provides it (its import statement raises ModuleNotFoundError)",
                    )
                )
            elif res.suggestion:
                out.append(
                    Problem(
                        "error",
                        "not-found",
                        mod.name,
                        f"disabled module {mod.name!r} not found{detail}{mean}{_where(role)}",
                        f"correct the name in disabled_modules ({role.source}): as written, "
                        f"{res.suggestion!r} is not switched off",
                    )
                )
            else:
                out.append(
                    Problem(
                        "warning",
                        "not-installed",
                        mod.name,
                        f"disabled module {mod.name!r} is not installed here{detail}"
                        f"{_where(role)}; its imports still succeed (as disabled stand-ins)",
                        "nothing to do if that is deliberate (an SDK left out of this "
                        f"environment); otherwise correct the name in disabled_modules "
                        f"({role.source})",
                    )
                )
            continue
        if mod.imported_at_startup and role.role in ("lazy", "disabled"):
            severity = "warning" if role.role == "lazy" else "error"
            effect = (
                "stays eager" if role.role == "lazy" else "stays enabled: it is NOT switched off"
            )
            out.append(
                Problem(
                    severity,
                    "imported-at-startup",
                    mod.name,
                    f"{label} is imported at interpreter start-up (a .pth file, "
                    f"sitecustomize or site), before install() can run: it {effect}",
                    f"find what imports it (python -X importtime -c pass 2>&1 | grep "
                    f"{mod.name.partition('.')[0]}) and remove that, or drop it from {key}",
                )
            )
        if role.role == "lazy" and mod.stdlib:
            out.append(
                Problem(
                    "warning",
                    "stdlib",
                    mod.name,
                    f"{label} is part of the standard library: standard modules are small "
                    "and often imported by other packages anyway, so making them lazy saves "
                    "little",
                    f"remove it from lazy ({role.source}) unless a measurement "
                    "(python -m lazymed profile) shows it matters",
                )
            )
        if role.role == "lazy" and res.kind in ("extension module", "built-in module"):
            out.append(
                Problem(
                    "warning",
                    "c-extension-module",
                    mod.name,
                    f"{label} is a {res.kind}: its loader creates the module object while "
                    "importing, so lazymed cannot defer it and the import stays eager",
                    f"register the pure-Python package that imports it instead, or remove it "
                    f"from lazy ({role.source})",
                )
            )
        elif role.role == "lazy" and res.extensions:
            listed = ", ".join(os.path.basename(p) for p in res.extensions[:MAX_LISTED_EXTENSIONS])
            more = len(res.extensions) - MAX_LISTED_EXTENSIONS
            listed += f", ... ({more} more)" if more > 0 else ""
            out.append(
                Problem(
                    "warning",
                    "c-extensions",
                    mod.name,
                    f"{label} contains {len(res.extensions)} C extension module(s) ({listed}): "
                    "they initialise at first use, which may be in a request or worker "
                    "thread, and cannot be unloaded",
                    "if its first use must be fast, must happen before forking, or must be on "
                    "the main thread, make it critical or use it once at start-up",
                )
            )
    lazy_roles = [r for r in mod.roles if r.role == "lazy" and r.in_effect]
    if lazy_roles and res.kind == "package" and (res.origin or "").endswith("__init__.py"):
        from lazymed._bindings import import_change  # static reading (ast), nothing imported

        change = import_change(mod.name, res.origin)
        if change is not None:
            out.append(
                Problem(
                    "warning",
                    "runs-early",
                    mod.name,
                    f"`import {mod.name}.<submodule>` runs lazy package {mod.name!r} at the "
                    f"statement, before its first use: {change} may change how its "
                    "submodules are found",
                    "nothing to do if that code does change submodule resolution at import "
                    "time; otherwise import the submodule where the package is first used",
                )
            )
    return out


def _redundant(cfg: Config) -> list[Problem]:
    out: list[Problem] = []
    for key, role in (("lazy", "lazy"), ("disabled_modules", "disabled")):
        names: tuple[str, ...] = getattr(cfg, key)
        for name in names:
            for outer in names:
                if name.startswith(outer + "."):
                    out.append(
                        Problem(
                            "warning",
                            "redundant",
                            name,
                            f"{role} {name!r} is already covered by {role} {outer!r} (a name "
                            "covers its submodules)",
                            f"remove {name!r} from {key} ({cfg.describe(key)})",
                        )
                    )
                    break
    return out


def check(
    cfg: Config, others: Sequence[Config], probe: bool = True, *, disabled: bool | None = None
) -> Report:
    """Resolve and judge every name registered by ``cfg`` (the effective configuration) and by
    ``others`` (the file's other profiles). Imports nothing; runs one ``python -c`` subprocess
    when ``probe`` is true (start-up modules). ``disabled`` is whether ``LAZYMED_DISABLE`` is
    set; None reads it from the environment (ConfigError for a value that is not a boolean)."""
    if disabled is None:
        disabled = env_flag("LAZYMED_DISABLE", os.environ)
    settings = [(k, v, cfg.sources.get(k, "default")) for k, v in _flatten(cfg.table)]
    extra = _extra_path(cfg)
    report = Report(cfg, settings, extra)
    if cfg.path is None and not (cfg.lazy or cfg.critical or cfg.disabled_modules):
        report.problems.append(
            Problem(
                "error",
                "no-config",
                None,
                f"no pyproject.toml with a [tool.lazymed] table in {os.getcwd()} or its "
                "parents, and no LAZYMED_* variable registers a module: install() would "
                "change nothing",
                "run in the project directory, pass --config PATH (or set LAZYMED_CONFIG), "
                "or add [tool.lazymed] with lazy = [...] to pyproject.toml",
            )
        )
    if disabled:
        report.problems.append(
            Problem(
                "warning",
                "disabled-by-environment",
                None,
                "LAZYMED_DISABLE is set: install() does nothing and every import is eager",
                "unset LAZYMED_DISABLE (it is meant for debugging)",
            )
        )

    registrations = _registrations([(cfg, True), *((o, False) for o in others)])
    startup: frozenset[str] | None = None
    if probe and registrations:
        startup, report.startup_error = startup_modules()
        if report.startup_error is not None:
            report.problems.append(
                Problem(
                    "warning",
                    "startup-probe-failed",
                    None,
                    f"could not list the modules imported at start-up: {report.startup_error}",
                    "run `python -c 'import sys; print(sorted(sys.modules))'` to see why",
                )
            )
    search_path = [*sys.path, *extra]
    for name, roles in registrations.items():
        res = resolve(name, search_path, extra)
        if not res.found and res.not_package is None:
            hint = distribution_hint(name)  # `llama-index-core` or `pyyaml`: a pip name
            if hint is not None:
                dist, provides, _ = hint
                res = replace(
                    res,
                    distribution=dist,
                    provides=provides,
                    suggestion=provides[0] if provides else res.suggestion,
                )
        mod = ModuleReport(
            name,
            roles,
            res,
            stdlib=name.partition(".")[0] in sys.stdlib_module_names,
            imported_at_startup=None if startup is None else name in startup,
        )
        report.modules.append(mod)
        report.problems.extend(_problems_for(mod))
    report.problems.extend(_redundant(cfg))
    return report


# --------------------------------------------------------------------------- output


def _value_text(value: object) -> str:
    if isinstance(value, tuple | list):
        return json.dumps(list(value))
    return json.dumps(value)


def _role_text(mod: ModuleReport) -> str:
    return ", ".join(r.role if r.in_effect else f"{r.role} ({r.profile})" for r in mod.roles)


def _yes_no(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def render_text(report: Report, strict: bool) -> str:
    """The plain-text report."""
    cfg = report.config
    lines: list[str] = []
    lines.append(f"config:   {cfg.path or '(no pyproject.toml with [tool.lazymed] found)'}")
    defined = ", ".join(cfg.profiles) or "none defined"
    lines.append(f"profile:  {cfg.profile or '(none)'}   [profiles: {defined}]")
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    if env:
        lines.append("environment: " + ", ".join(f"{k}={v}" for k, v in sorted(env.items())))
    if report.search_path_extra:
        lines.append("also searched (not on sys.path): " + ", ".join(report.search_path_extra))
    lines.append("")
    lines.append("effective configuration:")
    width = max((len(k) for k, _, _ in report.settings), default=0)
    for key, value, source in report.settings:
        lines.append(f"  {key:<{width}} = {_value_text(value)}")
        lines.append(f"  {'':<{width}}   from {source}")
    lines.append("")
    if report.modules:
        header = ("NAME", "ROLE", "FOUND", "KIND", "C-EXT", "AT START-UP", "STDLIB", "WHERE")
        rows = [header]
        for mod in report.modules:
            res = mod.resolution
            where = res.origin or (", ".join(res.locations) if res.locations else "")
            if res.via_extra_path:
                where += " (config directory)"
            rows.append(
                (
                    mod.name,
                    _role_text(mod),
                    "yes" if res.found else "NO",
                    res.kind or "-",
                    str(len(res.extensions)) if res.found else "-",
                    _yes_no(mod.imported_at_startup),
                    _yes_no(mod.stdlib),
                    where or "-",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
        lines.append("registered modules (resolved without importing):")
        for row in rows:
            cells = [f"{cell:<{w}}" for cell, w in zip(row[:-1], widths, strict=True)]
            lines.append("  " + "  ".join([*cells, row[-1]]).rstrip())
        if any(not r.in_effect for m in report.modules for r in m.roles):
            lines.append("  role (NAME): registered only in that profile, not the active one")
        lines.append(
            "  C-EXT: C extension files of the package itself; the packages it imports when it "
            "loads may have more (python -m lazymed profile shows them)"
        )
        lines.append("")
    if report.problems:
        lines.append("problems:")
        for p in report.problems:
            lines.append(f"  {p.severity}[{p.code}]: {p.message}")
            lines.append(f"    fix: {p.fix}")
        lines.append("")
    status = report.exit_status(strict)
    lines.append(
        f"{report.errors} error(s), {report.warnings} warning(s)"
        + (" (--strict: warnings fail)" if strict and report.warnings else "")
        + f"; exit status {status}"
    )
    return "\n".join(lines) + "\n"


def report_json(report: Report, strict: bool) -> dict[str, object]:
    """The ``lazymed.check/1`` document (see docs/check-and-scan.md)."""
    cfg = report.config
    return {
        "schema": SCHEMA,
        "config": {
            "path": cfg.path,
            "profile": cfg.profile,
            "profiles": list(cfg.profiles),
            "settings": [
                {
                    "key": key,
                    "value": list(value) if isinstance(value, tuple) else value,
                    "source": source,
                    "source_kind": source_kind(source),
                }
                for key, value, source in report.settings
            ],
            "search_path_extra": report.search_path_extra,
        },
        "modules": [
            {
                "name": m.name,
                "roles": [
                    {
                        "role": r.role,
                        "profile": r.profile,
                        "in_effect": r.in_effect,
                        "source": r.source,
                    }
                    for r in m.roles
                ],
                "found": m.resolution.found,
                "kind": m.resolution.kind,
                "namespace": m.resolution.kind == "namespace package",
                "package": m.resolution.kind in ("package", "namespace package", "frozen package"),
                "origin": m.resolution.origin,
                "locations": list(m.resolution.locations),
                "finder": m.resolution.finder,
                "missing": m.resolution.missing,
                "suggestion": m.resolution.suggestion,
                "distribution": (
                    None
                    if m.resolution.distribution is None
                    else {
                        "name": m.resolution.distribution,
                        "modules": list(m.resolution.provides),
                    }
                ),
                "c_extensions": list(m.resolution.extensions),
                "imported_at_startup": m.imported_at_startup,
                "stdlib": m.stdlib,
                "via_config_directory": m.resolution.via_extra_path,
            }
            for m in report.modules
        ],
        "problems": [
            {
                "severity": p.severity,
                "code": p.code,
                "name": p.name,
                "message": p.message,
                "fix": p.fix,
            }
            for p in report.problems
        ],
        "summary": {
            "errors": report.errors,
            "warnings": report.warnings,
            "strict": strict,
            "exit_status": report.exit_status(strict),
        },
    }


# --------------------------------------------------------------------------- command line


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``check`` on the top-level parser's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="validate [tool.lazymed] and resolve every registered name",
        description=(
            "Validate the lazymed configuration, print every effective setting with where it "
            "came from, and resolve every registered module name without importing it: found "
            "or not, package or module, namespace package, C extensions, imported at "
            "interpreter start-up, standard library. Exit status: 0 fine, 1 problems found, "
            "2 configuration or usage error."
        ),
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="the pyproject.toml to read (default: $LAZYMED_CONFIG, else the nearest one with "
        "[tool.lazymed] from the working directory up)",
    )
    parser.add_argument(
        "--profile", metavar="NAME", help="activate this profile (default: $LAZYMED_PROFILE)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON document instead")
    parser.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    return parser


def config_error_hints(message: str) -> list[dict[str, object]]:
    """Hints for the names a configuration error rejects as not dotted module names: when one
    is an installed pip distribution (``llama-index-core``), the modules it installs; else a
    spelling with ``_`` or ``.`` for ``-`` that resolves. Each hint is ``{"name",
    "distribution" (str or None), "modules" (list[str]), "message"}``."""
    hints: list[dict[str, object]] = []
    for name in dict.fromkeys(re.findall(r"'([^'\s]+)' is not a dotted module name", message)):
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


def _load(args: argparse.Namespace) -> tuple[Config, list[Config], list[Problem], bool]:
    """The effective configuration, the file's other profiles, their problems and whether
    ``LAZYMED_DISABLE`` is set. Raises ConfigError when the effective configuration cannot be
    loaded or ``LAZYMED_DISABLE`` is not a boolean (as ``install()`` would); a broken inactive
    profile becomes a problem instead."""
    disabled = env_flag("LAZYMED_DISABLE", os.environ)
    cfg = load_config(args.config, profile=args.profile, start_dir=os.getcwd())
    others: list[Config] = []
    problems: list[Problem] = []
    if cfg.path is not None:
        for name in cfg.profiles:
            if name == cfg.profile:
                continue
            try:
                others.append(load_config(cfg.path, profile=name))
            except ConfigError as exc:
                hints = "".join(f"; {h['message']}" for h in config_error_hints(str(exc)))
                problems.append(
                    Problem(
                        "error",
                        "profile-invalid",
                        None,
                        f"profile {name!r} cannot be activated: {exc}{hints}",
                        f"fix [tool.lazymed.profiles.{name}] in {cfg.path}",
                    )
                )
    return cfg, others, problems, disabled


def run(args: argparse.Namespace) -> int:
    """Run the check and print the report. Returns the exit status (see module doc)."""
    try:
        cfg, others, profile_problems, disabled = _load(args)
    except ConfigError as exc:
        hints = config_error_hints(str(exc))
        print(f"{PROG}: configuration error: {exc}", file=sys.stderr)
        for hint in hints:
            print(f"  hint: {hint['message']}", file=sys.stderr)
        if args.json:
            doc: dict[str, object] = {"schema": SCHEMA, "config_error": str(exc)}
            if hints:
                doc["hints"] = hints
            doc["summary"] = {"exit_status": 2}
            print(json.dumps(doc, indent=2))
        return 2
    report = check(cfg, others, disabled=disabled)
    report.problems[:0] = profile_problems
    if args.json:
        print(json.dumps(report_json(report, args.strict), indent=2))
    else:
        sys.stdout.write(render_text(report, args.strict))
    return report.exit_status(args.strict)

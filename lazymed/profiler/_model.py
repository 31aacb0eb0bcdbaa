"""The profile report as values: targets, costs, modules, packages, suggestions (no I/O here)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Literal

TargetKind = Literal["script", "module", "code", "modules"]
PackageKind = Literal["stdlib", "third-party", "first-party"]


@dataclass(frozen=True)
class Target:
    """What to profile, the way ``python`` would be told to run it.

    ``kind`` is ``"script"`` (``value`` is a path: a file, a directory or a zip with
    ``__main__.py``), ``"module"`` (``python -m value``), ``"code"`` (``python -c value``) or
    ``"modules"`` (``value`` is a comma-separated list of module names, each imported in turn).
    ``args`` become ``sys.argv[1:]`` of the target.
    """

    kind: TargetKind
    value: str
    args: tuple[str, ...] = ()

    def python_args(self) -> list[str]:
        """Arguments after the interpreter for the equivalent plain run (no tracer)."""
        if self.kind == "script":
            return [self.value, *self.args]
        if self.kind == "module":
            return ["-m", self.value, *self.args]
        if self.kind == "code":
            return ["-c", self.value, *self.args]
        imports = "\n".join(f"import {name}" for name in self.value.split(","))
        return ["-c", imports, *self.args]

    def describe(self) -> str:
        """A short human form, e.g. ``python -m pkg.mod --flag``."""
        if self.kind == "modules":
            return "import " + ", ".join(self.value.split(","))
        return "python " + shlex.join(self.python_args())

    @property
    def root(self) -> str:
        """The label of the import tree's root: ``__main__``, or ``<modules>`` for a list."""
        return "<modules>" if self.kind == "modules" else "__main__"


@dataclass(frozen=True)
class Cost:
    """What one import (or a group of imports) cost.

    ``seconds`` is wall time; ``rss_bytes`` the growth of the resident set size; ``alloc_bytes``
    the growth of memory allocated through Python's allocators (tracemalloc); ``gc_objects`` the
    growth in objects tracked by the garbage collector (``len(gc.get_objects())``); ``threads``
    the growth in OS threads. A figure that was not measured is None. Growths can be negative
    (something was freed).
    """

    seconds: float = 0.0
    rss_bytes: int | None = 0
    alloc_bytes: int | None = 0
    gc_objects: int | None = 0
    threads: int | None = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.seconds + other.seconds,
            _add(self.rss_bytes, other.rss_bytes),
            _add(self.alloc_bytes, other.alloc_bytes),
            _add(self.gc_objects, other.gc_objects),
            _add(self.threads, other.threads),
        )

    def __sub__(self, other: Cost) -> Cost:
        return Cost(
            self.seconds - other.seconds,
            _sub(self.rss_bytes, other.rss_bytes),
            _sub(self.alloc_bytes, other.alloc_bytes),
            _sub(self.gc_objects, other.gc_objects),
            _sub(self.threads, other.threads),
        )

    def metric(self, name: str) -> float:
        """One figure by name (``seconds``, ``rss_bytes``, ...), None counting as 0."""
        value: float | None = getattr(self, name)
        return 0.0 if value is None else float(value)


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _sub(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a - b


@dataclass(frozen=True)
class ModuleCost:
    """One module load seen by the tracer.

    ``id`` is its position in import order; ``parent_id`` the id of the import during which it was
    loaded (None at top level). ``chain`` lists the importers from the root down to the direct
    importer, e.g. ``("__main__", "app", "flask")``. ``imported_at`` is ``"file:line"`` of the
    statement. ``self_cost`` excludes the modules it imported; ``cumulative`` includes them.
    ``error`` is the exception class name when the import failed (the module is then absent).
    ``thread`` is 0 for the main thread, else the importing thread's ident.

    ``importer`` is the module whose code ran the import statement (``__main__`` or None for the
    target itself). It differs from the last import of ``chain`` when code of another module
    runs during an import (``httpx.Client()`` importing ``httpcore``) or after all imports (at
    run time), and is then appended to ``chain``. ``at_startup`` is True when the statement ran
    as part of a module body (an import, or the script's top level, possibly through the
    program's own functions), False when a library function called it (run time: a request
    handler, a CLI command, a thread); None when unknown.
    """

    id: int
    name: str
    package: str
    parent_id: int | None
    chain: tuple[str, ...]
    imported_at: str | None
    origin: str | None
    c_extension: bool
    error: str | None
    thread: int
    self_cost: Cost
    cumulative: Cost
    importer: str | None = None
    at_startup: bool | None = None

    @property
    def imported_by(self) -> str:
        """The direct importer (the last link of ``chain``)."""
        return self.chain[-1]


@dataclass(frozen=True)
class PackageCost:
    """All modules of one top-level package.

    ``self_cost`` sums its modules' own costs; ``cumulative`` sums the cumulative costs of its
    outermost imports (those not made while another module of the package was loading), so it
    includes the other packages it pulled in. ``kind`` is ``stdlib`` (listed in
    ``sys.stdlib_module_names``), ``third-party`` (installed in a site-packages directory) or
    ``first-party`` (anything else: your code). ``chain``/``imported_at`` describe its first import.
    """

    name: str
    kind: PackageKind
    modules: int
    failed: int
    c_extensions: tuple[str, ...]
    self_cost: Cost
    cumulative: Cost
    chain: tuple[str, ...]
    imported_at: str | None

    @property
    def imported_by(self) -> str:
        """The direct importer of its first module."""
        return self.chain[-1]


@dataclass(frozen=True)
class Suggestion:
    """A name for ``[tool.lazymed] lazy``: deferring it would save at most ``cost`` at start-up
    (less whatever other eager imports still need), covering ``modules`` module loads.

    ``used_at_import`` lists where the code that imports it also uses it at import time
    (``"file:line (kind)"``, kinds as ``lazymed scan`` reports them): deferring it would then save
    nothing, since that use loads it at start-up anyway. Such a name is not suggested
    (:attr:`Report.not_suggested`)."""

    name: str
    package: str
    cost: Cost
    modules: int
    imported_at: str | None
    used_at_import: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExistingConfig:
    """The ``[tool.lazymed]`` configuration the target already has, which the suggestion is merged
    with. ``installed``: the target called ``lazymed.install()`` (the names come from it), else
    they were read from the nearest pyproject.toml the way ``install()`` would find it. ``path``
    is that file (None: keywords or environment only); ``lazy_source`` where the effective
    ``lazy`` list was set (``"<file> [tool.lazymed]"``, a profile table, ``"install() keyword"``,
    an environment variable, ``"default"``; None when unknown)."""

    installed: bool
    path: str | None
    profile: str | None
    lazy: tuple[str, ...] = ()
    critical: tuple[str, ...] = ()
    disabled_modules: tuple[str, ...] = ()
    lazy_source: str | None = None
    from_import: str = "eager"


@dataclass(frozen=True)
class RunInfo:
    """The profiled (timing) run as a whole. Byte figures are None when unknown (no /proc).

    ``seconds`` is the target's own run time (tracer excluded), ``import_seconds`` the part spent
    in top-level imports. ``rss_peak_outside_bytes`` is the child's peak RSS as the parent saw it
    (``wait4`` rusage), an outside check of ``rss_peak_bytes`` (the child's ``VmHWM``).
    ``gc_objects_*`` are exact ``len(gc.get_objects())`` counts. ``exit_code`` is the target's
    exit status; ``exception`` the uncaught exception (``"Type: message"``) if any;
    ``not_found`` the requested modules that do not exist. ``interrupted`` is True when the
    profile was stopped with Ctrl-C (SIGINT) or SIGTERM: the figures cover what ran until then.
    ``stopped_by`` is ``"SIGINT"`` or ``"SIGTERM"`` then, ``"duration"`` when ``--duration``
    ended the runs (not an interruption), else None.
    """

    python: str
    executable: str
    exit_code: int
    exception: str | None
    not_found: tuple[str, ...]
    seconds: float
    import_seconds: float
    modules_imported: int
    modules_at_startup: int
    rss_start_bytes: int | None
    rss_end_bytes: int | None
    rss_peak_bytes: int | None
    rss_peak_outside_bytes: int | None
    gc_objects_start: int
    gc_objects_end: int
    threads_start: int
    threads_end: int
    alloc_end_bytes: int | None
    interrupted: bool = False
    stopped_by: str | None = None


@dataclass(frozen=True)
class Overhead:
    """The tracer's cost, measured by running the same target with and without it.

    All in wall seconds measured by the parent around each child process: ``profiled_seconds``
    for the timing pass (tracer, no tracemalloc), ``alloc_pass_seconds`` for the allocation pass
    (tracer + tracemalloc; None when skipped), ``plain_seconds`` for the plain run (None when
    skipped). ``tracer_seconds`` is the tracer's bookkeeping inside the timing pass, already
    subtracted from every reported time. With ``runs`` > 1 the timing and plain figures are the
    fastest of that many runs each.
    """

    profiled_seconds: float
    plain_seconds: float | None
    alloc_pass_seconds: float | None
    tracer_seconds: float
    runs: int = 1

    @property
    def ratio(self) -> float | None:
        """Timing pass / plain run (None without a plain run)."""
        if self.plain_seconds is None or self.plain_seconds <= 0:
            return None
        return self.profiled_seconds / self.plain_seconds

    @property
    def alloc_ratio(self) -> float | None:
        """Allocation pass / plain run (None without either)."""
        if self.alloc_pass_seconds is None or not self.plain_seconds:
            return None
        return self.alloc_pass_seconds / self.plain_seconds


@dataclass(frozen=True)
class Report:
    """Everything ``lazymed profile`` shows. ``modules`` are in import order; ``packages`` and
    ``suggestions`` sorted by cumulative time, largest first. ``totals`` sums the top-level
    imports. ``lazymed_status`` is what ``lazymed.status()`` reported in the target (None if the
    target did not install lazymed). ``suggest_min_*`` are the thresholds the suggestions used.
    ``existing`` is the target's own lazymed configuration (None: it has none), which the
    suggested ``lazy`` list is merged with."""

    target: Target
    run: RunInfo
    overhead: Overhead
    modules: tuple[ModuleCost, ...]
    packages: tuple[PackageCost, ...]
    totals: Cost
    suggestions: tuple[Suggestion, ...]
    lazymed_status: object = None
    warnings: tuple[str, ...] = field(default=())
    suggest_min_seconds: float = 0.010
    suggest_min_rss_bytes: int = 1 << 20
    existing: ExistingConfig | None = None
    not_suggested: tuple[Suggestion, ...] = ()
    """Names that qualified by cost but would save nothing: the importing code uses them at
    import time (:attr:`Suggestion.used_at_import`)."""

    def module(self, name: str) -> ModuleCost:
        """The first load of ``name``; KeyError if it was not imported during the run."""
        for module in self.modules:
            if module.name == name:
                return module
        raise KeyError(name)

    def package(self, name: str) -> PackageCost:
        """The top-level package ``name``; KeyError if none of it was imported."""
        for package in self.packages:
            if package.name == name:
                return package
        raise KeyError(name)

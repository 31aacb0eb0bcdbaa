"""The native backend (``backend = "native"``, Python 3.15+): PEP 810 defers lazymed's names.

PEP 810 ships explicit lazy imports (``lazy import X``, ``__lazy_modules__``,
``sys.set_lazy_imports("all" | "normal")``, ``sys.set_lazy_imports_filter(f)`` called as
``f(importer, name, fromlist)`` for every import statement that may be lazy).
:func:`install_native` sets ``sys.set_lazy_imports("all")`` with :func:`native_filter`, which
lets through exactly the registered lazy names (and, under ``deep``, a registered package's own
imports), keeps the program's own PEP 810 choices (explicit ``lazy import``,
``__lazy_modules__``, ``-X lazy_imports=all``), and keeps every import made while a registered
module runs eager (lazymed's rule). :class:`NativeFinder` measures the real load of each
registered name for ``status()`` and runs its ``on_load`` callbacks; disabled names stay with
lazymed's finder. :func:`note` also serves the finder backend's PEP 810 filter (``_backend``),
which records the statement Python's lazy binding defers.

Core layer: standard library only; imported only on interpreters with PEP 810, by the native
backend, or by the finder backend's filter at the first deferral of a registered name.
"""

import _thread
import sys

from ._cpython import explicit_lazy_import, find_real_spec
from ._probe import call_site, now, rss_bytes
from ._registry import FAILED, LAZY, LOADING, NOT_IMPORTED, REGISTRY, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import FrameType, ModuleType
    from typing import Any

    Filter = Callable[[str, str, "tuple[str, ...] | None"], bool]

# PEP 810's functions, untyped for mypy's 3.11 target.
_sys: "Any" = sys

#: The single feature test: PEP 810's filter hook exists (CPython 3.15+).
AVAILABLE = hasattr(sys, "set_lazy_imports_filter")


def explicit(frame: "FrameType", name: str) -> bool:
    """Whether the import statement running in ``frame`` asked for laziness itself: the
    ``lazy`` keyword, or ``name`` in the importing module's ``__lazy_modules__``. Under
    ``sys.set_lazy_imports("all")`` the filter is called for every import, so this is how a
    filter keeps the program's own choices."""
    if explicit_lazy_import(frame):
        return True
    listed = frame.f_globals.get("__lazy_modules__")
    if listed is None:
        return False
    try:
        return name in listed
    except TypeError:
        return False


# Per-thread stack of registered loads running under NativeFinder: imports made meanwhile (the
# package's own, and its dependencies') stay eager, as under the finder.
_local = _thread._local()


def _stack() -> list[str]:
    try:
        stack: list[str] = _local.stack
    except AttributeError:
        stack = _local.stack = []
    return stack


def _depth() -> int:
    return len(_stack())


class _State:
    """What install_native() replaced, for the undo, and the filter's settings (read on every
    import statement: plain attributes, no lookups)."""

    def __init__(self) -> None:
        self.active = ""  # "" or "native"
        self.prev_mode = "normal"
        self.prev_filter: Filter | None = None
        self.deep: tuple[str, ...] = ()
        self.deep_dotted: tuple[str, ...] = ()
        self.from_deferred = False
        self.installed_filter: Filter | None = None


STATE = _State()


def note(name: str, frame: "FrameType") -> None:
    """Record the statement PEP 810 defers ``name`` at, for status(): on its record and on the
    records of the registered packages above it (``import pkg.sub`` imports ``pkg`` too)."""
    site = None
    prefix = name
    while prefix:
        record = REGISTRY.records.get(prefix)
        if record is None and prefix == name:
            record = REGISTRY.record(name, "lazy")
        if (
            record is not None
            and record.role == "lazy"
            and record.state in (NOT_IMPORTED, FAILED)
            and prefix not in sys.modules
        ):
            record.state = LAZY
            record.imported_at = site = site or call_site(frame)
        prefix = prefix.rpartition(".")[0]


# Top-level package name -> whether a finder knows it (asked once per name per process).
_INSTALLED: dict[str, bool] = {}


def _installed(name: str) -> bool:
    """Whether the top-level package of ``name`` can be found (one ``find_spec`` per package,
    cached): the one check PEP 810's deferral skips that eager import makes at the statement."""
    top = name.partition(".")[0]
    if top in sys.modules:
        return True
    known = _INSTALLED.get(top)
    if known is None:
        known = _INSTALLED[top] = find_real_spec(top, None) is not None
    return known


def _in_deep(importer: str) -> bool:
    return importer in STATE.deep or importer.startswith(STATE.deep_dotted)


def native_filter(importer: str, name: str, fromlist: "tuple[str, ...] | None") -> bool:
    """The filter ``backend = "native"`` hands to ``sys.set_lazy_imports_filter``.

    True (lazy) for: a registered lazy name (``from X import y`` only with
    ``from_import = "deferred"``) imported outside any registered load; any import made by a
    module of a ``deep`` package; an import the program itself made lazy (keyword,
    ``__lazy_modules__``, or ``-X lazy_imports=all`` / a filter set before ``install()``).
    False (eager) for everything else, for disabled names (lazymed's finder gives their stand-in
    at the statement), and for imports made while a registered module runs.
    """
    role = REGISTRY.role_of(name)
    if role == "disabled" or role == "ancestor":
        return False
    if STATE.deep and _in_deep(importer):
        # A missing top-level package raises at the statement, as eager: optional-dependency
        # probes (`try: import bridge` whose first line imports the missing package) must fail.
        return _installed(name)
    frame = sys._getframe(1)
    if role == "lazy" and not _depth() and (fromlist is None or STATE.from_deferred):
        if not _installed(name):
            return False  # ModuleNotFoundError at the statement, as under the finder
        note(name, frame)
        return True
    if _depth():
        return explicit(frame, name) and _program_choice(importer, name, fromlist)
    if STATE.prev_mode == "all" or explicit(frame, name):
        lazy = _program_choice(importer, name, fromlist)
        if lazy and role == "lazy":
            note(name, frame)
        return lazy
    return False


def _program_choice(importer: str, name: str, fromlist: "tuple[str, ...] | None") -> bool:
    prev = STATE.prev_filter
    return True if prev is None else bool(prev(importer, name, fromlist))


def install_native(deep: "Sequence[str]", from_deferred: bool) -> None:
    """Native backend: PEP 810 defers the registered names (see :func:`native_filter`);
    :class:`NativeFinder` goes first on ``sys.meta_path`` to measure their loads."""
    STATE.deep = tuple(deep)
    STATE.deep_dotted = tuple(d + "." for d in deep)
    STATE.from_deferred = from_deferred
    if not STATE.active:
        STATE.prev_mode = _sys.get_lazy_imports()
        STATE.prev_filter = _sys.get_lazy_imports_filter()
        STATE.installed_filter = native_filter
        STATE.active = "native"
        _sys.set_lazy_imports_filter(native_filter)
    _sys.set_lazy_imports("all")
    if FINDER not in sys.meta_path:
        sys.meta_path.insert(0, FINDER)


def uninstall() -> None:
    """Undo install_native(): the previous filter and mode come back (unless the program
    replaced our filter since), NativeFinder leaves ``sys.meta_path``."""
    while FINDER in sys.meta_path:
        sys.meta_path.remove(FINDER)
    if not STATE.active:
        return
    if _sys.get_lazy_imports_filter() is STATE.installed_filter:
        _sys.set_lazy_imports_filter(STATE.prev_filter)
    if STATE.active == "native":
        _sys.set_lazy_imports(STATE.prev_mode)
    STATE.__init__()  # type: ignore[misc]  # back to the uninstalled state


def active() -> str:
    """``"native"`` while the native backend is installed, else ``""``."""
    return STATE.active


# --------------------------------------------------------------------------- measuring finder


class NativeFinder:
    """First on ``sys.meta_path`` under the native backend: for registered lazy names, the real
    spec with a loader that measures the load (seconds, RSS growth), records it, keeps imports
    made during it eager and runs ``on_load`` callbacks. ``None`` for every other name."""

    # lazymed's finders skip each other when they ask for the real spec.
    _lazymed_finder = True

    def find_spec(
        self,
        name: str,
        path: "Sequence[str] | None" = None,
        target: "ModuleType | None" = None,
    ) -> "ModuleSpec | None":
        if target is not None or REGISTRY.role_of(name) != "lazy":
            return None  # reload() and every name lazymed does not manage: the other finders
        spec = find_real_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _MeasuredLoader(spec.loader)  # type: ignore[assignment]  # duck-typed
        return spec

    def invalidate_caches(self) -> None:
        """Forget which top-level packages were found (``importlib.invalidate_caches()``)."""
        _INSTALLED.clear()

    def __repr__(self) -> str:
        return "<lazymed.NativeFinder>"


class _MeasuredLoader:
    def __init__(self, real: "Loader") -> None:
        self.real = real

    def __getattr__(self, attr: str) -> object:
        # get_resource_reader, get_filename, get_data, is_package, get_code, get_source, ...
        return getattr(self.real, attr)

    def create_module(self, spec: "ModuleSpec") -> "ModuleType | None":
        create = getattr(self.real, "create_module", None)
        if create is None:  # what importlib's module_from_spec says for such a loader
            raise ImportError("loaders that define exec_module() must also define create_module()")
        module: ModuleType | None = create(spec)
        return module

    def exec_module(self, module: "ModuleType") -> None:
        spec = module.__spec__
        if spec is not None:
            spec.loader = self.real
        module.__loader__ = self.real
        name = module.__name__
        stack = _stack()
        record = REGISTRY.records.get(name)
        if record is None and not stack and not _in_deep(name):
            record = REGISTRY.record(name, "lazy")
        if record is not None:
            _started(record, stack, sys._getframe(1))
        stack.append(name)
        rss0, t0 = (rss_bytes(), now()) if record is not None else (None, 0.0)
        try:
            self.real.exec_module(module)
        except BaseException as exc:
            if record is not None:
                record.failed(exc)
            raise
        finally:
            stack.pop()
        if record is None:
            return
        record.loaded(now() - t0, rss0, rss_bytes())
        with REGISTRY.lock:
            callbacks = REGISTRY.callbacks.pop(name, ())
        _run_callbacks(name, module, callbacks)


def _started(record: Record, stack: "list[str]", caller: "FrameType") -> None:
    site = call_site(caller)
    inside = f"the load of lazy module {stack[-1]!r}" if stack else None
    if record.state in (LAZY, FAILED) and record.imported_at is not None:
        # Deferred by PEP 810 at the noted statement: this is its first use.
        record.first_used_at = inside or site
    else:
        # Not deferred (inside a function, a try block, another load): it runs at the
        # statement, which is its import site, as under the finder.
        record.imported_at = site
        record.first_used_at = inside
    record.first_used_attr = None  # PEP 810 reifies at the use of the name, not of an attribute
    record.state = LOADING


def _run_callbacks(
    name: str, module: "ModuleType", callbacks: "Sequence[Callable[[ModuleType], object]]"
) -> None:
    for callback in callbacks:
        try:
            callback(module)
        except BaseException as exc:
            exc.add_note(f"lazymed: in an on_load callback for {name!r}")
            raise


FINDER = NativeFinder()

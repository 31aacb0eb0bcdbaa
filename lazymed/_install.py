"""``install()`` and ``uninstall()``, side by side (as pytest keeps its rewrite hook and undo).

Core layer: standard library only. ``import lazymed; lazymed.install()`` must stay within a few
milliseconds of a bare interpreter start, so nothing here imports typing, logging, re, tomllib
(on a config-cache hit) or any third-party package.
"""

import os
import sys

from . import _cpython
from ._config import Config, check_module_name, env_flag, load_config
from ._finder import LazyFinder
from ._pyproject import config_error
from ._registry import LOADED, REGISTRY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

_FINDER = LazyFinder()


def _disabled_by_env() -> bool:
    if env_flag("LAZYMED_DISABLE", os.environ):
        import logging  # the incident path only

        logging.getLogger("lazymed").warning(
            "LAZYMED_DISABLE is set: lazymed.install() does nothing; every import is eager"
        )
        return True
    return False


def install(
    config: str | os.PathLike[str] | None = None,
    *,
    profile: str | None = None,
    lazy: list[str] | tuple[str, ...] | None = None,
    critical: list[str] | tuple[str, ...] | None = None,
    from_import: str | None = None,
    disabled_modules: list[str] | tuple[str, ...] | None = None,
    backend: str | None = None,
    deep: list[str] | tuple[str, ...] | None = None,
) -> None:
    """Read the configuration and put lazymed's finder first on ``sys.meta_path``.

    ``config`` (else ``$LAZYMED_CONFIG``) names a pyproject.toml; by default the nearest one with
    a ``[tool.lazymed]`` table, walking up from the ``__main__`` script's directory, then from the
    working directory. Layers, lowest first: file < profile (``profile`` or
    ``$LAZYMED_PROFILE``) < ``LAZYMED_*`` environment variables < these keywords.

    ``backend`` ``"finder"`` (default), ``"native"`` (PEP 810, Python 3.15+; ``deep`` names
    registered lazy packages whose own imports are lazy too) or ``"auto"``: docs/pep810.md.

    Critical modules are imported here, in order. Idempotent for the same configuration.
    ``LAZYMED_DISABLE=1`` makes this a logged no-op (every import stays eager). So does an
    interpreter lazymed was not verified on, or one lacking an importlib internal it needs
    (``lazymed._cpython.PROBLEM``): then it warns once (LazymedWarning naming the version and the
    missing piece) and installs nothing, rather than a half-working finder.

    Raises ConfigError (naming the file and key, profile, variable or keyword) for a bad
    configuration or for a second ``install()`` with a different one; re-raises the import error
    of a critical module with a note naming it and the config (nothing stays installed then).
    Warns (LazymedWarning) for each registered lazy module that was already imported.
    """
    if _disabled_by_env():
        return
    if _cpython.PROBLEM is not None:
        _fail_closed(_cpython.PROBLEM)
        return
    if config is not None or profile is not None:
        config = _checked_arguments(config, profile)
    cfg = load_config(
        config,
        profile=profile,
        overrides={
            "lazy": lazy,
            "critical": critical,
            "from_import": from_import,
            "disabled_modules": disabled_modules,
            "backend": backend,
            "deep": deep,
        },
    )
    if REGISTRY.installed:
        if REGISTRY.config == cfg and _FINDER in sys.meta_path:
            return
        raise config_error(_reinstall_message(REGISTRY.config, cfg))
    if not cfg.sources:
        import warnings  # only when there is something to say

        from ._errors import LazymedWarning

        warnings.warn(
            "lazymed.install() found no [tool.lazymed] table (searched upwards from the "
            "__main__ script's directory and from the working directory), no LAZYMED_* "
            "settings and no keywords: nothing is lazy. Pass config=PATH or set "
            "LAZYMED_CONFIG when the service starts from another directory.",
            LazymedWarning,
            stacklevel=2,
        )
    _activate(cfg)


def _checked_arguments(config: object, profile: object) -> "str | None":
    """``config`` as a path string; ConfigError naming the keyword for a value of the wrong
    type (a path as ``str`` or ``os.PathLike``; a profile name as ``str``), or a NUL byte."""
    if profile is not None and not isinstance(profile, str):
        raise config_error(
            f"install() keyword 'profile': expected a profile name (str), got "
            f"{type(profile).__name__} {profile!r}"
        )
    if config is None:
        return None
    path = os.fspath(config) if isinstance(config, os.PathLike) else config
    if not isinstance(path, str):
        raise config_error(
            f"install() keyword 'config': expected the path of a pyproject.toml (str or "
            f"os.PathLike), got {type(config).__name__} {config!r}"
        )
    if "\0" in path:
        raise config_error(f"install() keyword 'config': {path!r} contains a NUL byte")
    return path


_warned: list[str] = []  # the fail-closed warning, once per process


def _fail_closed(problem: str) -> None:
    if problem in _warned:
        return
    _warned.append(problem)
    import warnings  # only when there is something to say

    from ._errors import LazymedWarning

    warnings.warn(
        f"lazymed.install() does nothing: {problem}. Every import stays eager (as with "
        "LAZYMED_DISABLE=1). Upgrade lazymed, or report the interpreter version.",
        LazymedWarning,
        stacklevel=3,
    )


def _reinstall_message(current: "Config | None", new: Config) -> str:
    def origin(cfg: "Config | None") -> str:
        if cfg is None:
            return "nothing"
        return cfg.path or "install() keywords / LAZYMED_* variables"

    differing = []
    if current is not None:
        keys = sorted(set(current.table) | set(new.table))
        differing = [k for k in keys if current.table.get(k) != new.table.get(k)]
        if current.profile != new.profile:
            differing.append(f"profile ({current.profile!r} -> {new.profile!r})")
        if current.path != new.path:
            differing.append(f"file ({current.path} -> {new.path})")
    return (
        f"lazymed is already installed with a different configuration (from {origin(current)}); "
        f"this one (from {origin(new)}) differs in: {', '.join(differing) or 'settings'}. "
        "Call lazymed.uninstall() first, or install once per process."
    )


# The single feature test for PEP 810 (CPython 3.15+); lazymed._native is imported only then.
_PEP810 = hasattr(sys, "set_lazy_imports_filter")
# The lazymed._native module install() set PEP 810's filter with, for uninstall(): not looked up
# in sys.modules, whose entry may have been replaced or removed since.
_PEP810_BACKEND: list["ModuleType"] = []


def _backend(cfg: Config) -> str:
    """``"native"`` or ``"finder"`` for ``cfg``. Raises ConfigError naming the key for a backend
    or ``deep`` this interpreter cannot give."""
    backend = cfg.backend
    if backend == "native" and not _PEP810:
        raise config_error(
            f"backend = 'native' (from {cfg.describe('backend')}) needs Python 3.15 or newer "
            f"(PEP 810 lazy imports); this is Python {sys.version.split()[0]}. Use 'finder' "
            "(the default), or 'auto' to take 'native' where it is available."
        )
    if backend == "auto":
        # Native where PEP 810 is there and asked for: deep laziness, or a program that already
        # runs with -X lazy_imports=all (PEP 810's semantics are then in force anyway).
        asked = bool(cfg.deep) or getattr(sys, "get_lazy_imports", str)() == "all"
        backend = "native" if _PEP810 and asked else "finder"
    for name in cfg.deep:
        if REGISTRY.role_of(name) != "lazy":
            raise config_error(
                f"deep = [{name!r}] (from {cfg.describe('deep')}): {name!r} is not registered "
                "lazy (nor inside a package that is); deep laziness applies to packages "
                "listed in `lazy`. Add it to `lazy`."
            )
    if cfg.deep and backend != "native":
        if cfg.backend == "finder":
            raise config_error(
                f"deep (from {cfg.describe('deep')}) needs backend = 'native' (Python 3.15+, "
                "PEP 810); the finder keeps a lazy package's own imports eager. Set "
                "backend = 'native' or 'auto', or remove deep."
            )
        import warnings  # only when there is something to say

        from ._errors import LazymedWarning

        warnings.warn(
            f"deep (from {cfg.describe('deep')}) is ignored: backend = 'auto' fell back to the "
            f"finder on Python {sys.version.split()[0]} (deep laziness needs PEP 810, 3.15+)",
            LazymedWarning,
            stacklevel=4,
        )
    return backend


# The PEP 810 filter that was set before install() (finder backend, 3.15+), for uninstall().
_PEP810_PREV: list[object] = []


def _record_pep810_sites() -> None:
    """Finder backend on 3.15+: Python's lazy binding reaches the finder only at first use, so
    a filter that changes no decision notes the deferred statement of registered names."""
    if not _PEP810_PREV:
        _PEP810_PREV.append(sys.get_lazy_imports_filter())  # type: ignore[attr-defined]
        sys.set_lazy_imports_filter(_pep810_recorder)  # type: ignore[attr-defined]


def _pep810_recorder(importer: str, name: str, fromlist: "tuple[str, ...] | None") -> bool:
    """PEP 810 filter of the finder backend: answers as the filter set before ``install()``
    (True without one); for a registered lazy name it defers, notes the statement for
    ``status()`` (lazymed._native, imported at the first such deferral)."""
    prev = _PEP810_PREV[0] if _PEP810_PREV else None
    lazy = True if prev is None else bool(prev(importer, name, fromlist))  # type: ignore[operator]
    if lazy and REGISTRY.role_of(name) == "lazy":
        from ._native import note

        note(name, _cpython.getframe(1))
    return lazy


def _activate(cfg: Config) -> None:
    REGISTRY.configure(cfg)
    REGISTRY.installed = True
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    startup = cfg.table.get("startup")
    try:
        if startup:  # [tool.lazymed.startup]: without it, _startup is never imported
            from ._startup import apply

            assert isinstance(startup, dict)
            apply(startup)
        backend = _backend(cfg)
        if _PEP810 and backend == "finder":
            _record_pep810_sites()
        elif backend == "native":
            from . import _native

            _PEP810_BACKEND[:] = [_native]  # the undo uses this very module (see uninstall)
            _native.install_native(cfg.deep, cfg.from_import == "deferred")
        _check_and_import(cfg)
        if startup:
            from ._startup import after_critical

            assert isinstance(startup, dict)
            after_critical(startup)
    except BaseException:
        uninstall()  # nothing half-done: e.g. a warning turned into an error by -W error
        raise
    _warm_isolated(cfg)


def _warm_isolated(cfg: Config) -> None:
    """Start the ``warm = true`` isolated services in the background.

    The one place the core reaches a layer above it, and only when the configuration asks for
    it: a thread of its own imports ``lazymed.isolate`` (multiprocessing, subprocess: tens of
    milliseconds) and starts the workers, so install() itself stays standard-library-cheap and
    returns at once. Without warm services nothing happens here. Failures are kept by the
    service (``lazymed.isolate.status()``) and raised by its first call.
    """
    names = [name for name, table in cfg.isolate.items() if table.get("warm")]
    if names:
        import _thread

        _thread.start_new_thread(_warm_thread, (tuple(names),))


def _warm_thread(names: tuple[str, ...]) -> None:
    try:
        layer = _cpython.gcd_import(f"{__package__}.isolate")
        layer._warm(names)
    except BaseException:  # recorded by the service; its first call raises it
        pass


def _check_and_import(cfg: Config) -> None:
    # lazymed._load is loaded by the first lazy import; before that no module is lazy.
    loads = sys.modules.get(f"{__package__}._load")
    startup = cfg.table.get("startup")
    prefork = startup.get("prefork", ()) if isinstance(startup, dict) else ()
    for name in (*cfg.lazy, *cfg.disabled_modules):
        module = sys.modules.get(name)
        if module is not None and (loads is None or loads.pending(module) is None):
            record = REGISTRY.record(name, REGISTRY.role_of(name) or "lazy")
            record.state = LOADED
            record.imported_at = record.imported_at or "before lazymed.install()"
            if name in prefork:
                continue  # loaded on purpose by a pre-fork master: shared, not a mistake
            import warnings  # only when there is something to say

            from ._errors import LazymedWarning

            warnings.warn(
                f"{name!r} is registered {record.role} but was already imported before "
                "lazymed.install(); it stays eager. Call install() earlier (at the top of the "
                "entrypoint) or find who imports it with `python -m lazymed profile`.",
                LazymedWarning,
                stacklevel=4,
            )
    for name in cfg.critical:
        _import_critical(name, cfg)


def _import_critical(name: str, cfg: Config) -> None:
    record = REGISTRY.record(name, "critical")
    if record.state == LOADED and name in sys.modules:
        return
    from ._probe import call_site, now, rss_bytes  # only with critical modules configured

    record.imported_at = call_site(_cpython.getframe(2))
    rss0, t0 = rss_bytes(), now()
    try:
        _cpython.gcd_import(name)  # importlib.import_module without importing importlib
    except BaseException as exc:
        record.state = "failed"
        record.error = f"{type(exc).__name__}: {exc}"
        exc.add_note(
            f"lazymed: critical module {name!r} ({cfg.describe('critical')}) failed to import "
            "during lazymed.install(); lazymed is not installed"
        )
        raise
    record.loaded(now() - t0, rss0, rss_bytes())


def uninstall() -> None:
    """Remove lazymed's finder from ``sys.meta_path``.

    Modules already imported keep working, including lazy modules that have not loaded yet
    (they still load on first use). Later imports are ordinary. The patch of importlib's
    ``_lock_unlock_module`` is undone here when no lazy module is pending, else by the load of
    the last one. A no-op when not installed.
    """
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    while _PEP810_BACKEND:
        _PEP810_BACKEND.pop().uninstall()
    if _PEP810 and _PEP810_PREV:
        if sys.get_lazy_imports_filter() is _pep810_recorder:  # type: ignore[attr-defined]
            sys.set_lazy_imports_filter(_PEP810_PREV[0])  # type: ignore[attr-defined]
        _PEP810_PREV.clear()
    REGISTRY.installed = False
    # importlib's _lock_unlock_module route goes too, once no lazy module is pending (else the
    # last one to load removes it). lazymed._load exists only after a first lazy import.
    loads = sys.modules.get(f"{__package__}._load")
    if loads is not None:
        loads.release_route()


def is_installed() -> bool:
    """Whether lazymed's finder is active."""
    return REGISTRY.installed and _FINDER in sys.meta_path


def enabled(name: str) -> bool:
    """Whether ``name`` may be used: False if it (or a parent package) is switched off by
    ``disabled_modules`` in the installed configuration. Imports nothing; True when lazymed is
    not installed. Raises ConfigError if ``name`` is not a dotted module name."""
    check_module_name(name, "lazymed.enabled()")
    return REGISTRY.role_of(name) != "disabled"

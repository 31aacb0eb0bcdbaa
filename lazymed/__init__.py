"""lazymed: lazy imports for heavy dependencies, protected critical modules, measured memory.

``import lazymed; lazymed.install()`` at the top of an entrypoint reads ``[tool.lazymed]`` from
the project's pyproject.toml and puts a finder on ``sys.meta_path``. Registered packages then
import as lazy modules: nothing of theirs runs until an attribute is first used, after which they
are ordinary modules. This package's import path uses the standard library only.
"""

import os as _os
import sys as _sys

from . import _config, _cpython, _registry  # one import statement: the module's own names stay few

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

    from ._config import Config
    from ._errors import ConfigError, DisabledModuleError, LazymedWarning
    from ._startup import warm
    from ._status import ModuleStatus, Status, status
    from .hooks import on_load
    from .memory._evict import EvictionReport, evict

# The one place the version is written: pyproject.toml reads it (setuptools' static `attr:`);
# nothing reads importlib.metadata at start-up (~52 ms).
__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DisabledModuleError",
    "EvictionReport",
    "LazymedWarning",
    "ModuleStatus",
    "Status",
    "__version__",
    "enabled",
    "evict",
    "install",
    "on_load",
    "status",
    "uninstall",
    "warm",
]

# Imported on first use (PEP 562), not by `import lazymed`: status() and its record types load
# dataclasses; on_load() may load wrapt; evict() loads the memory layer (psutil). The install
# path stays standard-library-small.
_LATE = {
    # the exceptions are only needed when one is raised or caught (an `except` clause evaluates
    # its class only then): one file less on the install path
    "ConfigError": "_errors",
    "DisabledModuleError": "_errors",
    "LazymedWarning": "_errors",
    "status": "_status",
    "Status": "_status",
    "ModuleStatus": "_status",
    "on_load": "hooks",
    "evict": "memory._evict",
    "EvictionReport": "memory._evict",
    "warm": "_startup",
}


def __getattr__(name: str) -> object:
    module_name = _LATE.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lazymed' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value
    return value


# =========================================================================== install
# ``install()`` and ``uninstall()`` side by side (as pytest keeps its rewrite hook and undo). Here
# rather than in a module of their own: each file on the install path costs ~0.1 ms
# (docs/architecture.md). On that path: annotations that would build objects when each def runs
# (X | None, tuple[...]) are written as strings (3.11-3.13 evaluate them eagerly).


def _disabled_by_env() -> bool:
    if _config.env_flag("LAZYMED_DISABLE", _os.environ):
        import logging  # the incident path only

        logging.getLogger("lazymed").warning(
            "LAZYMED_DISABLE is set: lazymed.install() does nothing; every import is eager"
        )
        return True
    return False


def install(
    config: "str | _os.PathLike[str] | None" = None,
    *,
    profile: "str | None" = None,
    lazy: "list[str] | tuple[str, ...] | None" = None,
    critical: "list[str] | tuple[str, ...] | None" = None,
    from_import: "str | None" = None,
    disabled_modules: "list[str] | tuple[str, ...] | None" = None,
    backend: "str | None" = None,
    deep: "list[str] | tuple[str, ...] | None" = None,
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
    if not (_plain(config) and _plain(profile)):
        from ._validate import check_install_arguments  # explains what is wrong, or converts

        config = check_install_arguments(config, profile)
    cfg = _config.load_config(
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
    if _registry.REGISTRY.installed:
        if _registry.REGISTRY.config == cfg and _registry.FINDER in _sys.meta_path:
            return
        from ._validate import reinstall_message

        raise _config.config_error(reinstall_message(_registry.REGISTRY.config, cfg))
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


def _plain(value: object) -> bool:
    """``None`` or a ``str`` without a NUL byte: an argument with nothing to check or convert."""
    return value is None or (type(value) is str and "\0" not in value)


_warned: "list[str]" = []  # the fail-closed warning, once per process


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


# Where PEP 810 exists (3.15+), or a backend other than the finder is asked for, install() reads
# lazymed._backend; on 3.11-3.14 with the defaults it never does (one file less at start-up).
_PEP810 = hasattr(_sys, "set_lazy_imports_filter")
# The lazymed._backend module install() activated, for uninstall(): kept here rather than looked
# up in sys.modules, whose entry may have been replaced or removed since.
_BACKEND: "list[ModuleType]" = []


def _activate(cfg: "Config") -> None:
    _registry.REGISTRY.configure(cfg)
    _registry.REGISTRY.installed = True
    if _registry.FINDER not in _sys.meta_path:
        _sys.meta_path.insert(0, _registry.FINDER)
    startup = cfg.table.get("startup")
    try:
        if startup:  # [tool.lazymed.startup]: without it, _startup is never imported
            from ._startup import apply

            assert isinstance(startup, dict)
            apply(startup)
        if _PEP810 or cfg.backend != "finder" or cfg.deep:
            from . import _backend

            _BACKEND[:] = [_backend]  # before activate(): its undo runs if activate() fails
            _backend.activate(cfg)
        _check_and_import(cfg)
        if startup:
            from ._startup import after_critical

            assert isinstance(startup, dict)
            after_critical(startup)
    except BaseException:
        uninstall()  # nothing half-done: e.g. a warning turned into an error by -W error
        raise
    if cfg.isolate:  # [tool.lazymed.isolate.NAME] tables: some may ask to start warm
        from ._startup import warm_isolated

        warm_isolated(cfg)


def _check_and_import(cfg: "Config") -> None:
    # lazymed._load is loaded by the first lazy import; before that no module is lazy.
    loads = _sys.modules.get(f"{__package__}._load")
    startup = cfg.table.get("startup")
    prefork = startup.get("prefork", ()) if isinstance(startup, dict) else ()
    for name in (*cfg.lazy, *cfg.disabled_modules):
        module = _sys.modules.get(name)
        if module is not None and (loads is None or loads.pending(module) is None):
            record = _registry.REGISTRY.record(name, _registry.REGISTRY.role_of(name) or "lazy")
            record.state = _registry.LOADED
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


def _import_critical(name: str, cfg: "Config") -> None:
    record = _registry.REGISTRY.record(name, "critical")
    if record.state == _registry.LOADED and name in _sys.modules:
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
    while _registry.FINDER in _sys.meta_path:
        _sys.meta_path.remove(_registry.FINDER)
    while _BACKEND:
        _BACKEND.pop().uninstall()
    _registry.REGISTRY.installed = False
    # importlib's _lock_unlock_module route goes too, once no lazy module is pending (else the
    # last one to load removes it). lazymed._load exists only after a first lazy import.
    loads = _sys.modules.get(f"{__package__}._load")
    if loads is not None:
        loads.release_route()


def enabled(name: str) -> bool:
    """Whether ``name`` may be used: False if it (or a parent package) is switched off by
    ``disabled_modules`` in the installed configuration. Imports nothing; True when lazymed is
    not installed. Raises ConfigError if ``name`` is not a dotted module name."""
    _config.check_module_name(name, "lazymed.enabled()")
    return _registry.REGISTRY.role_of(name) != "disabled"

"""Which machinery defers the registered names: lazymed's finder or PEP 810 (``backend``).

``install()`` imports this module only where there is a choice to make or PEP 810 to live with:
on an interpreter with PEP 810 (CPython 3.15+), or when the configuration sets ``backend`` to
something other than ``"finder"`` or sets ``deep``. On 3.11-3.14 with the defaults the install
path never reads it (one file less at start-up, see benchmarks/README.md, install overhead).

* :func:`activate` picks the backend (:func:`choose`) and sets it up: the native backend
  (:mod:`lazymed._native`), or, for the finder backend on 3.15+, a PEP 810 filter that changes
  no decision but notes the statement Python's lazy binding defers (so ``status()`` names the
  import site, not the first use).
* :func:`uninstall` undoes exactly what :func:`activate` did.

Core layer: standard library only.
"""

import sys

from . import _cpython
from ._config import Config, config_error
from ._registry import REGISTRY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

#: The single feature test for PEP 810 (CPython 3.15+); lazymed._native is imported only then.
PEP810 = hasattr(sys, "set_lazy_imports_filter")
# The lazymed._native module activate() set PEP 810's filter with, for uninstall(): not looked up
# in sys.modules, whose entry may have been replaced or removed since.
_NATIVE: list["ModuleType"] = []
# The PEP 810 filter that was set before install() (finder backend, 3.15+), for uninstall().
_PREVIOUS_FILTER: list[object] = []


def choose(cfg: Config) -> str:
    """``"native"`` or ``"finder"`` for ``cfg``. Raises ConfigError naming the key for a backend
    or ``deep`` this interpreter cannot give; warns (LazymedWarning) when ``backend = "auto"``
    falls back to the finder and ``deep`` is therefore ignored."""
    backend = cfg.backend
    if backend == "native" and not PEP810:
        raise config_error(
            f"backend = 'native' (from {cfg.describe('backend')}) needs Python 3.15 or newer "
            f"(PEP 810 lazy imports); this is Python {sys.version.split()[0]}. Use 'finder' "
            "(the default), or 'auto' to take 'native' where it is available."
        )
    if backend == "auto":
        # Native where PEP 810 is there and asked for: deep laziness, or a program that already
        # runs with -X lazy_imports=all (PEP 810's semantics are then in force anyway).
        asked = bool(cfg.deep) or getattr(sys, "get_lazy_imports", str)() == "all"
        backend = "native" if PEP810 and asked else "finder"
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
            stacklevel=5,
        )
    return backend


def activate(cfg: Config) -> None:
    """Set up the backend :func:`choose` picks for ``cfg`` (called by ``install()`` after the
    registry is configured). Raises what :func:`choose` raises."""
    backend = choose(cfg)
    if PEP810 and backend == "finder":
        _record_pep810_sites()
    elif backend == "native":
        from . import _native

        _NATIVE[:] = [_native]  # the undo uses this very module (see uninstall)
        _native.install_native(cfg.deep, cfg.from_import == "deferred")


def uninstall() -> None:
    """Undo :func:`activate`: the native backend's filter and mode, or the recording filter."""
    while _NATIVE:
        _NATIVE.pop().uninstall()
    if PEP810 and _PREVIOUS_FILTER:
        if sys.get_lazy_imports_filter() is _pep810_recorder:  # type: ignore[attr-defined]
            sys.set_lazy_imports_filter(_PREVIOUS_FILTER[0])  # type: ignore[attr-defined]
        _PREVIOUS_FILTER.clear()


def _record_pep810_sites() -> None:
    """Finder backend on 3.15+: Python's lazy binding reaches the finder only at first use, so
    a filter that changes no decision notes the deferred statement of registered names."""
    if not _PREVIOUS_FILTER:
        _PREVIOUS_FILTER.append(sys.get_lazy_imports_filter())  # type: ignore[attr-defined]
        sys.set_lazy_imports_filter(_pep810_recorder)  # type: ignore[attr-defined]


def _pep810_recorder(importer: str, name: str, fromlist: "tuple[str, ...] | None") -> bool:
    """PEP 810 filter of the finder backend: answers as the filter set before ``install()``
    (True without one); for a registered lazy name it defers, notes the statement for
    ``status()`` (lazymed._native, imported at the first such deferral)."""
    prev = _PREVIOUS_FILTER[0] if _PREVIOUS_FILTER else None
    lazy = True if prev is None else bool(prev(importer, name, fromlist))  # type: ignore[operator]
    if lazy and REGISTRY.role_of(name) == "lazy":
        from ._native import note

        note(name, _cpython.getframe(1))
    return lazy

"""The lazy module class: what a pending module answers without loading, and the submodule
questions importlib asks a pending package.

A lazy module's class is :class:`LazyModule` until first use. The spec-derived attributes that
import machinery and scanners read (``__name__``, ``__spec__``, ``__loader__``, ``__file__``,
``__path__``, ``__package__``, ``__cached__``, ``__dict__``) are answered without loading. Any
other attribute access runs the module (:func:`lazymed._load.load`), which then sets the class
back to :class:`types.ModuleType`, as the stdlib ``importlib.util.LazyLoader`` does, so the
steady state costs nothing.

Core layer: standard library only. Imported by the first lazy import, not by ``install()``.
"""

import _thread
import sys

from ._cpython import (
    find_and_load_unlocked_code,
    find_real_spec,
    from_import_frame,
    getframe,
    in_try_block,
    module_level,
    unlocked,
)
from ._load import Pending, load, pending
from ._probe import call_site
from ._registry import REGISTRY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType

if TYPE_CHECKING:
    from types import ModuleType
else:
    ModuleType = type(sys)  # types.ModuleType without importing types
_module_getattribute = ModuleType.__getattribute__
_module_dir = ModuleType.__dir__
_get_ident = _thread.get_ident

# Answered from the module's __dict__ without loading: what the import system sets from the
# spec, and what sys.modules scanners (inspect.getmodule, pickle, pytest, debuggers) read.
NO_LOAD = frozenset(
    {
        "__name__",
        "__spec__",
        "__loader__",
        "__file__",
        "__path__",
        "__package__",
        "__cached__",
        "__dict__",
        "__class__",
        # Probed on every object by inspect.unwrap (inspect.getsource, signature, doctest);
        # no module defines it in practice.
        "__wrapped__",
    }
)


class LazyModule(ModuleType):
    """A module registered lazy whose code has not run yet (its class until the first use)."""

    def __getattribute__(self, attr: str) -> object:
        if attr in NO_LOAD:
            if attr == "__path__" and getframe(1).f_code is find_and_load_unlocked_code:
                current_path = _before_submodule_import(self)
                if current_path is not None:
                    return current_path
            return _module_getattribute(self, attr)
        state = pending(self)
        if state is None:
            return _module_getattribute(self, attr)
        if state.loading_tid == _get_ident():
            # Our own load is running: a partly initialised module, as with eager import. (The
            # package's own imports of pending submodules run them through _lock_unlock_module.)
            return _module_getattribute(self, attr)
        caller = getframe(1)
        importer = from_import_frame(caller)
        if importer is not None and attr != "__all__":
            found = _from_import_submodule(self, state, attr, caller, importer)
            if found is not _NOT_A_SUBMODULE:
                return found
            config = REGISTRY.config
            if (
                config is not None
                and config.from_import == "deferred"
                and module_level(importer)
                and not in_try_block(importer)  # `except ImportError:` fallbacks need the answer
            ):
                # _deferred imports operator and, for its bytecode reading, dis: only for
                # programs that use deferred from-imports.
                from ._deferred import Deferred, needs_real_object

                if not needs_real_object(importer, attr):
                    return Deferred(self, attr, importer.f_globals, call_site(importer))
        load(state, attr, caller)
        if pending(self) is None:
            # Loaded: look up again through the module's class now, which may be its own
            # (a ModuleType subclass with __getattr__, as pygments' lexers module has).
            return getattr(self, attr)
        return _module_getattribute(self, attr)  # a concurrent circular load: partial module

    def __setattr__(self, attr: str, value: object) -> None:
        if attr == "__class__":
            # Another class from outside would unhook the load for good: run the module first.
            state = pending(self)
            if state is not None and state.loading_tid != _get_ident():
                load(state, attr, getframe(1))
        ModuleType.__setattr__(self, attr, value)

    def __delattr__(self, attr: str) -> None:
        state = pending(self)
        if state is not None:
            load(state, attr, getframe(1))
        ModuleType.__delattr__(self, attr)

    def __dir__(self) -> list[str]:
        # dir() lists the module's own names, which only its code can create: load first.
        state = pending(self)
        if state is not None:
            load(state, "__dir__", getframe(1))
        return list(_module_dir(self))


_NOT_A_SUBMODULE = object()


def _from_import_submodule(
    module: "LazyModule", state: "Pending", attr: str, caller: "FrameType", importer: "FrameType"
) -> object:
    """``from pkg import sub`` / ``import pkg.sub as m`` of a submodule, without running pkg.

    Eager CPython runs ``pkg/__init__`` first and binds what the package binds to ``sub``, else
    the submodule. When a static reading of ``__init__`` proves the package binds ``sub`` to
    nothing else (:mod:`lazymed._bindings`), the lazy submodule is the eager answer, so it is
    bound now and the package stays pending. Returns ``_NOT_A_SUBMODULE`` otherwise (the caller
    then loads the package, or defers).
    """
    namespace = _module_getattribute(module, "__dict__")
    path = namespace.get("__path__")
    if path is None:
        return _NOT_A_SUBMODULE  # not a package
    full = f"{state.name}.{attr}"
    value = namespace.get(attr, _NOT_A_SUBMODULE)
    if value is not _NOT_A_SUBMODULE and sys.modules.get(full) is not value:
        return _NOT_A_SUBMODULE  # set by someone else: only the package's code can say
    from ._bindings import binds_only_submodule  # imports ast (~2 ms): this question only

    init_file = namespace.get("__file__")
    if not binds_only_submodule(
        state.name,
        init_file if isinstance(init_file, str) else None,
        attr,
        _pending_ancestors(state.name),
    ):
        return _NOT_A_SUBMODULE
    if value is not _NOT_A_SUBMODULE:
        return value  # the lazy submodule, bound on the package by the import system
    if caller is importer:
        return _NOT_A_SUBMODULE  # IMPORT_FROM of a name the package does not have yet
    # importlib's _handle_fromlist probing hasattr(pkg, attr): is there such a submodule?
    if find_real_spec(full, path) is None:
        return _NOT_A_SUBMODULE
    # "absent": _handle_fromlist imports pkg.sub (a lazy module) and binds it on the package
    raise AttributeError(attr)


def _before_submodule_import(package: "ModuleType") -> object:
    """importlib (``_find_and_load_unlocked``) is about to find a submodule through a pending
    package's ``__path__``. Run the package first, as eager import order would have, when its
    code may decide what that submodule is: its ``__init__`` may change ``__path__`` or
    ``sys.modules`` (:func:`lazymed._bindings.may_change_imports`), or the submodule cannot be
    found on the current ``__path__`` (the package may create or alias it, as
    ``requests.packages`` does).

    Returns the ``__path__`` importlib should use (the package's, or its replacement's if it
    replaced itself), or None to read it as usual. A stand-in ``[]`` when the module is no
    package but running it put the submodule in ``sys.modules`` (an alias): importlib then asks
    the finders, and lazymed's hands it that module, as eager import's "the parent import may
    have imported it" would.
    """
    state = pending(package)
    if state is None or state.disabled or state.loading_tid is not None:
        return None
    namespace = _module_getattribute(package, "__dict__")
    importer = getframe(2)
    child = importer.f_locals.get("name")
    from ._bindings import may_change_imports  # imports ast (~2 ms): this question only

    init_file = namespace.get("__file__")
    run = may_change_imports(state.name, init_file if isinstance(init_file, str) else None)
    path = namespace.get("__path__")
    if not run and path is None:
        run = True  # not a package: only its own code can make `child` importable
    if not run and isinstance(child, str):
        run = find_real_spec(child, path) is None
    if not run:
        return None
    try:
        with unlocked(child if isinstance(child, str) else state.name):
            load(state, "__path__", importer)
    except AttributeError as exc:
        # importlib turns any AttributeError here into "'pkg' is not a package": keep the
        # package's real error visible instead.
        raise ImportError(
            f"lazymed: running package {state.name!r} before importing {child!r} failed: "
            f"{type(exc).__name__}: {exc}",
            name=state.name,
        ) from exc
    if pending(package) is None:
        path = getattr(package, "__path__", None)  # a replacement's, if it replaced itself
    if path is None and isinstance(child, str) and child in sys.modules:
        return []
    return path


def _pending_ancestors(name: str) -> "list[tuple[str, str | None]]":
    """``(name, __init__ file)`` of the still-pending lazy packages above ``name``."""
    found: list[tuple[str, str | None]] = []
    while "." in name:
        name = name.rpartition(".")[0]
        state = pending(sys.modules.get(name))
        if state is not None:
            init_file = _module_getattribute(state.module, "__dict__").get("__file__")
            found.append((name, init_file if isinstance(init_file, str) else None))
    return found

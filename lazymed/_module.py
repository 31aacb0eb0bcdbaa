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
    ImportCycleError,
    attribute_syntax,
    find_and_load_unlocked_code,
    find_real_spec,
    from_import_frame,
    getframe,
    in_try_block,
    module_level,
    reacquire_module_lock,
    release_module_lock,
)
from ._errors import LazymedWarning
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
            try:
                return _module_getattribute(self, attr)
            except ImportCycleError:
                # 3.15: the package's own `lazy from pkg import sub`, resolving, looks `pkg.sub`
                # up, which is that very lazy import. On a plain module CPython's optional
                # lookups (the resolution's own, IMPORT_FROM, hasattr() in _handle_fromlist)
                # swallow the error and import the submodule; a __getattribute__ override would
                # let it through. `pkg.sub` syntax raises it on a plain module too.
                if attribute_syntax(getframe(1)):
                    raise
                raise AttributeError(f"module {state.name!r} has no attribute {attr!r}") from None
        caller = getframe(1)
        if attr in _PROBES and not attribute_syntax(caller) and _probe_absent(self, attr):
            # getattr()/hasattr() probes of tools (pytest collection, inspect.unwrap) that the
            # module's files prove it would fail: answered without running it (see _tool_probes).
            raise AttributeError(f"module {state.name!r} has no attribute {attr!r}")
        importer = from_import_frame(caller)
        early: str | None = None
        if importer is not None and attr != "__all__":
            found = _from_import_submodule(self, state, attr, caller, importer)
            if isinstance(found, _WhyNot):
                early = found  # a submodule the package may bind to something else
            elif found is not _NOT_A_SUBMODULE:
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
                    standin = Deferred(self, attr, importer.f_globals, call_site(importer))
                    state.standins.append(standin)
                    return standin
        if early is not None and importer is not None:
            statement = f"from {state.name} import {attr}"
            _ran_early(state, statement, importer, early)
        load(state, attr, caller, statement=importer is not None)
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
                load(state, attr, getframe(1), statement=False)
        ModuleType.__setattr__(self, attr, value)

    def __delattr__(self, attr: str) -> None:
        state = pending(self)
        if state is not None:
            load(state, attr, getframe(1), statement=False)
        ModuleType.__delattr__(self, attr)

    def __dir__(self) -> list[str]:
        # dir() lists the module's own names, which only its code can create: load first.
        state = pending(self)
        if state is not None:
            load(state, "__dir__", getframe(1), statement=False)
        return list(_module_dir(self))


_NOT_A_SUBMODULE = object()
# What tools probe on every object (pytest collection, inspect.unwrap); _tool_probes.PROBES
# names the same set (a test checks), which loads only when one is read.
_PROBES = frozenset(
    {"_mock_name", "__wrapped__", "_pytestfixturefunction", "__test__", "__bases__"}
)


class _WhyNot(str):
    """Not answered without running the package, and why (``"file:line: code"``)."""


def _ran_early(state: "Pending", statement: str, importer: "FrameType", reason: str) -> None:
    """The package runs at ``statement`` (in ``importer``), before its first use: say why, in
    its record (``status()``, ``lazymed check``) and as a LazymedWarning at the statement."""
    site = call_site(importer) or "<unknown>:0"
    message = (
        f"lazy package {state.name!r} runs at `{statement}` ({site}), before its first use: "
        f"{reason}"
    )
    state.record.early_reason = message
    import warnings  # only when there is something to say

    filename, _, line = site.rpartition(":")
    warnings.warn_explicit(
        message, LazymedWarning, filename, int(line) if line.isdigit() else 0, "lazymed"
    )


def _probe_absent(module: "LazyModule", attr: str) -> bool:
    from ._tool_probes import provably_absent  # only when a tool probes a pending module

    spec = _module_getattribute(module, "__spec__")
    origin = getattr(spec, "origin", None)
    locations = getattr(spec, "submodule_search_locations", None)
    return provably_absent(origin, None if locations is None else list(locations), attr)


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
    if value is _NOT_A_SUBMODULE:
        if caller is importer:
            return _NOT_A_SUBMODULE  # IMPORT_FROM of a name the package does not have yet
        # importlib's _handle_fromlist probing hasattr(pkg, attr): is there such a submodule?
        if find_real_spec(full, path) is None:
            return _NOT_A_SUBMODULE
    from ._bindings import why_not_only_submodule  # static reading: this question only

    init_file = namespace.get("__file__")
    why = why_not_only_submodule(
        state.name,
        init_file if isinstance(init_file, str) else None,
        attr,
        _pending_ancestors(state.name),
    )
    if why is not None:
        return _WhyNot(why)
    if value is not _NOT_A_SUBMODULE:
        return value  # the lazy submodule, bound on the package by the import system
    # "absent": _handle_fromlist imports pkg.sub (a lazy module) and binds it on the package
    raise AttributeError(attr)


def _before_submodule_import(package: "ModuleType") -> object:
    """importlib (``_find_and_load_unlocked``) is about to find a submodule through a pending
    package's ``__path__``. Run the package first, as eager import order would have, when its
    code may decide what that submodule is: its import-time code may change ``__path__``,
    import hooks or the submodule's ``sys.modules`` entry (:func:`lazymed._bindings.import_change`),
    or the submodule cannot be found on the current ``__path__`` (the package may create or
    alias it, as ``requests.packages`` does). Then it warns (LazymedWarning at the import
    statement) and records why (``status()``'s ``early_reason``).

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
    if not isinstance(child, str):
        return None  # not importlib as we know it: let it read __path__ as usual
    path = namespace.get("__path__")
    if path is None:
        reason = f"{state.name} is not a package; only its code can make {child!r} importable"
    elif (spec := find_real_spec(child, path)) is None:
        reason = f"{child!r} is not on {state.name}.__path__; the package's code may create it"
    else:
        from ._bindings import import_change  # static reading (cached): this question only

        init_file = namespace.get("__file__")
        change = import_change(
            state.name,
            init_file if isinstance(init_file, str) else None,
            child,
            _pending_ancestors(state.name),
            found=spec.origin is not None,  # a regular module/package, not a namespace portion
        )
        if change is None:
            return None
        reason = f"{change} may change how {child!r} is found"
    _ran_early(state, f"import {child}", importer, reason)
    try:
        held = release_module_lock(child if isinstance(child, str) else state.name)
        try:
            load(state, "__path__", importer)
        finally:
            reacquire_module_lock(held)
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
    if child in sys.modules:
        # The package's code imported `child` itself. Eager import returns it at once ("the
        # parent import may have imported it") and leaves the package's binding of the name
        # alone (`from .version import version`); importlib here goes on and would set the
        # submodule on the package: keep what the package bound.
        _keep_binding(sys.modules.get(state.name), child.rpartition(".")[2])
        if path is None:
            return []
    return path


class _KeepBinding(ModuleType):
    """A package's class for the moment between lazymed running it early and importlib
    setting the submodule it had already imported on it (see _keep_binding)."""

    def __setattr__(self, attr: str, value: object) -> None:
        namespace = _module_getattribute(self, "__dict__")
        kept = namespace.get("__lazymed_keep__")
        if kept is not None:
            del namespace["__lazymed_keep__"]
            object.__setattr__(self, "__class__", kept[1])
            if attr == kept[0] and getframe(1).f_code is find_and_load_unlocked_code:
                return  # the write eager import skips
        setattr(self, attr, value)


def _keep_binding(package: object, key: str) -> None:
    """Make the next ``setattr(package, key, submodule)`` by importlib's
    ``_find_and_load_unlocked`` a no-op, as eager import has it; any other write first puts the
    package's own class back."""
    if type(package) is not ModuleType:
        return  # a replacement object or a class of the package's own: leave it be
    assert isinstance(package, ModuleType)
    _module_getattribute(package, "__dict__")["__lazymed_keep__"] = (key, ModuleType)
    object.__setattr__(package, "__class__", _KeepBinding)


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

"""Lazy and disabled module objects, and the load that turns a lazy module into a plain one.

A lazy module is the real module object (``sys.modules[name]`` and every importer hold the
same object) whose class is :class:`LazyModule` until first use. The spec-derived attributes
that import machinery and scanners read (``__name__``, ``__spec__``, ``__loader__``,
``__file__``, ``__path__``, ``__package__``, ``__cached__``, ``__dict__``) are answered without
loading. Any other attribute access executes the module with its real loader and then sets the
class back to :class:`types.ModuleType`, as the stdlib ``importlib.util.LazyLoader`` does, so
the steady state costs nothing.

Locking leans on importlib's own per-module locks (``_frozen_importlib._get_module_lock``): they
are re-entrant, detect deadlocks between threads, and are the locks a concurrent ``import X``
waits on. lazymed holds no lock of its own while module code runs. This replaces the stdlib
LazyLoader's locking, which lets concurrent first uses fail on Python < 3.11.9 / 3.12.3
(cpython#114763).

Core layer: standard library only.
"""

import _thread
import sys

from ._errors import DisabledModuleError, LazymedWarning
from ._probes import PROBES, provably_absent
from ._registry import (
    DISABLED,
    FAILED,
    LAZY,
    LOADING,
    REGISTRY,
    Record,
    call_site,
    now,
    rss_bytes,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from importlib.abc import Loader
    from types import FrameType

if TYPE_CHECKING:
    from types import ModuleType
else:
    ModuleType = type(sys)  # types.ModuleType without importing types
_bootstrap = sys.modules["_frozen_importlib"]  # importlib._bootstrap, always loaded
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

# Per-thread stack of module names whose code is executing under a lazymed load. Imports made
# while it is non-empty stay eager (a package's own internal imports keep their order).
local = _thread._local()


def loading_stack() -> list[str]:
    """Names whose lazy load is running in this thread, outermost first."""
    try:
        stack: list[str] = local.stack
    except AttributeError:
        stack = local.stack = []
    return stack


class Pending:
    """A lazy module that has not run yet."""

    __slots__ = (
        "detached",
        "disabled",
        "loader",
        "loading_tid",
        "module",
        "name",
        "reapply",
        "record",
        "snapshot",
        "warning",
    )

    def __init__(
        self, module: "ModuleType", loader: "Loader | None", record: Record, disabled: bool
    ) -> None:
        self.module = module
        self.name: str = module.__name__
        self.loader = loader
        self.record = record
        self.disabled = disabled
        # The namespace as the import statement left it; anything set later (a submodule bound
        # by the import system, a monkeypatch) is re-applied after the module's code runs.
        self.snapshot = dict(module.__dict__)
        self.reapply: dict[str, object] = {}
        # True after a failed load removed it from sys.modules and its parent package.
        self.detached = False
        self.warning: str | None = None  # issued after the load, at the first use
        self.loading_tid: int | None = None


# id(module) -> Pending. Entries hold the module, so ids stay unique while registered.
PENDING: "dict[int, Pending]" = {}
# name -> Pending of a lazy module whose load failed (removed from sys.modules, still bound).
DETACHED: "dict[str, Pending]" = {}


def pending(module: object) -> "Pending | None":
    """The pending state of ``module`` if it is a lazy module that has not loaded."""
    state = PENDING.get(id(module))
    return state if state is not None and state.module is module else None


# ------------------------------------------------------------------ import-statement context

_IMPORT_FROM = _IMPORT_NAME = _LOAD_ATTR = _LOAD_METHOD = -1
_handle_fromlist_code = _bootstrap._handle_fromlist.__code__


# (IMPORT_NAME, IMPORT_FROM, LOAD_ATTR, LOAD_METHOD) of the interpreters this was checked on
# (tests/core/test_regressions.py compares with opcode.opmap): importing `opcode` at a lazy
# module's first use would cost more than the rest of the load machinery.
OPCODES = {(3, 11): (108, 109, 106, 160), (3, 12): (108, 109, 106, -2)}


def _opcodes() -> None:
    global _IMPORT_FROM, _IMPORT_NAME, _LOAD_ATTR, _LOAD_METHOD
    known = OPCODES.get(sys.version_info[:2])
    if known is None:
        import opcode  # another interpreter version: ask it

        known = (
            opcode.opmap["IMPORT_NAME"],
            opcode.opmap["IMPORT_FROM"],
            opcode.opmap["LOAD_ATTR"],
            opcode.opmap.get("LOAD_METHOD", -2),  # merged into LOAD_ATTR in 3.12
        )
    _IMPORT_NAME, _IMPORT_FROM, _LOAD_ATTR, _LOAD_METHOD = known


def attribute_syntax(frame: "FrameType") -> bool:
    """Whether ``frame`` is evaluating ``obj.name`` syntax (not getattr()/hasattr() probes)."""
    if _IMPORT_FROM < 0:
        _opcodes()
    return _at(frame, _LOAD_ATTR) or _at(frame, _LOAD_METHOD)


def _varint(data: bytes, i: int) -> tuple[int, int]:
    byte = data[i]
    value = byte & 63
    while byte & 64:
        i += 1
        byte = data[i]
        value = (value << 6) | (byte & 63)
    return value, i + 1


def in_try_block(frame: "FrameType") -> bool:
    """Whether ``frame``'s current instruction is covered by an exception handler (a ``try`` or
    ``with`` block), read from ``co_exceptiontable`` (format of CPython's
    Objects/exception_handling_notes.txt, as ``dis._parse_exception_table`` reads it)."""
    table = frame.f_code.co_exceptiontable
    lasti = frame.f_lasti
    i = 0
    while i < len(table):
        start, i = _varint(table, i)
        length, i = _varint(table, i)
        _target, i = _varint(table, i)
        _depth, i = _varint(table, i)
        if start * 2 <= lasti < (start + length) * 2:
            return True
    return False


def _at(frame: "FrameType", op: int) -> bool:
    code = frame.f_code.co_code
    lasti = frame.f_lasti
    return 0 <= lasti < len(code) and code[lasti] == op


def from_import_frame(frame: "FrameType") -> "FrameType | None":
    """The importer's frame if ``frame`` is evaluating ``from X import name`` on this module
    (IMPORT_FROM, or importlib's ``_handle_fromlist`` probing a package); else ``None``."""
    if _IMPORT_FROM < 0:
        _opcodes()
    if frame.f_code is _handle_fromlist_code:
        importer = frame.f_back
        if importer is not None and _at(importer, _IMPORT_NAME):
            return importer
        return None
    return frame if _at(frame, _IMPORT_FROM) else None


def _module_level(frame: "FrameType") -> bool:
    return frame.f_locals is frame.f_globals


# --------------------------------------------------------------------------- lazy module

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
else:
    ModuleSpec = _bootstrap.ModuleSpec  # the same class, without importing importlib.machinery


class PendingSpec(ModuleSpec):
    """The class of a pending lazy module's ``__spec__`` until it loads.

    An ``import X`` of a module already in ``sys.modules`` reads ``__spec__._initializing``
    (CPython's ``import_ensure_initialized``, importlib's ``_find_and_load``) and, when it is
    true, calls ``importlib._bootstrap._lock_unlock_module(name)``. While a lazy module's code
    runs, such an import of a module that is still pending would, with eager imports, find it
    executed; so ``_initializing`` answers true then, and the ``_lock_unlock_module`` wrapper
    (:func:`_patch_lock_unlock`) runs the module there, where its errors propagate to the import
    statement (an exception raised inside ``_initializing`` itself would be swallowed by CPython's
    ``_PyModuleSpec_IsInitializing``). Side-effect imports (``import pkg.plugins  # registers``)
    keep their order.
    """

    @property
    def _initializing(self) -> bool:
        if loading_stack() and _must_run_now(self.name):
            return True
        return bool(self.__dict__.get("_initializing", False))

    @_initializing.setter
    def _initializing(self, value: bool) -> None:
        self.__dict__["_initializing"] = value


def _must_run_now(name: str) -> "Pending | None":
    state = pending(sys.modules.get(name))
    if state is not None and state.loading_tid is None and not state.disabled:
        return state
    return None


_original_lock_unlock = _bootstrap._lock_unlock_module


def _lock_unlock_module(name: str) -> None:
    if loading_stack():
        state = _must_run_now(name)
        if state is not None:
            load(state, None, sys._getframe(1))
            return
    _original_lock_unlock(name)


def _patch_lock_unlock() -> None:
    """Route importlib's ``_lock_unlock_module`` through :func:`_lock_unlock_module` (once; it
    defers to the original for every module that is not a pending lazy one)."""
    if _bootstrap._lock_unlock_module is not _lock_unlock_module:
        setattr(_bootstrap, "_lock_unlock_module", _lock_unlock_module)  # noqa: B010  # typed module


class LazyModule(ModuleType):
    """A module registered lazy whose code has not run yet (its class until the first use)."""

    def __getattribute__(self, attr: str) -> object:
        if attr in NO_LOAD:
            if attr == "__path__" and sys._getframe(1).f_code is _find_and_load_unlocked_code:
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
        caller = sys._getframe(1)
        if attr in PROBES and not attribute_syntax(caller) and _probe_absent(self, attr):
            # getattr()/hasattr() probes of tools (pytest collection, inspect.unwrap) that the
            # module's files prove it would fail: answered without running it (see _probes).
            raise AttributeError(f"module {state.name!r} has no attribute {attr!r}")
        importer = from_import_frame(caller)
        if importer is not None and attr != "__all__":
            found = _from_import_submodule(self, state, attr, caller, importer)
            if found is not _NOT_A_SUBMODULE:
                return found
            config = REGISTRY.config
            if (
                config is not None
                and config.from_import == "deferred"
                and _module_level(importer)
                and not in_try_block(importer)  # `except ImportError:` fallbacks need the answer
            ):
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
                load(state, attr, sys._getframe(1))
        ModuleType.__setattr__(self, attr, value)

    def __delattr__(self, attr: str) -> None:
        state = pending(self)
        if state is not None:
            load(state, attr, sys._getframe(1))
        ModuleType.__delattr__(self, attr)

    def __dir__(self) -> list[str]:
        # dir() lists the module's own names, which only its code can create: load first.
        state = pending(self)
        if state is not None:
            load(state, "__dir__", sys._getframe(1))
        return list(_module_dir(self))


_NOT_A_SUBMODULE = object()


def _probe_absent(module: "LazyModule", attr: str) -> bool:
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
    from ._bindings import binds_only_submodule

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
    from ._finder import find_real_spec

    if find_real_spec(full, path) is None:
        return _NOT_A_SUBMODULE
    # "absent": _handle_fromlist imports pkg.sub (a lazy module) and binds it on the package
    raise AttributeError(attr)


_find_and_load_unlocked_code = _bootstrap._find_and_load_unlocked.__code__


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
    importer = sys._getframe(2)
    child = importer.f_locals.get("name")
    from ._bindings import may_change_imports

    init_file = namespace.get("__file__")
    run = may_change_imports(state.name, init_file if isinstance(init_file, str) else None)
    path = namespace.get("__path__")
    if not run and path is None:
        run = True  # not a package: only its own code can make `child` importable
    if not run and isinstance(child, str):
        from ._finder import find_real_spec

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


def load(state: "Pending", attr: str | None, caller: "FrameType | None") -> None:
    """Run a pending lazy module (its pending parents first, in eager import order).

    Blocks while another thread loads it; returns at once when this thread already is (the
    caller then sees the partly initialised module, as with eager imports). Exceptions from the
    module's code propagate with a PEP 678 note naming the module, where it was imported and what
    first used it; the module is reset to its unloaded state and the next access retries.
    """
    load_parents(state.name, caller)
    if pending(state.module) is not state:
        return  # a parent's code imported and used this module
    lock = _bootstrap._get_module_lock(state.name)
    try:
        lock.acquire()
    except _bootstrap._DeadlockError:
        # Two threads each loading a module the other needs at import time. Eager CPython hands
        # one of them the partly initialised module; do the same rather than hang.
        return
    try:
        if pending(state.module) is not state or state.loading_tid is not None:
            return  # loaded by another thread while we waited
        callbacks = _execute(state, attr, caller)
    finally:
        lock.release()
    for callback in callbacks:
        try:
            callback(state.module)
        except BaseException as exc:
            exc.add_note(f"lazymed: in an on_load callback for {state.name!r}")
            raise
    if state.warning is not None:
        import warnings  # only when there is something to say

        filename, _, line = (state.record.first_used_at or "<unknown>:0").rpartition(":")
        warnings.warn_explicit(
            state.warning, LazymedWarning, filename, int(line) if line.isdigit() else 0, "lazymed"
        )


def load_parents(name: str, caller: "FrameType | None") -> None:
    """Run the pending lazy parent packages of ``name``, outermost first: a module that is about
    to run needs them run before it, as eager import order guarantees."""
    parent_name = name.rpartition(".")[0]
    if parent_name:
        parent = pending(sys.modules.get(parent_name))
        if parent is None or parent.disabled or parent.loading_tid == _get_ident():
            return  # nothing pending, or our own load of it is running (partial, as eager)
        if parent.loading_tid is None:
            load(parent, None, caller)  # runs its own parents first
        else:
            # Another thread is running it: wait for that load (importlib's lock, with its
            # deadlock detection), as an eager import of the parent would.
            _original_lock_unlock(parent_name)


def unlocked(name: str) -> "_Unlocked":
    """Context manager: release this thread's hold on importlib's module lock for ``name``
    (importlib holds it while it imports ``name``) and take it back afterwards. Running a
    pending parent package from inside the child's import must not hold the child's lock:
    another thread may be running that parent, whose code imports the child (lock-order
    inversion, which importlib would break with _DeadlockError in the other thread)."""
    return _Unlocked(name)


class _Unlocked:
    __slots__ = ("held", "lock")

    def __init__(self, name: str) -> None:
        self.lock = _bootstrap._get_module_lock(name)
        self.held = 0

    def __enter__(self) -> None:
        lock = self.lock
        count = getattr(lock, "count", None)
        if getattr(lock, "owner", None) != _get_ident() or count is None:
            return  # not ours, or an importlib without these fields: keep it
        held = len(count) if isinstance(count, list) else int(count)  # 3.12+ keeps a list
        for _ in range(held):
            lock.release()
        self.held = held

    def __exit__(self, *exc: object) -> None:
        for _ in range(self.held):
            self.lock.acquire()


def _execute(
    state: "Pending", attr: str | None, caller: "FrameType | None"
) -> "list[Callable[[ModuleType], object]]":
    module = state.module
    name = state.name
    record = state.record
    namespace: dict[str, object] = _module_getattribute(module, "__dict__")
    spec = _module_getattribute(module, "__spec__")
    snapshot = state.snapshot
    # Names bound on the module after its import statement (submodules bound by the import
    # system, monkeypatches): eager order binds them after the module's code ran, so the code
    # must not see them; they are put back afterwards.
    reapply = {k: v for k, v in namespace.items() if k not in snapshot or snapshot[k] is not v}
    state.reapply = reapply
    before = dict(namespace)
    for key_set_later in reapply:
        del namespace[key_set_later]
    stack = loading_stack()
    parent_name, _, key = name.rpartition(".")
    parent = pending(sys.modules.get(parent_name)) if parent_name else None
    claimed = parent is not None and parent.loading_tid == _get_ident()
    if claimed:
        # The parent's own code is importing this submodule: in eager order that import comes
        # after the outside one, so whatever the parent binds to the name is final.
        assert parent is not None
        parent.reapply.pop(key, None)

    if state.detached and name not in sys.modules:
        sys.modules[name] = module  # a retry after a failed load: registered again, as import does

    if record.first_used_at is None:
        record.first_used_at = call_site(caller)
        record.first_used_attr = attr
    record.state = LOADING
    state.loading_tid = _get_ident()
    if spec is not None:
        spec._initializing = True  # a concurrent `import X` now waits on the module lock
    stack.append(name)
    entry_before = sys.modules.get(name)
    rss0 = rss_bytes()
    t0 = now()
    try:
        assert state.loader is not None
        state.loader.exec_module(module)
    except BaseException as exc:
        stack.pop()
        namespace.clear()
        namespace.update(before)
        if type(module) is not LazyModule:
            object.__setattr__(module, "__class__", LazyModule)
        # As a failed eager import does: no sys.modules entry, no attribute on the parent
        # package. The object stays bound where it was imported and retries on next use; a
        # new import of the name gets this object back (see LazyLoader.create_module).
        sys.modules.pop(name, None)
        parent_module = sys.modules.get(parent_name) if parent_name else None
        if parent_module is not None:
            parent_ns = _module_getattribute(parent_module, "__dict__")
            if parent_ns.get(key) is module:
                del parent_ns[key]
        state.detached = True
        DETACHED[name] = state
        state.loading_tid = None
        if spec is not None:
            spec._initializing = False
        record.state = FAILED
        record.error = f"{type(exc).__name__}: {exc}"
        used = record.first_used_at or "an unknown site"
        what = f"{name}.{attr}" if attr else name
        exc.add_note(
            f"lazymed: while loading lazy module {name!r} "
            f"(imported at {record.imported_at or 'an unknown site'}; "
            f"first used by {what} at {call_site(caller) or used}). "
            "It was removed from sys.modules as a failed import is; the next access retries."
        )
        raise
    seconds = now() - t0
    rss1 = rss_bytes()
    stack.pop()

    for attr_name, value in state.reapply.items():
        if namespace.get(attr_name, reapply) is not value:
            namespace[attr_name] = value
    replacement = sys.modules.get(name)
    replaced = replacement is not entry_before and replacement is not module
    parent_module = sys.modules.get(parent_name) if parent_name else None
    if parent_module is not None and (state.detached or claimed or replaced):
        # What a successful (fresh) import binds on the parent package: the module, or what
        # replaced it in sys.modules.
        _module_getattribute(parent_module, "__dict__")[key] = replacement if replaced else module
    if replaced:
        # The module put another object in sys.modules (pygments' lexers do): eager importers
        # got that object, so the one earlier lazy imports bound forwards to it.
        FORWARDS[id(module)] = (module, replacement)
        object.__setattr__(module, "__class__", ForwardingModule)
        if not isinstance(replacement, ModuleType):
            state.warning = (
                f"lazy module {name!r} replaced its own sys.modules entry with a "
                f"{type(replacement).__name__} object while loading; names bound by earlier "
                "lazy imports forward attribute access to it, but not calls, operators or "
                "len(). Make it critical or remove it from `lazy`."
            )
    elif type(module) is LazyModule:  # keep a class the module's own code chose
        object.__setattr__(module, "__class__", ModuleType)
    if spec is not None:
        spec._initializing = False
        if type(spec) is PendingSpec:
            object.__setattr__(spec, "__class__", ModuleSpec)
    del PENDING[id(module)]
    if DETACHED.get(name) is state:
        del DETACHED[name]
    state.loading_tid = None
    record.loaded(seconds, rss0, rss1)
    with REGISTRY.lock:
        return list(REGISTRY.callbacks.pop(name, ()))


# id(module) -> (module, replacement): modules that replaced their own sys.modules entry.
FORWARDS: "dict[int, tuple[ModuleType, object]]" = {}


class ForwardingModule(ModuleType):
    """The object earlier lazy imports bound, for a module whose code replaced its own
    ``sys.modules`` entry (pygments' lexers and formatters do). Eager importers would hold the
    replacement, so every attribute read, write and ``dir()`` goes to it. Identity (``is``) and
    ``type()`` still tell them apart."""

    def __getattribute__(self, attr: str) -> object:
        return getattr(FORWARDS[id(self)][1], attr)

    def __setattr__(self, attr: str, value: object) -> None:
        setattr(FORWARDS[id(self)][1], attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(FORWARDS[id(self)][1], attr)

    def __dir__(self) -> list[str]:
        return dir(FORWARDS[id(self)][1])


def register(module: "ModuleType", loader: "Loader | None", record: Record, disabled: bool) -> None:
    """Make ``module`` pending: called by the finder's loader instead of executing it."""
    PENDING[id(module)] = Pending(module, loader, record, disabled)
    spec = module.__spec__
    if type(spec) is ModuleSpec:
        object.__setattr__(spec, "__class__", PendingSpec)
        _patch_lock_unlock()
    record.state = DISABLED if disabled else LAZY
    if record.imported_at is None:
        record.imported_at = call_site(sys._getframe(1))


# --------------------------------------------------------------------------- disabled module


def disabled_error(
    state: "Pending", attr: str | None, frame: "FrameType | None"
) -> DisabledModuleError:
    """The DisabledModuleError for using ``attr`` of a disabled module, naming the module, the
    profile, the config file, the import statement and any lazy loads that needed it."""
    config = REGISTRY.config
    profile = config.profile if config is not None else None
    source = config.describe("disabled_modules") if config is not None else "configuration"
    what = f"{state.name}.{attr}" if attr else state.name
    chain = loading_stack()
    needed = f" It was needed while loading {' -> '.join(repr(n) for n in chain)}." if chain else ""
    message = (
        f"{state.name!r} is switched off (disabled_modules, from {source}"
        f"{', profile ' + repr(profile) if profile else ''}); "
        f"used as {what} at {call_site(frame) or 'an unknown site'}, "
        f"imported at {state.record.imported_at or 'an unknown site'}.{needed} "
        f"Check lazymed.enabled({state.name!r}) before using it."
    )
    return DisabledModuleError(message, name=state.name)


class DisabledModule(ModuleType):
    """A module switched off by ``disabled_modules``: importing it succeeds, nothing of it runs.

    Spec attributes answer as for a lazy module; ``from m import name`` binds a stand-in;
    ``m.name`` raises :class:`DisabledModuleError`; ``getattr()``/``hasattr()`` probes and other
    dunder lookups raise AttributeError with the same message (so ``sys.modules`` scanners and
    ``getattr(m, "__version__", None)`` keep working).
    """

    def __getattribute__(self, attr: str) -> object:
        if attr in NO_LOAD:
            return _module_getattribute(self, attr)
        state = pending(self)
        if state is None:
            return _module_getattribute(self, attr)
        caller = sys._getframe(1)
        if from_import_frame(caller) is not None and attr != "__all__":
            from ._deferred import Disabled

            return Disabled(self, attr, state)
        error = disabled_error(state, attr, caller)
        if (attr.startswith("__") and attr.endswith("__")) or not attribute_syntax(caller):
            # getattr()/hasattr() probes and dunder lookups (sys.modules scanners, pickle's
            # whichmodule, cloudpickle) expect AttributeError for "not there".
            raise AttributeError(str(error), name=attr, obj=self)
        raise error

    def __dir__(self) -> list[str]:
        return sorted(_module_getattribute(self, "__dict__"))

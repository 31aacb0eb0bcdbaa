"""Pending lazy modules and the load that turns one into a plain module.

A lazy module is the real module object (``sys.modules[name]`` and every importer hold the same
object). Its pending state (:class:`Pending`) travels with it on its spec, as CPython's
``importlib.util.LazyLoader`` keeps its state in ``__spec__.loader_state``, and records the class
to restore if a load fails; :func:`load` runs the module with its real loader, in eager import
order (pending parents first), and sets the class back to :class:`types.ModuleType`.

Locking leans on importlib's own per-module locks: they are re-entrant, detect deadlocks between
threads, and are the locks a concurrent ``import X`` waits on. lazymed holds no lock of its own
while module code runs. This replaces the stdlib LazyLoader's locking, which lets concurrent
first uses fail on Python < 3.11.9 / 3.12.3 (cpython#114763).

Core layer: standard library only. Imported by the first lazy import, not by ``install()``.
"""

import _thread
import sys

from ._cpython import (
    DeadlockError,
    ModuleSpec,
    gcd_import,
    get_module_lock,
    getframe,
    original_is_initializing,
    original_lock_unlock,
    patch_is_initializing,
    patch_lock_unlock,
    unpatch,
)
from ._errors import LazymedWarning
from ._probe import call_site, now, rss_bytes
from ._registry import DISABLED, LAZY, LOADING, NOT_IMPORTED, REGISTRY, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from importlib.abc import Loader
    from types import FrameType

if TYPE_CHECKING:
    from types import ModuleType
else:
    ModuleType = type(sys)  # types.ModuleType without importing types
_module_getattribute = ModuleType.__getattribute__
_get_ident = _thread.get_ident
_STATE = "_lazymed_pending"  # the spec attribute that holds a module's Pending


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
    """A lazy (or disabled) module that has not run yet. Kept on the module's spec."""

    __slots__ = (
        "detached",
        "disabled",
        "lazy_class",
        "loader",
        "loading_tid",
        "module",
        "name",
        "reapply",
        "record",
        "snapshot",
        "spec",
        "standins",
        "warning",
    )

    def __init__(
        self, module: "ModuleType", loader: "Loader | None", record: Record, disabled: bool
    ) -> None:
        self.module = module
        self.name: str = module.__name__
        self.spec: object = module.__spec__
        # The class to put back if a load fails (the module is pending again).
        self.lazy_class: type = type(module)
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
        # Deferred `from X import name` stand-ins bound before X ran: each takes its value
        # right after X's code runs (see _execute), as the import statement would have.
        self.standins: list[object] = []


def pending(module: object) -> "Pending | None":
    """The pending state of ``module`` if it is a lazy module that has not loaded."""
    if not isinstance(module, ModuleType):
        return None
    spec = _module_getattribute(module, "__dict__").get("__spec__")
    try:
        state: Pending | None = getattr(spec, _STATE, None)
    except Exception:  # a foreign spec object: not one of ours
        return None
    return state if state is not None and state.module is module else None


def register(module: "ModuleType", loader: "Loader | None", record: Record, disabled: bool) -> bool:
    """Make ``module`` pending (called by the finder's loaders instead of executing it).
    Returns False when its spec cannot carry the state: the caller then runs it now."""
    state = Pending(module, loader, record, disabled)
    spec = state.spec
    try:
        setattr(spec, _STATE, state)
    except (AttributeError, TypeError):
        return False
    if type(spec) is ModuleSpec:
        object.__setattr__(spec, "__class__", PendingSpec)
        if not disabled:
            with REGISTRY.lock:
                _routed.add(state.name)
                patch_lock_unlock(_lock_unlock_module)
                patch_is_initializing(_is_initializing)  # 3.15+'s importlib.import_module
    record.state = DISABLED if disabled else LAZY
    if record.imported_at is None:
        record.imported_at = call_site(getframe(2))
    return True


# Names of pending lazy modules that may need the _lock_unlock_module route (see PendingSpec).
_routed: set[str] = set()


def release_route() -> None:
    """Undo the ``_lock_unlock_module`` patch once no pending lazy module is left in
    ``sys.modules`` (called by ``uninstall()`` and after each load while uninstalled): only an
    import of a name in ``sys.modules`` can reach the route."""
    with REGISTRY.lock:
        for name in list(_routed):
            if pending(sys.modules.get(name)) is None:
                _routed.discard(name)
        if not _routed:
            unpatch()


class PendingSpec(ModuleSpec):
    """The class of a pending lazy module's ``__spec__`` until it loads.

    An ``import X`` of a module already in ``sys.modules`` reads ``__spec__._initializing``
    (CPython's ``import_ensure_initialized``, importlib's ``_find_and_load``) and, when it is
    true, calls ``importlib._bootstrap._lock_unlock_module(name)``. While a lazy module's code
    runs, such an import of a module that is still pending would, with eager imports, find it
    executed; so ``_initializing`` answers true then, and the ``_lock_unlock_module`` wrapper
    (:func:`_lock_unlock_module`) runs the module there, where its errors propagate to the import
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


def _lock_unlock_module(name: str) -> None:
    if loading_stack():
        state = _must_run_now(name)
        if state is not None:
            load(state, None, getframe(1))
            return
    original_lock_unlock(name)


def _is_initializing(module: object) -> bool:
    # The same route as _lock_unlock_module, for 3.15+'s _find_and_load, which asks this instead
    # of calling _lock_unlock_module (see _cpython.patch_is_initializing). Exceptions propagate
    # to the importlib.import_module() call, as from the module's code with eager imports.
    # importlib asks on every import_module() of a module in sys.modules: the original first.
    assert original_is_initializing is not None  # only patched in where importlib has it
    if not original_is_initializing(module):
        return False
    if loading_stack():  # PendingSpec._initializing is true for a pending module only then
        state = pending(module)
        if state is not None and _must_run_now(state.name) is state:
            load(state, None, getframe(1))
            return original_is_initializing(module)
    return True


def load(
    state: "Pending", attr: str | None, caller: "FrameType | None", statement: bool = True
) -> None:
    """Run a pending lazy module (its pending parents first, in eager import order).

    Blocks while another thread loads it; returns at once when this thread already is (the
    caller then sees the partly initialised module, as with eager imports). Exceptions from the
    module's code propagate with a PEP 678 note naming the module, where it was imported and what
    first used it; the module is reset to its unloaded state and the next access retries.

    ``statement``: the load runs for an import statement (``from X import name``, an import
    inside another module's load), which then fails as an eager one would, leaving no attribute
    on the parent package. ``False``: a use after the import statement succeeded; a failed load
    keeps the module bound on its parent, so the next access through the parent retries too.
    """
    try:
        load_parents(state.name, caller)
    except BaseException:
        _detach_unrun(state)
        raise
    if pending(state.module) is not state:
        return  # a parent's code imported and used this module
    lock = get_module_lock(state.name)
    try:
        lock.acquire()
    except DeadlockError:
        # Two threads each loading a module the other needs at import time. Eager CPython hands
        # one of them the partly initialised module; do the same rather than hang.
        return
    try:
        if pending(state.module) is not state or state.loading_tid is not None:
            return  # loaded by another thread while we waited
        callbacks = _execute(state, attr, caller, statement)
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


def _detach_unrun(state: "Pending") -> None:
    # A parent package failed to run, so this module never ran: as after an eager `import a.b`
    # whose `a` failed, there is no sys.modules entry for it (a later import finds it afresh and
    # gets this object back, see LazyLoader.create_module; its next use retries the parents).
    if pending(state.module) is not state or state.loading_tid is not None:
        return
    if sys.modules.get(state.name) is state.module:
        del sys.modules[state.name]
    state.detached = True
    state.record.detached = state
    if not REGISTRY.installed:
        release_route()


def load_parents(name: str, caller: "FrameType | None") -> None:
    """Run the pending lazy parent packages of ``name``, outermost first: a module that is about
    to run needs them run before it, as eager import order guarantees. A parent missing from
    ``sys.modules`` (its load failed, or the program removed it) is imported first, as
    importlib's ``_find_and_load_unlocked`` does before a submodule: the module never runs
    without its package. Raises what that import or a parent's code raises."""
    parent_name = name.rpartition(".")[0]
    if parent_name:
        module = sys.modules.get(parent_name)
        if module is None:
            module = gcd_import(parent_name)  # None in sys.modules: ModuleNotFoundError, as eager
        parent = pending(module)
        if parent is None or parent.disabled or parent.loading_tid == _get_ident():
            return  # nothing pending, or our own load of it is running (partial, as eager)
        if parent.loading_tid is None:
            load(parent, None, caller)  # runs its own parents first
        else:
            # Another thread is running it: wait for that load (importlib's lock, with its
            # deadlock detection), as an eager import of the parent would.
            original_lock_unlock(parent_name)


def _execute(
    state: "Pending", attr: str | None, caller: "FrameType | None", statement: bool
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
        if entry_before is module and name not in sys.modules:
            # Its code deleted its own entry: importlib's _load_unlocked fails such an import
            # with KeyError (it pops the entry to move it last), and 3.15's _find_and_load
            # would otherwise import it afresh after the _is_initializing route ran it.
            raise KeyError(name)
    except BaseException as exc:
        stack.pop()
        namespace.clear()
        namespace.update(before)
        if type(module) is not state.lazy_class:
            object.__setattr__(module, "__class__", state.lazy_class)
        # As a failed eager import does: no sys.modules entry. The object stays bound where it
        # was imported and retries on next use; a new import of the name gets this object back
        # (see LazyLoader.create_module). On the parent package it stays bound only when the
        # import statement had succeeded (`import a.b.c`, then `a.b.c.x` failed): the program
        # reaches it through the parent, and that access retries as the bound object does.
        sys.modules.pop(name, None)
        parent_module = sys.modules.get(parent_name) if parent_name else None
        if parent_module is not None and statement:
            parent_ns = _module_getattribute(parent_module, "__dict__")
            if parent_ns.get(key) is module:
                del parent_ns[key]
        state.detached = True
        record.detached = state  # a new import gets this object back (LazyLoader.create_module)
        state.loading_tid = None
        if spec is not None:
            spec._initializing = False
        record.failed(exc)
        if not REGISTRY.installed:
            release_route()  # uninstalled, and maybe this was the last pending module
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

    for standin in state.standins:
        standin._lm_capture(namespace)  # type: ignore[attr-defined]  # _deferred.Deferred
    state.standins.clear()
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
        _module_getattribute(module, "__dict__")["__lazymed_forward__"] = replacement
        object.__setattr__(module, "__class__", ForwardingModule)
        if not isinstance(replacement, ModuleType):
            state.warning = (
                f"lazy module {name!r} replaced its own sys.modules entry with a "
                f"{type(replacement).__name__} object while loading; names bound by earlier "
                "lazy imports forward attribute access to it, but not calls, operators or "
                "len(). Make it critical or remove it from `lazy`."
            )
    elif type(module) is state.lazy_class:  # keep a class the module's own code chose
        object.__setattr__(module, "__class__", ModuleType)
    if spec is not None:
        spec._initializing = False
        if type(spec) is PendingSpec:
            object.__setattr__(spec, "__class__", ModuleSpec)
    state_spec = state.spec
    if getattr(state_spec, _STATE, None) is state:
        delattr(state_spec, _STATE)
    if record.detached is state:
        record.detached = None
    state.loading_tid = None
    record.loaded(seconds, rss0, rss1)
    with REGISTRY.lock:
        _routed.discard(name)
        callbacks = list(REGISTRY.callbacks.pop(name, ()))
    if not REGISTRY.installed:
        release_route()  # uninstalled, and maybe this was the last pending module
    return callbacks


# ------------------------------------------------------------------ eviction


def unload(name: str) -> "tuple[dict[str, ModuleType], tuple[str, str] | None, dict[str, str]]":
    """Take module ``name`` and its submodules back to "not imported", for ``lazymed.evict``.

    Removes them from ``sys.modules`` and the root from its parent package's namespace (where
    the import bound it), and marks their records ``not imported``: the next import finds and
    runs them afresh. Returns the removed modules by name, the parent binding removed
    (``(parent, attribute)`` or None) and the records' previous states, for :func:`reinstate`.
    Runs no module code. The caller holds importlib's module lock for ``name`` if it must keep
    concurrent imports out.
    """
    dotted = name + "."
    modules = {
        key: module
        for key, module in list(sys.modules.items())
        if (key == name or key.startswith(dotted)) and isinstance(module, ModuleType)
    }
    binding = None
    parent_name, _, attr = name.rpartition(".")
    parent = sys.modules.get(parent_name) if parent_name else None
    root = modules.get(name)
    if isinstance(parent, ModuleType) and root is not None:
        namespace = _module_getattribute(parent, "__dict__")
        if namespace.get(attr) is root:
            del namespace[attr]
            binding = (parent_name, attr)
    states: dict[str, str] = {}
    for key in modules:
        del sys.modules[key]
        record = REGISTRY.records.get(key)
        if record is not None:
            states[key] = record.state
            record.state = NOT_IMPORTED
    return modules, binding, states


def reinstate(
    modules: "dict[str, ModuleType]", binding: "tuple[str, str] | None", states: "dict[str, str]"
) -> None:
    """Undo :func:`unload`: the same module objects back in ``sys.modules`` (unless an import
    put a new one there meanwhile) and on their parent package, records as they were."""
    for key, module in modules.items():
        sys.modules.setdefault(key, module)
        record = REGISTRY.records.get(key)
        if record is not None and key in states and record.state == NOT_IMPORTED:
            record.state = states[key]
    if binding is not None:
        parent = sys.modules.get(binding[0])
        root = modules.get(binding[0] + "." + binding[1])
        if isinstance(parent, ModuleType) and root is not None:
            _module_getattribute(parent, "__dict__").setdefault(binding[1], root)


def forward_target(module: "ModuleType") -> object:
    """What a :class:`ForwardingModule` forwards to (kept in its own, otherwise unseen,
    ``__dict__``)."""
    return _module_getattribute(module, "__dict__")["__lazymed_forward__"]


class ForwardingModule(ModuleType):
    """The object earlier lazy imports bound, for a module whose code replaced its own
    ``sys.modules`` entry (pygments' lexers and formatters do). Eager importers would hold the
    replacement, so every attribute read, write and ``dir()`` goes to it. Identity (``is``) and
    ``type()`` still tell them apart."""

    def __getattribute__(self, attr: str) -> object:
        return getattr(forward_target(self), attr)

    def __setattr__(self, attr: str, value: object) -> None:
        setattr(forward_target(self), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(forward_target(self), attr)

    def __dir__(self) -> list[str]:
        return dir(forward_target(self))

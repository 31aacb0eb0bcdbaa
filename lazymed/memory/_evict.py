"""``lazymed.evict(name)``: take a loaded module tree out of the process, and say what it freed.

Memory layer (imported only when used). What in-process eviction can and cannot do was measured
(DESIGN.md): removing llama_index.core from ``sys.modules`` gave back 0.8 of 104 MB RSS, because
the program, the standard library and shared dependencies still hold its objects, and C
extensions are never unloaded. So this module refuses what it can tell will not pay, never breaks
what the program holds, and reports only what was really given back.

The design that keeps the program whole (``isinstance(old, mod.Class)`` and pickle round trips of
old instances keep working) is *all or nothing per tree*:

1. The tree (``name`` and its submodules in ``sys.modules``) is removed from ``sys.modules`` and
   from its parent package, and its modules are tied into one reference cycle by a *keeper*
   object (each module's ``__spec__`` refers to it; so does each class of the tree that has no
   function of its own, whose instances would otherwise keep the class alive without its module).
   Anything the program still holds — an instance, a function, a class, a generator — therefore
   keeps the whole tree alive, and nothing else does.
2. ``gc.collect()`` runs; a weak reference to the keeper tells whether the tree died.
3. Dead: its memory is free (then ``malloc_trim(0)`` gives freed heap back to the OS on glibc), and
   the next import runs the module afresh; nothing of the old tree is left for new objects to be
   mixed with. Alive: nothing was freed, so the very same module objects are put back exactly
   where they were (``sys.modules``, the parent's attribute) and the report names what holds them.
   The program cannot tell that anything happened: the classes it holds are the ones
   ``import mod`` returns.

The alternative — keeping evicted originals weakly and re-installing them at the next import —
leaves a window in which ``sys.modules`` lacks a module whose classes are alive
(``typing.get_type_hints``, dataclasses and pickle look classes' modules up there), and it
frees nothing in exactly the cases it is needed for. Module-level state (caches, counters,
connections a module created at import) is lost when a tree is freed: that is why only names
listed in ``[tool.lazymed.memory] evictable`` can be evicted.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib.util
import sys
import threading
import time
import weakref
from types import FrameType, FunctionType, ModuleType
from typing import Any

from .. import _load
from .._cpython import DeadlockError, get_module_lock
from .._probe import rss_bytes
from .._registry import REGISTRY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["EvictionReport", "evict", "idle_evictable", "note_use_from_stacks"]

#: An evicted tree that comes back this many times is refused from then on: each re-import pays
#: its import again (measured: google.cloud.storage freed ~1 MiB and its re-import cost +14 MiB).
MAX_RELOADS = 2
#: Holder descriptions kept in a report.
MAX_HOLDERS = 8
_module_getattribute = ModuleType.__getattribute__
_LOCK = threading.Lock()  # one eviction at a time: they measure the same process
_KEEPER_ATTR = "_lazymed_keeper"


@dataclasses.dataclass(frozen=True)
class EvictionReport:
    """What ``evict(name)`` did.

    ``evicted``: whether the tree left the process. ``reason``: why not (``None`` when evicted).
    ``modules``: names of the tree, removed from ``sys.modules`` (when evicted) or that would have
    been. ``survived``: those whose module objects were still alive after ``gc.collect()`` (then
    they were put back and ``evicted`` is False). ``holders``: what still holds the tree's
    objects, e.g. ``"Document instance held by app.rag.INDEX"`` (bounded search). Memory figures
    are bytes read from this process before and after (``rss``: ``/proc/self/statm``; ``uss``:
    psutil ``memory_full_info()``, ``None`` without psutil or permission; ``traced``:
    ``tracemalloc.get_traced_memory()[0]`` when tracing, else ``None``). ``freed_bytes`` is the
    USS drop (else the RSS drop), never negative: bytes really given back to the OS.
    ``malloc_trim``: ``"done"`` or why not. ``evictions`` / ``reloads``: how often this name was
    evicted and then loaded again. ``seconds``: time taken.
    """

    name: str
    evicted: bool
    reason: str | None
    modules: tuple[str, ...] = ()
    survived: tuple[str, ...] = ()
    holders: tuple[str, ...] = ()
    rss_before: int | None = None
    rss_after: int | None = None
    uss_before: int | None = None
    uss_after: int | None = None
    traced_before: int | None = None
    traced_after: int | None = None
    freed_bytes: int = 0
    malloc_trim: str | None = None
    evictions: int = 0
    reloads: int = 0
    seconds: float = 0.0

    @property
    def freed_traced_bytes(self) -> int | None:
        """Drop of tracemalloc's live bytes (``None`` when not tracing), never negative."""
        if self.traced_before is None or self.traced_after is None:
            return None
        return max(0, self.traced_before - self.traced_after)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (stable keys)."""
        out = dataclasses.asdict(self)
        out["freed_traced_bytes"] = self.freed_traced_bytes
        return out


class _History:
    __slots__ = ("evictions", "reloads")

    def __init__(self) -> None:
        self.evictions = 0
        self.reloads = 0


# name -> eviction history. A name evicted before that is loaded again at the next evict() came
# back once per earlier eviction.
_HISTORY: dict[str, _History] = {}
# name -> time.monotonic() of the last time its code was seen on a thread's stack.
_LAST_USE: dict[str, float] = {}


class _Keeper:
    """Ties an evicted tree's modules into one reference cycle (see the module docstring)."""

    __slots__ = ("__weakref__", "classes", "modules")

    def __init__(self, modules: dict[str, ModuleType]) -> None:
        self.modules = modules
        self.classes: list[type] = []


# ------------------------------------------------------------------------------------ checks


def _covers(prefixes: Iterable[str], name: str) -> str | None:
    for prefix in prefixes:
        if name == prefix or name.startswith(prefix + "."):
            return prefix
    return None


def _evictable_names() -> tuple[str, ...]:
    config = REGISTRY.config
    memory = None if config is None else config.table.get("memory")
    names = memory.get("evictable", ()) if isinstance(memory, dict) else ()
    return tuple(names) if isinstance(names, list | tuple) else ()


def _tree(name: str) -> dict[str, ModuleType]:
    dotted = name + "."
    return {
        key: module
        for key, module in list(sys.modules.items())
        if (key == name or key.startswith(dotted)) and isinstance(module, ModuleType)
    }


def _namespace(module: ModuleType) -> dict[str, object]:
    namespace: dict[str, object] = _module_getattribute(module, "__dict__")
    return namespace


def _is_extension(module: ModuleType) -> bool:
    from importlib.machinery import EXTENSION_SUFFIXES, BuiltinImporter, ExtensionFileLoader

    spec = _namespace(module).get("__spec__")
    loader = getattr(spec, "loader", None)
    if isinstance(loader, ExtensionFileLoader) or loader is BuiltinImporter:
        return True
    origin = getattr(spec, "origin", None) or _namespace(module).get("__file__")
    return isinstance(origin, str) and origin.endswith(tuple(EXTENSION_SUFFIXES))


def _running(dict_ids: set[int]) -> str | None:
    """``"thread T runs mod.func (file:line)"`` for the first frame of the tree's code on any
    thread's stack (``sys._current_frames``), else None. Generators and coroutines suspended
    outside a stack are not "running": they hold the tree, which is then put back."""
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, top in sys._current_frames().items():
        frame: FrameType | None = top
        while frame is not None:
            if id(frame.f_globals) in dict_ids:
                code = frame.f_code
                return (
                    f"thread {names.get(ident, ident)!r} is running "
                    f"{frame.f_globals.get('__name__')}.{code.co_name} "
                    f"({code.co_filename}:{frame.f_lineno})"
                )
            frame = frame.f_back
    return None


def _refusal(name: str, tree: dict[str, ModuleType]) -> str | None:
    """Why ``name`` must not be evicted, or None."""
    if REGISTRY.config is None or not REGISTRY.installed:
        return "lazymed is not installed: only names listed in [tool.lazymed.memory] evictable"
    if _covers(_evictable_names(), name) is None:
        return (
            f"{name!r} is not listed in [tool.lazymed.memory] evictable (opt-in: eviction loses "
            "module-level state, see docs/eviction.md)"
        )
    critical = [c for c in REGISTRY.critical if _covers((name,), c) or _covers((c,), name)]
    if critical:
        return f"{name!r} overlaps critical module {critical[0]!r}: critical modules stay loaded"
    if not tree:
        return f"{name!r} is not imported: nothing to free"
    root = tree.get(name)
    if root is not None and _load.pending(root) is not None:
        return f"{name!r} is still lazy (its code has not run): nothing to free"
    for key, module in tree.items():
        spec = _namespace(module).get("__spec__")
        record = REGISTRY.records.get(key)
        loading = record is not None and record.state == "loading"
        if getattr(spec, "_initializing", False) or loading:
            return f"{key!r} is loading"
    extensions = sorted(key for key, module in tree.items() if _is_extension(module))
    if extensions:
        return (
            f"the tree holds C extension module(s) {', '.join(extensions[:5])}: CPython never "
            "unloads them and some refuse a second initialisation (numpy: 'cannot load module "
            "more than once per process'); run it in a worker process (lazymed.isolate)"
        )
    history = _HISTORY.get(name)
    if history is not None and history.reloads >= MAX_RELOADS:
        return (
            f"{name!r} was evicted {history.evictions} times and loaded again each time: "
            "every re-import pays the import again and usually costs more than eviction gave "
            "back; run it in a worker process (lazymed.isolate) instead"
        )
    running = _running({id(_namespace(m)) for m in tree.values()})
    if running is not None:
        return f"{name!r} is being called: {running}"
    return None


# ------------------------------------------------------------------------------------ holders


def _tree_object(value: object, names: frozenset[str], dict_ids: set[int]) -> str | None:
    """A short description of ``value`` if it belongs to the tree (never runs its code)."""
    kind = type(value)
    if isinstance(value, ModuleType):
        mod_name = _namespace(value).get("__name__")
        return f"module {mod_name}" if mod_name in names else None
    if kind is FunctionType:
        assert isinstance(value, FunctionType)
        if id(value.__globals__) in dict_ids:
            return f"function {value.__module__}.{value.__qualname__}"
        return None
    if isinstance(value, type):
        module = type.__dict__["__module__"].__get__(value)
        if module in names:
            return f"class {module}.{value.__qualname__}"
        return None
    owner = kind.__module__
    if owner in names:
        return f"{kind.__qualname__} instance"
    return None


def _scan_globals(
    names: frozenset[str], dict_ids: set[int], skip: tuple[str, str] | None
) -> list[str]:
    """Tree objects bound in other modules' globals (and one level into their containers)."""
    found: list[str] = []
    for mod_name, module in list(sys.modules.items()):
        if mod_name in names or not isinstance(module, ModuleType):
            continue
        try:
            namespace = _namespace(module)
        except Exception:  # a scanner must not fail on an odd module
            continue
        for key, value in list(namespace.items()):
            if (mod_name, key) == skip or value is sys.modules:
                continue
            what = _tree_object(value, names, dict_ids)
            if what is not None:
                found.append(f"{what} held by {mod_name}.{key}")
            elif isinstance(value, list | tuple | set | frozenset | dict) and len(value) <= 10_000:
                for item in _values(value):
                    what = _tree_object(item, names, dict_ids)
                    if what is not None:
                        found.append(f"{what} in {mod_name}.{key}")
                        break
            if len(found) >= MAX_HOLDERS:
                return found
    return found


def _holder_name(holder: object, value: object) -> str:
    """Who ``holder`` is, for a report: ``"app.rag.INDEX"``, ``"a local variable of f (file:
    line)"``, ``"a dict (3 items)"``, ``"a typing._UnionGenericAlias"``."""
    if isinstance(holder, FrameType):
        code = holder.f_code
        return f"a local variable of {code.co_name} ({code.co_filename}:{holder.f_lineno})"
    if type(holder).__name__ == "cell":
        return "a closure cell"
    if isinstance(holder, dict):
        for mod_name, module in list(sys.modules.items()):
            if isinstance(module, ModuleType) and _namespace(module) is holder:
                key = next((k for k, v in holder.items() if v is value), "?")
                return f"{mod_name}.{key}"
        return f"a dict ({len(holder)} items)"
    if type(holder).__name__ == "_lru_cache_wrapper":
        wrapped = getattr(holder, "__wrapped__", None)
        where = f"{getattr(wrapped, '__module__', '?')}.{getattr(wrapped, '__qualname__', '?')}"
        return f"the functools.lru_cache of {where}"
    if isinstance(holder, type):
        name = f"class {type.__dict__['__module__'].__get__(holder)}.{holder.__qualname__}"
        if value is holder.__mro__ or value is holder.__bases__:
            return f"{name} (a subclass defined outside the tree)"
        return name
    kind = type(holder)
    return f"a {kind.__module__}.{kind.__qualname__}"


def _owned(keeper: _Keeper, names: frozenset[str]) -> dict[int, object]:
    """Every object reachable from the tree's modules without crossing into shared code: the
    walk stops at other modules and their namespaces, classes defined elsewhere and functions
    of other modules (``gc.get_referents``, one visit per object)."""
    tree_ids = {id(m) for m in keeper.modules.values()}
    dict_ids = {id(_namespace(m)) for m in keeper.modules.values()}
    foreign_dicts = {
        id(_namespace(m))
        for m in list(sys.modules.values())
        if isinstance(m, ModuleType) and id(m) not in tree_ids
    }
    owned: dict[int, object] = {}
    stack: list[object] = list(keeper.modules.values())
    while stack:
        obj = stack.pop()
        key = id(obj)
        if key in owned:
            continue
        if isinstance(obj, ModuleType):
            if key not in tree_ids:
                continue
        elif isinstance(obj, type):
            if type.__dict__["__module__"].__get__(obj) not in names:
                continue
        elif isinstance(obj, FunctionType):
            if id(obj.__globals__) not in dict_ids:
                continue
        elif key in foreign_dicts:
            continue
        owned[key] = obj
        stack.extend(gc.get_referents(obj))
    return owned


def _search_holders(keeper: _Keeper, names: frozenset[str]) -> list[str]:
    """What keeps a surviving tree alive: the objects outside what the tree owns (see
    :func:`_owned`) that refer into it, found with one ``gc.get_objects()`` pass and the locals
    of every running frame; an anonymous holder (a tuple, a dict) is named by who holds it
    (one ``gc.get_referrers`` call). At most :data:`MAX_HOLDERS`."""
    owned = _owned(keeper, names)
    dict_ids = {id(_namespace(m)) for m in keeper.modules.values()}
    # What identity matters for: the tree's modules, classes, functions and their instances.
    core = {
        key
        for key, obj in owned.items()
        if gc.is_tracked(obj) and _tree_object(obj, names, dict_ids) is not None
    }
    core.update(id(_namespace(m)) for m in keeper.modules.values())
    found: list[tuple[object, str, object]] = []
    seen: set[int] = set()
    frame = sys._getframe()

    def what(value: object) -> str:
        return _tree_object(value, names, dict_ids) or "the namespace of a module of the tree"

    everything = gc.get_objects()
    ours = {id(owned), id(everything), id(found), id(frame), id(keeper), id(seen), id(core)}
    # Tree objects living outside what the tree reaches (instances the program made, functions
    # a library copied): the question is then who holds *them*.
    escaped: list[object] = []
    for obj in everything:
        if len(found) >= MAX_HOLDERS or len(escaped) >= MAX_HOLDERS:
            break
        key = id(obj)
        if key in owned or key in ours or isinstance(obj, FrameType):
            continue
        for value in gc.get_referents(obj):
            if id(value) in core and key not in seen:
                seen.add(key)
                if _tree_object(obj, names, dict_ids) is not None:
                    escaped.append(obj)
                else:
                    found.append((obj, what(value), value))
                break
    del everything
    locals_ids: set[int] = set()
    if escaped:
        targets = {id(obj): obj for obj in escaped}
        ours.update({id(escaped), id(targets)})
        # Running frames are not gc objects: read the locals of every thread's stack.
        for top in sys._current_frames().values():
            walk: FrameType | None = top
            while walk is not None and len(found) < MAX_HOLDERS:
                if walk.f_code.co_filename != __file__:
                    f_locals = walk.f_locals
                    if f_locals is not walk.f_globals:  # a module's frame: its namespace
                        locals_ids.add(id(f_locals))
                    for value in f_locals.values():
                        if id(value) in targets:
                            found.append((walk, what(value), value))
                            break
                walk = walk.f_back
        del top, walk
        ours.update(id(entry) for entry in found)
        for referrer in gc.get_referrers(*escaped):
            if len(found) >= MAX_HOLDERS:
                break
            if id(referrer) in ours or id(referrer) in targets or id(referrer) in locals_ids:
                continue
            if isinstance(referrer, FrameType):
                continue
            for value in gc.get_referents(referrer):
                if id(value) in targets:
                    found.append((referrer, what(value), value))
                    break
        del targets
    del escaped
    texts = [f"{text} held by {_holder_name(holder, value)}" for holder, text, value in found]
    # A tuple or an anonymous dict says little: look up to three levels at who holds those.
    # (Only ids and one tuple of holders are kept, so no structure of ours refers to them.)
    holders = [holder for holder, _, _ in found]
    indexes = list(range(len(found)))
    ours.update(id(entry) for entry in found)
    for _level in range(3):
        keep = [i for i, h in enumerate(holders) if _anonymous(h, texts[indexes[i]])]
        if not keep:
            break
        containers = tuple(holders[i] for i in keep)
        wanted = {id(holders[i]): indexes[i] for i in keep}
        holders, indexes = [], []
        ours.update({id(containers), id(holders), id(indexes), id(wanted)})
        for referrer in gc.get_referrers(*containers):
            if id(referrer) in ours or id(referrer) in locals_ids:
                continue
            if isinstance(referrer, FrameType):
                continue
            for value in gc.get_referents(referrer):
                index = wanted.pop(id(value), None)
                if index is not None:
                    texts[index] += f", in turn held by {_holder_name(referrer, value)}"
                    holders.append(referrer)
                    indexes.append(index)
                    break
            if not wanted:
                break
        del containers
    del holders
    del found, owned
    if not texts:
        texts.append(
            "no holder found outside what the tree reaches itself: a registry or cache of a "
            "shared package reachable from the tree (pydantic, typing, abc) may hold it"
        )
    return list(dict.fromkeys(texts))[:MAX_HOLDERS]


def _anonymous(holder: object, text: str) -> bool:
    return type(holder) in (tuple, list, set, frozenset) or (
        type(holder) is dict and text.endswith(" items)")
    )


def _values(container: object) -> Iterator[object]:
    if isinstance(container, dict):
        yield from container.values()
    elif isinstance(container, list | tuple | set | frozenset):
        yield from container


# ------------------------------------------------------------------------------------ measure


def _uss() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    try:
        return int(psutil.Process().memory_full_info().uss)
    except (psutil.Error, OSError, AttributeError):
        return None


def _traced() -> int | None:
    import tracemalloc

    return tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None


def _malloc_trim() -> str:
    from .._startup import malloc_trim

    return malloc_trim()


# ------------------------------------------------------------------------------------ unload


def _unload(
    name: str,
) -> tuple[weakref.ref[_Keeper], tuple[str, str] | None, dict[str, str], tuple[str, ...]]:
    """Take the tree out (the core's ``unload``) and tie it to a keeper. Returns only a weak
    reference to the keeper, so no frame of ours keeps the tree alive."""
    tree, binding, states = _load.unload(name)
    keeper = _Keeper(tree)
    dict_ids = {id(_namespace(m)) for m in tree.values()}
    for module in tree.values():
        namespace = _namespace(module)
        spec = namespace.get("__spec__")
        try:
            setattr(spec, _KEEPER_ATTR, keeper)
        except (AttributeError, TypeError):
            namespace[f"__{_KEEPER_ATTR}__"] = keeper
        for value in list(namespace.values()):
            if isinstance(value, type) and _owns_no_function(value, dict_ids):
                try:
                    type.__setattr__(value, _KEEPER_ATTR, keeper)
                    keeper.classes.append(value)
                except (AttributeError, TypeError):  # a static or immutable type
                    pass
    names = tuple(sorted(tree))
    ref = weakref.ref(keeper)
    del keeper, tree, module, namespace, spec
    return ref, binding, states, names


def _owns_no_function(cls: type, dict_ids: set[int]) -> bool:
    for value in vars(cls).values():
        func = getattr(value, "__func__", value)  # classmethod, staticmethod
        if isinstance(value, property):
            func = value.fget
        if isinstance(func, FunctionType) and id(func.__globals__) in dict_ids:
            return False
    return True


def _untie(keeper: _Keeper) -> None:
    for module in keeper.modules.values():
        namespace = _namespace(module)
        namespace.pop(f"__{_KEEPER_ATTR}__", None)
        spec = namespace.get("__spec__")
        if spec is not None and _KEEPER_ATTR in getattr(spec, "__dict__", {}):
            delattr(spec, _KEEPER_ATTR)
    for cls in keeper.classes:
        if _KEEPER_ATTR in cls.__dict__:
            type.__delattr__(cls, _KEEPER_ATTR)
    keeper.classes = []


def _put_back(keeper: _Keeper, binding: tuple[str, str] | None, states: dict[str, str]) -> None:
    """Re-install the very same module objects where they were (the core's ``reinstate``)."""
    _untie(keeper)
    _load.reinstate(keeper.modules, binding, states)


# ------------------------------------------------------------------------------------ public


def evict(name: str) -> EvictionReport:
    """Take the loaded module tree ``name`` (and its submodules) out of the process.

    Returns an :class:`EvictionReport`: modules removed, bytes really freed (USS/RSS before and
    after, tracemalloc when tracing), and, when the program still holds the tree's objects, what
    holds them — the tree is then put back unchanged (nothing was freed). The next import of an
    evicted name runs its code afresh. Refuses (``evicted=False`` with ``reason``, nothing
    changed): lazymed not installed, ``name`` not listed in ``[tool.lazymed.memory] evictable``,
    overlapping a critical module, not imported or still lazy, loading, being called (a frame of
    its code on any thread's stack, ``sys._current_frames``), holding a C extension, held by
    another module's globals (nothing would be freed), or evicted and reloaded
    :data:`MAX_RELOADS` times (use isolation). Raises ConfigError for a malformed name.
    Never raises for a module that cannot be evicted.
    """
    from .._validate import check_module_name

    check_module_name(name, "lazymed.evict()")
    t0 = time.perf_counter()
    # importlib's lock for the name (re-entrant; taken before ours, as an import inside a load
    # would): an import of the tree waits until it is gone or back, never meets it half-way.
    lock = get_module_lock(name)
    try:
        lock.acquire()
    except DeadlockError:
        report = EvictionReport(name, False, f"{name!r} is being imported by another thread")
    else:
        try:
            with _LOCK:
                report = _evict_locked(name)
        finally:
            lock.release()
    return dataclasses.replace(report, seconds=time.perf_counter() - t0)


def _evict_locked(name: str) -> EvictionReport:
    tree = _tree(name)
    history = _HISTORY.setdefault(name, _History())
    if history.evictions > history.reloads and name in tree:
        history.reloads = history.evictions  # it came back after each earlier eviction
    evictions, reloads = history.evictions, history.reloads
    reason = _refusal(name, tree)
    names = frozenset(tree)
    holders: list[str] = []
    if reason is None:
        dict_ids = {id(_namespace(m)) for m in tree.values()}
        parent_name, _, key = name.rpartition(".")
        holders = _scan_globals(names, dict_ids, (parent_name, key) if parent_name else None)
        if holders:
            reason = (
                "nothing would be freed: the program holds its objects ("
                + "; ".join(holders)
                + "). Import it inside the functions that use it, and drop those references"
            )
        del dict_ids
    if reason is not None:
        return EvictionReport(
            name,
            False,
            reason,
            tuple(sorted(tree)),
            holders=tuple(holders),
            evictions=evictions,
            reloads=reloads,
        )
    del tree
    gc.collect()
    rss0, uss0, traced0 = rss_bytes(), _uss(), _traced()
    ref, binding, states, removed = _unload(name)
    gc.collect()
    keeper = ref()
    if keeper is not None:
        holders_found = _search_holders(keeper, names)
        _put_back(keeper, binding, states)
        del keeper
        return EvictionReport(
            name,
            False,
            "nothing was freed: its objects are still held"
            + (f" ({'; '.join(holders_found)})" if holders_found else "")
            + "; it was put back unchanged",
            removed,
            survived=removed,
            holders=tuple(holders_found),
            rss_before=rss0,
            uss_before=uss0,
            traced_before=traced0,
            rss_after=rss_bytes(),
            uss_after=_uss(),
            traced_after=_traced(),
            evictions=evictions,
            reloads=reloads,
        )
    _clear_linecache(removed)
    trim = _malloc_trim()
    rss1, uss1, traced1 = rss_bytes(), _uss(), _traced()
    history.evictions += 1
    _record_evicted(removed)
    if uss0 is not None and uss1 is not None:
        freed = max(0, uss0 - uss1)
    elif rss0 is not None and rss1 is not None:
        freed = max(0, rss0 - rss1)
    else:
        freed = 0
    return EvictionReport(
        name,
        True,
        None,
        removed,
        rss_before=rss0,
        rss_after=rss1,
        uss_before=uss0,
        uss_after=uss1,
        traced_before=traced0,
        traced_after=traced1,
        freed_bytes=freed,
        malloc_trim=trim,
        evictions=history.evictions,
        reloads=history.reloads,
    )


def _record_evicted(names: tuple[str, ...]) -> None:
    for key in names:
        record = REGISTRY.records.get(key)
        if record is not None:
            record.evicted()  # status() counts it; the next load counts a reload


def _clear_linecache(names: tuple[str, ...]) -> None:
    # linecache keeps the source lines of every file a traceback showed: free those too.
    import linecache

    prefixes = tuple(n.replace(".", "/") for n in names)
    for filename in list(linecache.cache):
        if any(p in filename for p in prefixes):
            linecache.cache.pop(filename, None)


def note_use_from_stacks() -> None:
    """Record, for each evictable name, that its code is on a thread's stack now
    (``time.monotonic()``): the "last use" that :func:`idle_evictable` orders by. The governor
    calls it at every sample; a module used only between samples looks idle, which is why
    :func:`evict` checks the stacks again and puts back a tree the program still holds."""
    evictable = _evictable_names()
    if not evictable:
        return
    stamp = time.monotonic()
    for top in sys._current_frames().values():
        frame: FrameType | None = top
        while frame is not None:
            mod_name = frame.f_globals.get("__name__")
            if isinstance(mod_name, str):
                prefix = _covers(evictable, mod_name)
                if prefix is not None:
                    _LAST_USE[prefix] = stamp
                    record = REGISTRY.records.get(prefix)
                    if record is not None:
                        record.last_used = stamp
            frame = frame.f_back


def idle_evictable(min_idle_s: float = 0.0) -> list[str]:
    """Evictable names that are loaded, least recently used first (names never seen in use come
    first, in configuration order). Names refused for good (reloaded too often) are left out."""
    note_use_from_stacks()
    now = time.monotonic()
    out: list[tuple[float, int, str]] = []
    for index, name in enumerate(_evictable_names()):
        module = sys.modules.get(name)
        if module is None:
            continue
        history = _HISTORY.get(name)
        if history is not None and history.reloads >= MAX_RELOADS:
            continue
        last = _LAST_USE.get(name, float("-inf"))
        if now - last >= min_idle_s:
            out.append((last, index, name))
    return [name for _, _, name in sorted(out)]


# ------------------------------------------------------------------------------------ governor


def _evict_action(context: Any) -> dict[str, object]:
    """Evict idle ``evictable`` modules, least recently used first, until RSS is under the
    budget or none is left. Each eviction's own report (freed bytes, holders, refusals) goes in
    the action report's ``data["evictions"]``."""
    candidates = idle_evictable()
    if not candidates:
        from ._actions import ActionUnavailable

        raise ActionUnavailable(
            "no loaded module listed in [tool.lazymed.memory] evictable (or each was reloaded "
            f"{MAX_RELOADS} times after eviction)"
        )
    reports: list[EvictionReport] = []
    for name in candidates:
        if reports and not context.over_budget():
            break
        reports.append(evict(name))
    done = [r.name for r in reports if r.evicted]
    freed = sum(r.freed_bytes for r in reports)
    return {
        "detail": f"evicted {', '.join(done) or 'nothing'} ({freed} bytes freed by USS/RSS); "
        f"refused {len(reports) - len(done)}",
        "evictions": [r.as_dict() for r in reports],
    }


def _register() -> None:
    from ._actions import ORDER_EVICT, add_action

    add_action(
        "evict",
        _evict_action,
        level="emergency",
        order=ORDER_EVICT,
        description="evict idle [tool.lazymed.memory] evictable modules, least recently used "
        "first, until under budget_mb (lazymed.evict)",
        replace=True,
    )


# Join the governor's emergency chain (memory/_actions.py, the action registry) where it exists.
if importlib.util.find_spec(f"{__package__}._actions") is not None:
    _register()

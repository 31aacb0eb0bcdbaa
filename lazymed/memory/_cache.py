"""Bounded caches: LRU by estimated bytes (cachetools), cleared by the critical and emergency
chains, counted in the snapshot.

How bytes are estimated (:func:`estimate_bytes`): ``sys.getsizeof`` of the key and the value plus,
recursively, of what they contain: items of lists, tuples, sets and dicts, an instance's
``__dict__`` and ``__slots__`` values. Each object is counted once per entry. Not followed:
modules, classes, functions (shared with the program, not owned by the entry), ``None``,
CPython's cached small ints (-5..256) and attribute names (interned). Objects that
hold memory outside the Python heap without reporting it in ``__sizeof__`` (e.g. a C
library's buffers) are undercounted; NumPy arrays that own their data report it. Measured
against tracemalloc's count of the same 2,000 entries (tests/memory/test_cache.py, Python
3.11): str 0.99, bytes 1.00, list of str 0.99, dict of str 0.99, small objects holding a list,
a dict and shared constant strings 1.18 (the test allows 0.75-1.25). Sharing between entries
(the same object in two values, constants from code) makes the estimate higher than what was
really allocated.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys
import threading
import types
import weakref
from collections.abc import Callable, Hashable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import cachetools

from ._actions import ORDER_CLEAR_CACHES, add_action

MB = 1024 * 1024
F = TypeVar("F", bound=Callable[..., Any])

_SHARED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)
_MAX_OBJECTS = 100_000  # bound the walk: a huge value is "at least this big"


def estimate_bytes(*objects: object) -> int:
    """Estimated bytes owned by ``objects`` (see the module docstring for the rule)."""
    seen: set[int] = set()
    stack = list(objects)
    total = 0
    while stack and len(seen) < _MAX_OBJECTS:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _SHARED) or obj is None:
            continue
        if type(obj) is int and -5 <= obj <= 256:  # cached by CPython
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, str | bytes | bytearray | int | float | complex | bool):
            continue
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        else:
            inst_dict = getattr(obj, "__dict__", None)
            if isinstance(inst_dict, dict):
                # Attribute names are interned and shared by every instance: values only.
                seen.add(id(inst_dict))
                total += sys.getsizeof(inst_dict)
                stack.extend(inst_dict.values())
            for slot in getattr(type(obj), "__slots__", ()):
                if isinstance(slot, str) and hasattr(obj, slot):
                    stack.append(getattr(obj, slot))
    return total


@dataclasses.dataclass(frozen=True, slots=True)
class CacheStats:
    """One cache's counters: ``hits``, ``misses``; ``entries``; ``size_bytes`` (estimated) of
    ``max_bytes``; ``rejected``: values larger than the whole cache (not stored); ``clears``:
    times a governor chain (or :meth:`BoundedCache.clear`) emptied it."""

    name: str
    hits: int
    misses: int
    entries: int
    size_bytes: int
    max_bytes: int
    rejected: int
    clears: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)


def _cachetools() -> Any:
    """cachetools (the ``memory`` extra), imported where caches are made: ``import
    lazymed.memory`` does not need it. Raises ModuleNotFoundError naming the extra."""
    try:
        import cachetools
        import cachetools.keys
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "lazymed.memory.cache() needs the 'memory' extra (cachetools): "
            f"pip install 'lazymed[memory]' (missing: {exc.name})",
            name=exc.name,
        ) from exc
    return cachetools


class _Entry:
    __slots__ = ("size", "value")

    def __init__(self, value: object, size: int) -> None:
        self.value = value
        self.size = size


# id -> weak reference (a mapping is unhashable, so no WeakSet); dropped when the cache dies.
_CACHES: dict[int, weakref.ref[BoundedCache]] = {}
_CACHES_LOCK = threading.Lock()


class BoundedCache(MutableMapping[Hashable, Any]):
    """A mapping (and a decorator) that keeps at most ``max_mb`` megabytes of estimated bytes,
    dropping least recently used entries first. Thread-safe. Made by :func:`cache`."""

    def __init__(self, max_mb: float = 25, *, name: str | None = None) -> None:
        if (
            isinstance(max_mb, bool)
            or not isinstance(max_mb, int | float)
            or not math.isfinite(max_mb)
            or max_mb <= 0
        ):
            raise ValueError(f"max_mb must be a finite number > 0, got {max_mb!r}")
        self.name = name or f"cache-{id(self):x}"
        self.max_bytes = int(max_mb * MB)
        lib = _cachetools()
        self._lru: cachetools.LRUCache[Hashable, _Entry] = lib.LRUCache(
            maxsize=self.max_bytes, getsizeof=lambda entry: entry.size
        )
        self._lock = threading.RLock()
        self.hits = self.misses = self.rejected = self.clears = 0
        key = id(self)

        def forget(_ref: object) -> None:
            with _CACHES_LOCK:
                _CACHES.pop(key, None)

        with _CACHES_LOCK:
            _CACHES[key] = weakref.ref(self, forget)

    # -- mapping
    def __getitem__(self, key: Hashable) -> Any:
        with self._lock:
            try:
                entry = self._lru[key]
            except KeyError:
                self.misses += 1
                raise
            self.hits += 1
            return entry.value

    def __setitem__(self, key: Hashable, value: Any) -> None:
        size = estimate_bytes(key, value)
        with self._lock:
            if size > self.max_bytes:
                self.rejected += 1
                self._lru.pop(key, None)
                return
            self._lru[key] = _Entry(value, size)

    def __delitem__(self, key: Hashable) -> None:
        with self._lock:
            del self._lru[key]

    def __iter__(self) -> Iterator[Hashable]:
        with self._lock:
            return iter(list(self._lru))

    def __len__(self) -> int:
        return len(self._lru)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._lru

    def clear(self) -> None:
        """Drop every entry (counted in ``clears``)."""
        with self._lock:
            self._lru.clear()
            self.clears += 1

    @property
    def size_bytes(self) -> int:
        """Estimated bytes held now."""
        return int(self._lru.currsize)

    def stats(self) -> CacheStats:
        """The counters, as :class:`CacheStats`."""
        with self._lock:
            return CacheStats(
                self.name,
                self.hits,
                self.misses,
                len(self._lru),
                int(self._lru.currsize),
                self.max_bytes,
                self.rejected,
                self.clears,
            )

    # -- decorator
    def __call__(self, fn: F) -> F:
        """Memoise ``fn`` in this cache, keyed by its arguments (``cachetools.keys.hashkey``
        plus the function's qualified name, so one cache can serve several functions)."""
        tag = f"{fn.__module__}.{fn.__qualname__}"
        hashkey = _cachetools().keys.hashkey

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = (tag, hashkey(*args, **kwargs))
            with self._lock:
                entry = self._lru.get(key)
                if entry is not None:
                    self.hits += 1
                    return entry.value
                self.misses += 1
            value = fn(*args, **kwargs)  # outside the lock: fn may be slow or re-entrant
            self[key] = value
            return value

        wrapper.cache = self  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (
            f"<BoundedCache {self.name!r} {len(self)} entries, "
            f"{self.size_bytes} of {self.max_bytes} bytes>"
        )


def cache(max_mb: float = 25, *, name: str | None = None) -> BoundedCache:
    """A bounded LRU cache of at most ``max_mb`` megabytes (MiB) of estimated bytes.

    Use it as a mapping (``c = cache(10); c[key] = value``) or as a decorator
    (``@cache(max_mb=25)`` above a function). Registered so the critical and emergency chains
    clear it (action ``clear_caches``); its hits, misses and size appear in ``snapshot()``.
    Raises ValueError for ``max_mb <= 0`` or not a finite number. Needs the ``memory`` extra
    (cachetools).
    """
    return BoundedCache(max_mb, name=name)


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time would stay held forever in the child (only
    # the forking thread survives): every cache gets fresh locks, as the governor's do.
    global _CACHES_LOCK
    _CACHES_LOCK = threading.Lock()
    for ref in list(_CACHES.values()):
        bounded = ref()
        if bounded is not None:
            bounded._lock = threading.RLock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def caches() -> list[BoundedCache]:
    """Every live cache made by :func:`cache`."""
    with _CACHES_LOCK:
        refs = list(_CACHES.values())
    return [c for c in (ref() for ref in refs) if c is not None]


def _clear_caches_action(context: object) -> dict[str, Any]:
    """Clear every lazymed.memory.cache()."""
    entries = 0
    estimated = 0
    names = []
    for c in caches():
        stats = c.stats()
        entries += stats.entries
        estimated += stats.size_bytes
        names.append(c.name)
        c.clear()
    return {
        "detail": f"cleared {len(names)} caches: {entries} entries, ~{estimated} estimated bytes",
        "caches": names,
        "entries": entries,
        "estimated_bytes": estimated,
    }


add_action("clear_caches", _clear_caches_action, level="critical", order=ORDER_CLEAR_CACHES)

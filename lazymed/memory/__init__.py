"""lazymed.memory: the memory governor (monitor, levels, actions, bounded caches, snapshot).

A layer above the core: ``import lazymed`` never imports it; psutil and cachetools (the
``memory`` extra) are imported here only. Full reference: docs/memory.md.

- :func:`start` / :func:`stop`: the monitor thread (one daemon thread at most; restarted in a
  forked child). :func:`on_level` registers a callback for level, VMS and leak events.
- :func:`optimize`: run an action chain now; returns the :class:`ChainReport` (what each action
  really freed, measured from the process).
- :func:`add_action` / :func:`remove_action`: the action registry (how lazymed.isolate and
  eviction join the emergency chain, and how users add theirs).
- :func:`cache`: a bounded LRU cache (mapping and decorator), cleared under pressure.
- :func:`snapshot`: everything above as one :class:`MemorySnapshot` with ``as_dict()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module as _import_module
from importlib.util import find_spec as _find_spec
from typing import Any

try:  # the layer's dependency: say which extra brings it (cachetools: only cache() needs it)
    import psutil as _psutil  # noqa: F401
except ModuleNotFoundError as _exc:
    raise ModuleNotFoundError(
        f"lazymed.memory needs the 'memory' extra (psutil): "
        f"pip install 'lazymed[memory]' (missing: {_exc.name})",
        name=_exc.name,
    ) from _exc

from ._actions import (
    ORDER_CLEAR_CACHES,
    ORDER_EVICT,
    ORDER_GC,
    ORDER_MALLOC_TRIM,
    ORDER_STOP_ISOLATED,
    ORDER_USER,
    Action,
    ActionContext,
    ActionReport,
    ActionUnavailable,
    ChainReport,
    add_action,
    registered,
    remove_action,
)
from ._cache import BoundedCache, CacheStats, cache, caches, estimate_bytes
from ._governor import MONITOR as _MONITOR
from ._governor import Event
from ._leak import LeakVerdict
from ._sample import Cgroup, Pressure, Sample, Sampler
from ._settings import Settings
from ._snapshot import MemorySnapshot, add_provider, snapshot

__all__ = [
    "ORDER_CLEAR_CACHES",
    "ORDER_EVICT",
    "ORDER_GC",
    "ORDER_MALLOC_TRIM",
    "ORDER_STOP_ISOLATED",
    "ORDER_USER",
    "Action",
    "ActionContext",
    "ActionReport",
    "ActionUnavailable",
    "BoundedCache",
    "CacheStats",
    "Cgroup",
    "ChainReport",
    "Event",
    "LeakVerdict",
    "MemorySnapshot",
    "Pressure",
    "Sample",
    "Sampler",
    "Settings",
    "add_action",
    "add_provider",
    "cache",
    "caches",
    "configure",
    "estimate_bytes",
    "level",
    "on_level",
    "optimize",
    "registered",
    "remove_action",
    "running",
    "snapshot",
    "start",
    "step",
    "stop",
]


def configure(
    table: Mapping[str, Any] | None = None, *, sampler: Sampler | None = None
) -> Settings:
    """(Re)configure the governor and return its :class:`Settings`.

    ``table``: a ``[tool.lazymed.memory]`` table (validated like the file's; missing keys take
    their defaults); default: the installed config, else the project's pyproject.toml.
    ``sampler``: where readings come from (tests pass a scripted one). Resets levels, leak
    window and history. Raises ConfigError naming the file (or "install() keyword") and key.
    """
    describe: Callable[[str], str] | None = None
    if table is not None:
        from .._schema import MEMORY
        from .._validate import validate_table

        table = validate_table(dict(table), MEMORY, "lazymed.memory.configure() [memory]")
        describe = lambda key: "lazymed.memory.configure()"  # noqa: E731
    return _MONITOR.configure(table=table, sampler=sampler, describe=describe)


def start(table: Mapping[str, Any] | None = None, *, sampler: Sampler | None = None) -> bool:
    """Start the monitor thread: one reading every ``interval_s``; levels, events, actions.

    Configures first (see :func:`configure`) when given arguments or not yet configured.
    Returns True when running, False when ``enabled = false``. Idempotent.
    """
    if table is not None or sampler is not None:
        configure(table, sampler=sampler)
    return _MONITOR.start()


def stop(timeout: float = 5.0) -> None:
    """Stop the monitor thread, waiting at most ``timeout`` seconds."""
    _MONITOR.stop(timeout)


def running() -> bool:
    """True while the monitor thread runs."""
    return _MONITOR.running


def step(sample: Sample | None = None) -> list[Event]:
    """One monitor tick now (a reading, or ``sample``): returns the events it caused and runs
    the chain of a risen level. For callers that drive the governor without its thread."""
    return _MONITOR.step(sample)


def level() -> str:
    """The current level: ``"ok"``, ``"warning"``, ``"critical"`` or ``"emergency"``."""
    return _MONITOR.level


def on_level(callback: Callable[[Event], object]) -> Callable[[], None]:
    """Call ``callback(event)`` for every governor :class:`Event` (level changes, VMS alert,
    leak suspected/cleared), in the monitor's thread. Returns a function that removes it."""
    return _MONITOR.on_level(callback)


def optimize(level: str | None = None) -> ChainReport:
    """Run an action chain now and return its :class:`ChainReport`.

    ``level``: whose chain (``"warning"``, ``"critical"`` or ``"emergency"``); default the
    higher of the current level and ``"critical"`` (eviction and stopping isolated services
    run only at emergency, or when asked). Serialised with the monitor's own runs. Raises
    ValueError for an unknown level.
    """
    return _MONITOR.optimize(level)


# Eviction lives in memory/_evict.py (written with lazymed.evict()); importing it registers the
# "evict" emergency action. Until that file exists the chain simply has no such action.
if _find_spec(f"{__name__}._evict") is not None:
    _import_module(f"{__name__}._evict")

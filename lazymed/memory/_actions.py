"""The action registry and the chain that runs it; each action's report says what it really freed.

An *action* is a callable ``fn(context) -> detail`` registered for a level (``warning``,
``critical`` or ``emergency``) with an ``order``. The chain of a level is every action registered
for that level or a lower one, sorted by ``(order, name)``. Built-in and well-known orders:

====  ===============  =========  =====================================================
 10   ``gc``           warning    ``gc.collect()`` (built in)
 20   ``clear_caches`` critical   clear every ``lazymed.memory.cache`` (built in, _cache.py)
 30   ``stop_isolated`` emergency stop idle isolated services (registered by lazymed.isolate)
 40   ``evict``        emergency  evict idle ``evictable`` modules, LRU first (memory/_evict.py)
 50   (default)        emergency  user actions
 90   ``malloc_trim``  critical   glibc ``malloc_trim(0)``: last, to return what the others freed
====  ===============  =========  =====================================================

Layers above register themselves (``isolate -> memory``, never the reverse). The runner measures
RSS and USS of this process (psutil, ``/proc/self/smaps_rollup``) around every action, so an
action never reports bytes itself: ``rss_freed_bytes`` is ``max(0, before - after)``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

LEVELS = ("ok", "warning", "critical", "emergency")
ACTION_LEVELS = LEVELS[1:]

ORDER_GC = 10
ORDER_CLEAR_CACHES = 20
ORDER_STOP_ISOLATED = 30
ORDER_EVICT = 40
ORDER_USER = 50
ORDER_MALLOC_TRIM = 90


class ActionUnavailable(Exception):
    """Raise from an action to say it cannot run here (reported as ``"unavailable"`` with the
    message as its detail, e.g. ``"malloc_trim not available: not glibc (musl)"``)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ActionContext:
    """What an action is given.

    ``level``: the level whose chain runs (``"warning"``, ``"critical"``, ``"emergency"``).
    ``trigger``: ``"level"`` (the monitor entered ``level``) or ``"optimize"`` (on demand).
    ``budget_bytes``: the resolved ``budget_mb`` in bytes (eviction stops once under it).
    ``settings``: the resolved ``[tool.lazymed.memory]`` table (e.g. ``settings["evictable"]``).
    ``rss``: a function returning this process's RSS in bytes now.
    """

    level: str
    trigger: str
    budget_bytes: int | None
    settings: Mapping[str, Any]
    rss: Callable[[], int]

    def over_budget(self) -> bool:
        """True while RSS is above ``budget_bytes`` (False when there is no budget)."""
        return self.budget_bytes is not None and self.rss() > self.budget_bytes


#: An action: returns a detail string, a JSON-ready mapping (kept as the report's ``data``;
#: its ``"detail"`` key, if any, becomes the report's detail) or None.
ActionFn = Callable[[ActionContext], "str | Mapping[str, Any] | None"]


@dataclasses.dataclass(frozen=True, slots=True)
class Action:
    """A registered action (see the module docstring for orders)."""

    name: str
    fn: ActionFn
    level: str
    order: int
    description: str


@dataclasses.dataclass(frozen=True, slots=True)
class ActionReport:
    """What one action did, measured from outside the action.

    ``status``: ``"ok"``, ``"unavailable"`` (it raised :class:`ActionUnavailable` or is not
    registered), or ``"failed"`` (it raised; ``detail`` is ``"Type: message"``). Bytes read
    from this process before and after (``*_before_bytes``, ``*_after_bytes``); the freed
    figures are ``max(0, before - after)``, never an estimate. ``seconds``: wall time taken.
    """

    name: str
    level: str
    status: str
    detail: str
    data: dict[str, Any]
    seconds: float
    rss_before_bytes: int
    rss_after_bytes: int
    uss_before_bytes: int | None
    uss_after_bytes: int | None
    rss_freed_bytes: int
    uss_freed_bytes: int | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class ChainReport:
    """One run of a level's chain: totals around the whole run plus one report per action.

    ``started_at``: Unix time. ``trigger``: ``"level"`` or ``"optimize"``.
    """

    level: str
    trigger: str
    started_at: float
    seconds: float
    rss_before_bytes: int
    rss_after_bytes: int
    uss_before_bytes: int | None
    uss_after_bytes: int | None
    rss_freed_bytes: int
    uss_freed_bytes: int | None
    actions: tuple[ActionReport, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``actions`` a list of dicts)."""
        return dataclasses.asdict(self)


_LOCK = threading.Lock()
_ACTIONS: dict[str, Action] = {}
# Serialises chain runs: a level change and optimize() never run actions at the same time.
CHAIN_LOCK = threading.Lock()


def reinit_locks_after_fork() -> None:
    """A forked child gets fresh locks (one held by a parent thread at fork would never be
    released in the child)."""
    global _LOCK, CHAIN_LOCK
    _LOCK = threading.Lock()
    CHAIN_LOCK = threading.Lock()


def add_action(
    name: str,
    fn: ActionFn,
    *,
    level: str = "emergency",
    order: int = ORDER_USER,
    description: str = "",
    replace: bool = False,
) -> Callable[[], None]:
    """Register ``fn`` as action ``name`` in the chain of ``level`` and every level above it.

    Returns a function that unregisters it. Raises ValueError for an unknown level, a name
    already registered (unless ``replace``), or a ``fn`` that is not callable.
    """
    if level not in ACTION_LEVELS:
        raise ValueError(f"level must be one of {', '.join(ACTION_LEVELS)}, got {level!r}")
    if not callable(fn):
        raise ValueError(f"action {name!r}: fn must be callable, got {fn!r}")
    if not isinstance(name, str) or not name.strip() or name == "*":
        raise ValueError(f"action names are non-empty strings other than '*', got {name!r}")
    action = Action(name, fn, level, int(order), description or (fn.__doc__ or "").strip())
    with _LOCK:
        if name in _ACTIONS and not replace:
            raise ValueError(f"an action named {name!r} is already registered")
        _ACTIONS[name] = action

    def remove() -> None:
        with _LOCK:
            if _ACTIONS.get(name) is action:
                del _ACTIONS[name]

    return remove


def remove_action(name: str) -> bool:
    """Unregister action ``name``; False if there was none."""
    with _LOCK:
        return _ACTIONS.pop(name, None) is not None


def registered(level: str = "emergency") -> tuple[Action, ...]:
    """The chain of ``level``: actions of that level or a lower one, by ``(order, name)``."""
    rank = LEVELS.index(level)
    with _LOCK:
        chosen = [a for a in _ACTIONS.values() if LEVELS.index(a.level) <= rank]
    return tuple(sorted(chosen, key=lambda a: (a.order, a.name)))


def _select(level: str, selection: Sequence[str]) -> list[Action | str]:
    """The chain of ``level`` as configured: ``"*"`` adds every registered action of the chain;
    other names pick that action (a name not registered stays a string: reported unavailable)."""
    chain = registered(level)
    if "*" in selection:
        return list(chain)
    with _LOCK:
        known = dict(_ACTIONS)
    picked: list[Action | str] = [known.get(name, name) for name in selection]
    picked.sort(key=lambda a: (a.order, a.name) if isinstance(a, Action) else (10**9, a))
    return picked


def _freed(before: int | None, after: int | None) -> int | None:
    if before is None or after is None:
        return None
    return max(0, before - after)


def run_chain(
    level: str,
    *,
    trigger: str,
    selection: Sequence[str],
    measure: Callable[[], tuple[int, int | None]],
    budget_bytes: int | None,
    settings: Mapping[str, Any],
) -> ChainReport:
    """Run the chain of ``level`` (serialised by :data:`CHAIN_LOCK`), measuring each action with
    ``measure()`` -> ``(rss_bytes, uss_bytes)``. An action that raises is reported as failed
    and the chain goes on."""
    if level not in ACTION_LEVELS:
        raise ValueError(f"level must be one of {', '.join(ACTION_LEVELS)}, got {level!r}")
    with CHAIN_LOCK:
        started_at = time.time()
        t0 = time.perf_counter()
        rss0, uss0 = measure()
        context = ActionContext(
            level=level,
            trigger=trigger,
            budget_bytes=budget_bytes,
            settings=settings,
            rss=lambda: measure()[0],
        )
        reports = [_run_one(item, level, context, measure) for item in _select(level, selection)]
        rss1, uss1 = measure()
        return ChainReport(
            level=level,
            trigger=trigger,
            started_at=started_at,
            seconds=time.perf_counter() - t0,
            rss_before_bytes=rss0,
            rss_after_bytes=rss1,
            uss_before_bytes=uss0,
            uss_after_bytes=uss1,
            rss_freed_bytes=max(0, rss0 - rss1),
            uss_freed_bytes=_freed(uss0, uss1),
            actions=tuple(reports),
        )


def _run_one(
    item: Action | str,
    level: str,
    context: ActionContext,
    measure: Callable[[], tuple[int, int | None]],
) -> ActionReport:
    rss0, uss0 = measure()
    t0 = time.perf_counter()
    data: dict[str, Any] = {}
    if isinstance(item, str):
        with _LOCK:
            names = ", ".join(sorted(_ACTIONS)) or "none"
        name, status, detail = item, "unavailable", f"no action named {item!r} is registered "
        detail += f"(registered: {names})"
    else:
        name = item.name
        try:
            result = item.fn(context)
        except ActionUnavailable as exc:
            status, detail = "unavailable", str(exc)
        except Exception as exc:  # an action's bug must not stop the chain; it is reported
            status, detail = "failed", f"{type(exc).__name__}: {exc}"
        else:
            status = "ok"
            if isinstance(result, Mapping):
                data = dict(result)
                detail = str(data.get("detail", ""))
            else:
                detail = "" if result is None else str(result)
    seconds = time.perf_counter() - t0
    rss1, uss1 = measure()
    return ActionReport(
        name=name,
        level=level,
        status=status,
        detail=detail,
        data=data,
        seconds=seconds,
        rss_before_bytes=rss0,
        rss_after_bytes=rss1,
        uss_before_bytes=uss0,
        uss_after_bytes=uss1,
        rss_freed_bytes=max(0, rss0 - rss1),
        uss_freed_bytes=_freed(uss0, uss1),
    )


# --------------------------------------------------------------------------- built-in actions


def _gc_action(context: ActionContext) -> dict[str, Any]:
    """gc.collect(): frees unreachable reference cycles."""
    found = gc.collect()
    return {"detail": f"gc.collect() found {found} unreachable objects", "unreachable": found}


def glibc_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` via ctypes, or ``None`` where it does not exist (musl, macOS,
    Windows). Its result: 1 if memory was returned to the system, else 0."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        os.confstr("CS_GNU_LIBC_VERSION")  # raises ValueError on musl
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (ValueError, OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def _libc_name() -> str:
    if sys.platform == "darwin":
        return "macOS libc"
    if not sys.platform.startswith("linux"):
        return sys.platform
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except ValueError:
        version = None
    return version or "not glibc (musl?)"


def _malloc_trim_action(context: ActionContext) -> dict[str, Any]:
    """glibc malloc_trim(0): give freed heap pages back to the OS."""
    trim = glibc_malloc_trim()
    if trim is None:
        raise ActionUnavailable(f"malloc_trim not available: {_libc_name()}")
    released = trim(0)
    return {
        "detail": "malloc_trim(0) returned memory to the OS"
        if released
        else "malloc_trim(0) found nothing to return",
        "released": bool(released),
    }


add_action("gc", _gc_action, level="warning", order=ORDER_GC)
add_action("malloc_trim", _malloc_trim_action, level="critical", order=ORDER_MALLOC_TRIM)

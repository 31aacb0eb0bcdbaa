"""``[tool.lazymed.startup]``: native thread caps, glibc malloc, gc settings, warm-up, pre-fork.

Core layer: standard library only. ``install()`` calls :func:`apply` before the critical modules
load (environment variables for native thread pools must be set before the libraries that read
them start) and :func:`after_critical` after them. Without a ``startup`` table ``install()`` does
not import this file, so the table costs nothing when absent. ``ctypes`` (for glibc's ``mallopt``
and ``malloc_trim``) and ``threading`` are imported only by the keys that need them.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from threading import Thread

    from ._config import Config

#: Environment variables read by the native thread pools of OpenMP, OpenBLAS, MKL, BLIS,
#: numexpr, Rayon (polars, tokenizers) and Apple Accelerate, when their library initialises.
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMEXPR_MAX_THREADS",
    "RAYON_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
# Packages whose native thread pools start when they are imported: if one is already loaded when
# install() runs, the environment variables come too late for it.
_NATIVE_POOLS = ("numpy", "scipy", "torch", "sklearn", "numexpr", "polars", "tokenizers")
# glibc <malloc.h>
M_TRIM_THRESHOLD = -1
M_ARENA_MAX = -8

#: What each applied key did: ``{"max_threads": "set OMP_NUM_THREADS=4, ...", ...}``; a value
#: starting with ``"not available"`` says why a key had no effect.
APPLIED: "dict[str, str]" = {}
#: Warm-up state: ``{"state": "idle"|"scheduled"|"running"|"done", "loaded": [...],
#: "failed": {name: "Type: message"}, "skipped": {name: why}, "seconds": float|None}``.
WARM: "dict[str, object]" = {
    "state": "idle",
    "loaded": [],
    "failed": {},
    "skipped": {},
    "seconds": None,
}
_warm_names: "tuple[str, ...]" = ()
_prefork_names: "tuple[str, ...]" = ()
_prefork_done = False


# --------------------------------------------------------------------------- glibc


def _libc() -> "object | None":
    """The process's C library through ctypes when it is glibc; else None (musl, macOS, Windows)."""
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None
    if not version:
        return None
    import ctypes  # only for the keys that need glibc

    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def mallopt(param: int, value: int) -> str:
    """glibc ``mallopt(param, value)``. Returns ``"done"``, or ``"not available: ..."`` off glibc
    or when glibc rejects the value (mallopt returned 0)."""
    libc = _libc()
    if libc is None:
        return "not available: the C library is not glibc"
    if libc.mallopt(param, value) != 1:  # type: ignore[attr-defined]
        return f"not available: glibc mallopt({param}, {value}) returned an error"
    return "done"


def malloc_trim() -> str:
    """glibc ``malloc_trim(0)``: give free heap pages back to the OS. Returns ``"done"`` (memory
    was released), ``"nothing to release"``, or ``"not available: ..."`` off glibc."""
    libc = _libc()
    if libc is None:
        return "not available: the C library is not glibc"
    return "done" if libc.malloc_trim(0) else "nothing to release"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- install()


def apply(table: "Mapping[str, object]") -> None:
    """Apply the keys that must act before any heavy import (called by ``install()`` before the
    critical modules load): thread caps, malloc arenas and trim threshold, gc thresholds.
    ``table`` is the validated ``[tool.lazymed.startup]``."""
    global _warm_names, _prefork_names
    max_threads = table.get("max_threads")
    if isinstance(max_threads, int):
        APPLIED["max_threads"] = _cap_threads(max_threads)
    arenas = table.get("malloc_arena_max")
    if isinstance(arenas, int):
        APPLIED["malloc_arena_max"] = mallopt(M_ARENA_MAX, arenas)
    trim = table.get("malloc_trim_threshold")
    if isinstance(trim, int):
        APPLIED["malloc_trim_threshold"] = mallopt(M_TRIM_THRESHOLD, trim)
    thresholds = table.get("gc_thresholds")
    if isinstance(thresholds, tuple) and thresholds:
        import gc

        gc.set_threshold(*thresholds)
        APPLIED["gc_thresholds"] = f"gc.set_threshold{tuple(thresholds)}"
    warm = table.get("warm", ())
    _warm_names = tuple(warm) if isinstance(warm, tuple) else ()
    prefork = table.get("prefork", ())
    _prefork_names = tuple(prefork) if isinstance(prefork, tuple) else ()


def _cap_threads(limit: int) -> str:
    done = []
    kept = []
    for var in THREAD_ENV:
        if var in os.environ:
            kept.append(f"{var}={os.environ[var]}")  # the operator's setting wins
        else:
            os.environ[var] = str(limit)
            done.append(var)
    text = f"set {', '.join(done)} to {limit}" if done else "nothing set"
    if kept:
        text += f"; kept (already set): {', '.join(kept)}"
    late = [name for name in _NATIVE_POOLS if name in sys.modules]
    if late:
        text += (
            f"; too late for {', '.join(late)} (imported before install()): call "
            "lazymed.integrations.threads.limit_threads() (threadpoolctl) at run time"
        )
        import warnings  # only when there is something to say

        from ._errors import LazymedWarning

        warnings.warn(
            f"[tool.lazymed.startup] max_threads: {', '.join(late)} was imported before "
            "lazymed.install(), so its thread pool already started; move install() to the top "
            "of the entrypoint, or call lazymed.integrations.threads.limit_threads() "
            "(threadpoolctl) at run time",
            LazymedWarning,
            stacklevel=5,
        )
    return text


def after_critical(table: "Mapping[str, object]") -> None:
    """Apply the keys that act once the critical modules are loaded: ``gc_freeze`` (move every
    object allocated so far to the permanent generation, so a pre-fork server's workers do not
    copy those pages when the collector touches them), and the ``warm_after_s`` timer."""
    if table.get("gc_freeze") is True:
        import gc

        gc.freeze()
        APPLIED["gc_freeze"] = f"gc.freeze(): {gc.get_freeze_count()} objects frozen"
    delay = table.get("warm_after_s")
    if _warm_names and isinstance(delay, int | float):
        warm(delay=float(delay))


# --------------------------------------------------------------------------- loading


def _load_now(name: str, first_use: str) -> None:
    """Import ``name`` and, if it is a pending lazy module, run it now (``first_use`` goes into
    its status() record as what first used it). Raises _Skipped for a switched-off name."""
    from ._registry import REGISTRY

    if REGISTRY.role_of(name) == "disabled":
        raise _Skipped("switched off by disabled_modules (nothing of it runs)")

    record = REGISTRY.records.get(name)
    if record is not None and record.imported_at is None and name not in sys.modules:
        record.imported_at = first_use  # else the import site would be a frame of threading.py
    from ._cpython import gcd_import

    module = gcd_import(name)
    from ._load import load, pending  # loaded by the import above when `name` is lazy

    state = pending(module)
    if state is not None and not state.disabled:
        if state.record.first_used_at is None:
            state.record.first_used_at = first_use
        load(state, None, None)


class _Skipped(Exception):
    """A warm-up name that is not to be loaded (the reason is the message)."""


def warm(names: "Iterable[str] | None" = None, *, delay: float = 0.0, wait: bool = False) -> None:
    """Load lazy modules in one background daemon thread, off the request path.

    ``names``: default the ``warm`` list of ``[tool.lazymed.startup]``. ``delay``: seconds to wait
    first. ``wait=True`` blocks until done. A module that fails to load is logged on the
    ``lazymed`` logger and listed in :data:`WARM` ``["failed"]``; the others still load. Their
    status() records say ``first_used_at="lazymed warm-up"``. One warm-up at a time: a call
    while one is scheduled or running does nothing (``wait=True`` still waits for it).
    """
    import threading  # ~1.7 ms: only when warming

    global _warm_thread
    todo = tuple(_warm_names if names is None else names)
    thread = _warm_thread
    if thread is None or not thread.is_alive():
        if not todo:
            return
        WARM.update(state="scheduled", loaded=[], failed={}, skipped={}, seconds=None)
        thread = _warm_thread = threading.Thread(
            target=_warm_run, args=(todo, delay), name="lazymed-warm", daemon=True
        )
        thread.start()
    if wait:
        thread.join()


_warm_thread: "Thread | None" = None


def _warm_run(names: "tuple[str, ...]", delay: float) -> None:
    import time

    if delay > 0:
        time.sleep(delay)
    WARM["state"] = "running"
    t0 = time.perf_counter()
    loaded = WARM["loaded"]
    failed = WARM["failed"]
    assert isinstance(loaded, list) and isinstance(failed, dict)
    skipped = WARM["skipped"]
    assert isinstance(skipped, dict)
    for name in names:
        try:
            _load_now(name, "lazymed warm-up")
        except _Skipped as why:
            skipped[name] = str(why)
        except Exception as exc:  # a warm-up failure must not kill the thread
            failed[name] = f"{type(exc).__name__}: {exc}"
            import logging

            logging.getLogger("lazymed").warning(
                "warm-up: loading %r failed (%s: %s); it will be retried at its first use",
                name,
                type(exc).__name__,
                exc,
            )
        else:
            loaded.append(name)
    WARM["seconds"] = time.perf_counter() - t0
    WARM["state"] = "done"


def prefork(names: "Iterable[str] | None" = None, *, freeze: bool = True) -> "list[str]":
    """Load modules now, in this (master) process, before a pre-fork server forks its workers,
    then ``gc.freeze()`` so the workers share those pages instead of copying them.

    ``names``: default the ``prefork`` list of ``[tool.lazymed.startup]``. Idempotent. Returns
    the names loaded by this call. Raises the import error of a module that fails, with a note.
    """
    global _prefork_done
    todo = tuple(_prefork_names if names is None else names)
    loaded = []
    for name in todo:
        try:
            _load_now(name, "lazymed prefork (before fork)")
        except _Skipped:
            continue  # switched off in this profile: nothing to load before the fork
        except BaseException as exc:
            exc.add_note(f"lazymed: loading {name!r} for [tool.lazymed.startup] prefork")
            raise
        loaded.append(name)
    if freeze:
        import gc

        gc.freeze()
        APPLIED["prefork"] = (
            f"loaded {', '.join(todo) or 'nothing'}; gc.freeze(): {gc.get_freeze_count()} objects"
        )
    _prefork_done = True
    return loaded


# --------------------------------------------------------------------------- isolated services


def warm_isolated(cfg: "Config") -> None:
    """Start the ``warm = true`` isolated services (``[tool.lazymed.isolate.NAME]``) in the
    background; ``install()`` calls it when the configuration has isolate tables.

    The one place the core reaches a layer above it, and only when the configuration asks for
    it: a thread of its own imports ``lazymed.isolate`` (multiprocessing, subprocess: tens of
    milliseconds) and starts the workers, so install() itself stays standard-library-cheap and
    returns at once. Failures are kept by the service (``lazymed.isolate.status()``) and
    raised by its first call.
    """
    names = [name for name, table in cfg.isolate.items() if table.get("warm")]
    if names:
        import _thread

        _thread.start_new_thread(_warm_isolated_thread, (tuple(names),))


def _warm_isolated_thread(names: "tuple[str, ...]") -> None:
    from ._cpython import gcd_import

    try:
        layer = gcd_import(f"{__package__}.isolate")
        layer._warm(names)
    except BaseException:  # recorded by the service; its first call raises it
        pass

"""The object a worker serves: the factory's result behind a fixed, small surface.

Runs inside the worker (a process of ours, or a Ray actor). Standard library only. Callers can
reach exactly these operations: call a public method of the service object (or of an object it
returned that could not be pickled), list those methods, drop such an object, read the worker's
own figures. Names starting with ``_`` are refused, so dunder and private attributes (and through
them the interpreter) cannot be reached by name.

Results cross as bytes pickled here (one pickle, no second try): a result that cannot be pickled
stays in the worker under a reference number and the caller gets a handle with its methods.
Exceptions come back as their type, message and traceback text (and the exception itself when it
pickles), so the caller can name the cause.
"""

from __future__ import annotations

import gc
import importlib
import os
import pickle
import threading
import time
import traceback
from typing import Any

#: The operations a caller may invoke on a Host (the manager exposes only these).
EXPOSED = ("call", "methods", "release", "stats")


def resolve(ref: str) -> Any:
    """The object named by ``"package.module:attr.path"`` (importing the module)."""
    module_name, _, attr_path = ref.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    return obj


def public_methods(obj: object) -> list[str]:
    """Names of ``obj``'s callable attributes that do not start with ``_``."""
    names = []
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            if callable(getattr(obj, name)):
                names.append(name)
        except Exception:  # a property that raises is not a method
            continue
    return names


def rss_bytes() -> int:
    """This process's RSS in bytes from ``/proc/self/statm`` (0 where there is none)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def safe_str(exc: BaseException, kind: str) -> str:
    """``str(exc)``, else its ``repr``, else a placeholder naming ``kind``: an exception whose
    ``__str__`` raises must still reach the caller as a ServiceError."""
    for render in (str, repr):
        try:
            return render(exc)
        except Exception:
            continue
    return f"<{kind} object: str() and repr() failed>"


def _describe(exc: BaseException) -> tuple[str, str, str, bytes | None]:
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
    if type(exc).__module__ == "builtins":
        kind = type(exc).__qualname__
    try:
        text = "".join(traceback.format_exception(exc))
    except Exception:  # traceback renders str() failures itself; this is the last resort
        text = f"{kind} (traceback could not be formatted)\n"
    try:
        blob: bytes | None = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.loads(pickle.dumps(exc))  # some pickle but do not unpickle (required args)
    except Exception:
        blob = None
    return kind, safe_str(exc, kind), text, blob


class Host:
    """Serves one service object. Thread-safe: the manager runs each caller's connection on its
    own thread, so ``call`` may run concurrently (as the service's methods then do)."""

    def __init__(
        self, factory: str, *, max_rss_bytes: int = 0, rss_check_interval_s: float = 1.0
    ) -> None:
        t0 = time.perf_counter()
        self._service = resolve(factory)()
        self.factory_seconds = time.perf_counter() - t0
        self._refs: dict[int, object] = {}
        self._next_ref = 1
        self._lock = threading.Lock()
        self._calls = 0
        self._max_rss = max_rss_bytes
        self._interval = rss_check_interval_s
        self._last_check = 0.0

    def __reduce__(self) -> Any:
        # The manager's '#GETVALUE' fallback would send the object itself: refuse.
        raise TypeError("cannot pickle a lazymed.isolate Host: it never leaves its worker")

    def _target(self, ref: int) -> object:
        if ref == 0:
            return self._service
        try:
            return self._refs[ref]
        except KeyError:
            raise LookupError(f"no object #{ref} in this worker (released)") from None

    def call(self, ref: int, method: str, payload: bytes) -> tuple[Any, ...]:
        """Run ``method`` of object ``ref`` (0: the service) with pickled ``(args, kwargs)``.

        Returns ``("ok", pickled result, recycle)``, ``("ref", number, methods, type name,
        recycle)`` for a result that does not pickle, ``("missing", message)`` for a name that is
        not a public method, or ``("error", type, message, traceback text, pickled exception or
        None, recycle)``. ``recycle`` is the RSS in bytes when the worker has grown past
        ``max_rss_bytes`` (read at most once per ``rss_check_interval_s``, confirmed after a
        gc), else 0.
        """
        target = self._target(ref)
        try:
            # Public names only: no dunder or private attribute (nor anything reached via one).
            bound = None if method.startswith("_") else getattr(target, method, None)
            if bound is None or not callable(bound):
                name = type(target).__name__
                return ("missing", f"{name!r} object has no public method {method!r}")
            args, kwargs = pickle.loads(payload)
            result = bound(*args, **kwargs)
        except BaseException as exc:  # every failure goes back to the caller
            with self._lock:
                self._calls += 1
            return ("error", *_describe(exc), self._recycle())
        with self._lock:
            self._calls += 1
        try:
            blob = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            with self._lock:
                number = self._next_ref
                self._next_ref += 1
                self._refs[number] = result
            methods = public_methods(result)
            return ("ref", number, methods, type(result).__qualname__, self._recycle())
        return ("ok", blob, self._recycle())

    def _recycle(self) -> int:
        # loky's rule: after a call, at most once per interval, read RSS (one small /proc read);
        # only when it is over the limit, gc.collect() and read again. A full collection of a
        # big heap (llama-index: ~0.5 s here) must not run on every call's path.
        if not self._max_rss:
            return 0
        now = time.monotonic()
        with self._lock:
            if now - self._last_check < self._interval:
                return 0
            self._last_check = now
        if rss_bytes() <= self._max_rss:
            return 0
        gc.collect()
        rss = rss_bytes()
        return rss if rss > self._max_rss else 0

    def methods(self, ref: int) -> list[str]:
        """Public method names of object ``ref`` (0: the service)."""
        return public_methods(self._target(ref))

    def release(self, ref: int) -> None:
        """Drop object ``ref`` (a no-op for 0 or an unknown number)."""
        with self._lock:
            self._refs.pop(ref, None)

    def stats(self) -> dict[str, Any]:
        """``{"pid", "rss_bytes", "calls", "objects_held", "factory_seconds"}`` of this worker."""
        with self._lock:
            return {
                "pid": os.getpid(),
                "rss_bytes": rss_bytes(),
                "calls": self._calls,
                "objects_held": len(self._refs),
                "factory_seconds": self.factory_seconds,
            }

"""Supervision of one isolated service: start, call, restart, recycle, stop.

A :class:`Runtime` owns at most one worker at a time (a ``ProcessWorker`` or a ``RayWorker``:
same methods). The backends have no restart of their own here; this file provides it:

* lazy start by the first call (or ``warm`` at ``install()``); one thread starts, the others
  wait for it;
* a worker found dead before a call is replaced; a worker that dies *during* a call fails that
  call with ServiceError (exit code or signal) and the next call starts a fresh one;
* each failure (crash, factory error, timeout) waits ``restart_backoff_s`` doubling per
  consecutive failure (at most 30 s) before the next start, and more than ``max_restarts``
  failures within ``restart_window_s`` stop the restarts for the rest of the window;
* ``call_timeout_s``, ``idle_timeout_s`` and ``max_rss_mb`` are enforced by one monitor thread
  per process ("lazymed-isolate"): a call past its timeout gets its worker SIGKILLed, an idle
  or oversized worker is stopped;
* a stop waits for the calls in flight (planned stops) and returns what it gave back.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import os
import pickle
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from ._errors import ServiceError

_MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class StopReport:
    """What ``stop(name)`` gave back, measured from the calling process with psutil.

    ``worker_rss_bytes`` / ``worker_uss_bytes``: the worker's RSS and USS just before it was
    stopped (None when no worker was running). ``tree_rss_before_bytes`` /
    ``tree_rss_after_bytes``: RSS summed over this process and all its descendants before and
    after. ``returned_bytes`` is their difference. ``exitcode`` is the worker's (0: clean).
    """

    name: str
    stopped: bool
    reason: str
    pid: int | None
    worker_rss_bytes: int | None
    worker_uss_bytes: int | None
    tree_rss_before_bytes: int | None
    tree_rss_after_bytes: int | None
    returned_bytes: int | None
    exitcode: int | None
    seconds: float


@dataclass(frozen=True)
class ServiceStatus:
    """One service as ``status()`` sees it.

    ``state``: "stopped", "starting", "running", "stopping" or "failed". ``rss_bytes`` is the
    worker's RSS read with psutil from this process (None without a worker). ``calls`` counts
    completed calls over all workers, ``restarts`` the starts after the first, ``in_flight``
    the calls running now. Times: ``started_at`` (Unix time of the current worker's start),
    ``start_seconds`` (start to ready, factory included) and ``factory_seconds`` (the factory
    alone, timed in the worker).
    """

    name: str
    backend: str
    state: str
    pid: int | None
    rss_bytes: int | None
    calls: int
    restarts: int
    in_flight: int
    last_error: str | None
    started_at: float | None
    start_seconds: float | None
    factory_seconds: float | None
    factory: str


class Runtime:
    """The supervisor of one service (see the module docstring)."""

    def __init__(self, name: str, settings: dict[str, Any]) -> None:
        self.name = name
        self.settings = settings
        self.cond = threading.Condition()
        self.worker: Any = None
        self.generation = 0
        self.state = "stopped"
        self.starting = False
        self.stopping = False
        self.in_flight: dict[int, tuple[float, Any]] = {}  # call id -> (deadline, worker)
        self._next_call = 0
        self.calls = 0
        self.starts = 0
        self.failures: list[float] = []
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.started_at: float | None = None
        self.start_seconds: float | None = None
        self.factory_seconds: float | None = None
        self.last_used = time.monotonic()
        self.recycle_rss = 0
        self.kill_reasons: dict[int, str] = {}  # id(worker) -> why the monitor killed it
        self.pending: Any = None  # the worker being started (stop(timeout=...) may end it)
        self.abort_start: str | None = None  # why a stop ended the start under way
        # (ref, generation) of RemoteObjects collected here: released in the worker later, by
        # the next call or the monitor (never from a GC callback, which may run mid-call)
        self.releases: collections.deque[tuple[int, int]] = collections.deque()

    def _after_fork_in_child(self) -> None:
        # The parent's worker, its start and its calls belong to the parent: forget them
        # without touching them (no signal, no unlink, no decref); a call here starts our own.
        for worker in (self.worker, self.pending):
            forget = getattr(worker, "forget", None)
            if forget is not None:
                forget()
        self.cond = threading.Condition()  # another thread may have held it at the fork
        self.worker = self.pending = None
        self.abort_start = None
        self.state = "stopped"
        self.starting = self.stopping = False
        self.in_flight = {}
        self.kill_reasons = {}
        self.releases = collections.deque()
        self.started_at = None
        self.recycle_rss = 0

    # ------------------------------------------------------------------ workers

    def _new_worker(self) -> Any:
        self.generation += 1
        if self.settings["backend"] == "ray":
            from ._ray import RayWorker

            return RayWorker(self.name, self.settings, self.generation)
        from ._process import ProcessWorker

        return ProcessWorker(self.name, self.settings, private_dir(), self.generation)

    def _fail(self, detail: str) -> None:
        # Caller holds self.cond. A failure counts toward the restart limit and the back-off.
        now = time.monotonic()
        self.failures = [t for t in self.failures if now - t < self._window()] + [now]
        self.consecutive_failures += 1
        self.last_error = detail

    def _window(self) -> float:
        return float(self.settings["restart_window_s"])

    def _acquire(self) -> tuple[Any, int]:
        """A running worker with one more call in flight (starting one if needed)."""
        with self.cond:
            while True:
                if self.starting or self.stopping:
                    self.cond.wait()
                    continue
                worker = self.worker
                if worker is not None and worker.exitcode() is None:
                    return worker, self._enter(worker)
                if worker is not None:  # died while idle (OOM killer, a signal, ...)
                    from ._process import describe_exit

                    self._fail(f"worker {describe_exit(worker.exitcode())} while idle")
                    self._drop(worker)
                self._check_restart_limit()
                self.starting = True
                self.state = "starting"
                delay = 0.0
                if self.consecutive_failures:
                    base = float(self.settings["restart_backoff_s"])
                    delay = min(base * 2 ** (self.consecutive_failures - 1), _MAX_BACKOFF_S)
                break
        worker = None
        try:
            if delay:
                time.sleep(delay)
            t0 = time.perf_counter()
            worker = self._new_worker()
            with self.cond:
                self.pending = worker
                aborted = self.abort_start
            if aborted is None:
                worker.start()
        except BaseException as exc:
            with self.cond:
                self.starting = False
                self.pending = None
                aborted, self.abort_start = self.abort_start, None
                if aborted is not None:  # stop(timeout=...) ended the start: not a failure
                    self.state = "stopped"
                    error = ServiceError(self.name, "stopped", f"worker start ended by {aborted}")
                else:
                    self.state = "failed"
                    error = _start_error(self.name, exc)
                    self._fail(error.detail)
                self.cond.notify_all()
            if worker is not None:
                worker.terminate(1.0)
            raise error from None
        with self.cond:
            self.pending = None
            aborted, self.abort_start = self.abort_start, None
            if aborted is not None:
                self.starting = False
                self.state = "stopped"
                self.cond.notify_all()
        if aborted is not None:
            worker.terminate(5.0)
            raise ServiceError(self.name, "stopped", f"worker start ended by {aborted}")
        with self.cond:
            self.starting = False
            self.worker = worker
            self.state = "running"
            self.starts += 1
            self.started_at = time.time()
            self.start_seconds = time.perf_counter() - t0
            self.factory_seconds = worker.factory_seconds
            self.last_used = time.monotonic()
            self.recycle_rss = 0
            self.cond.notify_all()
            call_id = self._enter(worker)
        ensure_monitor()
        return worker, call_id

    def _enter(self, worker: Any) -> int:
        self._next_call += 1
        timeout = float(self.settings["call_timeout_s"])
        deadline = time.monotonic() + timeout if timeout else float("inf")
        self.in_flight[self._next_call] = (deadline, worker)
        return self._next_call

    def _check_restart_limit(self) -> None:
        now = time.monotonic()
        self.failures = [t for t in self.failures if now - t < self._window()]
        limit = int(self.settings["max_restarts"])
        if len(self.failures) > limit:
            wait = self._window() - (now - self.failures[0])
            self.state = "failed"
            raise ServiceError(
                self.name,
                "restart_limit",
                f"{len(self.failures)} failures within restart_window_s={self._window():g} "
                f"(max_restarts={limit}); no new worker for {wait:.1f} s or until "
                f"lazymed.isolate.stop({self.name!r}). Last error: {self.last_error}",
            )

    def _drop(self, worker: Any) -> None:
        # Caller holds self.cond.
        if self.worker is worker:
            self.worker = None
            self.state = "stopped"
            self.started_at = None
        threading.Thread(target=worker.terminate, args=(5.0,), daemon=True).start()

    # ------------------------------------------------------------------ calls

    def call(self, ref: int, generation: int | None, method: str, args: Any, kwargs: Any) -> Any:
        """Run ``method`` on object ``ref`` (0: the service) in the worker; see ServiceError."""
        try:
            payload = pickle.dumps((args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise ServiceError(
                self.name, "pickle", f"arguments of {method}() cannot be pickled: {exc}"
            ) from exc
        from ._process import Lost

        if self.releases:
            self.release_collected()
        if generation is not None:  # a RemoteObject: never start a worker just to say it is gone
            with self.cond:
                current = self.worker
            if current is None or current.generation != generation:
                raise ServiceError(
                    self.name,
                    "stopped",
                    f"{method}(): the object lived in worker generation {generation}, which has "
                    "stopped; objects that stay in a worker end with it",
                )
        for attempt in (1, 2):
            worker, call_id = self._acquire()
            if generation is not None and generation != worker.generation:
                self._leave(call_id)
                raise ServiceError(
                    self.name,
                    "stopped",
                    f"{method}(): the object lived in worker generation {generation}, which "
                    f"has stopped (now {worker.generation}); objects in a worker end with it",
                )
            try:
                reply = worker.call(ref, method, payload)
            except Lost as exc:
                error = self._lost(worker, method, exc)
                # A worker that died while idle, seen only when the request could not be sent:
                # the method never ran, so one retry on a fresh worker is safe.
                if exc.delivered or attempt == 2 or error.cause != "exit":
                    raise error from None
                continue
            finally:
                self._leave(call_id)
            return self._unpack(worker, method, reply)
        raise AssertionError("unreachable")  # pragma: no cover

    def release_collected(self) -> None:
        """Release in the worker the objects whose RemoteObject was garbage-collected in this
        process (best effort: objects of a worker that is gone or going went with it)."""
        while True:
            try:
                ref, generation = self.releases.popleft()
            except IndexError:
                return
            with self.cond:
                worker = self.worker
                busy = self.starting or self.stopping
            if worker is None or busy or worker.generation != generation:
                continue
            with contextlib.suppress(Exception):
                worker.release(ref)

    def _leave(self, call_id: int) -> None:
        with self.cond:
            self.in_flight.pop(call_id, None)
            self.last_used = time.monotonic()
            self.cond.notify_all()

    def _lost(self, worker: Any, method: str, exc: Exception) -> ServiceError:
        from ._process import describe_exit

        code = worker.wait(5.0)
        with self.cond:
            reason = self.kill_reasons.pop(id(worker), None)
            if reason is not None and reason.startswith("timeout"):
                cause, detail = "timeout", f"{method}(): {reason}"
            elif reason is not None:
                cause, detail = "stopped", f"{method}(): {reason}"
            else:
                cause = "exit"
                detail = f"{method}(): the worker (pid {worker.pid}) {describe_exit(code)}"
                if code is None:
                    detail = f"{method}(): the connection to worker pid {worker.pid} broke: {exc}"
            if cause != "stopped":
                self._fail(detail)
            self._drop(worker)
            self.cond.notify_all()
        return ServiceError(self.name, cause, detail, exitcode=code)

    def _unpack(self, worker: Any, method: str, reply: tuple[Any, ...]) -> Any:
        kind = reply[0]
        if kind == "missing":
            raise AttributeError(f"isolated service {self.name!r}: {reply[1]}")
        recycle = reply[-1]
        with self.cond:
            self.calls += 1
            if kind != "error":
                self.consecutive_failures = 0
            if recycle and self.worker is worker and not self.recycle_rss:
                self.recycle_rss = recycle
                wake_monitor()
        if kind == "ok":
            try:
                return pickle.loads(reply[1])
            except Exception as exc:
                raise ServiceError(
                    self.name, "pickle", f"{method}() result cannot be unpickled here: {exc}"
                ) from exc
        if kind == "ref":
            from ._handles import RemoteObject

            _, number, methods, type_name, _ = reply
            return RemoteObject(self, number, worker.generation, tuple(methods), type_name)
        _, remote_type, message, text, blob, _ = reply
        original: BaseException | None = None
        if blob is not None:
            try:
                original = pickle.loads(blob)
            except Exception:
                original = None
        error = ServiceError(
            self.name,
            "exception",
            f"{method}() raised {remote_type}: {message}",
            remote_type=remote_type,
            remote_traceback=text,
        )
        with self.cond:
            self.last_error = error.detail
        if original is not None:
            raise error from original
        raise error

    def warm(self) -> None:
        """Start the worker now (``warm = true``) unless one is running."""
        worker, call_id = self._acquire()
        del worker
        self._leave(call_id)

    def methods(self) -> list[str]:
        """The service's public methods (starts the worker)."""
        worker, call_id = self._acquire()
        try:
            return list(worker.methods(0))
        finally:
            self._leave(call_id)

    # ------------------------------------------------------------------ stop

    def stop(
        self, reason: str = "stop()", timeout: float | None = None, measure: bool = True
    ) -> StopReport:
        """Stop the worker after the calls in flight finish (at most ``timeout`` s, then it is
        killed under them); with ``measure``, read what it gave back (psutil). Resets the
        restart limit."""
        t0 = time.perf_counter()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            while self.starting or self.stopping:
                left = None if deadline is None else deadline - time.monotonic()
                if self.starting and left is not None and left <= 0 and self.abort_start is None:
                    # the timeout covers a start under way too: end it (the caller that
                    # started it gets ServiceError cause "stopped")
                    self.abort_start = f"{reason} (timeout={timeout:g} s) while starting"
                    if self.pending is not None:
                        self.pending.kill()
                    left = None
                self.cond.wait(left if left is None or left > 0 else None)
            worker = self.worker
            self.failures = []
            self.consecutive_failures = 0
            if worker is None:
                if self.state == "failed":
                    self.state = "stopped"
                return StopReport(
                    self.name, False, reason, None, None, None, None, None, None, None, 0.0
                )
            self.stopping = True
            self.state = "stopping"
            while any(w is worker for _, w in self.in_flight.values()):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    self.kill_reasons[id(worker)] = f"stopped by {reason} under the call"
                    break
                self.cond.wait(left)
        rss = uss = before = after = None
        try:
            if measure:
                from ._measure import process_memory, tree_rss

                rss, uss = process_memory(worker.pid)
                before = tree_rss()
            code = worker.terminate(10.0)
            if measure:
                after = tree_rss()
        finally:
            with self.cond:
                self.stopping = False
                if self.worker is worker:
                    self.worker = None
                    self.state = "stopped"
                    self.started_at = None
                self.recycle_rss = 0
                self.cond.notify_all()
        return StopReport(
            self.name,
            True,
            reason,
            worker.pid,
            rss,
            uss,
            before,
            after,
            None if before is None or after is None else before - after,
            code,
            time.perf_counter() - t0,
        )

    def status(self, measure: bool = True) -> ServiceStatus:
        """A snapshot (with ``measure``, reads the worker's RSS with psutil)."""
        with self.cond:
            worker = self.worker
            pid = worker.pid if worker is not None else None
            snapshot = (self.state, self.calls, max(self.starts - 1, 0), len(self.in_flight))
            last_error, started_at = self.last_error, self.started_at
            start_s, factory_s = self.start_seconds, self.factory_seconds
        rss = None
        if pid is not None and measure:
            from ._measure import process_memory

            rss = process_memory(pid)[0]
        state, calls, restarts, in_flight = snapshot
        return ServiceStatus(
            self.name,
            str(self.settings["backend"]),
            state,
            pid,
            rss,
            calls,
            restarts,
            in_flight,
            last_error,
            started_at,
            start_s if started_at is not None else None,
            factory_s if started_at is not None else None,
            str(self.settings["factory"]),
        )

    # ------------------------------------------------------------------ monitor duties

    def due(self, now: float) -> float:
        """Kill workers whose calls ran out of time, start idle/RSS stops; return the seconds
        until this runtime next needs the monitor."""
        next_in = float("inf")
        stop_reason = None
        with self.cond:
            for deadline, worker in list(self.in_flight.values()):
                if deadline <= now and id(worker) not in self.kill_reasons:
                    limit = float(self.settings["call_timeout_s"])
                    self.kill_reasons[id(worker)] = (
                        f"timeout: a call ran past call_timeout_s={limit:g}; worker pid "
                        f"{worker.pid} was killed (SIGKILL) with the calls in flight"
                    )
                    worker.kill()
                elif deadline > now:
                    next_in = min(next_in, deadline - now)
            if self.worker is not None and not self.stopping and not self.starting:
                idle = float(self.settings["idle_timeout_s"])
                if self.recycle_rss:
                    limit_mb = float(self.settings["max_rss_mb"])
                    stop_reason = (
                        f"max_rss_mb: worker RSS {self.recycle_rss / 2**20:.1f} MiB after gc "
                        f"> {limit_mb:g} MiB"
                    )
                    self.recycle_rss = 0
                elif idle and not self.in_flight:
                    left = idle - (now - self.last_used)
                    if left <= 0:
                        stop_reason = f"idle_timeout_s={idle:g}"
                    else:
                        next_in = min(next_in, left)
            idle_releases = bool(self.releases) and not self.in_flight
        if idle_releases:
            self.release_collected()
        if stop_reason is not None:
            threading.Thread(
                target=self._stop_quietly, args=(stop_reason,), name="lazymed-isolate-stop"
            ).start()
        return next_in

    def _stop_quietly(self, reason: str) -> None:
        self.stop(reason)


# ---------------------------------------------------------------------- process-wide state

_lock = threading.Lock()
_runtimes: dict[str, Runtime] = {}
_private_dir: list[tuple[int, str]] = []  # (pid of the process that created it, path)
_monitor: list[threading.Thread] = []
_wake = threading.Event()


def private_dir() -> str:
    """This process's private directory for worker sockets (mode 0700, removed at exit by the
    process that created it; a forked child makes its own)."""
    with _lock:
        if not _private_dir:
            path = tempfile.mkdtemp(prefix=f"lazymed-isolate-{os.getpid()}-")
            os.chmod(path, 0o700)
            _private_dir.append((os.getpid(), path))
        return _private_dir[0][1]


def _after_fork_in_child() -> None:
    # os.fork() copies the runtimes, their workers (children of the parent, not of this
    # process: Popen.poll() would see ECHILD and call them dead), the connections and the
    # socket directory. Forget all of it without touching it; the first call here starts this
    # process's own worker in its own directory.
    global _lock, _wake
    _lock = threading.Lock()
    _wake = threading.Event()
    _monitor.clear()
    _private_dir.clear()
    for rt in _runtimes.values():
        rt._after_fork_in_child()
    process_backend = sys.modules.get("lazymed.isolate._process")  # no import in a fork hook
    if process_backend is not None:
        process_backend.forget_all_in_child()


def runtime(name: str, settings: dict[str, Any]) -> Runtime:
    """The runtime of ``name``, created with ``settings`` the first time."""
    with _lock:
        found = _runtimes.get(name)
        if found is None:
            found = _runtimes[name] = Runtime(name, settings)
            if len(_runtimes) == 1:
                atexit.register(_at_exit)
        return found


def _at_exit() -> None:
    # Calls still in flight at exit get 5 s; nothing is measured (no psutil import at exit).
    for rt in runtimes():
        if rt.worker is not None:
            rt.stop("interpreter exit", timeout=5.0, measure=False)
    for pid, path in _private_dir:
        if pid == os.getpid():  # never the directory of the process this one forked from
            shutil.rmtree(path, ignore_errors=True)


def runtimes() -> list[Runtime]:
    """Every runtime created in this process, by name."""
    with _lock:
        return [_runtimes[name] for name in sorted(_runtimes)]


def forget(name: str) -> None:
    """Drop the runtime of ``name`` (stopped first): the next ``service(name)`` reads the
    configuration again."""
    with _lock:
        found = _runtimes.pop(name, None)
    if found is not None:
        found.stop("forget")


def stop_all(reason: str = "stop_all()") -> list[StopReport]:
    """Stop every running worker (calls in flight finish first)."""
    return [rt.stop(reason) for rt in runtimes() if rt.worker is not None]


def wake_monitor() -> None:
    """Make the monitor look at the runtimes now."""
    _wake.set()


def ensure_monitor() -> None:
    """Start the monitor thread once per process (unless a thread has claimed the job)."""
    with _lock:
        if _monitor and _monitor[0].is_alive():
            return
        thread = threading.Thread(target=run_monitor, name="lazymed-isolate", daemon=True)
        _monitor[:] = [thread]
        thread.start()


def become_monitor() -> bool:
    """Claim the monitor's job for the calling thread (the warm-start thread); False if a
    monitor already runs. The caller must then call :func:`run_monitor`."""
    with _lock:
        if _monitor and _monitor[0].is_alive():
            return False
        _monitor[:] = [threading.current_thread()]
        return True


def run_monitor() -> None:
    """The monitor loop (never returns): call timeouts, idle stops, RSS recycling."""
    while True:
        now = time.monotonic()
        wait = 5.0
        for rt in runtimes():
            try:
                wait = min(wait, rt.due(now))
            except Exception:  # the monitor must outlive any one service's trouble
                continue
        _wake.wait(max(wait, 0.01))
        _wake.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _start_error(name: str, exc: BaseException) -> ServiceError:
    if isinstance(exc, ServiceError):
        return exc
    from ._process import StartFailed

    if isinstance(exc, StartFailed):
        cause = "timeout" if exc.cause == "timeout" else exc.cause
        return ServiceError(
            name,
            cause,
            f"worker did not start: {exc.detail}",
            remote_traceback=exc.remote_traceback,
        )
    return ServiceError(name, "backend", f"worker did not start: {type(exc).__name__}: {exc}")

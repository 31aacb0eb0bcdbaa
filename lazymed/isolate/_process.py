"""The single-machine backend: one worker process, reached with ``multiprocessing.managers``.

``spawn`` starts a fresh interpreter with :mod:`subprocess` running
:func:`lazymed.isolate._worker.main` -- the semantics of multiprocessing's ``spawn`` (nothing
inherited), without two of its side effects: it does not re-run the caller's ``__main__``
script in the worker (a server script without an ``if __name__ == "__main__"`` guard would start
a second server there) and it starts no resource-tracker process (~12 MB). ``forkserver`` uses
multiprocessing's forkserver context (preloading :mod:`lazymed.isolate._worker`); there
multiprocessing's rules apply: the worker imports the caller's ``__main__`` as ``__mp_main__``.

The authkey is 32 random bytes per worker; the socket lives in a private 0700 directory.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import secrets
import signal
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from multiprocessing.managers import BaseManager, BaseProxy
from typing import Any

from ._host import EXPOSED


class Lost(Exception):
    """The connection to the worker broke (it died or was killed). ``delivered`` is False when
    the request provably never reached the worker (no connection, or the send failed), so the
    call can be retried on a fresh worker without running twice."""

    def __init__(self, message: str, delivered: bool = True) -> None:
        super().__init__(message)
        self.delivered = delivered


class StartFailed(Exception):
    """The worker did not come up: ``cause`` is "factory", "exit" or "timeout"."""

    def __init__(self, cause: str, detail: str, remote_traceback: str | None = None) -> None:
        super().__init__(detail)
        self.cause = cause
        self.detail = detail
        self.remote_traceback = remote_traceback


class _HostProxy(BaseProxy):
    _exposed_ = EXPOSED

    def _connect(self) -> None:
        # BaseProxy keeps each thread's connection in a thread-local per address and never
        # closes the ones of other threads: record them, so the worker's end closes them all.
        super()._connect()  # type: ignore[misc]
        conn = self._tls.connection  # type: ignore[attr-defined]
        with _connections_lock:
            _connections.setdefault(self._token.address, []).append(conn)  # type: ignore[attr-defined]


#: Every connection a thread opened to a worker, by the worker's address (closed at its end).
_connections: dict[Any, list[Connection]] = {}
_connections_lock = threading.Lock()


def close_connections(address: Any) -> None:
    """Close every thread's cached connection to the worker at ``address`` and drop
    BaseProxy's per-address thread-local, so a recycled worker leaks no socket."""
    with _connections_lock:
        conns = _connections.pop(address, [])
    for conn in conns:
        with contextlib.suppress(OSError):
            conn.close()
    BaseProxy._address_to_local.pop(address, None)


def forget_all_in_child() -> None:
    """After ``os.fork()`` in the child: drop the records of the parent's connections without
    closing or using them (the sockets are the parent's)."""
    global _connections_lock
    _connections_lock = threading.Lock()
    _connections.clear()


class _Client(BaseManager):
    pass


_Client.register("service", proxytype=_HostProxy, create_method=True)


def describe_exit(code: int | None) -> str:
    """``"exited with code 3"`` / ``"killed by signal SIGKILL (9)"`` / ``"still running"``."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "signal"
        return f"killed by signal {name} ({-code})"
    return f"exited with code {code}"


#: Longest Unix socket path Linux accepts (sun_path is 108 bytes with the terminating NUL).
_SUN_PATH_MAX = 107


class ProcessWorker:
    """One worker process and the connection to it. Thread-safe for :meth:`call`."""

    backend = "process"

    def __init__(self, name: str, settings: dict[str, Any], directory: str, generation: int):
        self.name = name
        self.settings = settings
        self.generation = generation
        # Unique per worker: BaseProxy caches each thread's connection by address. Short and
        # independent of the service name: a Unix socket path has a 107-byte budget (sun_path).
        self.address = os.path.join(directory, f"w{generation}-{secrets.token_hex(4)}.sock")
        if len(os.fsencode(self.address)) > _SUN_PATH_MAX:
            raise StartFailed(
                "backend",
                f"socket path {self.address!r} is longer than the {_SUN_PATH_MAX} bytes a Unix "
                "socket allows: set TMPDIR to a shorter directory",
            )
        self.owner_pid = os.getpid()  # only the process that started the worker ends it
        self._killed = False
        self._authkey = secrets.token_bytes(32)
        self.pid: int | None = None
        self.factory_seconds = 0.0
        self._popen: subprocess.Popen[bytes] | None = None
        self._mp_process: Any = None
        self._proxy: _HostProxy | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Start the worker, run the factory there, connect. Raises StartFailed."""
        spec: dict[str, Any] = {
            "address": self.address,
            "authkey": self._authkey,
            "factory": self.settings["factory"],
            "max_rss_bytes": int(float(self.settings["max_rss_mb"]) * 1024 * 1024),
            "rss_check_interval_s": float(self.settings["rss_check_interval_s"]),
        }
        if self.settings["start_method"] == "forkserver":
            report = self._start_forkserver(spec)
        else:
            report = self._start_spawn(spec)
        timeout = float(self.settings["start_timeout_s"]) or None
        ready = False
        try:
            ready = report.poll(timeout)
            message = report.recv() if ready else None
        except (EOFError, OSError):
            message = None
        finally:
            report.close()
        if message is None:
            if ready:  # EOF: the worker closed the pipe by exiting; its status follows
                self.wait(10)
            if self.exitcode() is None:
                self.kill()
                self.wait(5)
                raise StartFailed("timeout", f"did not start within start_timeout_s={timeout:g}")
            self.wait(5)
            raise StartFailed("exit", f"worker {describe_exit(self.exitcode())} while starting")
        if message[0] == "factory_error":
            _, kind, text, tb = message
            self.wait(5)
            raise StartFailed(
                "factory", f"factory {self.settings['factory']} raised {kind}: {text}", tb
            )
        _, _address, self.factory_seconds = message
        client = _Client(address=self.address, authkey=self._authkey)
        client.connect()
        self._proxy = client.service()  # type: ignore[attr-defined]

    def _start_spawn(self, spec: dict[str, Any]) -> Connection:
        read_fd, write_fd = os.pipe()
        spec["report_fd"] = write_fd
        code = "from lazymed.isolate._worker import main; main()"
        try:
            self._popen = subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.PIPE,
                pass_fds=(write_fd,),
                close_fds=True,
                env=_worker_env(),
            )
        finally:
            os.close(write_fd)
        self.pid = self._popen.pid
        self._kill_if_ended()
        assert self._popen.stdin is not None
        self._popen.stdin.write(pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
        self._popen.stdin.flush()  # stdin stays open: the worker exits at its EOF
        return Connection(read_fd, writable=False)

    def _start_forkserver(self, spec: dict[str, Any]) -> Connection:
        import multiprocessing

        from . import _worker

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["lazymed.isolate._worker"])
        reader, writer = ctx.Pipe(duplex=False)
        self._mp_process = ctx.Process(
            target=_worker.process_main,
            args=(spec, writer),
            name=f"lazymed-isolate-{self.name}",
            daemon=False,
        )
        self._mp_process.start()
        writer.close()
        self.pid = self._mp_process.pid
        self._kill_if_ended()
        return reader

    def _kill_if_ended(self) -> None:
        # stop(timeout=...) may have ended this start before the process existed.
        with self._lock:
            killed = self._killed
        if killed:
            self.kill()

    def exitcode(self) -> int | None:
        """None while running; the exit code (negative: the signal) once it has ended."""
        code: int | None
        if self._popen is not None:
            code = self._popen.poll()
            if code is None and _exited(self._popen.pid):
                # poll() answers None while another thread holds the Popen's waitpid lock;
                # waitid(WNOWAIT) saw the exit without reaping it: wait() collects the status.
                code = self._popen.wait()
            return code
        if self._mp_process is not None:
            code = self._mp_process.exitcode
            return code
        return None

    def kill(self) -> None:
        """SIGKILL the worker (hung or timed out); a start still under way ends too."""
        with self._lock:
            self._killed = True
        try:
            if self._popen is not None:
                self._popen.kill()
            elif self._mp_process is not None:
                self._mp_process.kill()
        except (ProcessLookupError, OSError):
            pass

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` s for the worker to end; its exit code or None."""
        if self._popen is not None:
            try:
                return self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                return None
        if self._mp_process is not None:
            self._mp_process.join(timeout)
        return self.exitcode()

    def terminate(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait up to ``timeout`` s, then SIGKILL. Returns the exit code."""
        if self.exitcode() is None:
            try:
                if self._popen is not None:
                    self._popen.terminate()
                elif self._mp_process is not None:
                    self._mp_process.terminate()
            except (ProcessLookupError, OSError):
                pass
            if self.wait(timeout) is None:
                self.kill()
                self.wait(timeout)
        self._close()
        return self.exitcode()

    def _close(self) -> None:
        if os.getpid() != self.owner_pid:  # a forked child: the socket is the parent's
            return
        if self._popen is not None and self._popen.stdin is not None:
            with contextlib.suppress(OSError):
                self._popen.stdin.close()
        with contextlib.suppress(OSError):
            os.unlink(self.address)
        self._proxy = None
        close_connections(self.address)

    def forget(self) -> None:
        """In a forked child: let go of the parent's worker without signalling it, unlinking
        its socket or telling its manager anything (the proxy's decref finalizer, which would
        run at the child's exit, is cancelled)."""
        proxy, self._proxy = self._proxy, None
        close = getattr(proxy, "_close", None)
        if close is not None:
            close.cancel()
        if self._mp_process is not None:
            import multiprocessing.process

            # else multiprocessing's exit handler would join the parent's child
            multiprocessing.process._children.discard(self._mp_process)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ calls

    def call(self, ref: int, method: str, payload: bytes) -> tuple[Any, ...]:
        """One ``Host.call`` in the worker. Raises Lost when the connection breaks."""
        return self._invoke("call", (ref, method, payload))  # type: ignore[no-any-return]

    def methods(self, ref: int) -> list[str]:
        """``Host.methods`` in the worker."""
        return self._invoke("methods", (ref,))  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        """``Host.stats`` in the worker."""
        return self._invoke("stats", ())  # type: ignore[no-any-return]

    def release(self, ref: int) -> None:
        """``Host.release`` in the worker."""
        self._invoke("release", (ref,))

    def _invoke(self, op: str, args: tuple[Any, ...]) -> Any:
        proxy = self._proxy
        if proxy is None:
            raise Lost("not connected")
        try:
            return proxy._callmethod(op, args)
        except (BrokenPipeError, ConnectionRefusedError, FileNotFoundError) as exc:
            # Connecting or sending failed: the worker never saw this request.
            raise Lost(f"{type(exc).__name__}: {exc}", delivered=False) from exc
        except (EOFError, ConnectionError, OSError) as exc:
            raise Lost(f"{type(exc).__name__}: {exc}") from exc


def _exited(pid: int) -> bool:
    """Whether child ``pid`` has exited (a zombie waiting to be reaped), without reaping it."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # already reaped (by Popen in another thread)
        return False


def _worker_env() -> dict[str, str]:
    # The worker must import lazymed from where the caller did (a source checkout, a venv).
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    if here not in paths:
        paths.insert(0, here)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env

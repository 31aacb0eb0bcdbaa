"""The worker process: build the service, then serve it with ``multiprocessing.managers``.

Runs in the worker only. The server is a ``BaseManager`` subclass with one registered typeid,
``service``, whose callable returns the one :class:`~lazymed.isolate._host.Host` and takes no
arguments; a ``Host`` exposes only :data:`~lazymed.isolate._host.EXPOSED`. So the manager's
``create`` can make nothing else, and a method name the service does not have is refused.

The spec (address, authkey, factory, limits) arrives on stdin, never in argv or the
environment, where other users could read it from ``/proc``. A Unix socket is created with mode
0600 (umask 0177, then chmod) inside the caller's private 0700 directory. The worker exits when
the caller does (EOF on stdin), on SIGTERM, or when the server's ``shutdown`` is called.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from multiprocessing.managers import BaseManager
from typing import Any

from ._host import EXPOSED, Host, safe_str

#: Exit status of a worker whose factory raised (the reason went to the caller first).
FACTORY_FAILED = 3


class ServiceManager(BaseManager):
    """A manager that knows one typeid, ``service`` (registered by :func:`serve`)."""


def _on_sigterm(signum: int, frame: object) -> None:
    # The caller sends SIGTERM only once no call is in flight. Exit now: serve_forever() would
    # notice a SystemExit only at its next 1 s poll, and interpreter shutdown with the
    # manager's daemon threads still blocked in recv() can abort.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(0)


def serve(spec: dict[str, Any], report: Connection) -> None:
    """Build the service from ``spec`` and serve it until stopped; never returns.

    ``spec``: ``{"address": socket path or (host, port), "authkey": bytes, "factory":
    "module:callable", "max_rss_bytes": int, "rss_check_interval_s": float}``. Sends
    ``("ready", address, factory_seconds)`` or ``("factory_error", type, message, traceback
    text)`` on ``report``, then closes it.
    """
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        host = Host(
            spec["factory"],
            max_rss_bytes=spec["max_rss_bytes"],
            rss_check_interval_s=spec["rss_check_interval_s"],
        )
    except BaseException as exc:  # the caller gets the reason, then we exit
        kind = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")
        try:
            text = "".join(traceback.format_exception(exc))
        except Exception:
            text = f"{kind} (traceback could not be formatted)\n"
        report.send(("factory_error", kind, safe_str(exc, kind), text))
        report.close()
        os._exit(FACTORY_FAILED)

    def service() -> Host:
        return host

    ServiceManager.register("service", callable=service, exposed=EXPOSED)
    address = spec["address"]
    old_umask = os.umask(0o177)  # the socket file is created 0600
    try:
        server = ServiceManager(address=address, authkey=spec["authkey"]).get_server()
    finally:
        os.umask(old_umask)
    if isinstance(address, str):
        os.chmod(address, 0o600)
    report.send(("ready", server.address, host.factory_seconds))
    report.close()
    server.serve_forever()  # exits the process


def _exit_with_parent(wait: Any) -> None:
    def watch() -> None:
        wait()
        os._exit(0)  # the caller is gone: nobody can reach this worker any more

    threading.Thread(target=watch, name="lazymed-parent-watch", daemon=True).start()


def _read_to_eof() -> None:
    # Raw reads on fd 0: a daemon thread blocked in sys.stdin's buffered reader can abort
    # interpreter shutdown ("could not acquire lock for <stdin>").
    while os.read(0, 4096):
        pass


def main() -> None:
    """Entry point of a spawned worker (``python -c "...; main()"``): the pickled spec on stdin,
    ``report_fd`` in it is the pipe to answer on."""
    spec = pickle.load(sys.stdin.buffer)
    _exit_with_parent(_read_to_eof)  # returns at EOF: the caller closed stdin or died
    serve(spec, Connection(spec.pop("report_fd"), readable=False))


def process_main(spec: dict[str, Any], report: Connection) -> None:
    """Target of a ``multiprocessing`` (forkserver) Process."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is not None:
        _exit_with_parent(parent.join)
    serve(spec, report)

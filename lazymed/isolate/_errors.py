"""The one exception of the isolation layer."""

from __future__ import annotations


class ServiceError(Exception):
    """A call to an isolated service failed outside the caller's process.

    ``service`` names the service; ``cause`` is one of:

    * ``"exception"`` -- the method raised in the worker (``remote_type``, ``remote_traceback``;
      ``__cause__`` is the exception itself when it could be unpickled here);
    * ``"factory"`` -- the factory raised while the worker started;
    * ``"exit"`` -- the worker died (``exitcode``: negative for a signal, e.g. -9 for SIGKILL
      as the OOM killer sends, -11 for a segfault);
    * ``"timeout"`` -- a call ran past ``call_timeout_s`` (the worker was killed; the calls
      in flight with it fail too) or the worker did not start within ``start_timeout_s``;
    * ``"restart_limit"`` -- more than ``max_restarts`` failures within ``restart_window_s``:
      no new worker is started until the window has passed (or ``stop()`` resets it);
    * ``"pickle"`` -- arguments or a result could not cross between the processes;
    * ``"stopped"`` -- ``stop(timeout=...)`` ended the worker under a call;
    * ``"backend"`` -- the backend itself failed (e.g. Ray is not installed).

    The caller's process and its modules are untouched; the next call starts a fresh worker
    (after a back-off) unless the restart limit is reached.
    """

    def __init__(
        self,
        service: str,
        cause: str,
        detail: str,
        *,
        remote_type: str | None = None,
        remote_traceback: str | None = None,
        exitcode: int | None = None,
    ) -> None:
        message = f"isolated service {service!r} ({cause}): {detail}"
        if remote_traceback:
            message += "\n\nTraceback in the worker:\n" + remote_traceback.rstrip()
        super().__init__(message)
        self.service = service
        self.cause = cause
        self.detail = detail
        self.remote_type = remote_type
        self.remote_traceback = remote_traceback
        self.exitcode = exitcode

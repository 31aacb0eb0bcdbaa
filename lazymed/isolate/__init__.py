"""lazymed.isolate: heavy services in worker processes that can be stopped.

Configure ``[tool.lazymed.isolate.NAME]`` (``factory = "package.module:callable"`` and limits),
then ``svc = lazymed.isolate.service(NAME)``; ``svc.method(...)`` runs in the worker. Stopping
the worker is the only way to give all of a heavy package's memory back (see docs/isolate.md).

A layer above the core: ``import lazymed`` never imports it. The single-machine backend uses
the standard library's ``multiprocessing.managers``; ``backend = "ray"`` needs the ``ray`` extra
and imports Ray only then. psutil is imported by ``stop()`` and ``status()`` only.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

from ._errors import ServiceError
from ._handles import RemoteObject, ServiceHandle
from ._service import Runtime, ServiceStatus, StopReport, runtime, runtimes

__all__ = [
    "RemoteObject",
    "ServiceError",
    "ServiceHandle",
    "ServiceStatus",
    "StopReport",
    "service",
    "status",
    "stop",
]


def _settings(name: str) -> dict[str, object]:
    from .. import _schema
    from .._config import load_config
    from .._registry import REGISTRY

    cfg = REGISTRY.config if REGISTRY.installed and REGISTRY.config is not None else None
    if cfg is None:
        cfg = load_config()
    tables = cfg.isolate
    if name not in tables:
        where = cfg.path or "the configuration (no pyproject.toml with [tool.lazymed] found)"
        known = ", ".join(sorted(tables)) or "none"
        from .._errors import ConfigError

        raise ConfigError(
            f"no isolated service {name!r}: add [tool.lazymed.isolate.{name}] with a factory "
            f"to {where} (services defined: {known})"
        )
    return {**_schema.ISOLATE_DEFAULTS, **tables[name]}


def service(name: str) -> ServiceHandle:
    """The handle of isolated service ``name`` (``[tool.lazymed.isolate.NAME]``).

    The worker starts on the first call (or at ``install()`` with ``warm = true``). Settings are
    read once per process from the installed configuration (else the nearest pyproject.toml).
    Raises ConfigError naming the file when there is no such table. Calls raise ServiceError
    when the worker fails (see its ``cause``) and AttributeError for a method the service
    object does not have.
    """
    rt = _runtime(name)
    _register_memory_action()
    return ServiceHandle(rt)


def stop(name: str, *, timeout: float | None = None) -> StopReport:
    """Stop service ``name``'s worker once its calls in flight have finished (after ``timeout``
    seconds they are ended with ServiceError cause "stopped"); the next call starts a fresh
    worker. Resets the restart limit.

    Returns a StopReport: the worker's RSS and USS just before the stop and the RSS of this
    process tree (this process and every descendant) before and after, in bytes, read with
    psutil from this process. ``stopped`` is False when no worker was running. Raises
    ConfigError for an unknown service.
    """
    return _runtime(name).stop("stop()", timeout)


def status(*, rss: bool = True) -> list[ServiceStatus]:
    """Every service this process has used, by name: state, pid, RSS (psutil, read from this
    process), calls, restarts, calls in flight, last error, start time (Unix) and start and
    factory seconds. ``rss=False`` leaves ``rss_bytes`` None and does not import psutil (for a
    cheap readiness probe)."""
    _register_memory_action()  # the governor may have been imported since this layer was
    return [rt.status(rss) for rt in runtimes()]


def _runtime(name: str) -> Runtime:
    for rt in runtimes():
        if rt.name == name:
            return rt
    return runtime(name, _settings(name))


def _warm(names: tuple[str, ...]) -> None:
    """Start the workers of ``names`` (``warm = true``), one after another, then serve as this
    process's monitor thread; never returns. Runs in the background thread that
    ``lazymed.install()`` starts: one thread for both jobs, because every thread that allocates
    costs the process a glibc malloc arena (64 MiB of VMS) and a stack. A failure is recorded by
    the service (status().last_error) and its first call retries."""
    from ._service import become_monitor, run_monitor

    claimed = become_monitor()
    for name in names:
        try:
            _runtime(name).warm()
        except Exception:  # kept in the service status; the first call retries
            continue
    _register_memory_action()
    if claimed:
        run_monitor()


def _stop_isolated_action(context: object) -> dict[str, object]:
    """Stop isolated services with no call in flight: stopping a worker returns all of its
    memory (the first thing the governor tries in an emergency)."""
    stopped = []
    for rt in runtimes():
        if rt.worker is not None and not rt.in_flight:
            report = rt.stop("memory governor")
            stopped.append({"name": report.name, "returned_bytes": report.returned_bytes})
    return {"detail": f"stopped {len(stopped)} isolated service(s)", "services": stopped}


_registered: list[Callable[[], None]] = []


def _register_memory_action() -> None:
    # isolate -> memory, never the reverse. Only when the governor is already imported: this
    # layer must not pull psutil/cachetools into a process that does not use the governor.
    memory = sys.modules.get("lazymed.memory")
    if memory is None or _registered:
        return
    remove = memory.add_action(
        "stop_isolated",
        _stop_isolated_action,
        level="emergency",
        order=memory.ORDER_STOP_ISOLATED,
        description="stop isolated services with no call in flight (returns all their memory)",
        replace=True,
    )
    _registered.append(remove)
    add_provider = getattr(memory, "add_provider", None)
    if add_provider is not None:
        # snapshot().services: the same records status() gives, JSON-ready; a "services"
        # section someone else provides stays theirs (ValueError)
        with contextlib.suppress(ValueError):
            _registered.append(add_provider("services", _services_section))


def _services_section() -> list[dict[str, object]]:
    import dataclasses

    return [dataclasses.asdict(s) for s in status()]


_register_memory_action()

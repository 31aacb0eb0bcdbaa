"""``snapshot()``: everything the governor knows, as one typed object with ``as_dict()``.

Layers above add sections through providers (``add_provider("services", fn)`` is how
lazymed.isolate reports its workers), never by being imported from here.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from typing import Any

from ._cache import CacheStats, caches
from ._governor import MONITOR, Event
from ._leak import LeakVerdict
from ._sample import Cgroup, Pressure, Sample

_PROVIDERS: dict[str, Callable[[], Any]] = {}
_LOCK = threading.Lock()


def add_provider(name: str, fn: Callable[[], Any]) -> Callable[[], None]:
    """Add a snapshot section: ``snapshot().providers[name]`` is ``fn()`` (JSON-ready data).

    ``"services"`` is the isolated services' section (also ``snapshot().services``). A
    provider that raises is reported as ``{"error": "Type: message"}``. Returns a function that
    removes it. Raises ValueError if ``name`` is taken.
    """
    with _LOCK:
        if name in _PROVIDERS:
            raise ValueError(f"a snapshot provider named {name!r} is already registered")
        _PROVIDERS[name] = fn

    def remove() -> None:
        with _LOCK:
            if _PROVIDERS.get(name) is fn:
                del _PROVIDERS[name]

    return remove


@dataclasses.dataclass(frozen=True, slots=True)
class MemorySnapshot:
    """One view of the process's memory and the governor (schema in docs/memory.md).

    ``process``: a full :class:`Sample` taken now (``cgroup`` and ``pressure`` are also at the
    top level). ``level``: the monitor's level (with hysteresis) if it has taken readings, else
    the level the current RSS falls in. ``thresholds``: bytes. ``history``: level, VMS and leak
    events, oldest first. ``leak``: the detector's verdict. ``modules``: lazymed.status()'s
    records as dicts. ``caches``: every ``cache()``. ``services``: the ``"services"`` provider's
    data (``None`` without one). ``actions``: the last chain reports, oldest first.
    """

    pid: int
    wall: float
    monitor_running: bool
    samples: int
    process: Sample
    cgroup: Cgroup | None
    pressure: Pressure | None
    level: str
    vms_alert: bool
    thresholds: dict[str, int]
    history: tuple[Event, ...]
    leak: LeakVerdict
    modules: tuple[dict[str, Any], ...]
    caches: tuple[CacheStats, ...]
    services: Any
    providers: dict[str, Any]
    actions: tuple[Any, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``json.dumps`` works on it); keys as documented in docs/memory.md."""
        out = dataclasses.asdict(self)
        out["process"].pop("cgroup", None)
        out["process"].pop("pressure", None)
        safe: dict[str, Any] = _json_safe(out)
        return safe


def _json_safe(value: Any) -> Any:
    """``value`` with what JSON cannot carry (objects, sets, NaN and infinities from user actions
    and providers) replaced by text, so one plug-in cannot break the whole snapshot."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_json_safe(v) for v in value), key=repr)
    return repr(value)


def snapshot() -> MemorySnapshot:
    """A :class:`MemorySnapshot` of this process now. Configures the governor from the project's
    config if nothing has yet (ConfigError naming file and key for a bad ``[tool.lazymed.memory]``).
    Does not start the monitor or run actions."""
    from .. import status  # the core's per-module records

    settings = MONITOR._ensure()
    assert MONITOR.sampler is not None
    sample = MONITOR.sampler.sample(full=True)
    tracker = MONITOR._tracker
    if MONITOR.samples and tracker is not None:
        level, vms_alert = tracker.level, tracker.vms_alert
    else:
        t = settings.thresholds
        level = "ok"
        for name in ("warning", "critical", "emergency"):
            if sample.rss_bytes >= t.of(name):
                level = name
        vms_alert = sample.vms_bytes >= t.vms_alert
    detector = MONITOR._leak
    verdict = (
        detector.verdict()
        if detector is not None
        else LeakVerdict(False, None, None, None, 0, 0.0, "monitor not configured")
    )
    with _LOCK:
        providers = dict(_PROVIDERS)
    data: dict[str, Any] = {}
    for name, fn in providers.items():
        try:
            data[name] = fn()
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # one broken provider must not hide the rest
            data[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return MemorySnapshot(
        pid=sample.pid,
        wall=sample.wall,
        monitor_running=MONITOR.running,
        samples=MONITOR.samples,
        process=sample,
        cgroup=sample.cgroup,
        pressure=sample.pressure,
        level=level,
        vms_alert=vms_alert,
        thresholds=dataclasses.asdict(settings.thresholds),
        history=tuple(MONITOR.history),
        leak=verdict,
        modules=tuple(dataclasses.asdict(m) for m in status().modules),
        caches=tuple(c.stats() for c in caches()),
        services=data.get("services"),
        providers=data,
        actions=tuple(MONITOR.reports),
    )

"""``GET {prefix}/metrics``: Prometheus text through prometheus-client (the ``web`` extra).

One process: a fresh registry per scrape with a collector reading the snapshot (no global
state). Under gunicorn with several workers, prometheus-client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR`` set) merges mmap ``.db`` files and drops custom collectors and the
process collector (client_python#433): each worker then writes our own gauges with
``multiprocess_mode="liveall"`` (a ``pid`` label per live worker) and counters by increment; a
scrape merges them. Files of dead workers are removed at each scrape and by the gunicorn
``child_exit`` hook (:func:`cleanup_dead`): ``mark_process_dead`` alone leaves counter and
non-live gauge files behind, and scrapes slow down as they pile up (client_python#367, #204).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

try:
    import prometheus_client as _pc
    from prometheus_client import multiprocess as _mp
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    from prometheus_client.registry import Collector, CollectorRegistry
except ModuleNotFoundError as _exc:
    raise ModuleNotFoundError(
        "lazymed.web metrics need the 'web' extra (prometheus-client): "
        f"pip install 'lazymed[web]' (missing: {_exc.name})",
        name=_exc.name,
    ) from _exc

if TYPE_CHECKING:
    from ._endpoints import WebState

__all__ = ["cleanup_dead", "multiprocess_dir", "render"]

LEVELS = {"ok": 0, "warning": 1, "critical": 2, "emergency": 3}
_DB = re.compile(r"_(\d+)\.db$")


def multiprocess_dir() -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR`` (or the older lower-case name) if set, else None."""
    old = "prometheus_multiproc_dir"  # prometheus-client still reads the lower-case name
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get(old)


def _families(
    state: WebState, data: dict[str, Any]
) -> list[tuple[str, str, str, list[tuple[dict[str, str], float]]]]:
    """(name, type, help, [(labels, value)]) for one snapshot: the one list both modes use."""
    proc = data.get("process") or {}
    out: list[tuple[str, str, str, list[tuple[dict[str, str], float]]]] = []

    def gauge(name: str, doc: str, value: Any, labels: dict[str, str] | None = None) -> None:
        if value is not None:
            out.append((name, "gauge", doc, [(labels or {}, float(value))]))

    gauge("lazymed_rss_bytes", "Resident set size of the process (psutil).", proc.get("rss_bytes"))
    gauge("lazymed_vms_bytes", "Virtual memory size of the process.", proc.get("vms_bytes"))
    gauge("lazymed_uss_bytes", "Unique set size (smaps_rollup).", proc.get("uss_bytes"))
    gauge("lazymed_pss_bytes", "Proportional set size.", proc.get("pss_bytes"))
    gauge("lazymed_swap_bytes", "Swapped-out memory.", proc.get("swap_bytes"))
    gauge("lazymed_threads", "OS threads of the process.", proc.get("threads"))
    gauge("lazymed_open_fds", "Open file descriptors.", proc.get("open_files"))
    gauge(
        "lazymed_level",
        "Governor level: 0 ok, 1 warning, 2 critical, 3 emergency.",
        LEVELS.get(str(data.get("level")), 0),
    )
    gauge("lazymed_vms_alert", "1 while the VMS alert is on.", int(bool(data.get("vms_alert"))))
    leak = data.get("leak") or {}
    gauge(
        "lazymed_leak_suspected",
        "1 while the leak detector suspects a leak.",
        int(bool(leak.get("suspected"))),
    )
    slope = leak.get("slope_mb_h")
    if slope is not None:
        gauge(
            "lazymed_rss_slope_bytes_per_second",
            "RSS trend of the leak detector's window.",
            slope * 1024 * 1024 / 3600,
        )
    thresholds = data.get("thresholds") or {}
    out.append(
        (
            "lazymed_threshold_bytes",
            "gauge",
            "Governor thresholds (RSS; vms_alert: VMS).",
            [({"threshold": k}, float(v)) for k, v in sorted(thresholds.items()) if v is not None],
        )
    )
    cg = data.get("cgroup") or {}
    gauge(
        "lazymed_cgroup_memory_current_bytes", "cgroup v2 memory.current.", cg.get("current_bytes")
    )
    gauge(
        "lazymed_cgroup_memory_max_bytes",
        "cgroup v2 memory.max (smallest up the tree).",
        cg.get("max_bytes"),
    )
    counts: dict[str, int] = {}
    for record in data.get("modules") or ():
        counts[str(record.get("state"))] = counts.get(str(record.get("state")), 0) + 1
    out.append(
        (
            "lazymed_modules",
            "gauge",
            "Modules lazymed manages, by state.",
            [({"state": k}, float(v)) for k, v in sorted(counts.items())],
        )
    )
    caches = data.get("caches") or ()
    out.append(
        (
            "lazymed_cache_bytes",
            "gauge",
            "Estimated bytes held by each bounded cache.",
            [({"cache": str(c["name"])}, float(c["size_bytes"])) for c in caches],
        )
    )
    out.append(
        (
            "lazymed_cache_max_bytes",
            "gauge",
            "Bound of each bounded cache.",
            [({"cache": str(c["name"])}, float(c["max_bytes"])) for c in caches],
        )
    )
    services = data.get("services") or ()
    out.append(
        (
            "lazymed_isolated_rss_bytes",
            "gauge",
            "RSS of each isolated service's worker.",
            [
                ({"service": str(s["name"])}, float(s["rss_bytes"]))
                for s in services
                if s.get("rss_bytes") is not None
            ],
        )
    )
    out.append(
        (
            "lazymed_isolated_up",
            "gauge",
            "1 while the isolated service's worker runs.",
            [({"service": str(s["name"])}, float(s.get("state") == "running")) for s in services],
        )
    )
    out.append(
        (
            "lazymed_isolated_restarts",
            "counter",
            "Restarts of each isolated service.",
            [({"service": str(s["name"])}, float(s.get("restarts") or 0)) for s in services],
        )
    )
    out.append(
        (
            "lazymed_freed_bytes",
            "counter",
            "RSS bytes given back by governor chains (measured).",
            [({}, float(state.freed_bytes_total))],
        )
    )
    return out


class _SnapshotCollector(Collector):
    def __init__(
        self, families: list[tuple[str, str, str, list[tuple[dict[str, str], float]]]]
    ) -> None:
        self._families = families

    def collect(self) -> Iterator[Any]:
        for name, kind, doc, samples in self._families:
            labels = sorted({k for lab, _ in samples for k in lab})
            family: Any
            if kind == "counter":
                family = CounterMetricFamily(name, doc, labels=labels)
            else:
                family = GaugeMetricFamily(name, doc, labels=labels)
            for lab, value in samples:
                family.add_metric([lab[k] for k in labels], value)
            yield family


class _Multiprocess:
    """This process's metric objects in multiprocess mode (created once per process; values
    go to ``<dir>/<type>_<pid>.db``)."""

    def __init__(self) -> None:
        self.metrics: dict[str, Any] = {}
        self.counted: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.seen: dict[str, set[tuple[tuple[str, str], ...]]] = {}
        self.lock = threading.Lock()

    def update(
        self, families: list[tuple[str, str, str, list[tuple[dict[str, str], float]]]]
    ) -> None:
        with self.lock:
            for name, kind, doc, samples in families:
                labels = sorted({k for lab, _ in samples for k in lab})
                metric = self.metrics.get(name)
                if metric is None and not samples:
                    continue  # label names come from the first samples (an empty family: none)
                if metric is None:
                    if kind == "counter":
                        metric = _pc.Counter(name, doc, labels, registry=None)
                    else:
                        metric = _pc.Gauge(
                            name, doc, labels, registry=None, multiprocess_mode="liveall"
                        )
                    self.metrics[name] = metric
                present = set()
                for lab, value in samples:
                    key = tuple(sorted(lab.items()))
                    present.add(key)
                    child = metric.labels(**lab) if lab else metric
                    if kind == "counter":
                        # Counters are summed over files: add what is new since the last update.
                        delta = value - self.counted.get((name, key), 0.0)
                        if delta > 0:
                            child.inc(delta)
                        self.counted[(name, key)] = max(value, self.counted.get((name, key), 0.0))
                    else:
                        cast("_pc.Gauge", child).set(value)
                for key in self.seen.get(name, set()) - present:
                    if isinstance(metric, _pc.Gauge):  # a state or cache gone: 0, not stale
                        (metric.labels(**dict(key)) if key else metric).set(0)
                self.seen.setdefault(name, set()).update(present)


_MP: dict[int, _Multiprocess] = {}


def update_multiprocess(state: WebState, data: dict[str, Any]) -> None:
    """Write this worker's figures into the multiprocess files (no-op outside that mode)."""
    if multiprocess_dir() is None:
        return
    mp = _MP.get(os.getpid())
    if mp is None:
        _MP.clear()
        mp = _MP[os.getpid()] = _Multiprocess()
    mp.update(_families(state, data))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_dead(path: str | None = None, dead: int | None = None) -> list[str]:
    """Remove the ``.db`` files of workers that are no longer alive (and of ``dead``, the pid
    gunicorn's ``child_exit`` reports) after ``mark_process_dead``. Returns the removed file
    names. Counters of a removed worker leave the sum (Prometheus's ``rate()`` treats the drop
    as a counter reset)."""
    path = path or multiprocess_dir()
    if not path or not os.path.isdir(path):
        return []
    pids: dict[int, list[str]] = {}
    for name in os.listdir(path):
        match = _DB.search(name)
        if match:
            pids.setdefault(int(match.group(1)), []).append(name)
    removed = []
    for pid, names in pids.items():
        if pid != dead and (pid == os.getpid() or _alive(pid)):
            continue
        _mp.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
        for name in names:
            try:
                os.remove(os.path.join(path, name))
                removed.append(name)
            except FileNotFoundError:
                pass
    return removed


def render(state: WebState, *, openmetrics: bool = False) -> tuple[str, bytes]:
    """(content type, body) of one scrape."""
    data = state.snapshot()
    families = _families(state, data)
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path is not None:
        update_multiprocess(state, data)
        cleanup_dead(path)
        _mp.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    else:
        registry.register(_SnapshotCollector(families))
    if openmetrics:
        from prometheus_client.openmetrics import exposition as om

        return om.CONTENT_TYPE_LATEST, om.generate_latest(registry)  # type: ignore[no-untyped-call]
    return _pc.CONTENT_TYPE_LATEST, _pc.generate_latest(registry)

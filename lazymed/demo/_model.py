"""What the demo measures, as typed records, and the targets it holds them against.

Each record has ``as_dict()``: its part of the ``lazymed.demo/1`` JSON document (docs/demo.md
documents every key). Memory in bytes, times in seconds.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

SCHEMA = "lazymed.demo/1"
MB = 1_000_000  # the story's memory targets are decimal megabytes ...
MIB = 1 << 20  # ... shown, like every figure, in MiB (as `lazymed profile` does)

#: Targets from the project's story: the lazy app must start within them.
TARGETS: dict[str, float] = {
    "startup_seconds": 5.0,
    "rss_bytes": 50 * MB,
    "vms_bytes": 200 * MB,
    "threads": 8,
    "gc_objects": 50_000,
    "response_seconds": 0.2,
    # isolated mode: the whole process tree after the first RAG request, at most this many times
    # the eager single process (isolation must not double the memory)
    "tree_rss_vs_eager": 1.10,
}

#: The two moments a run is measured at, in order.
PHASES = ("startup", "after_first_rag")

#: The JSON document ``run_demo`` returns (see docs/demo.md); the renderers read it.
Document = dict[str, Any]


class DemoError(RuntimeError):
    """The demo could not complete: a child failed to start or answered badly."""


class DemoSetupError(DemoError):
    """The demo cannot start: the app directory or the app's packages are missing."""


class Progress(Protocol):
    """Receives one call per step; ``message`` is a short human phrase."""

    def __call__(self, message: str) -> None: ...


def no_progress(message: str) -> None:
    """A :class:`Progress` that says nothing."""
    return None


@dataclass(frozen=True)
class OutsideReading:
    """The child read from this process with psutil: resident and virtual memory in bytes, OS
    threads, and the wall-clock time of the reading (``time.time()``)."""

    rss_bytes: int
    vms_bytes: int
    threads: int
    unix_time: float
    #: RSS of the child and all its descendants (isolated workers), and how many processes.
    tree_rss_bytes: int = 0
    processes: int = 1

    def as_dict(self) -> dict[str, Any]:
        """``{"rss_bytes", "vms_bytes", "threads", "unix_time", "tree_rss_bytes",
        "processes"}``."""
        return {
            "rss_bytes": self.rss_bytes,
            "vms_bytes": self.vms_bytes,
            "threads": self.threads,
            "unix_time": self.unix_time,
            "tree_rss_bytes": self.tree_rss_bytes,
            "processes": self.processes,
        }


@dataclass(frozen=True)
class InsideReading:
    """What the child reported about itself (``GET /_demo/introspect``): its own
    ``/proc/self/status`` memory in bytes and threads (None where it could not read them), gc
    objects after ``gc.collect()`` and ``len(sys.modules)``."""

    rss_bytes: int | None
    vms_bytes: int | None
    threads: int | None
    gc_objects: int | None
    modules: int | None

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> InsideReading:
        """From the introspection endpoint's JSON (missing keys become None)."""

        def get(key: str) -> int | None:
            value = report.get(key)
            return None if value is None else int(value)

        return cls(
            get("rss_bytes"), get("vms_bytes"), get("threads"), get("gc_objects"), get("modules")
        )

    def as_dict(self) -> dict[str, Any]:
        """``{"rss_bytes", "vms_bytes", "threads", "gc_objects", "modules"}``."""
        return {
            "rss_bytes": self.rss_bytes,
            "vms_bytes": self.vms_bytes,
            "threads": self.threads,
            "gc_objects": self.gc_objects,
            "modules": self.modules,
        }


@dataclass(frozen=True)
class Phase:
    """One measurement of a running child: psutil before and after the child's own reading,
    that reading, the child's ``lazymed.status()`` (as a dict; None without lazymed) and where
    the inside reading falls outside the band of the two outside ones (``disagreements``)."""

    outside: OutsideReading
    outside_after: OutsideReading
    inside: InsideReading
    lazymed: dict[str, Any] | None
    disagreements: tuple[str, ...] = ()

    @property
    def agree(self) -> bool:
        """Whether the inside and outside readings agree."""
        return not self.disagreements

    def as_dict(self) -> dict[str, Any]:
        """``{"outside", "outside_after", "inside", "lazymed", "agree", "disagreements"}``."""
        return {
            "outside": self.outside.as_dict(),
            "outside_after": self.outside_after.as_dict(),
            "inside": self.inside.as_dict(),
            "lazymed": self.lazymed,
            "agree": self.agree,
            "disagreements": list(self.disagreements),
        }


@dataclass(frozen=True)
class Requests:
    """Client-side seconds of the first triage request, the first RAG request and each warm
    RAG request after it."""

    first_triage_seconds: float
    first_rag_seconds: float
    warm_rag_seconds: tuple[float, ...]

    @property
    def warm_rag_median_seconds(self) -> float:
        """The median warm RAG request (the first one's time when there were none)."""
        if not self.warm_rag_seconds:
            return self.first_rag_seconds
        return float(statistics.median(self.warm_rag_seconds))

    def as_dict(self) -> dict[str, Any]:
        """The four times, the warm ones as a list."""
        return {
            "first_triage_seconds": self.first_triage_seconds,
            "first_rag_seconds": self.first_rag_seconds,
            "warm_rag_seconds": list(self.warm_rag_seconds),
            "warm_rag_median_seconds": self.warm_rag_median_seconds,
        }


@dataclass(frozen=True)
class Responses:
    """SHA-256 of the first triage and RAG response bodies, and the RAG answer's top note."""

    triage_sha256: str
    rag_sha256: str
    rag_top_note: str

    def as_dict(self) -> dict[str, Any]:
        """``{"triage_sha256", "rag_sha256", "rag_top_note"}``."""
        return {
            "triage_sha256": self.triage_sha256,
            "rag_sha256": self.rag_sha256,
            "rag_top_note": self.rag_top_note,
        }


@dataclass(frozen=True)
class Run:
    """One fresh interpreter serving the app in one mode (``profile``: the lazymed profile it
    ran under, None for none), measured and stopped. ``startup_seconds`` is the client's
    start-up time, ``child_ready_after_seconds`` the child's own (process start to listening);
    ``startup_agree`` whether they agree (within 0.25 s + 10 %). ``phases`` maps
    :data:`PHASES` to their :class:`Phase`. ``exit_status`` is the child's after SIGTERM."""

    mode: str
    profile: str | None
    pid: int
    startup_seconds: float
    child_ready_after_seconds: float | None
    startup_agree: bool
    phases: Mapping[str, Phase]
    requests: Requests
    responses: Responses
    exit_status: int | None
    #: isolated mode: seconds from "ready" until the warm isolated services were running (the
    #: demo waits for them, via GET /healthz, before measuring); None in the other modes.
    services_ready_seconds: float | None = None

    @property
    def key(self) -> str:
        """``mode`` or ``mode/profile``: the column it belongs to."""
        return self.mode if self.profile is None else f"{self.mode}/{self.profile}"

    def as_dict(self) -> dict[str, Any]:
        """The run's entry of the document's ``runs`` list."""
        return {
            "mode": self.mode,
            "profile": self.profile,
            "pid": self.pid,
            "startup_seconds": self.startup_seconds,
            "child_ready_after_seconds": self.child_ready_after_seconds,
            "startup_agree": self.startup_agree,
            "phases": {name: phase.as_dict() for name, phase in self.phases.items()},
            "requests": self.requests.as_dict(),
            "responses": self.responses.as_dict(),
            "exit_status": self.exit_status,
            "services_ready_seconds": self.services_ready_seconds,
        }


@dataclass(frozen=True)
class Check:
    """One figure of one mode held against its target: ``value`` is the median of ``samples``
    (one per run of that mode, in run order), ``met`` is ``value < target``."""

    mode: str
    profile: str | None
    phase: str
    metric: str
    value: float
    target: float
    samples: tuple[float, ...] = field(default=())
    #: "at most" targets (the process tree vs eager) are met at equality too
    inclusive: bool = False

    @property
    def met(self) -> bool:
        """Whether the target was met (``value < target``; ``<=`` when ``inclusive``)."""
        return self.value <= self.target if self.inclusive else self.value < self.target

    def as_dict(self) -> dict[str, Any]:
        """The check's entry of the document's ``checks`` list."""
        return {
            "mode": self.mode,
            "profile": self.profile,
            "phase": self.phase,
            "metric": self.metric,
            "value": self.value,
            "target": self.target,
            "met": self.met,
            "samples": list(self.samples),
        }

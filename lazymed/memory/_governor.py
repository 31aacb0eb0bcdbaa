"""The governor: one monitor thread that samples, turns samples into level events, runs the
level's action chain, watches for leaks, and keeps a bounded history.

At most one daemon thread per process: it never keeps the interpreter from exiting (daemon,
and stopped by ``atexit``), and a forked child starts its own (``os.register_at_fork``), with
fresh locks and a fresh level state, since a child is a new process with its own memory.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from . import _actions
from ._actions import LEVELS, ChainReport
from ._leak import LeakDetector, LeakVerdict
from ._levels import RANKS, Change, LevelTracker
from ._sample import Sample, Sampler
from ._settings import Settings, resolve

log = logging.getLogger("lazymed")
MB = 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """One governor event.

    ``kind``: ``"level"`` (``previous`` -> ``level``), ``"vms_alert"`` / ``"vms_clear"`` (the
    VMS fragmentation alert; ``level`` is ``"alert"`` / ``"ok"``), ``"leak_suspected"`` /
    ``"leak_cleared"``. ``at``: the sampler's clock (seconds); ``wall``: Unix time. Bytes:
    ``rss_bytes``, ``vms_bytes``, ``uss_bytes`` at the reading; ``threshold_bytes``: the
    threshold crossed (for a fall, the one of the level left). ``cgroup_current_bytes`` /
    ``cgroup_limit_bytes``: cgroup v2 ``memory.current`` and ``memory.max`` (else
    ``memory.high``); ``psi_some_avg10``: PSI percent. ``leak``: the verdict for leak events.
    ``message``: the line logged on the ``lazymed`` logger.
    """

    kind: str
    previous: str
    level: str
    at: float
    wall: float
    pid: int
    rss_bytes: int
    vms_bytes: int
    uss_bytes: int | None
    threshold_bytes: int | None
    cgroup_current_bytes: int | None
    cgroup_limit_bytes: int | None
    psi_some_avg10: float | None
    leak: dict[str, Any] | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)


def _mb(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MB:.1f} MiB"


def _config_source() -> tuple[Mapping[str, Any], Callable[[str], str]]:
    """The memory table of the installed config, else of the project's pyproject.toml."""
    from .._config import load_config
    from .._registry import REGISTRY

    config = REGISTRY.config if REGISTRY.config is not None else load_config()
    table = config.table.get("memory", {})
    assert isinstance(table, dict)
    return table, lambda key: config.describe(f"memory.{key}")


class Monitor:
    """The process's governor state. Use the module-level functions of lazymed.memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._interval: float | None = None
        self._callbacks: list[Callable[[Event], object]] = []
        self.settings: Settings | None = None
        self.sampler: Sampler | None = None
        self._tracker: LevelTracker | None = None
        self._leak: LeakDetector | None = None
        self._leak_flagged = False
        self.history: collections.deque[Event] = collections.deque(maxlen=256)
        self.reports: collections.deque[ChainReport] = collections.deque(maxlen=16)
        self.last_sample: Sample | None = None
        self.samples = 0

    # ------------------------------------------------------------------ configuration

    def configure(
        self,
        *,
        table: Mapping[str, Any] | None = None,
        sampler: Sampler | None = None,
        describe: Callable[[str], str] | None = None,
    ) -> Settings:
        """(Re)read settings: ``table`` (a validated memory table), else the project config.
        Resets levels, leak window, history and reports. Raises ConfigError naming file and key."""
        with self._lock:
            sampler = sampler or Sampler()  # default: this process
            if table is None:
                table, config_describe = _config_source()
                describe = describe or config_describe
            settings = resolve(table, cgroup=sampler.cgroup(), describe=describe or _default)
            self.sampler = sampler
            self.settings = settings
            self._tracker = LevelTracker(
                settings.thresholds,
                hysteresis=settings.hysteresis,
                min_dwell_s=settings.min_dwell_s,
            )
            self._leak = LeakDetector(
                warmup_s=settings.leak_warmup_s,
                window_s=settings.leak_window_s,
                min_slope_mb_h=settings.leak_min_slope_mb_h,
                min_r2=settings.leak_min_r2,
            )
            self._leak_flagged = False
            self.history = collections.deque(maxlen=settings.history)
            self.reports = collections.deque(maxlen=16)
            self.last_sample = None
            self.samples = 0
            return settings

    def _ensure(self) -> Settings:
        if self.settings is None:
            return self.configure()
        return self.settings

    # ------------------------------------------------------------------ thread

    def start(self, **configure: Any) -> bool:
        """Start the monitor thread (configuring first if needed or if keywords are given).
        Returns False, starting nothing, when ``enabled = false``; True when running. A thread
        running at another ``interval_s`` is restarted."""
        with self._lock:
            if configure or self.settings is None:
                self.configure(**configure)
            assert self.settings is not None
            if not self.settings.enabled:
                return False
            alive = self._thread is not None and self._thread.is_alive()
            if alive and self._interval == self.settings.interval_s:
                return True
        if alive:
            self.stop()  # outside the lock: the thread may be waiting for it in step()
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return True  # another caller started it meanwhile
            assert self.settings is not None
            self._interval = self.settings.interval_s
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run,
                args=(self._stop, self.settings.interval_s),
                name="lazymed-memory-monitor",
                daemon=True,  # never keeps the interpreter from exiting
            )
            self._thread.start()
            return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the monitor thread and wait for it (at most ``timeout`` seconds)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        """True while the monitor thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self, stop: threading.Event, interval: float) -> None:
        failures = 0
        while not stop.wait(interval):
            try:
                self.step()
                failures = 0
            except Exception:  # keep watching; log the first failures, not every tick
                failures += 1
                if failures <= 3:
                    log.exception("lazymed.memory: monitor step failed")

    def after_fork_in_child(self) -> None:
        """A forked child is a new process: fresh locks, sampler, levels; restart if it ran."""
        was_running = self._thread is not None
        self._lock = threading.RLock()
        _actions.reinit_locks_after_fork()
        self._thread = None
        self._stop = threading.Event()
        if self.sampler is not None:
            self.sampler.reset_after_fork()
        if self.settings is not None and self.sampler is not None:
            self.configure(table=self.settings.table, sampler=self.sampler)
        if was_running:
            self.start()

    # ------------------------------------------------------------------ one tick

    def step(self, sample: Sample | None = None) -> list[Event]:
        """Take one reading (or use ``sample``), emit events, run the chain of a risen level.
        Returns the events. What the monitor thread calls every ``interval_s``."""
        settings = self._ensure()
        assert self.sampler is not None and self._tracker is not None and self._leak is not None
        if sample is None:
            # Every 60th reading also counts gc-tracked objects (~2 ms per 100k objects).
            sample = self.sampler.sample(full=self.samples % 60 == 0)
            if settings.evictable:
                # the "last use" eviction orders by: whose code is on a thread's stack now
                from ._evict import note_use_from_stacks

                note_use_from_stacks()
        with self._lock:
            if sample.gc_objects is None and self.last_sample is not None:
                sample = dataclasses.replace(sample, gc_objects=self.last_sample.gc_objects)
            self.last_sample = sample
            self.samples += 1
            changes = self._tracker.update(sample.rss_bytes, sample.vms_bytes, sample.time)
            events = [self._event_for(change, sample) for change in changes]
            self._leak.add(sample.time, sample.rss_bytes)
            verdict = self._leak.verdict()
            if verdict.suspected != self._leak_flagged:
                self._leak_flagged = verdict.suspected
                events.append(self._leak_event(verdict, sample))
        for event in events:
            self._emit(event)
        risen = [e for e in events if e.kind == "level" and RANKS[e.level] > RANKS[e.previous]]
        if risen:
            self.run(risen[-1].level, trigger="level", settings=settings)
        return events

    def _event_for(self, change: Change, sample: Sample) -> Event:
        if change.kind == "level":
            rising = RANKS[change.level] > RANKS[change.previous]
            verb = "rose" if rising else "fell"
            message = (
                f"lazymed.memory: level {verb} {change.previous} -> {change.level}: "
                f"RSS {_mb(sample.rss_bytes)} "
                f"({'>=' if rising else 'below'} {_mb(change.threshold)} "
                f"{'threshold' if rising else 'minus hysteresis'})"
            )
        else:
            state = "on" if change.kind == "vms_alert" else "off"
            message = (
                f"lazymed.memory: VMS alert {state}: VMS {_mb(sample.vms_bytes)} "
                f"(alert at {_mb(change.threshold)}; address space far above RSS "
                f"{_mb(sample.rss_bytes)} suggests fragmentation or many thread arenas)"
            )
        return self._make(change.kind, change.previous, change.level, change.threshold,
                          sample, None, message)  # fmt: skip

    def _leak_event(self, verdict: LeakVerdict, sample: Sample) -> Event:
        if verdict.suspected:
            kind, prev, level = "leak_suspected", "ok", "leak"
            message = (
                f"lazymed.memory: leak suspected: RSS rising {verdict.slope_mb_h:.1f} MB/h "
                f"(r2 {verdict.r2:.2f}, {verdict.samples} samples over {verdict.span_s:.0f} s; "
                f"newer half {verdict.recent_slope_mb_h:.1f} MB/h); RSS {_mb(sample.rss_bytes)}"
            )
        else:
            kind, prev, level = "leak_cleared", "leak", "ok"
            message = f"lazymed.memory: leak no longer suspected ({verdict.reason})"
        return self._make(kind, prev, level, None, sample, verdict.as_dict(), message)

    def _make(
        self,
        kind: str,
        previous: str,
        level: str,
        threshold: int | None,
        sample: Sample,
        leak: dict[str, Any] | None,
        message: str,
    ) -> Event:
        cgroup = sample.cgroup
        if cgroup is not None and cgroup.limit_bytes is not None:
            message += f"; cgroup {_mb(cgroup.current_bytes)} of {_mb(cgroup.limit_bytes)} limit"
        if sample.pressure is not None:
            message += f"; PSI some avg10 {sample.pressure.some_avg10:.2f}%"
        return Event(
            kind=kind,
            previous=previous,
            level=level,
            at=sample.time,
            wall=sample.wall,
            pid=sample.pid,
            rss_bytes=sample.rss_bytes,
            vms_bytes=sample.vms_bytes,
            uss_bytes=sample.uss_bytes,
            threshold_bytes=threshold,
            cgroup_current_bytes=None if cgroup is None else cgroup.current_bytes,
            cgroup_limit_bytes=None if cgroup is None else cgroup.limit_bytes,
            psi_some_avg10=None if sample.pressure is None else sample.pressure.some_avg10,
            leak=leak,
            message=message,
        )

    def _emit(self, event: Event) -> None:
        rising = event.kind in ("vms_alert", "leak_suspected") or (
            event.kind == "level" and RANKS[event.level] > RANKS[event.previous]
        )
        log.log(logging.WARNING if rising else logging.INFO, "%s", event.message)
        self.history.append(event)
        for callback in list(self._callbacks):
            try:
                callback(event)
            except (KeyboardInterrupt, GeneratorExit):
                raise
            except BaseException:  # a user's callback (even sys.exit()) must not stop it
                log.exception("lazymed.memory: on_level callback %r failed", callback)

    # ------------------------------------------------------------------ actions and callbacks

    def on_level(self, callback: Callable[[Event], object]) -> Callable[[], None]:
        """Call ``callback(event)`` for every event; returns a function that removes it."""
        with self._lock:
            self._callbacks.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return remove

    @property
    def level(self) -> str:
        """The current level (``"ok"`` before any reading)."""
        return "ok" if self._tracker is None else self._tracker.level

    def run(self, level: str, *, trigger: str, settings: Settings | None = None) -> ChainReport:
        """Run the chain of ``level`` and keep its report."""
        settings = settings or self._ensure()
        assert self.sampler is not None
        report = _actions.run_chain(
            level,
            trigger=trigger,
            selection=settings.actions[level],
            measure=self.sampler.memory,
            budget_bytes=settings.thresholds.budget,
            settings=settings.table,
        )
        self.reports.append(report)
        freed = report.rss_freed_bytes
        log.info(
            "lazymed.memory: %s chain (%s) freed %s RSS in %.3f s: %s",
            level,
            trigger,
            _mb(freed),
            report.seconds,
            ", ".join(f"{a.name} {a.status} {_mb(a.rss_freed_bytes)}" for a in report.actions),
        )
        return report

    def optimize(self, level: str | None = None) -> ChainReport:
        """Run a chain now: ``level``'s, default the higher of the current level and
        ``"critical"``. Serialised with the monitor's own runs."""
        if level is None:
            level = max(self.level, "critical", key=RANKS.__getitem__)
        if level not in LEVELS[1:]:
            raise ValueError(f"level must be one of {', '.join(LEVELS[1:])}, got {level!r}")
        return self.run(level, trigger="optimize")


def _default(key: str) -> str:
    return "default"


MONITOR = Monitor()


def _stop_at_exit() -> None:
    MONITOR.stop(timeout=1.0)


atexit.register(_stop_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: MONITOR.after_fork_in_child())

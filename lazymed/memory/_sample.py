"""The one sampler: process figures (psutil), cgroup v2 memory files and Linux PSI.

Everything lazymed.memory reports about the process is read here, so every figure has one
source. psutil is imported here (the memory layer's dependency, never the core's). cgroup v2
(``memory.current``, ``memory.max``, ``memory.high``, ``memory.events``) and PSI
(``memory.pressure``, else ``/proc/pressure/memory``) are read with plain file I/O.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import time
from typing import Any

import psutil

#: Where cgroup v2 is mounted: the unified root, or the ``unified`` mount of a hybrid system.
CGROUP_MOUNTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")


@dataclasses.dataclass(frozen=True, slots=True)
class Cgroup:
    """The process's cgroup v2 memory figures, in bytes.

    ``path``: the cgroup directory. ``current_bytes``: ``memory.current`` (everything charged to
    the cgroup: all its processes and their page cache). ``max_bytes`` / ``high_bytes``: the
    smallest ``memory.max`` / ``memory.high`` of the cgroup and its ancestors (``None``: no
    limit). ``events``: ``memory.events`` counters (``low``, ``high``, ``max``, ``oom``,
    ``oom_kill``...).
    """

    path: str
    current_bytes: int | None
    max_bytes: int | None
    high_bytes: int | None
    events: dict[str, int]

    @property
    def limit_bytes(self) -> int | None:
        """The limit percentages resolve against: ``memory.max``, else ``memory.high``."""
        return self.max_bytes if self.max_bytes is not None else self.high_bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Pressure:
    """Linux PSI for memory: percent of wall time some / all tasks stalled on memory, averaged
    over 10 s (``some_avg10``, ``full_avg10``; 0-100). ``source`` is the file read."""

    some_avg10: float
    full_avg10: float | None
    source: str


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """One reading of the process. Bytes unless said; ``None``: not available here.

    ``time``: ``time.monotonic()`` seconds (or the sampler's clock); ``wall``: Unix time.
    ``rss_bytes`` / ``vms_bytes``: resident and virtual size. ``uss_bytes`` / ``pss_bytes`` /
    ``swap_bytes``: from ``/proc/PID/smaps_rollup`` (Linux). ``threads``: OS threads.
    ``gc_objects``: objects tracked by the garbage collector (``len(gc.get_objects())``; only
    in full samples of this process, it costs ~2 ms per 100k objects). ``open_files``: open
    file descriptors.
    """

    time: float
    wall: float
    pid: int
    rss_bytes: int
    vms_bytes: int
    uss_bytes: int | None
    pss_bytes: int | None
    swap_bytes: int | None
    threads: int | None
    gc_objects: int | None
    open_files: int | None
    cgroup: Cgroup | None
    pressure: Pressure | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (nested dicts for ``cgroup`` and ``pressure``)."""
        return dataclasses.asdict(self)


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def _read_bytes_value(path: str) -> int | None:
    """An integer file such as ``memory.current``; ``None`` for ``max`` or a missing file."""
    text = _read_text(path)
    if text is None:
        return None
    text = text.strip()
    if text == "max" or not text.isdigit():
        return None
    return int(text)


def cgroup_dir(pid: int | str = "self", proc_root: str = "/proc") -> str | None:
    """The cgroup v2 directory of ``pid`` that has the memory controller, or ``None``.

    Reads ``/proc/PID/cgroup``'s ``0::/path`` line and joins it to the v2 mount (unified or
    hybrid). ``None`` on cgroup v1-only systems, or when the memory controller is bound to v1
    (then ``memory.current`` does not exist in the v2 tree).
    """
    text = _read_text(os.path.join(proc_root, str(pid), "cgroup"))
    if text is None:
        return None
    rel = None
    for line in text.splitlines():
        if line.startswith("0::"):
            rel = line[3:].strip()
    if rel is None:
        return None
    for mount in CGROUP_MOUNTS:
        if not os.path.exists(os.path.join(mount, "cgroup.controllers")):
            continue
        path = os.path.normpath(os.path.join(mount, rel.lstrip("/")))
        if os.path.exists(os.path.join(path, "memory.current")) or os.path.exists(
            os.path.join(path, "memory.max")
        ):
            return path
    return None


def read_cgroup(path: str, root: str | None = None) -> Cgroup:
    """The memory figures of the cgroup at ``path``. Limits are the smallest of the cgroup and
    its ancestors below ``root`` (default: the v2 mount that contains ``path``), since a parent's
    ``memory.max`` limits its children too."""
    if root is None:
        root = next((m for m in CGROUP_MOUNTS[::-1] if path.startswith(m + os.sep)), path)
    max_bytes: int | None = None
    high_bytes: int | None = None
    directory = path
    while True:
        value = _read_bytes_value(os.path.join(directory, "memory.max"))
        if value is not None:
            max_bytes = value if max_bytes is None else min(max_bytes, value)
        value = _read_bytes_value(os.path.join(directory, "memory.high"))
        if value is not None:
            high_bytes = value if high_bytes is None else min(high_bytes, value)
        parent = os.path.dirname(directory)
        if directory == root or parent == directory or not parent.startswith(root):
            break
        directory = parent
    events: dict[str, int] = {}
    for line in (_read_text(os.path.join(path, "memory.events")) or "").splitlines():
        key, _, count = line.partition(" ")
        if count.strip().isdigit():
            events[key] = int(count)
    return Cgroup(
        path=path,
        current_bytes=_read_bytes_value(os.path.join(path, "memory.current")),
        max_bytes=max_bytes,
        high_bytes=high_bytes,
        events=events,
    )


def read_pressure(path: str) -> Pressure | None:
    """PSI from a ``memory.pressure`` file (``some avg10=.. ...`` / ``full avg10=..``)."""
    text = _read_text(path)
    if not text:
        return None
    some: float | None = None
    full: float | None = None
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        fields = dict(item.split("=", 1) for item in rest.split() if "=" in item)
        try:
            value = float(fields["avg10"])
        except (KeyError, ValueError):
            continue
        if kind == "some":
            some = value
        elif kind == "full":
            full = value
    if some is None:
        return None
    return Pressure(some_avg10=some, full_avg10=full, source=path)


class Sampler:
    """Reads :class:`Sample` s of one process (default: this one).

    ``clock`` gives :attr:`Sample.time` (``time.monotonic`` by default; tests and the leak
    benchmark pass a synthetic clock). psutil errors other than the process being gone
    propagate; a figure the platform lacks is ``None``.
    """

    def __init__(self, pid: int | None = None, *, clock: Any = time.monotonic) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.clock = clock
        self._process = psutil.Process(self.pid)
        self._cgroup_dir: str | bool | None = False  # False: not looked up yet

    def reset_after_fork(self) -> None:
        """Point at the (new) current process after ``fork()``."""
        self.pid = os.getpid()
        self._process = psutil.Process(self.pid)
        self._cgroup_dir = False

    def cgroup(self) -> Cgroup | None:
        """This process's cgroup v2 memory figures, or ``None`` (no v2 memory controller)."""
        if self._cgroup_dir is False:
            self._cgroup_dir = cgroup_dir(self.pid)
        if not isinstance(self._cgroup_dir, str):
            return None
        return read_cgroup(self._cgroup_dir)

    def pressure(self) -> Pressure | None:
        """PSI of the cgroup (``memory.pressure``), else of the system (``/proc/pressure``)."""
        if self._cgroup_dir is False:
            self._cgroup_dir = cgroup_dir(self.pid)
        if isinstance(self._cgroup_dir, str):
            found = read_pressure(os.path.join(self._cgroup_dir, "memory.pressure"))
            if found is not None:
                return found
        return read_pressure("/proc/pressure/memory")

    def memory(self) -> tuple[int, int | None]:
        """``(rss_bytes, uss_bytes)`` now: what action reports are measured with."""
        try:
            full = self._process.memory_full_info()
            return int(full.rss), int(full.uss)
        except psutil.AccessDenied:
            return int(self._process.memory_info().rss), None

    def sample(self, *, full: bool = False) -> Sample:
        """One reading. ``full`` adds the gc-tracked object count (this process only)."""
        proc = self._process
        with proc.oneshot():
            info = proc.memory_info()
            uss = pss = swap = None
            try:
                extra = proc.memory_full_info()
                uss = int(extra.uss)
                pss = int(getattr(extra, "pss", 0)) or None
                swap = getattr(extra, "swap", None)
            except (psutil.AccessDenied, AttributeError):
                pass
            try:
                threads: int | None = proc.num_threads()
            except psutil.AccessDenied:
                threads = None
            try:
                fds: int | None = proc.num_fds()
            except (psutil.AccessDenied, AttributeError):
                fds = None  # num_fds is POSIX only
        gc_objects = len(gc.get_objects()) if full and self.pid == os.getpid() else None
        return Sample(
            time=float(self.clock()),
            wall=time.time(),
            pid=self.pid,
            rss_bytes=int(info.rss),
            vms_bytes=int(info.vms),
            uss_bytes=uss,
            pss_bytes=pss,
            swap_bytes=None if swap is None else int(swap),
            threads=threads,
            gc_objects=gc_objects,
            open_files=fds,
            cgroup=self.cgroup(),
            pressure=self.pressure(),
        )

"""What the process knows about itself, with the standard library only (no psutil).

Used by the demo endpoint ``/_demo/introspect``: the demo reads RSS, VMS and threads from
outside with psutil and compares them with :func:`snapshot`, which reads ``/proc/self``.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import Any


def _proc_status() -> dict[str, int]:
    """RSS and VMS in bytes and the thread count from ``/proc/self/status`` (Linux)."""
    wanted = {"VmRSS": "rss_bytes", "VmSize": "vms_bytes", "Threads": "threads"}
    out: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in wanted:
                number = int(value.split()[0])
                out[wanted[key]] = number * 1024 if key.startswith("Vm") else number
    return out


def process_age() -> float | None:
    """Seconds since this process started, or None without ``/proc``.

    The start comes from ``/proc/self/stat`` (clock ticks since boot, 10 ms resolution) and is
    compared with ``CLOCK_BOOTTIME``, the same clock; using the wall clock instead would inherit
    the whole-second rounding of the boot time in ``/proc/stat``.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
        start_ticks = int(fields[19])  # field 22 of proc(5); fields[0] here is field 3
        now = time.clock_gettime(time.CLOCK_BOOTTIME)
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return now - start_ticks / os.sysconf("SC_CLK_TCK")


def snapshot() -> dict[str, Any]:
    """The process as it sees itself.

    Returns ``{"pid", "rss_bytes", "vms_bytes", "threads", "gc_objects", "modules",
    "lazymed", "unix_time"}``. Memory and threads are read first, before the ``gc.collect()`` and
    ``gc.get_objects()`` that count objects (and allocate a list of them). ``lazymed`` is
    None unless lazymed is installed, else ``{"profile", "modules": {name: {"role",
    "state", "load_seconds"}}}``. On a system without ``/proc`` the first three are None.
    """
    try:
        status: dict[str, Any] = _proc_status()
    except OSError:
        status = {"rss_bytes": None, "vms_bytes": None, "threads": None}
    gc.collect()
    objects = len(gc.get_objects())
    modules = len(sys.modules)
    return {
        "pid": os.getpid(),
        **status,
        "gc_objects": objects,
        "modules": modules,
        "lazymed": _lazymed_status(),
        "unix_time": time.time(),
    }


def _lazymed_status() -> dict[str, Any] | None:
    lazymed = sys.modules.get("lazymed")
    if lazymed is None:
        return None
    status = lazymed.status()
    if not status.installed:
        return None
    return {
        "profile": status.profile,
        "modules": {
            m.name: {"role": m.role, "state": m.state, "load_seconds": m.load_seconds}
            for m in status.modules
        },
    }

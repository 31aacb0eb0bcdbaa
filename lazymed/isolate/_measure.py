"""Memory of workers and of the process tree, read from outside with psutil."""

from __future__ import annotations

import os


def process_memory(pid: int | None) -> tuple[int | None, int | None]:
    """``(RSS, USS)`` in bytes of process ``pid`` (None for what cannot be read)."""
    if pid is None:
        return None, None
    import psutil

    try:
        proc = psutil.Process(pid)
        rss = int(proc.memory_info().rss)
        try:
            uss: int | None = int(proc.memory_full_info().uss)
        except (psutil.AccessDenied, psutil.ZombieProcess):
            uss = None
        return rss, uss
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None, None


def tree_rss(root: int | None = None) -> int:
    """Sum of RSS in bytes of ``root`` (default: this process) and all its descendants."""
    import psutil

    proc = psutil.Process(os.getpid() if root is None else root)
    total = 0
    for member in (proc, *proc.children(recursive=True)):
        try:
            total += int(member.memory_info().rss)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    return total

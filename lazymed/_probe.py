"""Cheap measurements the core takes around a load: the clock, this process's RSS from
``/proc``, and the ``file:line`` of the code that caused an import or a first use.

Core layer: standard library only (the core must not import psutil). Imported by the first
lazy load, or by ``install()`` only when critical modules are configured.
"""

import _thread
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
try:
    _PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
except (AttributeError, ValueError, OSError):  # not POSIX
    _PAGE_SIZE = 4096


# /proc/self/statm, kept open: a pread, with an fstat after it that checks the descriptor was
# ours while it read, costs ~1.5 us where open/read/close costs ~5 us, and a package's load reads
# it twice per covered submodule. Entry: (fd, st_dev, st_ino, pid). Ours is opened O_NONBLOCK (a
# mark no other opener of /proc/self/statm is likely to use), so a close-all that let someone
# else's open take the number is seen. The descriptor names the process that opened it: a reading
# in another process (after os.fork, whose hooks are below, or a fork from C, which runs none)
# opens its own. A descriptor is closed only while it is still ours.
_STATM: "list[tuple[int, int, int, int]]" = []
_STATM_LOCK = _thread.allocate_lock()


def _ours(entry: "tuple[int, int, int, int]") -> bool:
    try:
        st = os.fstat(entry[0])
        return st.st_ino == entry[2] and st.st_dev == entry[1] and not os.get_blocking(entry[0])
    except OSError:
        return False  # closed by someone else (a daemon's close-all)


def _before_fork() -> None:
    _STATM_LOCK.acquire()  # no fork between another thread's open and its record of it


def _after_fork_in_parent() -> None:
    _STATM_LOCK.release()


def _after_fork_in_child() -> None:
    global _STATM_LOCK
    _STATM_LOCK = _thread.allocate_lock()
    _drop_statm()


def _drop_statm() -> None:
    # Closes the parent's descriptor before the child's code can reuse its number; one that is
    # no longer ours (closed, the number reused) is left alone.
    while _STATM:
        entry = _STATM.pop()
        if _ours(entry):
            try:  # noqa: SIM105 - contextlib is not loaded at this point; keep it import-free
                os.close(entry[0])
            except OSError:
                pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


def _statm(stale: "tuple[int, int, int, int] | None") -> "tuple[int, int, int, int]":
    """This process's entry; ``stale`` is one a reading found no longer ours."""
    pid = os.getpid()
    try:
        entry = _STATM[0]
    except IndexError:
        entry = None
    if entry is not None and entry is not stale and entry[3] == pid:
        return entry
    with _STATM_LOCK:
        if _STATM:
            entry = _STATM[0]
            if entry is not stale and entry[3] == pid:
                return entry  # another thread reopened it
            if entry[3] == pid:
                _STATM.clear()  # not ours any more: never read or close it
            else:
                _drop_statm()  # inherited through a fork that ran no hook
        fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_NONBLOCK)  # not inherited (PEP 446)
        st = os.fstat(fd)
        entry = (fd, st.st_dev, st.st_ino, pid)
        _STATM.append(entry)
        return entry


def rss_bytes() -> int | None:
    """Resident set size of this process in bytes, from ``/proc/self/statm`` (Linux): the value
    psutil's ``memory_info().rss`` reads.

    ``None`` where there is no procfs. Cheap: one ``pread`` of a descriptor kept open, checked
    after the read (``fstat``) and against the process id; reopened in a forked child, even one
    forked from C without Python's at-fork hooks, or when someone else closed it.
    """
    stale = None
    for _ in range(3):  # someone may close it between two readings, or during one
        try:
            entry = _statm(stale)
        except OSError:
            return None  # no procfs, or no descriptor left
        try:
            data = os.pread(entry[0], 128, 0)
        except OSError:
            data = None
        if data is None or not _ours(entry):
            stale = entry  # closed, or what was read may be another file's: reopen, read again
            continue
        try:
            return int(data.split()[1]) * _PAGE_SIZE
        except (ValueError, IndexError):
            return None
    return None


#: Seconds, monotonic (``time.perf_counter``).
now = time.perf_counter


def call_site(frame: "FrameType | None") -> str | None:
    """``"file:line"`` of the first frame at or above ``frame`` outside importlib (its frozen
    bootstrap and ``importlib.import_module``) and lazymed."""
    importlib = sys.modules.get("importlib")
    import_module_code = getattr(getattr(importlib, "import_module", None), "__code__", None)
    while frame is not None:
        filename = frame.f_code.co_filename
        if (
            not filename.startswith("<frozen importlib")
            and not filename.startswith(PACKAGE_DIR)
            and frame.f_code is not import_module_code
        ):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None

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


# /proc/self/statm, kept open: a pread (with an fstat that checks the descriptor is still ours)
# costs ~1 us where open/read/close costs ~5 us, and a package's load reads it twice per covered
# submodule. (fd, st_dev, st_ino). The descriptor names the process that opened it: a forked
# child closes its copy at once (before its own code can reuse the number) and opens its own.
_STATM: "list[tuple[int, int, int]]" = []
_STATM_LOCK = _thread.allocate_lock()


def _close_statm() -> None:
    while _STATM:
        try:  # noqa: SIM105 - contextlib is not loaded at this point; keep it import-free
            os.close(_STATM.pop()[0])
        except OSError:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_statm)


def _statm() -> int:
    if _STATM:
        fd, dev, ino = _STATM[0]
        try:
            st = os.fstat(fd)
            if st.st_ino == ino and st.st_dev == dev:
                return fd
        except OSError:
            pass
        # Closed by someone else (a daemon's close-all), maybe reused: not ours to close.
        _STATM.clear()
    with _STATM_LOCK:
        if not _STATM:
            fd = os.open("/proc/self/statm", os.O_RDONLY)  # non-inheritable (PEP 446)
            st = os.fstat(fd)
            _STATM.append((fd, st.st_dev, st.st_ino))
        return _STATM[0][0]


def rss_bytes() -> int | None:
    """Resident set size of this process in bytes, from ``/proc/self/statm`` (Linux): the value
    psutil's ``memory_info().rss`` reads.

    ``None`` where there is no procfs. Cheap: one ``pread`` of a descriptor kept open (checked
    with ``fstat`` on each reading, reopened in a forked child or when someone closed it).
    """
    try:
        return int(os.pread(_statm(), 128, 0).split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
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

"""Cheap measurements the core takes around a load: the clock, this process's RSS from
``/proc``, and the ``file:line`` of the code that caused an import or a first use.

Core layer: standard library only (the core must not import psutil). Imported by the first
lazy load, or by ``install()`` only when critical modules are configured.
"""

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


def rss_bytes() -> int | None:
    """Resident set size of this process in bytes, from ``/proc/self/statm`` (Linux).

    ``None`` where there is no procfs. Cheap (one small read).
    """
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE_SIZE
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

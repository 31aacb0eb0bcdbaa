"""``lazymed._probe.rss_bytes``: the RSS the core records around each load, read through a
descriptor of ``/proc/self/statm`` kept open. It must read this process's figure: after a fork,
after someone closed the descriptor, after its number was reused by another file."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from lazymed import _probe

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs procfs")

PAGE = os.sysconf("SC_PAGE_SIZE")


def _fresh() -> int:
    with open("/proc/self/statm", "rb") as fh:
        return int(fh.read().split()[1]) * PAGE


def test_agrees_with_a_fresh_read_and_with_psutil() -> None:
    inside = _probe.rss_bytes()
    assert inside is not None
    assert abs(inside - _fresh()) <= 64 * PAGE
    assert abs(inside - psutil.Process().memory_info().rss) <= 64 * PAGE
    block = bytearray(64 << 20)  # 64 MiB, touched: the next reading must see it
    grown = _probe.rss_bytes()
    assert grown is not None and grown - inside >= 60 << 20
    del block


def test_a_closed_and_reused_descriptor_is_not_read_or_closed() -> None:
    assert _probe.rss_bytes() is not None
    fd = _probe._STATM[0][0]
    os.close(fd)  # a daemon's close-all
    other_r, other_w = os.pipe()  # takes the lowest free number: usually the one just closed
    try:
        reading = _probe.rss_bytes()
        assert reading is not None and abs(reading - _fresh()) <= 64 * PAGE
        os.write(other_w, b"still open")
        assert os.read(other_r, 10) == b"still open"  # lazymed did not close the pipe
    finally:
        os.close(other_r)
        os.close(other_w)
    new_fd = _probe._STATM[0][0]
    assert os.readlink(f"/proc/self/fd/{new_fd}") == f"/proc/{os.getpid()}/statm"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_reads_its_own_figure() -> None:
    assert _probe.rss_bytes() is not None  # the parent's descriptor is open
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it reads, then leave without running pytest's exit
        try:
            os.close(read_end)
            emptied = not _probe._STATM  # the at-fork hook closed the parent's descriptor
            before = _probe.rss_bytes()
            block = bytearray(96 << 20)  # the child alone grows by 96 MiB
            reading = _probe.rss_bytes()
            target = os.readlink(f"/proc/self/fd/{_probe._STATM[0][0]}")
            grown = (reading or 0) - (before or 0)
            os.write(write_end, f"{emptied} {reading} {_fresh()} {target} {grown}".encode())
            del block
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as fh:
        emptied, reading, fresh, target, grown = fh.read().split()
    os.waitpid(pid, 0)
    assert emptied == "True"
    assert target == f"/proc/{pid}/statm"
    assert abs(int(reading) - int(fresh)) <= 1 << 20  # read just before the fresh read's buffers
    assert int(grown) >= 90 << 20  # the child's own growth, not the parent's figure


def test_no_descriptor_leaks_into_exec_children() -> None:
    assert _probe.rss_bytes() is not None
    assert os.get_inheritable(_probe._STATM[0][0]) is False


def _in_child(body: Callable[[], str], fork: Callable[[], int] = os.fork) -> str:
    """Run ``body`` in a forked child and return what it printed (its last line)."""
    read_end, write_end = os.pipe()
    pid = fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.write(write_end, body().encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as fh:
        out = fh.read()
    os.waitpid(pid, 0)
    return out


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_after_the_number_was_reused_leaves_the_new_file_open(tmp_path: Path) -> None:
    assert _probe.rss_bytes() is not None
    os.close(_probe._STATM[0][0])  # a daemon's close-all ...
    log = os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT)  # ... then its log takes the number
    try:

        def child() -> str:
            try:
                os.write(log, b"from the child\n")
            except OSError as exc:
                return f"lost: {exc}"
            return "ok"

        assert _in_child(child) == "ok"  # the at-fork hook did not close the log
    finally:
        os.close(log)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_from_c_without_python_hooks_reads_the_childs_figure() -> None:
    # A fork that runs no Python at-fork hook (libc's fork called from C, as a pre-fork server
    # may do) keeps the parent's descriptor: the process id tells the reading to open its own.
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    assert _probe.rss_bytes() is not None

    def child() -> str:
        before = _probe.rss_bytes()  # with the parent's descriptor, this would be its figure
        block = bytearray(96 << 20)
        reading, fresh = _probe.rss_bytes(), _fresh()
        del block
        return f"{reading} {fresh} {(reading or 0) - (before or 0)}"

    reading, fresh, grown = map(int, _in_child(child, fork=libc.fork).split())
    assert abs(reading - fresh) <= 1 << 20
    assert grown >= 90 << 20  # the child's own growth


def test_threads_reading_while_the_descriptor_is_closed_get_readings_and_leak_nothing() -> None:
    assert _probe.rss_bytes() is not None
    readings: list[int | None] = []
    after: list[int | None] = []  # readings taken once nobody closes it any more
    closing = threading.Event()
    closing.set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            (readings if closing.is_set() else after).append(_probe.rss_bytes())

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for t in threads:
        t.start()
    for _ in range(200):
        with contextlib.suppress(OSError, IndexError):
            os.close(_probe._STATM[0][0])  # someone else closes it, again and again
    closing.clear()
    while len(after) < 100:
        stop.wait(0.001)
    stop.set()
    for t in threads:
        t.join()
    assert readings and None not in after
    assert _probe.rss_bytes() is not None
    statm = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            if os.readlink(f"/proc/self/fd/{fd}").endswith("/statm"):
                statm.append(fd)
    assert len(statm) <= 1, statm


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_after_a_close_all_leaves_another_readers_statm_open() -> None:
    # After a close-all, another component's own open of /proc/self/statm takes lazymed's old
    # number: the same file and inode, but not lazymed's descriptor (ours is O_NONBLOCK).
    assert _probe.rss_bytes() is not None
    old = _probe._STATM[0][0]
    os.close(old)
    other = os.open("/proc/self/statm", os.O_RDONLY)
    try:
        assert other == old

        def child() -> str:
            try:
                os.pread(other, 16, 0)
            except OSError as exc:
                return f"closed: {exc}"
            return "open"

        assert _in_child(child) == "open"
        reading = _probe.rss_bytes()  # and the parent reads through a descriptor of its own
        assert reading is not None and _probe._STATM[0][0] != other
    finally:
        os.close(other)


def test_a_number_reused_by_a_file_during_readings_never_gives_its_numbers(tmp_path: Path) -> None:
    fake = tmp_path / "fake"
    fake.write_bytes(b"1 999999 3\n")  # a reading of this would be 999999 pages
    readings: list[int | None] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            readings.append(_probe.rss_bytes())

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(300):
            with contextlib.suppress(OSError, IndexError):
                number = _probe._STATM[0][0]
                os.close(number)
                fd = os.open(fake, os.O_RDONLY)  # likely takes the number just freed
                stop.wait(0.0005)  # the readers meet it there
                os.close(fd)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert 999999 * PAGE not in readings


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_during_another_threads_first_reading_leaks_nothing() -> None:
    leaked = 0
    for _ in range(60):
        _probe._drop_statm()
        thread = threading.Thread(target=_probe.rss_bytes)
        thread.start()

        def child() -> str:
            parent = f"/proc/{os.getppid()}/statm"
            held = []
            for fd in os.listdir("/proc/self/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/self/fd/{fd}") == parent:
                        held.append(fd)
            return str(len(held))

        leaked += int(_in_child(child))
        thread.join()
    assert leaked == 0

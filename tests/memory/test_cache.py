"""Bounded caches: LRU by estimated bytes, counters, decorator, cleared under pressure, and
the estimate compared with tracemalloc's count."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import pytest

import lazymed.memory as memory
from lazymed.memory._actions import glibc_malloc_trim

from .conftest import MB


def _glibc() -> bool:
    return glibc_malloc_trim() is not None


def test_lru_bounded_by_estimated_bytes() -> None:
    c = memory.cache(max_mb=1, name="blobs")
    for i in range(10):
        c[i] = bytes(200 * 1024)
    stats = c.stats()
    assert stats.size_bytes <= MB and stats.entries == 5
    assert list(c) == [5, 6, 7, 8, 9]  # oldest dropped first
    _ = c[5]  # 5 becomes the most recently used
    c["new"] = bytes(200 * 1024)
    assert 5 in c and 6 not in c


def test_hits_misses_and_rejected() -> None:
    c = memory.cache(max_mb=1)
    c["a"] = "x" * 100
    assert c["a"] == "x" * 100
    with pytest.raises(KeyError):
        c["b"]
    assert c.get("b") is None
    c["huge"] = bytes(2 * MB)  # larger than the whole cache: not stored, counted
    stats = c.stats()
    assert (stats.hits, stats.misses, stats.rejected, stats.entries) == (1, 2, 1, 1)


def test_decorator_memoises_by_arguments() -> None:
    calls: list[tuple[Any, ...]] = []

    @memory.cache(max_mb=1, name="square")
    def square(x: int, *, scale: int = 1) -> int:
        calls.append((x, scale))
        return x * x * scale

    assert [square(3), square(3), square(3, scale=2), square(4)] == [9, 9, 18, 16]
    assert calls == [(3, 1), (3, 2), (4, 1)]
    stats = square.cache.stats()  # type: ignore[attr-defined]
    assert (stats.name, stats.hits, stats.misses, stats.entries) == ("square", 1, 3, 3)
    assert square.__name__ == "square"


def test_bad_size() -> None:
    for bad in (0, -1, True, "25"):
        with pytest.raises(ValueError, match="max_mb must be a finite number > 0"):
            memory.cache(max_mb=bad)  # type: ignore[arg-type]


def test_critical_chain_clears_caches_and_snapshot_counts_them() -> None:
    c = memory.cache(max_mb=50, name="pages")
    for i in range(20):
        c[i] = b"x" * MB  # written pages: resident (bytes(MB) would be untouched zero pages)
    memory.configure({"critical_actions": ["clear_caches", "malloc_trim"]})
    snap = memory.snapshot()
    mine = next(s for s in snap.caches if s.name == "pages")
    assert mine.entries == 20 and mine.size_bytes >= 20 * MB
    report = memory.optimize("critical")
    action = report.actions[0]
    assert action.name == "clear_caches" and action.status == "ok"
    assert action.data["entries"] >= 20 and "pages" in action.data["caches"]
    assert len(c) == 0 and c.stats().clears == 1
    # 20 MB of bytes objects go back to the OS: at once if glibc mmap'ed them, else when
    # malloc_trim returns the freed heap (glibc raises its mmap threshold after big frees).
    if memory.registered("critical")[-1].name == "malloc_trim" and _glibc():
        assert report.rss_freed_bytes >= 15 * MB, report


def test_dead_caches_are_forgotten() -> None:
    c = memory.cache(max_mb=1, name="temporary")
    assert any(x is c for x in memory.caches())
    del c
    gc.collect()
    assert all(x.name != "temporary" for x in memory.caches())


class Record:
    def __init__(self, i: int) -> None:
        self.name = f"record-{i}-" + "x" * (i % 50)
        self.values = [float(j) for j in range(20)]
        self.tags = {"id": i, "kind": "patient"}


def _fresh(kind: str, i: int) -> object:
    if kind == "str":
        return "s" * (100 + i % 900) + str(i)
    if kind == "bytes":
        return bytes(1000 + i % 3000)
    if kind == "list":
        return [f"item-{i}-{j}" for j in range(10)]
    if kind == "dict":
        return {f"k{j}-{i}": f"v{j}-{i}" * 3 for j in range(8)}
    return Record(i)


@pytest.mark.parametrize("kind", ["str", "bytes", "list", "dict", "object"])
def test_estimate_is_close_to_tracemalloc(kind: str) -> None:
    """The size function against tracemalloc's count of the same entries: within 25 %."""
    c = memory.cache(max_mb=512)
    keys = [f"key-{kind}-{i}" for i in range(2000)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        values = [_fresh(kind, i) for i in range(2000)]
        traced = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    for key, value in zip(keys, values, strict=True):
        c[key] = value
    estimated = c.size_bytes - sum(memory.estimate_bytes(k) for k in keys)
    ratio = estimated / traced
    assert 0.75 <= ratio <= 1.25, (kind, estimated, traced, ratio)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0, -1, True])
def test_max_mb_must_be_a_finite_positive_number(bad: float) -> None:
    with pytest.raises(ValueError, match="finite number > 0"):
        memory.cache(max_mb=bad)


def test_a_forked_child_gets_fresh_cache_locks() -> None:
    """A cache lock held by another thread at fork time must not deadlock the child."""
    import os
    import threading
    import time

    c = memory.cache(max_mb=1)
    c["k"] = "v"
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with c._lock:
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: clear the cache (the critical chain's action) and exit
        try:
            c.clear()
            os._exit(0 if len(c) == 0 else 1)
        finally:
            os._exit(2)
    release.set()
    t.join()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise AssertionError("the child deadlocked on the inherited cache lock")
    assert os.waitstatus_to_exitcode(status) == 0

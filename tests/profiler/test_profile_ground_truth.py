"""``lazymed profile`` figures against ground truth.

Synthetic modules written to a temp dir do known things at import time -- allocate and touch
20 MiB, keep 50,000 objects alive, start 3 threads, sleep 0.25 s -- and the profile must put each
cost on the right module. RSS and thread figures are also compared with psutil readings this
test takes of the profiled interpreter from outside, while the module stops itself (SIGSTOP)
right before and right after its allocation.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from _profile_helpers import MIB, env_with, module, run_json, write

SLEEP = 0.25
# time.sleep guarantees at least SLEEP of wall time, but the profiler subtracts its own measured
# bookkeeping from each module's figures, an estimate that can undercut by microseconds.
SLEEP_FLOOR = SLEEP - 0.01
OBJECTS = 50_000
BLOCK = 20 * MIB

GROUND_TRUTH = {
    "gt_root.py": """
        import gt_bytes
        import gt_objects
        import gt_threads
        import gt_sleep
    """,
    "gt_bytes.py": f"""
        N = {BLOCK}
        data = bytearray(N)
        for i in range(0, N, 4096):  # touch every page so it is resident
            data[i] = 1
    """,
    "gt_objects.py": f"""
        class Item:
            __slots__ = ("n",)

            def __init__(self, n):
                self.n = n

        items = [Item(i) for i in range({OBJECTS})]
    """,
    "gt_threads.py": """
        import threading

        stop = threading.Event()
        threads = [threading.Thread(target=stop.wait, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
    """,
    "gt_sleep.py": f"""
        import time

        time.sleep({SLEEP})
    """,
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = write(tmp_path_factory.mktemp("gt"), GROUND_TRUTH)
    # -c, not --modules: compiling the command initialises CPython's AST types (~550 objects) up
    # front, as ``python -c`` does; otherwise the first module compiled from source pays for it
    # when bytecode caching is off (PYTHONDONTWRITEBYTECODE), and that would be gt_root.
    return run_json("--no-baseline", "-c", "import gt_root", cwd=root, paths=[root])


def test_bytes_are_attributed_to_the_module_that_allocated_them(report: dict[str, Any]) -> None:
    own = module(report, "gt_bytes")["self"]
    assert BLOCK <= own["alloc_bytes"] <= BLOCK + 256 * 1024
    assert BLOCK - MIB // 2 <= own["rss_bytes"] <= BLOCK + 2 * MIB
    for other in ("gt_threads", "gt_sleep"):
        assert module(report, other)["self"]["alloc_bytes"] < 256 * 1024
        assert module(report, other)["self"]["rss_bytes"] < MIB
    # 50,000 small objects and their ints: a few MiB, nowhere near the 20 MiB block.
    assert module(report, "gt_objects")["self"]["alloc_bytes"] < 8 * MIB
    assert abs(module(report, "gt_root")["self"]["alloc_bytes"]) < 256 * 1024


def test_objects_are_attributed_to_the_module_that_keeps_them(report: dict[str, Any]) -> None:
    own = module(report, "gt_objects")["self"]["gc_objects"]
    assert abs(own - OBJECTS) <= OBJECTS // 100, own
    for other in ("gt_bytes", "gt_sleep", "gt_root"):
        assert abs(module(report, other)["self"]["gc_objects"]) < 200


def test_threads_are_attributed_to_the_module_that_started_them(report: dict[str, Any]) -> None:
    assert module(report, "gt_threads")["self"]["threads"] == 3
    assert module(report, "threading")["cumulative"]["threads"] == 0
    for other in ("gt_bytes", "gt_objects", "gt_sleep", "gt_root"):
        assert module(report, other)["self"]["threads"] == 0
    assert module(report, "gt_root")["cumulative"]["threads"] == 3
    assert report["run"]["threads_end"] - report["run"]["threads_start"] == 3


def test_sleep_is_attributed_to_the_module_that_slept(report: dict[str, Any]) -> None:
    sleeper = module(report, "gt_sleep")
    assert sleeper["self"]["seconds"] >= SLEEP_FLOOR
    root = module(report, "gt_root")
    assert root["cumulative"]["seconds"] >= SLEEP_FLOOR
    assert root["self"]["seconds"] < sleeper["self"]["seconds"]


def test_self_is_cumulative_minus_children(report: dict[str, Any]) -> None:
    mods = report["modules"]
    for parent in mods:
        kids = [m for m in mods if m["parent_id"] == parent["id"]]
        for key in ("seconds", "rss_bytes", "alloc_bytes", "gc_objects", "threads"):
            expected = parent["cumulative"][key] - sum(k["cumulative"][key] for k in kids)
            assert parent["self"][key] == pytest.approx(expected, abs=1e-6), (parent["name"], key)


def test_chains_and_locations(report: dict[str, Any]) -> None:
    threading = module(report, "threading")
    assert threading["chain"] == ["__main__", "gt_root", "gt_threads"]
    assert threading["imported_by"] == "gt_threads"
    assert threading["imported_at"].endswith("gt_threads.py:2")
    assert module(report, "gt_sleep")["imported_at"].endswith("gt_root.py:5")
    assert module(report, "gt_root")["parent_id"] is None
    assert module(report, "gt_root")["imported_at"] == "<string>:1"


def test_package_totals(report: dict[str, Any]) -> None:
    by_name = {p["name"]: p for p in report["packages"]}
    assert by_name["gt_root"]["kind"] == "first-party"
    assert by_name["threading"]["kind"] == "stdlib"
    # Each gt_* module is its own top-level package; gt_root's cumulative cost covers them all.
    assert by_name["gt_root"]["cumulative"]["alloc_bytes"] >= BLOCK
    assert report["totals"]["seconds"] == pytest.approx(
        module(report, "gt_root")["cumulative"]["seconds"]
    )


RSS_PROBE = {
    "gt_rss.py": """
        import os
        import signal
        import threading

        os.kill(os.getpid(), signal.SIGSTOP)  # the test reads RSS and threads from outside
        block = bytearray(24 * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        ready = threading.Event()
        threads = [threading.Thread(target=ready.wait, daemon=True) for _ in range(2)]
        for t in threads:
            t.start()
        os.kill(os.getpid(), signal.SIGSTOP)  # ... and again
    """
}


def _watch(proc: subprocess.Popen[str], deadline: float) -> dict[int, list[tuple[str, int, int]]]:
    """Until ``proc`` ends: read every stopped descendant's RSS and thread count, resume it.
    Returns {pid: [(cmdline, rss, threads), ...]} in stop order."""
    samples: dict[int, list[tuple[str, int, int]]] = {}
    parent = psutil.Process(proc.pid)
    try:
        while proc.poll() is None:
            assert time.monotonic() < deadline, "profiled child did not finish"
            try:
                children = parent.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            for child in children:
                try:
                    if child.status() != psutil.STATUS_STOPPED:
                        continue
                    cmd = " ".join(child.cmdline())
                    rss, threads = child.memory_info().rss, child.num_threads()
                    samples.setdefault(child.pid, []).append((cmd, rss, threads))
                    child.send_signal(signal.SIGCONT)
                except psutil.NoSuchProcess:
                    continue
            time.sleep(0.005)
    finally:
        for child in parent.children(recursive=True) if proc.poll() is None else []:
            child.send_signal(signal.SIGCONT)
    return samples


def test_rss_and_threads_agree_with_psutil_from_outside(tmp_path: Path) -> None:
    root = write(tmp_path, RSS_PROBE)
    args = ["profile", "--json", "--no-baseline", "--modules", "gt_rss"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "lazymed", *args],
        cwd=root,
        env=env_with([root]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        samples = _watch(proc, time.monotonic() + 120)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    report = json.loads(out)
    timing = [s for s in samples.values() if "alloc=0" in s[0][0]]
    assert len(timing) == 1 and len(timing[0]) == 2, samples
    (_, rss_before, threads_before), (_, rss_after, threads_after) = timing[0]
    outside = rss_after - rss_before
    own = module(report, "gt_rss")["self"]
    assert outside > 23 * MIB  # the probe did touch its 24 MiB
    assert abs(own["rss_bytes"] - outside) <= MIB, (own["rss_bytes"], outside)
    assert threads_after - threads_before == 2
    assert own["threads"] == 2
    # Peak RSS: the child's own VmHWM against wait4() rusage read by the parent.
    run = report["run"]
    # (Linux syncs per-thread RSS counters lazily, up to 64 pages per thread, hence the slack.)
    assert abs(run["rss_peak_outside_bytes"] - run["rss_peak_bytes"]) <= MIB
    assert run["rss_peak_bytes"] >= rss_after - MIB


def test_concurrent_imports_are_recorded_per_thread(tmp_path: Path) -> None:
    """Two threads import two sleeping modules at once, then both import a third: each load is
    recorded once, under the thread that ran it, with its own sleep."""
    sleeper = f"import time\ntime.sleep({SLEEP})\n"
    write(
        tmp_path,
        {
            "th_a.py": sleeper,
            "th_b.py": sleeper,
            "th_shared.py": sleeper,
            "th_main.py": """
                import threading

                def work(name):
                    __import__(name)
                    import th_shared

                threads = [threading.Thread(target=work, args=(n,)) for n in ("th_a", "th_b")]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            """,
        },
    )
    report = run_json("--no-baseline", "--no-alloc", "th_main.py", cwd=tmp_path)
    loads = [m for m in report["modules"] if m["name"].startswith("th_")]
    assert sorted(m["name"] for m in loads) == ["th_a", "th_b", "th_shared"]
    for m in loads:
        assert m["thread"] != 0 and m["chain"] == ["<thread>"] and m["parent_id"] is None
        assert m["self"]["seconds"] >= SLEEP_FLOOR
    assert module(report, "threading")["thread"] == 0

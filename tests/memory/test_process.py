"""Real processes: a child that allocates through every threshold (events, actions, reports
checked against psutil read from this process), fork restarts the monitor, the monitor never
keeps the interpreter from exiting, and the layering rules."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    env["PYTHONPATH"] = str(ROOT)
    env["LAZYMED_CACHE_DIR"] = ""
    return env


ALLOCATOR = r'''
import json, logging, sys, time
import lazymed.memory as m

MB = 1024 * 1024
logging.basicConfig(level=logging.INFO, stream=sys.stderr)

def say(kind, data):
    print(json.dumps({"kind": kind, "data": data}), flush=True)

def wait_parent():
    assert sys.stdin.readline().strip() == "go"

base = m.Sampler().memory()[0] / MB
settings = m.configure({
    "budget_mb": base + 10, "warning_mb": base + 30, "critical_mb": base + 60,
    "emergency_mb": base + 90, "vms_alert_mb": 100000,
    "interval_s": 0.05, "min_dwell_s": 0, "hysteresis": 0.1,
})
blobs = []
def drop_blobs(context):
    """Free what the program allocated (a user's emergency action)."""
    n = len(blobs)
    blobs.clear()
    return {"detail": f"dropped {n} blobs", "blobs": n}
m.add_action("drop_blobs", drop_blobs, level="emergency")
reached = []
def on_event(e):
    say("event", e.as_dict())
    reached.append(e.level)
m.on_level(on_event)
m.start()
from lazymed.memory._governor import MONITOR

def observed():
    """Until the monitor has read the process twice since now: each 10 MB step is seen before
    the next (thresholds are 30 MB apart), however slowly a loaded machine runs its thread."""
    seen, start = MONITOR.samples, time.monotonic()
    while MONITOR.samples < seen + 2 and time.monotonic() - start < 10:
        time.sleep(0.01)

deadline = time.monotonic() + 60
while "emergency" not in reached and time.monotonic() < deadline:
    blobs.append(b"x" * (10 * MB))  # written pages: resident
    observed()
while m.level() != "ok" and time.monotonic() < deadline:
    time.sleep(0.05)  # the emergency chain (run by the monitor) drops the blobs
m.stop()
say("chains", [r.as_dict() for r in m.snapshot().actions])
ballast = m.cache(max_mb=100, name="ballast")
for i in range(4):
    ballast[i] = b"y" * (10 * MB)
say("before", m.Sampler().memory())
wait_parent()
report = m.optimize("critical")  # clear_caches drops the ballast
say("report", report.as_dict())
wait_parent()
'''


def test_child_crosses_every_threshold_and_reports_agree_with_psutil(tmp_path: Path) -> None:
    script = tmp_path / "allocator.py"
    script.write_text(ALLOCATOR)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    outside = psutil.Process(proc.pid)
    got: dict[str, list[Any]] = {}
    measured: dict[str, Any] = {}
    try:
        for line in proc.stdout:
            message = json.loads(line)
            got.setdefault(message["kind"], []).append(message["data"])
            if message["kind"] in ("before", "report"):
                measured[message["kind"]] = outside.memory_full_info()  # from another process
                proc.stdin.write("go\n")
                proc.stdin.flush()
        proc.wait(timeout=60)
    finally:
        proc.kill()
    stderr = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 0, stderr

    levels = [(e["previous"], e["level"]) for e in got["event"] if e["kind"] == "level"]
    assert levels[:3] == [("ok", "warning"), ("warning", "critical"), ("critical", "emergency")]
    assert levels[-1][1] == "ok"
    assert "level rose critical -> emergency" in stderr  # logged on the lazymed logger

    chains = got["chains"][0]
    assert [c["level"] for c in chains][:3] == ["warning", "critical", "emergency"]
    assert all(c["trigger"] == "level" for c in chains)
    emergency = chains[2]
    names = [a["name"] for a in emergency["actions"]]
    # "evict" (memory/_evict.py) has nothing evictable here: it reports itself unavailable.
    assert names == ["gc", "clear_caches", "evict", "drop_blobs", "malloc_trim"]
    assert emergency["actions"][2]["status"] == "unavailable"
    drop = emergency["actions"][3]
    blobs = drop["data"]["blobs"]
    assert blobs >= 9
    # The user action really gave back (nearly) the blobs' 10 MB each, and the report says so.
    assert drop["rss_freed_bytes"] >= 0.8 * blobs * 10 * MB
    assert drop["rss_freed_bytes"] == drop["rss_before_bytes"] - drop["rss_after_bytes"]

    # Figures read by the child agree within 5 % with psutil read from this process.
    before_rss, before_uss = got["before"][0]
    report = got["report"][0]
    for ours, theirs in [
        (before_rss, measured["before"].rss),
        (before_uss, measured["before"].uss),
        (report["rss_after_bytes"], measured["report"].rss),
        (report["uss_after_bytes"], measured["report"].uss),
    ]:
        assert abs(ours - theirs) <= 0.05 * theirs, (ours, theirs)
    assert abs(report["rss_before_bytes"] - measured["before"].rss) <= 0.05 * measured["before"].rss
    clear = next(a for a in report["actions"] if a["name"] == "clear_caches")
    assert clear["data"]["caches"] == ["ballast"] and clear["data"]["entries"] == 4
    assert report["rss_freed_bytes"] >= 30 * MB  # the 40 MB ballast, given back for real


def run_python(code: str, tmp_path: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        check=False,
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_fork_restarts_the_monitor_in_the_child(tmp_path: Path) -> None:
    out = tmp_path / "child.json"
    result = run_python(
        f"""
        import json, os, threading, time, warnings
        import lazymed.memory as m
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        m.start({{"interval_s": 0.02}})
        time.sleep(0.1)
        parent_thread = m._governor.MONITOR._thread
        pid = os.fork()
        if pid == 0:
            time.sleep(0.3)
            mon = m._governor.MONITOR
            names = [t.name for t in threading.enumerate()]
            data = dict(
                running=m.running(), samples=mon.samples, pid=os.getpid(),
                sample_pid=mon.last_sample.pid, sampler_pid=mon.sampler.pid,
                monitors=names.count("lazymed-memory-monitor"),
                new_thread=mon._thread is not parent_thread,
            )
            with open({str(out)!r}, "w") as fh:
                json.dump(data, fh)
            os._exit(0)
        os.waitpid(pid, 0)
        print(json.dumps(dict(running=m.running(), pid=os.getpid())))
        m.stop()
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    parent = json.loads(result.stdout)
    child = json.loads(out.read_text())
    assert parent["running"] is True
    assert child["running"] is True and child["monitors"] == 1 and child["new_thread"]
    assert child["pid"] != parent["pid"]
    assert child["sample_pid"] == child["pid"] == child["sampler_pid"]
    assert child["samples"] >= 3  # sampled in the child, from a fresh count


def test_monitor_thread_never_keeps_the_interpreter_alive(tmp_path: Path) -> None:
    # An hour-long interval: a non-daemon thread would keep this process alive for an hour
    # (threading joins non-daemon threads before atexit runs); the timeout would fail the test.
    result = run_python(
        """
        import threading
        import lazymed.memory as m
        assert m.start({"interval_s": 3600})
        (t,) = [t for t in threading.enumerate() if t.name == "lazymed-memory-monitor"]
        print(t.daemon)
        """,
        tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_stop_really_stops_and_start_is_idempotent() -> None:
    import threading

    import lazymed.memory as m

    def count() -> int:
        return sum(t.name == "lazymed-memory-monitor" for t in threading.enumerate())

    assert m.start({"interval_s": 0.02}) and m.start()
    assert count() == 1 and m.running()
    m.stop()
    assert count() == 0 and not m.running()


def test_import_lazymed_does_not_import_the_governor(tmp_path: Path) -> None:
    result = run_python(
        """
        import sys
        import lazymed
        lazymed.install()
        lazymed.status()
        heavy = [n for n in ("lazymed.memory", "psutil", "cachetools") if n in sys.modules]
        print(heavy)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.add(base)
    return found


def test_memory_layer_imports_point_down_only() -> None:
    allowed_third_party = {"psutil", "cachetools", "cachetools.keys"}
    for path in sorted((ROOT / "lazymed" / "memory").glob("*.py")):
        for name in _imports(path):
            if name.startswith(".."):  # the core: root files only, never a folder
                assert name.count(".") == 2 or name[2:].startswith("_"), (path, name)
                assert name[2:].split(".")[0].startswith("_") or name == "..", (path, name)
            elif name.startswith("."):
                continue
            else:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name in allowed_third_party, (
                    path,
                    name,
                )
                assert not name.startswith("lazymed"), (path, name)
    # psutil stays out of the core.
    for path in sorted((ROOT / "lazymed").glob("*.py")):
        assert not any(n.split(".")[0] in ("psutil", "cachetools") for n in _imports(path)), path


def test_start_with_a_new_interval_restarts_the_thread() -> None:
    import lazymed.memory as m

    m.start({"interval_s": 0.5})
    first = m._governor.MONITOR._thread
    m.start({"interval_s": 0.02})
    second = m._governor.MONITOR._thread
    assert first is not second and first is not None and not first.is_alive()
    assert second is not None and second.is_alive()


@pytest.mark.parametrize(
    ("blocked", "expected"),
    [
        (
            "psutil",
            "import: psutil | lazymed.memory needs the 'memory' extra (psutil): "
            "pip install 'lazymed[memory]' (missing: psutil)",
        ),
        (
            "cachetools",
            "cache(): cachetools | lazymed.memory.cache() needs the 'memory' extra "
            "(cachetools): pip install 'lazymed[memory]' (missing: cachetools)",
        ),
    ],
)
def test_missing_extra_names_it(tmp_path: Path, blocked: str, expected: str) -> None:
    result = run_python(
        f"""
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == {blocked!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

        sys.meta_path.insert(0, Block())
        try:
            import lazymed.memory
        except ModuleNotFoundError as exc:
            print("import:", exc.name, "|", exc)
        else:
            lazymed.memory.snapshot()  # everything but caches works without cachetools
            try:
                lazymed.memory.cache(max_mb=1)
            except ModuleNotFoundError as exc:
                print("cache():", exc.name, "|", exc)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected

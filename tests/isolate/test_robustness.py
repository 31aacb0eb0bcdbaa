"""lazymed.isolate under adversarial use: fork, recycles under many threads, long names, stop
during a start, exceptions that cannot be rendered, dropped RemoteObjects.

Each scenario runs in a fresh interpreter (a subprocess, bounded by a hang guard); no timings
decide a pass or a fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import lazymed

Configure = Callable[..., str]
ROOT = Path(lazymed.__file__).resolve().parent.parent
GUARD_S = 120  # a hang guard, not a timing


def run(script: str, *args: str) -> str:
    """Run ``script`` in a fresh interpreter (this worktree and the service module importable,
    the test's LAZYMED_CONFIG inherited); return its stdout, failing on a non-zero exit."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), sys.path[0], env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        env=env,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_fork_child_gets_its_own_worker_and_leaves_the_parents_alone(
    configure: Configure,
) -> None:
    out = run(
        """
        import os, sys, time
        import psutil
        import lazymed.isolate as iso
        from lazymed.isolate import _service

        svc = iso.service(sys.argv[1])
        parent_worker = svc.pid()
        rt = _service.runtimes()[0]
        address = rt.worker.address
        directory = os.path.dirname(address)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its own worker, then a normal exit (atexit runs)
            os.close(r)
            code = 0
            try:
                mine = svc.pid()
                if mine == parent_worker or not os.path.exists(address):
                    code = 5
                os.write(w, str(mine).encode())
            except BaseException as exc:
                print("child failed:", repr(exc), flush=True)
                code = 6
            os.close(w)
            sys.exit(code)
        os.close(w)
        child_worker = int(os.read(r, 100) or b"0")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert child_worker and child_worker != parent_worker
        deadline = time.monotonic() + 60
        while psutil.pid_exists(child_worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not psutil.pid_exists(child_worker), "the child's worker outlived the child"
        assert os.path.isdir(directory) and os.path.exists(address)
        assert rt.worker is not None and rt.worker.address == address
        assert svc.pid() == parent_worker  # the same worker, still serving
        assert psutil.Process(parent_worker).is_running()
        print("OK")
        """,
        configure(),
    )
    assert out.strip().endswith("OK")


def test_recycles_under_many_threads_leak_no_sockets(configure: Configure) -> None:
    out = run(
        """
        import os, sys, threading
        import lazymed.isolate as iso

        name = sys.argv[1]
        svc = iso.service(name)
        barrier = threading.Barrier(9, timeout=60)
        errors = []
        finish = threading.Event()

        def caller():
            for cycle in range(20):
                barrier.wait()
                try:
                    assert svc.echo(cycle) == cycle
                except BaseException as exc:
                    errors.append(exc)
                barrier.wait()
            finish.wait(60)  # alive (with its thread-locals) until the counts are taken

        threads = [threading.Thread(target=caller) for _ in range(8)]
        for t in threads:
            t.start()
        counts = []
        for cycle in range(20):
            barrier.wait()  # the threads call
            barrier.wait()  # they are done
            assert iso.stop(name).stopped
            counts.append(len(os.listdir("/proc/self/fd")))
        finish.set()
        for t in threads:
            t.join(60)
        assert not errors, errors
        print(counts[0], counts[-1])
        """,
        configure(),
    )
    first, last = map(int, out.split())
    # Before the fix every cycle left 8 sockets open (152 more after 20 cycles).
    assert last <= first + 4, (first, last)


def test_long_service_name_works(configure: Configure) -> None:
    name = configure(name="svc_" + "x" * 78)
    assert len(name) == 82
    out = run(
        """
        import sys
        import lazymed.isolate as iso

        print(iso.service(sys.argv[1]).add(2, b=3))
        """,
        name,
    )
    assert out.strip() == "5"


def test_stop_timeout_ends_a_start_under_way(configure: Configure) -> None:
    # start_timeout_s is far beyond the hang guard: only honouring stop's timeout passes.
    name = configure(factory="build_hangs", start_timeout_s=3600)
    out = run(
        """
        import sys, threading, time
        import lazymed.isolate as iso
        from lazymed.isolate import _service

        name = sys.argv[1]
        svc = iso.service(name)
        caught = []

        def caller():
            try:
                svc.echo(1)
            except iso.ServiceError as exc:
                caught.append(exc)

        t = threading.Thread(target=caller)
        t.start()
        rt = _service.runtimes()[0]
        while not (rt.starting and rt.pending is not None and rt.pending.pid):
            time.sleep(0.05)
        pid = rt.pending.pid
        report = iso.stop(name, timeout=0.5)
        t.join(60)
        assert not t.is_alive()
        assert len(caught) == 1 and caught[0].cause == "stopped", caught
        assert "while starting" in str(caught[0])
        import psutil
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
        st = iso.status(rss=False)[0]
        assert st.state == "stopped" and st.last_error is None, st
        print("OK", report.stopped)
        """,
        name,
    )
    assert out.split()[0] == "OK"


def test_exception_whose_str_raises_still_becomes_service_error(configure: Configure) -> None:
    out = run(
        """
        import sys
        import lazymed.isolate as iso

        svc = iso.service(sys.argv[1])
        try:
            svc.raise_bad_str()
        except iso.ServiceError as exc:
            assert exc.cause == "exception", exc.cause
            assert exc.remote_type.endswith("BadStr"), exc.remote_type
            assert "BadStr" in exc.detail
            print("OK")
        assert svc.add(1, b=1) == 2  # the worker keeps serving
        """,
        configure(),
    )
    assert out.strip() == "OK"


def test_dropped_remote_objects_are_released_in_the_worker(configure: Configure) -> None:
    out = run(
        """
        import gc, sys, time
        import lazymed.isolate as iso
        from lazymed.isolate import _service

        svc = iso.service(sys.argv[1])
        held = [svc.make_counter() for _ in range(200)]
        assert all(isinstance(h, iso.RemoteObject) for h in held)
        rt = _service.runtimes()[0]
        before = rt.worker.stats()["objects_held"]
        keep = held[0]
        del held
        gc.collect()
        svc.echo(1)  # the next call releases what was collected
        after = rt.worker.stats()["objects_held"]
        assert keep.bump() == 1  # a live handle still works
        # without another call, the monitor releases what was collected while idle
        more = [svc.make_counter() for _ in range(50)]
        del more
        gc.collect()
        deadline = time.monotonic() + 60  # a hang guard
        while rt.worker.stats()["objects_held"] > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        idle = rt.worker.stats()["objects_held"]
        print(before, after, idle)
        """,
        configure(),
    )
    before, after, idle = map(int, out.split())
    assert before == 200
    assert after <= 1 and idle <= 1

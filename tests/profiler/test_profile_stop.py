"""Stopping ``lazymed profile`` on a server (defect #8): SIGTERM (``timeout``), SIGINT where a
script's ``cmd &`` made the profiler ignore it, and ``--duration``.

Each case profiles a real loopback HTTP server that also starts a helper process of its own, and
checks, from outside, that the report is printed, that no process of the profiled group survives
(the server, its helper), that the port no longer answers and that the profiler's temporary
directory is gone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _profile_helpers import env_with, module, write

SERVER = """\
import http.server, os, subprocess, sys

helper = subprocess.Popen([sys.executable, "-c", "import time\\nwhile True: time.sleep(1)"])
import email.parser  # something to trace besides http.server

server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
with open(os.environ["READY"], "a") as f:
    f.write(f"{os.getpid()} {helper.pid} {server.server_address[1]}\\n")
server.serve_forever()
"""


PROFILE = (sys.executable, "-m", "lazymed", "profile")


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _servers(ready: Path) -> list[tuple[int, int, int]]:
    if not ready.exists():
        return []
    lines = ready.read_text().split("\n")
    return [tuple(map(int, line.split())) for line in lines if line.strip()]  # type: ignore[misc]


def _wait_ready(ready: Path, proc: subprocess.Popen[str], count: int = 1) -> None:
    deadline = time.monotonic() + 60
    while len(_servers(ready)) < count:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)


def _assert_all_gone(ready: Path, tmp: Path) -> None:
    servers = _servers(ready)
    assert servers, "the server never started"
    deadline = time.monotonic() + 5  # SIGKILLed processes are reaped by init asynchronously
    while any(_alive(pid) for s in servers for pid in s[:2]) and time.monotonic() < deadline:
        time.sleep(0.05)
    for server, helper, port in servers:
        assert not _alive(server), f"profiled server {server} survived"
        assert not _alive(helper), f"the server's helper process {helper} survived"
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
            pass
    assert list(tmp.iterdir()) == [], "the profiler left its temporary directory"


def _setup(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    write(tmp_path, {"serve.py": SERVER})
    ready, tmp = tmp_path / "ready", tmp_path / "tmp"
    tmp.mkdir()
    env = env_with(extra={"READY": str(ready), "TMPDIR": str(tmp)})
    return ready, tmp, env


def test_timeout_sigterm_ends_the_run_with_the_report(tmp_path: Path) -> None:
    """``timeout 8 python -m lazymed profile ... serve.py``: SIGTERM after 8 s."""
    ready, tmp, env = _setup(tmp_path)
    cmd = [sys.executable, "-m", "lazymed", "profile", "--json", "--no-alloc", "--no-baseline"]
    proc = subprocess.run(
        ["timeout", "--preserve-status", "8", *cmd, "serve.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 143, proc.stderr
    report = json.loads(proc.stdout)
    assert report["run"]["interrupted"] is True
    assert report["run"]["stopped_by"] == "SIGTERM"
    assert module(report, "http.server")["name"] == "http.server"
    assert "interrupted (SIGTERM): the report covers" in proc.stderr
    _assert_all_gone(ready, tmp)


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_background_job_with_sigint_ignored_is_stopped(tmp_path: Path, signame: str) -> None:
    """``cmd &`` in a script starts the profiler with SIGINT ignored; the children used to
    inherit that, so the forwarded SIGINT did nothing and the run hung."""
    ready, tmp, env = _setup(tmp_path)
    pidfile = tmp_path / "pid"
    premise = "import signal, sys; sys.exit(signal.getsignal(signal.SIGINT) != signal.SIG_IGN)"
    script = (
        f"{sys.executable} -c '{premise}' &\nwait $!\necho $? > premise\n"
        f"{sys.executable} -m lazymed profile --plain --no-alloc --no-baseline serve.py "
        f"> out.txt 2> err.txt &\necho $! > {pidfile}\nwait $!\necho $? > status\n"
    )
    shell = subprocess.Popen(["sh", "-c", script], cwd=tmp_path, env=env, text=True)
    try:
        _wait_ready(ready, shell)  # type: ignore[arg-type]
        assert (tmp_path / "premise").read_text().strip() == "0", "`cmd &` did not ignore SIGINT"
        pid = int(pidfile.read_text())
        os.kill(pid, getattr(signal, signame))
        shell.wait(timeout=60)
    finally:
        if shell.poll() is None:
            shell.kill()
            shell.wait()
    status = int((tmp_path / "status").read_text())
    out, err = (tmp_path / "out.txt").read_text(), (tmp_path / "err.txt").read_text()
    assert status == {"SIGINT": 130, "SIGTERM": 143}[signame], err
    assert "http.server" in out and "Top-level packages" in out
    _assert_all_gone(ready, tmp)


def test_duration_ends_each_run_and_the_report_is_complete(tmp_path: Path) -> None:
    ready, tmp, env = _setup(tmp_path)
    proc = subprocess.run(
        [*PROFILE, "--json", "--no-baseline", "--duration", "2", "serve.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["run"]["interrupted"] is False
    assert report["run"]["stopped_by"] == "duration"
    assert report["run"]["seconds"] >= 1.0
    assert module(report, "email.parser")["cumulative"]["alloc_bytes"] > 0  # both passes ran
    assert "after --duration 2 s" in proc.stderr
    assert len(_servers(ready)) == 2  # the allocation pass and the timing pass
    _assert_all_gone(ready, tmp)


def test_duration_must_be_positive(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lazymed", "profile", "--duration", "0", "-c", "pass"],
        cwd=tmp_path,
        env=env_with(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "--duration must be a positive number of seconds" in proc.stderr


def _profile_in_a_thread(tmp_path: Path) -> dict[str, object]:
    """``profile(duration=1)`` of an endless target from a thread (no SIGALRM there: it polls),
    with a plain run; what its report says of the stop and of the plain run's time."""
    import threading

    from lazymed.profiler import Target, profile
    from lazymed.profiler._runner import INTERRUPT_GRACE

    target = Target("code", "import time\nwhile True:\n    time.sleep(0.05)\n")
    found: dict[str, object] = {}

    def work() -> None:
        report = profile(
            target,
            alloc=False,
            baseline=True,
            duration=1.0,
            cwd=str(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        found["stopped_by"], found["interrupted"] = report.run.stopped_by, report.run.interrupted
        plain = report.overhead.plain_seconds if report.overhead else None
        found["plain_sat_out_the_grace"] = plain is None or plain >= INTERRUPT_GRACE

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    return found


def test_duration_from_a_thread_without_signals(tmp_path: Path) -> None:
    """``profile(duration=...)`` outside the main thread (no SIGALRM there) polls instead."""
    assert _profile_in_a_thread(tmp_path) == {
        "stopped_by": "duration",
        "interrupted": False,
        "plain_sat_out_the_grace": False,
    }


def test_duration_from_a_thread_when_sigint_is_ignored(tmp_path: Path) -> None:
    """A process started with SIGINT ignored (any `cmd &` in a script) profiling from a thread:
    the target inherits SIG_IGN, yet the profiler's SIGINT must still end the traced run with a
    report, and the untraced plain run (which keeps SIG_IGN) must not sit out the grace period
    (its time is the overhead's baseline)."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        found = _profile_in_a_thread(tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert found == {
        "stopped_by": "duration",
        "interrupted": False,
        "plain_sat_out_the_grace": False,
    }


def test_ignores_sigint_reads_the_childs_disposition() -> None:
    from lazymed.profiler._runner import _ignores_sigint

    code = (
        "import signal, sys, time\n"
        "if sys.argv[1] == '1':\n"
        "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    for ignore in (True, False):
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "1" if ignore else "0"], stdout=subprocess.PIPE
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
            assert _ignores_sigint(proc.pid) is ignore
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

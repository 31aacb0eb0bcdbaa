"""Run a server in a child process and measure it from outside (psutil, loopback HTTP).

Everything here looks at the child from the parent: the
start-up clock runs from just before ``Popen`` until the first successful health check, the
memory and thread figures come from ``psutil`` on the child's pid, and request times are taken
around the client's HTTP call.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psutil


class ChildError(RuntimeError):
    """The child process failed to start, answered badly or died. The message ends with the tail
    of its standard error."""


@dataclass(frozen=True)
class Reading:
    """Resident and virtual memory in bytes and the OS thread count of one process."""

    rss_bytes: int
    vms_bytes: int
    threads: int
    #: RSS summed over the process and all its descendants (e.g. isolated workers), and their
    #: number (1: no children).
    tree_rss_bytes: int = 0
    processes: int = 1

    def as_dict(self) -> dict[str, int]:
        """``{"rss_bytes", "vms_bytes", "threads", "tree_rss_bytes", "processes"}``."""
        return {
            "rss_bytes": self.rss_bytes,
            "vms_bytes": self.vms_bytes,
            "threads": self.threads,
            "tree_rss_bytes": self.tree_rss_bytes,
            "processes": self.processes,
        }


def read_process(pid: int) -> Reading:
    """Read ``pid`` from outside with psutil. Raises ``psutil.NoSuchProcess`` if it is gone."""
    process = psutil.Process(pid)
    with process.oneshot():
        memory = process.memory_info()
        threads = process.num_threads()
    tree, count = memory.rss, 1
    for child in process.children(recursive=True):
        try:
            tree += child.memory_info().rss
            count += 1
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return Reading(memory.rss, memory.vms, threads, tree, count)


@dataclass(frozen=True)
class Response:
    """One HTTP exchange: status code, body bytes and the client-side wall time in seconds
    (connect, send, wait, read the whole body)."""

    status: int
    body: bytes
    seconds: float

    def json(self) -> Any:
        """The body parsed as JSON. Raises ValueError if it is not JSON."""
        return json.loads(self.body)


class ChildServer:
    """A server started as ``argv`` that prints one JSON ready line with ``"port"`` on stdout.

    Use as a context manager: the child is terminated (then killed) on exit. ``started_at`` is
    the ``time.perf_counter()`` taken just before ``Popen``.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        host: str = "127.0.0.1",
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.host = host
        self.port: int | None = None
        self.ready: dict[str, Any] = {}
        self.started_at = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._lines: queue.Queue[bytes | None] = queue.Queue()

    @property
    def pid(self) -> int:
        """The child's process id. Raises ChildError before :meth:`start`."""
        if self._proc is None:
            raise ChildError("child not started")
        return self._proc.pid

    def __enter__(self) -> ChildServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Spawn the child (stdout piped and drained by a reader thread, stderr to a temp file)."""
        # Closed in stop(): it must outlive this method, so no with-block.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.started_at = time.perf_counter()
        self._proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        stdout = self._proc.stdout
        if stdout is None:  # cannot happen with stdout=PIPE; keeps the type checker honest
            raise ChildError("no stdout pipe")
        threading.Thread(target=self._drain, args=(stdout,), daemon=True).start()

    def _drain(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def stderr_tail(self, limit: int = 4000) -> str:
        """The last ``limit`` characters the child wrote to standard error."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-limit:]

    def _fail(self, message: str) -> ChildError:
        tail = self.stderr_tail().strip()
        return ChildError(f"{message}\n--- child stderr ---\n{tail}" if tail else message)

    def wait_ready(self, timeout: float) -> float:
        """Wait for the ready line, then for ``GET /healthz`` to answer 200.

        Returns the seconds from just before ``Popen`` to that first 200 (the start-up time as a
        client sees it). Raises ChildError if the child exits, prints no ready line within
        ``timeout`` seconds, or never answers.
        """
        deadline = self.started_at + timeout
        while self.port is None:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise self._fail(f"no ready line within {timeout:.0f} s")
            try:
                line = self._lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                code = self._proc.wait() if self._proc is not None else None
                raise self._fail(f"child exited (status {code}) before it was ready")
            try:
                message = json.loads(line)
            except ValueError:
                continue  # not our line: the app may print other things
            if isinstance(message, dict) and message.get("event") == "ready":
                self.ready = message
                self.port = int(message["port"])
        while True:
            try:
                answer = self.request("GET", "/healthz", timeout=5)
            except OSError as exc:
                if time.perf_counter() > deadline:
                    raise self._fail(f"/healthz unreachable: {exc}") from exc
                time.sleep(0.01)
                continue
            if answer.status == 200:
                return time.perf_counter() - self.started_at
            raise self._fail(f"/healthz answered {answer.status}: {answer.body[:200]!r}")

    def request(
        self, method: str, path: str, body: Any = None, *, timeout: float = 120.0
    ) -> Response:
        """One HTTP request over loopback (no proxy), timed on the client side. ``body`` is sent
        as JSON when not None. Raises OSError on connection problems."""
        if self.port is None:
            raise ChildError("child not ready")
        payload = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            began = time.perf_counter()
            connection.request(method, path, body=payload, headers=headers)
            reply = connection.getresponse()
            data = reply.read()
            elapsed = time.perf_counter() - began
        finally:
            connection.close()
        return Response(status=reply.status, body=data, seconds=elapsed)

    def get_json(self, path: str) -> Any:
        """``GET path``, which must answer 200 with JSON. Raises ChildError otherwise."""
        answer = self.request("GET", path)
        if answer.status != 200:
            raise self._fail(f"GET {path} answered {answer.status}: {answer.body[:300]!r}")
        return answer.json()

    def stop(self, timeout: float = 10.0) -> int | None:
        """Terminate the child (SIGTERM, then SIGKILL after ``timeout`` s); return its status."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        return proc.returncode


def child_env(
    base: Mapping[str, str], extra: Mapping[str, str], pythonpath: Sequence[Path]
) -> dict[str, str]:
    """``base`` plus ``extra``, with ``pythonpath`` prepended to PYTHONPATH, the ``LAZYMED_*``
    switches of the caller removed (the demo decides each child's mode), and every HTTP(S) proxy
    pointed at a closed loopback port so that an accidental outbound request fails instead of
    leaving the machine."""
    env = {key: value for key, value in base.items() if not key.startswith("LAZYMED_")}
    env.update(extra)
    paths = [str(p) for p in pythonpath]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    blackhole = "http://127.0.0.1:9"
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env[key] = blackhole
    for key in ("NO_PROXY", "no_proxy"):
        env.pop(key, None)
    return env

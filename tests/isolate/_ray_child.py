"""Run by test_ray.py inside a private network namespace (``unshare -n``: only ``lo``), so the
local Ray cluster can listen on loopback only. Prints one JSON document of what it saw."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import psutil


def listening(proc: psutil.Process) -> list[str]:
    found = []
    for member in (proc, *proc.children(recursive=True)):
        try:
            conns = member.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        found += [c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN]
    return sorted(set(found))


def main() -> None:
    import lazymed.isolate as iso

    service_module = sys.argv[1]
    local = __import__(service_module).build()
    svc = iso.service("ray_svc")
    out: dict[str, object] = {"interfaces": sorted(psutil.net_if_addrs())}
    out["same_answers"] = [svc.echo(v) == local.echo(v) for v in ("x", {"k": [1, 2]}, b"\0")]
    first = svc.pid()
    out["worker_is_other_process"] = first != os.getpid()
    out["ray_in_caller"] = "ray" in sys.modules
    try:
        svc.raise_value_error("bad question")
    except iso.ServiceError as exc:
        out["exception"] = [exc.cause, exc.remote_type, isinstance(exc.__cause__, ValueError)]
    counter = svc.make_counter()
    out["remote_object"] = [type(counter).__name__, counter.bump(), counter.bump(by=2)]
    os.kill(first, signal.SIGKILL)  # as the OOM killer would
    try:
        svc.echo("after kill")
        out["after_kill"] = "no error"
    except iso.ServiceError as exc:
        out["after_kill"] = exc.cause
    out["fresh_worker"] = [svc.echo("again"), svc.pid() != first]
    report = iso.stop("ray_svc")
    out["stop"] = [report.stopped, report.worker_rss_bytes is not None]
    out["status"] = iso.status()[0].state
    out["listening"] = listening(psutil.Process())
    out["restarts"] = iso.status()[0].restarts
    print(json.dumps(out), flush=True)
    import ray

    ray.shutdown()
    time.sleep(0.5)


if __name__ == "__main__":
    main()

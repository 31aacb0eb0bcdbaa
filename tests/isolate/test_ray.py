"""``backend = "ray"``: the same handle over a Ray actor, on a local cluster that can only
reach loopback (the test runs it in a private network namespace: ``unshare -n``).

Ray 2.60 turns ``_node_ip_address="127.0.0.1"`` into the machine's routable address
(``ray._private.services.resolve_ip_for_localhost``) and its gRPC servers bind ``::``, so
keyword arguments alone cannot keep a local cluster off the machine's other interfaces; a
network namespace with only ``lo`` can. Skipped, with the reason, where Ray is not installed or
no namespace can be made (not root).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("_ray_child.py")


def _namespace_problem() -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare(1) and ip(8) for a private network namespace"
    done = subprocess.run(
        ["unshare", "-n", "true"], capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        return f"cannot make a private network namespace (unshare -n: {done.stderr.strip()})"
    return None


pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("ray") is None,
        reason="Ray is not installed (pip install 'lazymed[ray]'); the ray backend is untested",
    ),
]


def test_ray_backend_on_a_loopback_only_local_cluster(
    tmp_path: Path, configure: Callable[..., str], service_module: str
) -> None:
    problem = _namespace_problem()
    if problem is not None:
        pytest.skip(f"Ray test {problem}: a local Ray cluster would listen on every interface")
    configure("ray_svc", backend="ray", restart_backoff_s=0.01)
    svc_dir = sys.path[0]  # the service module's directory (the fixture put it first)
    ray_tmp = tempfile.mkdtemp(prefix="lmray-")  # short: AF_UNIX paths must stay <= 107 bytes
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), svc_dir]),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_TMPDIR": ray_tmp,
    }
    try:
        done = _run_in_namespace(env, service_module)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-4000:]
    _check(done)


def _run_in_namespace(env: dict[str, str], service_module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "unshare",
            "-n",
            "sh",
            "-c",
            'ip link set lo up && exec "$0" "$@"',
            sys.executable,
            str(CHILD),
            service_module,
        ],
        capture_output=True,
        text=True,
        timeout=600,  # hang guard: ray.init takes ~15-20 s on 2 busy cores
        env=env,
        check=False,
    )


def _check(done: subprocess.CompletedProcess[str]) -> None:
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["interfaces"] == ["lo"]
    assert out["same_answers"] == [True, True, True]
    assert out["worker_is_other_process"] is True
    assert out["exception"] == ["exception", "ValueError", True]
    assert out["remote_object"] == ["RemoteObject", 1, 3]
    assert out["after_kill"] in ("exit", "no error")  # the kill may land before the call
    assert out["fresh_worker"] == ["again", True]
    assert out["stop"] == [True, True]
    assert out["status"] == "stopped"
    assert out["restarts"] >= 1
    assert out["listening"], "the local cluster listens on nothing?"
    assert set(out["listening"]) <= {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, out["listening"]

"""The many-machines backend: the service as a Ray actor (``backend = "ray"``).

Imported only for a service with ``backend = "ray"``; it imports Ray (the ``ray`` extra), which
costs the caller tens of MiB and seconds (docs/isolate.md has the measured figures). The actor
runs the same :class:`~lazymed.isolate._host.Host` as a process worker, so the handle, the
results, the errors and the RSS recycling behave the same. Ray's own restarts are off
(``max_restarts=0``): lazymed's supervisor restarts with its back-off and limit, as for processes.

Ray is used as the user set it up: an initialised Ray (``ray.init(address="auto")`` on a
cluster) is used as is; ``ray_address`` makes lazymed call ``ray.init(address=...)``; with
neither, lazymed starts a local Ray (``_node_ip_address="127.0.0.1"``, no dashboard). Measured
with Ray 2.60: that still listens beyond loopback (Ray resolves 127.0.0.1 to the node's routable
address and binds its gRPC servers on ``::``), so a local Ray cluster is a network service:
keep it in a private network namespace or behind a firewall (the tests use ``unshare -n``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import time
from typing import Any

from ._host import Host
from ._process import Lost, StartFailed, _worker_env


class _RayHost(Host):
    def ready(self) -> tuple[int, float]:
        return os.getpid(), self.factory_seconds


def _init_ray(ray: Any, address: str) -> None:
    if ray.is_initialized():
        return
    env = {"env_vars": {"PYTHONPATH": _worker_env()["PYTHONPATH"]}}
    if address:
        ray.init(address=address, runtime_env=env)
    else:  # a local cluster; Ray still binds beyond loopback (see the module docstring)
        ray.init(
            address="local",
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            runtime_env=env,
            log_to_driver=False,
        )


class RayWorker:
    """One Ray actor, with the ProcessWorker interface."""

    backend = "ray"

    def __init__(self, name: str, settings: dict[str, Any], generation: int) -> None:
        self.name = name
        self.settings = settings
        self.generation = generation
        self.pid: int | None = None
        self.factory_seconds = 0.0
        self._actor: Any = None
        self._ray: Any = None
        self._code: int | None = None

    def start(self) -> None:
        """Create the actor and run the factory in it. Raises StartFailed."""
        try:
            # Typed as Any: the module must type-check with and without the optional extra.
            ray: Any = importlib.import_module("ray")
        except ImportError as exc:
            raise StartFailed(
                "backend", f"backend = 'ray' needs Ray ({exc}); pip install 'lazymed[ray]'"
            ) from None
        self._ray = ray
        _init_ray(ray, str(self.settings["ray_address"]))
        actor_class = ray.remote(max_restarts=0, max_task_retries=0, max_concurrency=64)(_RayHost)
        self._actor = actor_class.remote(
            self.settings["factory"],
            max_rss_bytes=int(float(self.settings["max_rss_mb"]) * 1024 * 1024),
            rss_check_interval_s=float(self.settings["rss_check_interval_s"]),
        )
        timeout = float(self.settings["start_timeout_s"]) or None
        try:
            self.pid, self.factory_seconds = ray.get(self._actor.ready.remote(), timeout=timeout)
        except ray.exceptions.GetTimeoutError:
            self.kill()
            raise StartFailed(
                "timeout", f"did not start within start_timeout_s={timeout:g}"
            ) from None
        except ray.exceptions.RayError as exc:
            self.kill()
            self._code = 1
            raise StartFailed(
                "factory", f"factory {self.settings['factory']} failed in the Ray actor", str(exc)
            ) from None

    def exitcode(self) -> int | None:
        """None while the actor is believed alive; else a code (-9 after a kill)."""
        if self._code is None and self.pid is not None and _local_pid_gone(self.pid):
            self._code = -1
        return self._code

    def kill(self) -> None:
        """End the actor (``ray.kill``, no restart)."""
        if self._actor is not None and self._ray is not None:
            with contextlib.suppress(Exception):  # already gone
                self._ray.kill(self._actor, no_restart=True)
        if self._code is None:
            self._code = -9

    def wait(self, timeout: float) -> int | None:
        """The exit code once the actor's process has gone (up to ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while self.pid is not None and not _local_pid_gone(self.pid):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return self.exitcode()

    def terminate(self, timeout: float = 10.0) -> int | None:
        """Kill the actor and wait for its process to go."""
        was = self._code
        self.kill()
        self.wait(timeout)
        if was is None:
            self._code = 0  # a planned stop
        return self._code

    def _get(self, ref: Any) -> Any:
        try:
            return self._ray.get(ref)
        except self._ray.exceptions.RayActorError as exc:
            if self._code is None:
                self._code = -1
            raise Lost(f"{type(exc).__name__}: {exc}") from None

    def call(self, ref: int, method: str, payload: bytes) -> tuple[Any, ...]:
        """``Host.call`` in the actor. Raises Lost when the actor died."""
        return self._get(self._actor.call.remote(ref, method, payload))  # type: ignore[no-any-return]

    def methods(self, ref: int) -> list[str]:
        """``Host.methods`` in the actor."""
        return self._get(self._actor.methods.remote(ref))  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        """``Host.stats`` in the actor."""
        return self._get(self._actor.stats.remote())  # type: ignore[no-any-return]

    def release(self, ref: int) -> None:
        """``Host.release`` in the actor."""
        self._get(self._actor.release.remote(ref))


def _local_pid_gone(pid: int) -> bool:
    # The actor's pid is meaningful only on this machine (a local cluster); on a remote node
    # this may answer "gone" for a live actor: then only call failures tell.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rpartition(b")")[2].split()[0] == b"Z"
    except OSError:
        return False

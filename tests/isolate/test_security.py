"""What a worker lets through: its socket, its authkey, and only the service's public methods."""

from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection
from multiprocessing.managers import RemoteError, dispatch
from typing import Any

import psutil
import pytest

import lazymed.isolate as iso
from lazymed.isolate import _process, _service
from lazymed.isolate._process import ProcessWorker, _Client, _worker_env

Configure = Callable[..., str]


def running_worker(name: str) -> ProcessWorker:
    rt = next(r for r in _service.runtimes() if r.name == name)
    assert isinstance(rt.worker, ProcessWorker)
    return rt.worker


def test_socket_is_0600_in_a_0700_directory(configure: Configure) -> None:
    name = configure()
    iso.service(name).echo(1)
    worker = running_worker(name)
    assert stat.S_IMODE(os.stat(worker.address).st_mode) == 0o600
    assert stat.S_ISSOCK(os.stat(worker.address).st_mode)
    assert stat.S_IMODE(os.stat(os.path.dirname(worker.address)).st_mode) == 0o700


def test_worker_listens_on_no_network_interface(configure: Configure) -> None:
    name = configure()
    iso.service(name).echo(1)
    worker = running_worker(name)
    assert worker.pid is not None
    assert psutil.Process(worker.pid).net_connections(kind="inet") == []


def test_authkey_never_in_argv_or_environment(configure: Configure) -> None:
    name = configure()
    iso.service(name).echo(1)
    worker = running_worker(name)
    proc = psutil.Process(worker.pid)
    key = worker._authkey
    assert key.hex() not in " ".join(proc.cmdline())
    assert all(
        key.hex() not in v and key.decode("latin-1") not in v for v in proc.environ().values()
    )


def test_wrong_authkey_is_refused_on_the_unix_socket(configure: Configure) -> None:
    name = configure()
    svc = iso.service(name)
    svc.echo(1)
    worker = running_worker(name)
    with pytest.raises(AuthenticationError):
        Client(worker.address, authkey=b"x" * 32)
    with pytest.raises(AuthenticationError):
        _Client(address=worker.address, authkey=os.urandom(32)).connect()
    assert svc.echo(2) == 2  # the worker is unharmed


def test_only_the_service_object_is_reachable(configure: Configure) -> None:
    name = configure()
    iso.service(name).echo(1)
    worker = running_worker(name)
    # The manager knows one typeid, and its callable takes no arguments (one connection per
    # request: the server answers one request on a fresh connection, then closes it).
    for args, error in [(("dict",), "KeyError"), (("service", "os:system"), "TypeError")]:
        conn = Client(worker.address, authkey=worker._authkey)
        try:
            with pytest.raises(RemoteError, match=error):
                dispatch(conn, None, "create", args)
        finally:
            conn.close()
    proxy = worker._proxy
    assert proxy is not None
    for op, args in [
        ("__getattribute__", ("_service",)),
        ("_target", (0,)),
        ("__reduce__", ()),
        ("_Host__x", ()),
    ]:
        with pytest.raises(RemoteError, match="is not in exposed"):
            proxy._callmethod(op, args)
    with pytest.raises(Exception, match="never leaves its worker"):
        proxy._callmethod("#GETVALUE")
    payload = pickle.dumps(((), {}))
    for method in ("__class__", "__init__", "_private", "__getattribute__"):
        assert proxy._callmethod("call", (0, method, payload))[0] == "missing"


@pytest.fixture
def tcp_worker(service_module: str) -> Iterator[tuple[Any, bytes, subprocess.Popen[bytes]]]:
    """A worker serving on loopback TCP (a port the kernel picks), and its authkey."""
    key = os.urandom(32)
    read_fd, write_fd = os.pipe()
    spec = {
        "address": ("127.0.0.1", 0),
        "authkey": key,
        "factory": f"{service_module}:build",
        "max_rss_bytes": 0,
        "rss_check_interval_s": 1.0,
        "report_fd": write_fd,
    }
    popen = subprocess.Popen(
        [sys.executable, "-c", "from lazymed.isolate._worker import main; main()"],
        stdin=subprocess.PIPE,
        pass_fds=(write_fd,),
        env=_worker_env(),
    )
    os.close(write_fd)
    assert popen.stdin is not None
    popen.stdin.write(pickle.dumps(spec))
    popen.stdin.flush()
    report = Connection(read_fd, writable=False)
    assert report.poll(120), "worker did not report (hang guard)"
    kind, address, _ = report.recv()
    report.close()
    assert kind == "ready"
    try:
        yield address, key, popen
    finally:
        popen.stdin.close()
        popen.terminate()
        popen.wait(30)


def test_wrong_authkey_is_refused_over_loopback_tcp(
    tcp_worker: tuple[Any, bytes, subprocess.Popen[bytes]],
) -> None:
    address, key, popen = tcp_worker
    assert address[0] == "127.0.0.1"
    listening = [
        c for c in psutil.Process(popen.pid).net_connections(kind="inet") if c.status == "LISTEN"
    ]
    assert [c.laddr.ip for c in listening] == ["127.0.0.1"]
    with pytest.raises(AuthenticationError):
        Client(tuple(address), authkey=b"wrong key")
    with pytest.raises(AuthenticationError):
        _Client(address=tuple(address), authkey=key[::-1]).connect()
    client = _Client(address=tuple(address), authkey=key)
    client.connect()
    proxy = client.service()  # type: ignore[attr-defined]
    reply = proxy._callmethod("call", (0, "echo", pickle.dumps((("over tcp",), {}))))
    assert reply[0] == "ok" and pickle.loads(reply[1]) == "over tcp"
    assert popen.poll() is None


def test_describe_exit_names_signals() -> None:
    assert _process.describe_exit(-9) == "killed by signal SIGKILL (9)"
    assert _process.describe_exit(3) == "exited with code 3"

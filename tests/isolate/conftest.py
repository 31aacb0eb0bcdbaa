"""Fixtures for lazymed.isolate: a synthetic service module and a config naming it."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Imported here, before the autouse fixture snapshots sys.modules, so that the layer's
# process-wide state (runtimes, the monitor thread) is one module across tests.
import lazymed.isolate
import lazymed.isolate._handles
import lazymed.isolate._measure
import lazymed.isolate._process
import lazymed.isolate._service
import lazymed.isolate._worker

SERVICE_MODULE = '''
import ctypes
import os
import signal
import threading
import time

BUILDS = []


class Service:
    """A service with one method per behaviour the tests need."""

    def __init__(self, tag="base"):
        self.tag = tag
        self.hold = []
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def echo(self, value):
        return value

    def pid(self):
        return os.getpid()

    def modules(self):
        import sys
        return sorted(sys.modules)

    def add(self, a, b=0):
        return a + b

    def raise_value_error(self, text):
        raise ValueError(text)

    def segfault(self):
        ctypes.string_at(0)

    def sigkill(self):
        os.kill(os.getpid(), signal.SIGKILL)

    def sleep(self, seconds):
        time.sleep(seconds)
        return seconds

    def concurrent(self, i, seconds):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(seconds)
        with self.lock:
            self.active -= 1
        return i

    def peak_concurrency(self):
        return self.peak

    def allocate_mb(self, mb):
        self.hold.append(bytearray(mb * 1024 * 1024))
        for block in self.hold:
            block[::4096] = b"x" * len(block[::4096])
        return len(self.hold)

    def make_lock(self):
        return threading.Lock()

    def make_counter(self):
        return Counter()


class Counter:
    def __init__(self):
        self.n = 0
        self.unpicklable = threading.Lock()

    def bump(self, by=1):
        self.n += by
        return self.n


def build():
    return Service()


def build_tagged():
    return Service(os.environ.get("ISO_TAG", "tagged"))


def build_fails():
    raise RuntimeError("factory cannot reach its index")


def build_exits():
    os._exit(7)


def build_hangs():
    time.sleep(600)
'''


@pytest.fixture
def service_module(tmp_path: Path) -> str:
    """Writes a unique service module into a dir on sys.path; returns its name."""
    name = f"iso_svc_{tmp_path.name.replace('-', '_')}"[:60]
    (tmp_path / "svcpath").mkdir()
    (tmp_path / "svcpath" / f"{name}.py").write_text(SERVICE_MODULE)
    sys.path.insert(0, str(tmp_path / "svcpath"))
    return name


@pytest.fixture
def configure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service_module: str
) -> Iterator[Callable[..., str]]:
    """``configure(name="svc", factory="build", **settings)`` writes a pyproject with
    ``[tool.lazymed.isolate.NAME]`` and points LAZYMED_CONFIG at it; returns the service name.
    Every service is stopped and forgotten after the test."""
    tables: dict[str, dict[str, object]] = {}

    def configure(name: str = "svc", factory: str = "build", **settings: object) -> str:
        tables[name] = {"factory": f"{service_module}:{factory}", **settings}
        lines = []
        for table, values in tables.items():
            lines.append(f"[tool.lazymed.isolate.{table}]")
            for key, value in values.items():
                if isinstance(value, bool):
                    lines.append(f"{key} = {'true' if value else 'false'}")
                elif isinstance(value, str):
                    lines.append(f"{key} = {value!r}".replace("'", '"'))
                else:
                    lines.append(f"{key} = {value}")
        path = tmp_path / "cfg" / "pyproject.toml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(textwrap.dedent("\n".join(lines)) + "\n")
        monkeypatch.setenv("LAZYMED_CONFIG", str(path))
        from lazymed.isolate import _service

        _service.forget(name)
        return name

    yield configure
    from lazymed.isolate import _service

    for rt in _service.runtimes():
        _service.forget(rt.name)
    # service() registered "stop_isolated" with the governor if another test had loaded it:
    # leave the governor's registry as the test found it.
    for remove in lazymed.isolate._registered:
        remove()
    lazymed.isolate._registered.clear()

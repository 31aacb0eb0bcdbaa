"""First use from many threads; lazy modules that need each other. Never hang."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path

import pytest
from conftest import Packages, run_json, run_python

import lazymed


def _start_all(targets: list[threading.Thread]) -> None:
    for t in targets:
        t.start()
    for t in targets:
        t.join(30)
        assert not t.is_alive(), "a thread hung"


def test_64_threads_first_use_runs_the_module_once(pkgs: Packages) -> None:
    pkgs.module("racer", "import time\nA = 1\ntime.sleep(0.3)\nB = 2\n")
    lazymed.install(lazy=["racer"])
    import racer

    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(64)

    def touch() -> None:
        barrier.wait()
        try:
            seen.append((racer.A, racer.B))
        except BaseException as exc:
            errors.append(exc)

    _start_all([threading.Thread(target=touch) for _ in range(64)])
    assert errors == []
    assert seen == [(1, 2)] * 64
    assert pkgs.runs == ["racer"]
    assert type(racer) is types.ModuleType


def test_16_threads_where_the_stdlib_lazyloader_fails(pkgs: Packages) -> None:
    """cpython#114763: on 3.11.7 the stdlib LazyLoader fails 15 of these 16 threads."""
    pkgs.module("racer16", "import time\ntime.sleep(0.3)\ndef f():\n    return 'ok'\n")
    lazymed.install(lazy=["racer16"])
    import racer16

    results: list[str] = []
    barrier = threading.Barrier(16)

    def use() -> None:
        barrier.wait()
        results.append(racer16.f())

    _start_all([threading.Thread(target=use) for _ in range(16)])
    assert results == ["ok"] * 16
    assert pkgs.runs == ["racer16"]


#: cpython#114763 (the stdlib LazyLoader races) is fixed in 3.11.9 and 3.12.3; 3.13 never had it.
_VERSION = sys.version_info[:3]
_STDLIB_LAZYLOADER_RACES = (3, 11) <= _VERSION < (3, 11, 9) or (3, 12) <= _VERSION < (3, 12, 3)


@pytest.mark.skipif(
    not _STDLIB_LAZYLOADER_RACES, reason="cpython#114763 fixed in 3.11.9, 3.12.3 and 3.13"
)
def test_the_same_race_fails_with_the_stdlib_lazyloader(tmp_path: Path) -> None:
    """The control for the test above: on this interpreter the stdlib recipe loses the race."""
    (tmp_path / "stdracer.py").write_text("import time\ntime.sleep(0.3)\ndef f():\n    return 1\n")
    code = f"""
    import importlib.util, sys, threading, json
    sys.path.insert(0, {str(tmp_path)!r})
    spec = importlib.util.find_spec("stdracer")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["stdracer"] = module
    loader.exec_module(module)
    barrier = threading.Barrier(16); failures = []
    def use():
        barrier.wait()
        try:
            module.f()
        except Exception as exc:
            failures.append(type(exc).__name__)
    threads = [threading.Thread(target=use) for _ in range(16)]
    [t.start() for t in threads]; [t.join() for t in threads]
    print(json.dumps(len(failures)))
    """
    failures = run_json(code)
    assert isinstance(failures, int) and failures >= 1


def test_concurrent_import_statement_waits_for_a_running_load(pkgs: Packages) -> None:
    pkgs.module("waited", "import time\ntime.sleep(0.3)\nDONE = True\n")
    lazymed.install(lazy=["waited"])
    import waited

    got: list[object] = []
    loader = threading.Thread(target=lambda: got.append(waited.DONE))
    loader.start()
    while "waited" not in pkgs.runs:
        pass
    # importlib waits on the module lock while __spec__._initializing is set
    importer = threading.Thread(target=lambda: got.append(__import__("waited").DONE))
    importer.start()
    for t in (loader, importer):
        t.join(30)
    assert got == [True, True]


def test_lazy_modules_that_use_each_other_in_functions(pkgs: Packages) -> None:
    """Laziness removes the import-time cycle: nothing may fail or hang."""
    pkgs.module(
        "ping",
        "import time\ntime.sleep(0.2)\nimport pong\ndef f():\n    return pong.g()\n"
        "def name():\n    return 'ping'\n",
    )
    pkgs.module(
        "pong",
        "import time\ntime.sleep(0.2)\nimport ping\ndef g():\n    return 'pong'\n"
        "def h():\n    return ping.name()\n",
    )
    lazymed.install(lazy=["ping", "pong"])
    import ping
    import pong

    out: list[str] = []
    _start_all(
        [
            threading.Thread(target=lambda: out.append(ping.f())),
            threading.Thread(target=lambda: out.append(pong.h())),
        ]
    )
    assert sorted(out) == ["ping", "pong"]


def test_modules_that_read_each_other_at_import_time_never_hang(pkgs: Packages) -> None:
    """Plain CPython fails this (AttributeError on a partly initialised module) rather than
    deadlock; lazymed may fail the same way but must return."""
    pkgs.module("cyc1", "import time, cyc2\ntime.sleep(0.2)\nV1 = getattr(cyc2, 'V2', 'partial')\n")
    pkgs.module("cyc2", "import time, cyc1\ntime.sleep(0.2)\nV2 = getattr(cyc1, 'V1', 'partial')\n")
    lazymed.install(lazy=["cyc1", "cyc2"])
    import cyc1
    import cyc2

    out: list[object] = []

    def read(fn: object) -> None:
        try:
            out.append(fn())  # type: ignore[operator]
        except AttributeError as exc:
            out.append(exc)

    _start_all(
        [
            threading.Thread(target=read, args=(lambda: cyc1.V1,)),
            threading.Thread(target=read, args=(lambda: cyc2.V2,)),
        ]
    )
    assert len(out) == 2
    assert sys.modules["cyc1"] is cyc1


def test_fork_and_spawn_children_use_lazy_modules(tmp_path: object) -> None:
    code = """
    import multiprocessing as mp, sys, json, os
    sys.path.insert(0, os.environ["SITE"])
    import lazymed
    lazymed.install(lazy=["mpmod"])
    import mpmod

    def work(q):
        q.put(mpmod.triple(3))

    if __name__ == "__main__":
        out = {}
        for method in ("fork", "spawn"):
            ctx = mp.get_context(method)
            q = ctx.Queue()
            p = ctx.Process(target=work, args=(q,))
            p.start(); out[method] = q.get(timeout=60); p.join(60)
        out["parent_type"] = type(sys.modules["mpmod"]).__name__
        print(json.dumps(out))
    """
    import json
    from pathlib import Path

    site = Path(str(tmp_path)) / "mpsite"
    site.mkdir()
    (site / "mpmod.py").write_text("def triple(x):\n    return 3 * x\n")
    script = Path(str(tmp_path)) / "main_mp.py"
    import textwrap

    script.write_text(textwrap.dedent(code))
    proc = run_python("", args=[str(script)], env={"SITE": str(site)})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result == {"fork": 9, "spawn": 9, "parent_type": "LazyModule"}

"""[tool.lazymed.startup]: applied by install(), each key in a fresh interpreter."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_json, run_python


def needs(name: str) -> None:
    """Skip unless ``name`` is installed; never imports it here (numpy cannot be imported twice
    in one process, and the import-state fixture drops it after each test)."""
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed")


def project(tmp_path: Path, startup: str, lazy: str = '["slowmod", "brokenmod"]') -> Path:
    (tmp_path / "pyproject.toml").write_text(
        f"[tool.lazymed]\nlazy = {lazy}\n[tool.lazymed.startup]\n{textwrap.dedent(startup)}"
    )
    (tmp_path / "slowmod.py").write_text("import os\nLOADED_IN = os.getpid()\n")
    (tmp_path / "brokenmod.py").write_text("raise RuntimeError('broken at import')\n")
    return tmp_path


def child(cwd: Path, body: str, env: dict[str, str] | None = None) -> dict[str, object]:
    code = "import sys, os, json, gc\nsys.path.insert(0, '.')\nimport lazymed\n" + textwrap.dedent(
        body
    )
    out = run_json(code, cwd=cwd, env=env)
    assert isinstance(out, dict)
    return out


def test_install_without_a_startup_table_imports_nothing_new(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.lazymed]\nlazy = ["slowmod"]\n')
    out = child(
        tmp_path,
        """
        lazymed.install()  # fills the parse cache
        before = set(sys.modules)
        import subprocess
        code = ("import sys; b = set(sys.modules); import lazymed; lazymed.install(); "
                "print(sorted(set(sys.modules) - b))")
        new = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
        print(json.dumps({"new": eval(new), "env": os.environ.get("OMP_NUM_THREADS")}))
        """,
        env={"LAZYMED_CACHE_DIR": str(tmp_path / "cache")},
    )
    new = out["new"]
    assert isinstance(new, list)
    assert "lazymed._startup" not in new
    assert not {"ctypes", "threading", "gc"} & set(new)
    assert all(name == "lazymed" or name.startswith("lazymed.") for name in new), new
    assert out["env"] is None
    status = child(tmp_path, "lazymed.install()\nprint(json.dumps(lazymed.status().startup))")
    assert status == {}


def test_max_threads_sets_the_pool_variables_unless_already_set(tmp_path: Path) -> None:
    out = child(
        project(tmp_path, "max_threads = 3\n"),
        """
        lazymed.install()
        from lazymed import _startup
        print(json.dumps({v: os.environ.get(v) for v in _startup.THREAD_ENV}
                         | {"applied": _startup.APPLIED["max_threads"]}))
        """,
        env={"MKL_NUM_THREADS": "7"},
    )
    assert out.pop("MKL_NUM_THREADS") == "7"
    applied = out.pop("applied")
    assert "kept (already set): MKL_NUM_THREADS=7" in str(applied)
    assert set(out.values()) == {"3"}
    assert set(out) >= {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS"}


def test_max_threads_caps_numpys_blas_pool_when_numpy_loads_lazily(tmp_path: Path) -> None:
    needs("numpy")
    needs("threadpoolctl")
    out = child(
        project(tmp_path, "max_threads = 1\n", lazy='["numpy"]'),
        """
        lazymed.install()
        import numpy
        numpy.ones(3)
        import threadpoolctl
        print(json.dumps({"pools": [p["num_threads"] for p in threadpoolctl.threadpool_info()]}))
        """,
    )
    pools = out["pools"]
    assert isinstance(pools, list) and pools and set(pools) == {1}


def test_max_threads_warns_when_numpy_was_imported_first_and_threadpoolctl_fixes_it(
    tmp_path: Path,
) -> None:
    needs("numpy")
    needs("threadpoolctl")
    out = child(
        project(tmp_path, "max_threads = 1\n", lazy='["slowmod"]'),
        """
        import warnings, numpy
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lazymed.install()
        from lazymed.integrations.threads import limit_threads
        info = limit_threads()
        print(json.dumps({"warnings": [str(w.message) for w in caught],
                          "pools": [p["num_threads"] for p in info]}))
        """,
    )
    assert any("numpy was imported before lazymed.install()" in w for w in out["warnings"])  # type: ignore[union-attr]
    assert set(out["pools"]) == {1}  # type: ignore[arg-type]


def test_malloc_keys_call_glibc_mallopt_or_say_not_available(tmp_path: Path) -> None:
    cwd = project(tmp_path, "malloc_arena_max = 2\nmalloc_trim_threshold = 65536\n")
    out = child(
        cwd,
        """
        lazymed.install()
        print(json.dumps(lazymed.status().startup["applied"]))
        """,
    )
    glibc = bool(os.confstr("CS_GNU_LIBC_VERSION")) if hasattr(os, "confstr") else False
    expected = "done" if glibc else "not available: the C library is not glibc"
    assert out == {"malloc_arena_max": expected, "malloc_trim_threshold": expected}
    off = child(
        cwd,
        """
        os.confstr = lambda name: None  # as on musl
        lazymed.install()
        from lazymed import _startup
        print(json.dumps(_startup.APPLIED | {"trim": _startup.malloc_trim()}))
        """,
    )
    assert set(off.values()) == {"not available: the C library is not glibc"}


def test_arena_cap_bounds_the_virtual_size_of_threads_that_allocate(tmp_path: Path) -> None:
    if not (hasattr(os, "confstr") and os.confstr("CS_GNU_LIBC_VERSION")):
        pytest.skip("glibc only: mallopt(M_ARENA_MAX)")
    code = """
        lazymed.install()
        import threading
        def vms():
            with open("/proc/self/status") as fh:
                return next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmSize:"))
        before = vms()
        barrier = threading.Barrier(16)
        def work():
            barrier.wait()
            junk = [bytearray(2000) for _ in range(2000)]
            barrier.wait()
            del junk
        threads = [threading.Thread(target=work) for _ in range(16)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps({"grown": vms() - before}))
        """
    capped = child(project(tmp_path, "malloc_arena_max = 1\n"), code)
    uncapped = child(project(tmp_path, "gc_freeze = false\n"), code)
    # Each extra glibc arena reserves 64 MiB of address space; capped at 1 there is none.
    # Measured here: 1.0 GB uncapped, 0.1 GB capped (thread stacks glibc keeps cached).
    assert capped["grown"] < 256 * 2**20  # type: ignore[operator]
    assert uncapped["grown"] > capped["grown"] + 256 * 2**20  # type: ignore[operator]


def test_gc_freeze_and_thresholds(tmp_path: Path) -> None:
    out = child(
        project(tmp_path, "gc_freeze = true\ngc_thresholds = [5000, 20]\n"),
        """
        lazymed.install()
        print(json.dumps({"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
        """,
    )
    assert out["threshold"][:2] == [5000, 20]  # type: ignore[index]
    assert out["frozen"] > 1000  # type: ignore[operator]


def test_warm_after_s_loads_in_one_background_thread_and_status_says_so(tmp_path: Path) -> None:
    out = child(
        project(tmp_path, 'warm = ["slowmod", "brokenmod"]\nwarm_after_s = 0.05\n'),
        """
        import logging
        logging.basicConfig(level=logging.WARNING)
        lazymed.install()
        from lazymed import _startup
        state_at_install = _startup.WARM["state"]
        thread = _startup._warm_thread
        thread.join(30)
        st = lazymed.status()
        print(json.dumps({"at_install": state_at_install, "daemon": thread.daemon,
                          "name": thread.name, "warm": st.startup["warm"],
                          "slow": [st.module("slowmod").state, st.module("slowmod").first_used_at],
                          "broken": st.module("brokenmod").state}))
        """,
    )
    assert out["at_install"] == "scheduled" and out["daemon"] and out["name"] == "lazymed-warm"
    warm = out["warm"]
    assert isinstance(warm, dict)
    assert warm["state"] == "done" and warm["loaded"] == ["slowmod"]
    assert "RuntimeError: broken at import" in warm["failed"]["brokenmod"]
    assert out["slow"] == ["loaded", "lazymed warm-up"]
    assert out["broken"] == "failed"


def test_warm_and_prefork_skip_a_module_the_profile_switches_off(tmp_path: Path) -> None:
    """A dev profile that disables an SDK listed in `warm` / `prefork`: nothing of it runs, and
    the warm-up says it was skipped, not loaded."""
    root = project(tmp_path, 'warm = ["slowmod"]\nprefork = ["slowmod"]\n')
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(
        text.replace(
            "[tool.lazymed.startup]", 'disabled_modules = ["slowmod"]\n[tool.lazymed.startup]'
        ).replace('lazy = ["slowmod", "brokenmod"]', 'lazy = ["brokenmod"]')
    )
    out = child(
        root,
        """
        lazymed.install()
        from lazymed import _startup
        loaded = _startup.prefork()
        lazymed.warm(wait=True)
        st = lazymed.status()
        print(json.dumps({"prefork": loaded, "warm": st.startup["warm"],
                          "state": st.module("slowmod").state}))
        """,
    )
    assert out["prefork"] == []
    warm = out["warm"]
    assert isinstance(warm, dict)
    assert warm["loaded"] == [] and warm["failed"] == {}
    assert "disabled_modules" in warm["skipped"]["slowmod"]
    assert out["state"] == "not imported"  # never imported: nothing of it ran


def test_warm_without_a_delay_waits_for_lazymed_warm(tmp_path: Path) -> None:
    out = child(
        project(tmp_path, 'warm = ["slowmod"]\n'),
        """
        lazymed.install()
        import time
        time.sleep(0.2)
        from lazymed import _startup
        idle = (_startup.WARM["state"], "slowmod" in sys.modules)
        lazymed.warm(wait=True)
        print(json.dumps({"idle": idle, "after": lazymed.status().module("slowmod").state}))
        """,
    )
    assert out["idle"] == ["idle", False]
    assert out["after"] == "loaded"


def test_prefork_loads_in_this_process_and_freezes(tmp_path: Path) -> None:
    out = child(
        project(tmp_path, 'prefork = ["slowmod"]\n'),
        """
        lazymed.install()
        import slowmod
        from lazymed import _startup
        lazy_before = lazymed.status().module("slowmod").state
        loaded = _startup.prefork()
        print(json.dumps({"before": lazy_before, "loaded": loaded, "pid": slowmod.LOADED_IN,
                          "me": os.getpid(), "frozen": gc.get_freeze_count()}))
        """,
    )
    assert out["before"] == "lazy" and out["loaded"] == ["slowmod"]
    assert out["pid"] == out["me"] and out["frozen"] > 0  # type: ignore[operator]


@pytest.mark.parametrize(
    ("startup", "message"),
    [
        ("max_thread = 2\n", "[tool.lazymed.startup]: unknown key 'max_thread'. Did you mean"),
        ("max_threads = 0\n", "[tool.lazymed.startup] key 'max_threads': must be >= 1"),
        ("gc_thresholds = [1, 2, 3, 4]\n", "key 'gc_thresholds': expected a list of 1 to 3"),
        ("gc_thresholds = [-1]\n", "key 'gc_thresholds': every value must be >= 0"),
        ("gc_freeze = 1\n", "key 'gc_freeze': expected true or false"),
        ('warm = ["not a module"]\n', "key 'warm': 'not a module' is not a dotted module name"),
        ("warm_after_s = -1\n", "key 'warm_after_s': must be >= 0"),
    ],
)
def test_validation_errors_name_the_file_and_key(
    tmp_path: Path, startup: str, message: str
) -> None:
    proc = run_python("import lazymed\nlazymed.install()", cwd=project(tmp_path, startup))
    assert proc.returncode != 0
    assert "ConfigError" in proc.stderr
    assert str(tmp_path / "pyproject.toml") in proc.stderr
    assert message in proc.stderr


def test_environment_override_of_gc_thresholds(tmp_path: Path) -> None:
    out = child(
        project(tmp_path, "gc_freeze = false\n"),
        "lazymed.install()\nprint(json.dumps({'t': gc.get_threshold()}))",
        env={"LAZYMED_STARTUP__GC_THRESHOLDS": "900,11,12"},
    )
    assert out["t"] == [900, 11, 12]
    bad = run_python(
        "import lazymed\nlazymed.install()",
        cwd=tmp_path,
        env={"LAZYMED_STARTUP__GC_THRESHOLDS": "9,x"},
    )
    assert "LAZYMED_STARTUP__GC_THRESHOLDS='9,x': expected integers" in bad.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_gunicorn_hooks_load_prefork_in_the_master_and_warm_in_workers(tmp_path: Path) -> None:
    needs("gunicorn")
    project(tmp_path, 'prefork = ["slowmod"]\nwarm = ["warmmod"]\n', lazy='["slowmod", "warmmod"]')
    (tmp_path / "warmmod.py").write_text("import os\nLOADED_IN = os.getpid()\n")
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """
            import json, os, sys
            import lazymed
            lazymed.install()
            import slowmod, warmmod
            def app(environ, start_response):
                from lazymed import _startup
                _startup._warm_thread.join(30)
                body = json.dumps({"worker": os.getpid(), "master": os.getppid(),
                                   "slow": slowmod.LOADED_IN, "warm": warmmod.LOADED_IN,
                                   "status": lazymed.status().module("slowmod").first_used_at,
                                   }).encode()
                start_response("200 OK", [("Content-Type", "application/json")])
                return [body]
            """
        )
    )
    (tmp_path / "gunicorn.conf.py").write_text(
        "from lazymed.integrations.gunicorn import post_fork, pre_fork, when_ready\n"
    )
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]))
    env = {k: v for k, v in env.items() if not k.startswith("LAZYMED_") or k == "LAZYMED_CACHE_DIR"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--preload",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "-c",
            "gunicorn.conf.py",
            "app:app",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        import json
        import urllib.request

        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
                    body = json.loads(resp.read())
                break
            except OSError:
                time.sleep(0.2)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert body is not None, output
    assert body["slow"] == body["master"]  # loaded before fork, in the master
    assert body["warm"] == body["worker"]  # warmed in the worker after fork
    assert body["status"] == "lazymed prefork (before fork)"


def test_prefork_modules_loaded_before_install_do_not_warn(tmp_path: Path) -> None:
    out = child(
        project(tmp_path, 'prefork = ["slowmod"]\n'),
        """
        import warnings
        import slowmod
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lazymed.install()
        print(json.dumps({"warnings": [str(w.message) for w in caught],
                          "state": lazymed.status().module("slowmod").state}))
        """,
    )
    assert out["warnings"] == []
    assert out["state"] == "loaded"
    noisy = child(
        project(tmp_path, "gc_freeze = false\n"),
        """
        import warnings, slowmod
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lazymed.install()
        print(json.dumps({"warnings": [str(w.message) for w in caught]}))
        """,
    )
    assert any(
        "'slowmod' is registered lazy but was already imported" in w for w in noisy["warnings"]
    )  # type: ignore[union-attr]

"""install(): critical modules, the tiny import path, coexistence with other finders."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, Packages, run_json, run_python

import lazymed
from lazymed._registry import LazyFinder


def test_finder_goes_first_and_uninstall_removes_it() -> None:
    lazymed.install(lazy=["json_lm_never"])
    assert isinstance(sys.meta_path[0], LazyFinder)
    lazymed.install(lazy=["json_lm_never"])  # same config: nothing happens
    assert sum(isinstance(f, LazyFinder) for f in sys.meta_path) == 1
    lazymed.uninstall()
    assert not any(isinstance(f, LazyFinder) for f in sys.meta_path)
    lazymed.uninstall()  # idempotent


def test_critical_modules_import_at_install_in_order(pkgs: Packages) -> None:
    pkgs.module("crit_b", "X = 1\n")
    pkgs.module("crit_a", "Y = 2\n")
    lazymed.install(critical=["crit_b", "crit_a"])
    assert pkgs.runs == ["crit_b", "crit_a"]
    record = lazymed.status().module("crit_b")
    assert (record.role, record.state) == ("critical", "loaded")
    assert record.load_seconds is not None and record.load_seconds >= 0


def test_critical_module_imports_of_lazy_packages_stay_lazy(pkgs: Packages) -> None:
    pkgs.module("crit_app", "import heavy_sdk\ndef handler():\n    return heavy_sdk.call()\n")
    pkgs.module("heavy_sdk", "def call():\n    return 'called'\n")
    lazymed.install(lazy=["heavy_sdk"], critical=["crit_app"])
    assert pkgs.runs == ["crit_app"]
    assert sys.modules["crit_app"].handler() == "called"


def test_critical_failure_fails_install_naming_module_and_config(pkgs: Packages) -> None:
    pkgs.module("crit_ok", "")
    pkgs.module("crit_bad", "raise ImportError('missing native lib')\n")
    with pytest.raises(ImportError, match="missing native lib") as info:
        lazymed.install(critical=["crit_ok", "crit_bad"], lazy=["x_lm_never"])
    assert any("critical module 'crit_bad'" in note for note in info.value.__notes__)
    assert any("install() keyword" in note for note in info.value.__notes__)
    assert not any(isinstance(f, LazyFinder) for f in sys.meta_path)


def test_critical_missing_module_fails_install() -> None:
    with pytest.raises(ModuleNotFoundError):
        lazymed.install(critical=["crit_lm_does_not_exist"])


def test_already_imported_lazy_module_warns_and_stays_eager(pkgs: Packages) -> None:
    pkgs.module("early", "X = 1\n")
    import early  # noqa: F401

    with pytest.warns(lazymed.LazymedWarning, match="'early'.*already imported"):
        lazymed.install(lazy=["early"])
    assert lazymed.status().module("early").state == "loaded"


def test_core_import_path_is_standard_library_only(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lazymed]\nlazy = ["google.cloud.storage", "supabase"]\n'
    )
    env = {"LAZYMED_CACHE_DIR": str(tmp_path / "cache")}
    warm = run_python("import lazymed; lazymed.install()", cwd=tmp_path, env=env)
    assert warm.returncode == 0, warm.stderr  # first start parses the TOML and caches it
    result = run_json(
        """
        import sys, json
        before = set(sys.modules)
        import lazymed
        lazymed.install()
        import google.cloud.storage, supabase
        added = sorted(set(sys.modules) - before)
        print(json.dumps(added))
        """,
        cwd=tmp_path,
        env=env,
    )
    assert isinstance(result, list)
    third_party = [m for m in result if m.split(".")[0] not in sys.stdlib_module_names]
    assert [m for m in third_party if not m.startswith(("lazymed", "google", "supabase"))] == []
    for heavy in (
        "psutil",
        "wrapt",
        "flask",
        "importlib_metadata",
        "typing",
        "tomllib",
        "dataclasses",
        "logging",
        "re",
        "threading",
        "__future__",
        "dis",
        "opcode",
        "lazymed._validate",  # validation: only on a cache miss, overrides, or an error
    ):
        assert heavy not in result, heavy
    # the lazy packages: their module objects only, none of their code
    assert "google.cloud.storage.client" not in result
    assert [m for m in result if m.startswith("supabase")] == ["supabase"]


INSTALL_PATH = {
    "lazymed",
    "lazymed._cpython",
    "lazymed._config",
    "lazymed._registry",
}
if hasattr(sys, "set_lazy_imports_filter"):  # PEP 810 (3.15+): the finder's recording filter
    INSTALL_PATH.add("lazymed._backend")


def test_install_path_modules_are_exactly_these(tmp_path: Path) -> None:
    """More files on the install path cost start-up time: the rest of the core loads at the
    first lazy import, and nothing there imports dis or opcode."""
    (tmp_path / "pyproject.toml").write_text('[tool.lazymed]\nlazy = ["lm_path_mod"]\n')
    (tmp_path / "lm_path_mod.py").write_text("VALUE = 3\n")
    env = {"LAZYMED_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}
    code = """
        import sys, json
        before = set(sys.modules)
        import lazymed
        lazymed.install()
        at_install = sorted(set(sys.modules) - before)
        import lm_path_mod
        value = lm_path_mod.VALUE
        later = sorted(set(sys.modules) - before)
        print(json.dumps([at_install, later, value]))
        """
    assert run_python(code, cwd=tmp_path, env=env).returncode == 0  # warms the config cache
    at_install, later, value = run_json(code, cwd=tmp_path, env=env)  # type: ignore[misc]
    assert {m for m in at_install if m.startswith("lazymed")} == INSTALL_PATH
    assert value == 3
    assert not {"dis", "opcode", "_opcode_metadata", "lazymed._validate"} & set(later)


def test_backend_module_is_read_only_when_there_is_a_choice(tmp_path: Path) -> None:
    """lazymed._backend is off the default install path before 3.15, and read as soon as a
    backend other than the finder (or deep) is configured, wherever the interpreter is."""
    (tmp_path / "pyproject.toml").write_text('[tool.lazymed]\nlazy = ["json"]\n')
    env = {"LAZYMED_CACHE_DIR": str(tmp_path / "cache")}
    code = """
        import sys, json, lazymed
        lazymed.install(backend={backend!r})
        print(json.dumps("lazymed._backend" in sys.modules))
        """
    pep810 = hasattr(sys, "set_lazy_imports_filter")
    assert run_json(code.format(backend="finder"), cwd=tmp_path, env=env) is pep810
    assert run_json(code.format(backend="auto"), cwd=tmp_path, env=env) is True


def test_config_cache_keeps_tomllib_off_the_second_start(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.lazymed]\nlazy = ["json"]\n')
    env = {"LAZYMED_CACHE_DIR": str(tmp_path / "cache")}
    code = "import lazymed, sys; lazymed.install(); print('tomllib' in sys.modules)"
    first = run_python(code, cwd=tmp_path, env=env)
    second = run_python(code, cwd=tmp_path, env=env)
    assert (first.stdout.strip(), second.stdout.strip()) == ("True", "False"), first.stderr


def test_python_dash_m_runpy_import_module_and_dunder_import(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "app").mkdir(parents=True)
    (site / "app" / "__init__.py").write_text("")
    (site / "app" / "__main__.py").write_text(
        textwrap.dedent("""
        import importlib, json, runpy, sys
        import lazymed
        lazymed.install(lazy=["lib_lm"])
        import lib_lm
        a = type(lib_lm).__name__
        b = importlib.import_module("lib_lm") is lib_lm
        c = __import__("lib_lm") is lib_lm
        ns = runpy.run_module("runner_lm")
        print(json.dumps([a, b, c, ns["RESULT"], type(lib_lm).__name__]))
    """)
    )
    (site / "lib_lm.py").write_text("VALUE = 5\n")
    (site / "runner_lm.py").write_text("import lib_lm\nRESULT = lib_lm.VALUE\n")
    proc = run_python("", args=["-m", "app"], env={"PYTHONPATH": str(site)}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["LazyModule", True, True, 5, "module"]


def test_beside_pytest_assertion_rewriting(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lazily imported test-helper module still gets pytest's assertion rewriting (pytest's
    finder supplies the real spec; lazymed only wraps its loader)."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(
        conftest="pytest_plugins = []\n",
        helper_lm="def check(x):\n    assert x == 2\n",
        test_it="""
            import sys, lazymed
            sys.path.insert(0, '.')

            def test_rewritten():
                lazymed.install(lazy=["helper_lm"])
                try:
                    import helper_lm
                    try:
                        helper_lm.check(3)
                    except AssertionError as exc:
                        assert "3 == 2" in str(exc), str(exc)
                    else:
                        raise RuntimeError("no assertion")
                finally:
                    lazymed.uninstall()
        """,
    )
    pytester.makeini("[pytest]\npython_files = test_*.py helper_*.py\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_beside_an_editable_install_style_finder(tmp_path: Path, pkgs: Packages) -> None:
    """setuptools' editable installs append a meta path finder that maps a top-level name to a
    source tree outside sys.path; lazymed asks it for the real spec."""
    import importlib.machinery
    import importlib.util

    src = tmp_path / "src" / "editable_lm"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text(
        f"import {pkgs.logname} as l\nl.runs.append(__name__)\nVALUE = 'editable'\n"
    )

    class EditableFinder:
        @classmethod
        def find_spec(
            cls, name: str, path: object = None, target: object = None
        ) -> importlib.machinery.ModuleSpec | None:
            if name != "editable_lm":
                return None
            return importlib.util.spec_from_file_location(
                name, src / "__init__.py", submodule_search_locations=[str(src)]
            )

    sys.meta_path.append(EditableFinder)  # type: ignore[arg-type]
    lazymed.install(lazy=["editable_lm"])
    import editable_lm

    assert pkgs.runs == []
    assert editable_lm.VALUE == "editable"
    assert pkgs.runs == ["editable_lm"]


def test_install_without_any_configuration_warns(tmp_path: Path) -> None:
    proc = run_python(
        "import warnings, lazymed\nwarnings.simplefilter('error')\nlazymed.install()\n",
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert "found no [tool.lazymed] table" in proc.stderr
    assert "LAZYMED_CONFIG" in proc.stderr


def test_second_install_with_another_configuration_names_the_difference() -> None:
    lazymed.install(lazy=["lm_a"])
    with pytest.raises(lazymed.ConfigError) as info:
        lazymed.install(lazy=["lm_b"], from_import="deferred")
    message = str(info.value)
    assert "differs in: from_import, lazy" in message
    assert "uninstall()" in message


def test_uninstall_removes_the_lock_unlock_route_once_nothing_is_pending(pkgs: Packages) -> None:
    from lazymed import _cpython

    pkgs.module("route_a", "X = 1\n")
    pkgs.module("route_b", "Y = 2\n")
    lazymed.install(lazy=["route_a", "route_b"])
    import route_a
    import route_b

    assert _cpython.patched()
    assert route_a.X == 1
    lazymed.uninstall()
    assert _cpython.patched(), "route_b is still pending: its load may need the route"
    assert route_b.Y == 2  # the last pending module loads: the route goes
    assert not _cpython.patched()


def test_uninstall_with_nothing_pending_unpatches_at_once(pkgs: Packages) -> None:
    from lazymed import _cpython

    pkgs.module("route_c", "X = 1\n")
    lazymed.install(lazy=["route_c"])
    import route_c

    assert route_c.X == 1
    assert _cpython.patched()  # installed: the route stays for later lazy imports
    lazymed.uninstall()
    assert not _cpython.patched()

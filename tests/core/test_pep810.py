"""lazymed beside PEP 810 (Python 3.15+): both backends under every way a program asks for
PEP 810 laziness, the native backend's rules, and the open CPython reports against it.

Each case runs in a fresh interpreter: the lazy-imports mode and filter are process-wide.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import run_python

pytestmark = pytest.mark.skipif(
    not hasattr(sys, "set_lazy_imports_filter"),
    reason="PEP 810 lazy imports need Python 3.15+ (this is "
    f"{sys.version_info.major}.{sys.version_info.minor})",
)

# Every module logs its execution in builtins, so the main script can count runs.
_LOG = "import builtins\nbuiltins.__dict__.setdefault('RUNS', []).append(__name__)\n"

PRELUDE = """\
import builtins, json, sys, types
builtins.RUNS = []
OUT = {}
def report(key, value):
    OUT[key] = value
def runs():
    return list(builtins.RUNS)
def status_of(name):
    import lazymed
    m = lazymed.status().module(name)
    return {"state": m.state, "imported_at": m.imported_at, "first_used_at": m.first_used_at,
            "role": m.role, "error": m.error, "load_seconds": m.load_seconds}
def pep810(name):
    import lazymed
    return dict(lazymed.status().pep810_lazy).get(name)
def kind(value):
    return type(value).__name__
"""
EPILOGUE = "\nprint(json.dumps(OUT))\n"


def write(root: Path, files: dict[str, str]) -> None:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_LOG + textwrap.dedent(body))


def run(
    root: Path,
    main: str,
    files: dict[str, str] | None = None,
    *,
    xopts: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> tuple[dict[str, Any], str]:
    """Write ``files`` and ``main.py`` (prelude + ``main`` + epilogue) under ``root``, run it;
    returns (the reported JSON, the main script's text)."""
    write(root, files or {})
    script = PRELUDE + textwrap.dedent(main) + EPILOGUE
    (root / "main.py").write_text(script)
    proc = run_python(
        "",
        cwd=root,
        env={"PYTHONPATH": str(root), **(env or {})},
        args=[*(a for x in xopts for a in ("-X", x)), str(root / "main.py")],
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), script


def line(script: str, marker: str) -> str:
    """``main.py:N`` of the only line containing ``marker``."""
    numbers = [i for i, text in enumerate(script.splitlines(), 1) if marker in text]
    assert len(numbers) == 1, (marker, numbers)
    return f"main.py:{numbers[0]}"


PKG = {
    "heavy/__init__.py": """
        import heavy.part
        import helper_dep
        VALUE = heavy.part.PART + helper_dep.DEP
    """,
    "heavy/part.py": "PART = 40\n",
    "helper_dep.py": "DEP = 2\n",
    "other.py": "OTHER = 'other'\n",
}

# How the program asks PEP 810 for laziness: (statement, -X options, environment).
TRIGGERS: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {
    "keyword": ("lazy import heavy", (), {}),
    "lazy_modules": ("__lazy_modules__ = ['heavy']\nimport heavy", (), {}),
    "X_all": ("import heavy", ("lazy_imports=all",), {}),
    "env_all": ("import heavy", (), {"PYTHON_LAZY_IMPORTS": "all"}),
    "plain": ("import heavy", (), {}),
}


@pytest.mark.parametrize("backend", ["finder", "native"])
@pytest.mark.parametrize("trigger", list(TRIGGERS))
def test_status_is_exact_under_each_pep810_trigger(
    tmp_path: Path, backend: str, trigger: str
) -> None:
    statement, xopts, env = TRIGGERS[trigger]
    main = f"""
        import lazymed
        lazymed.install(lazy=["heavy"], backend={backend!r})
        {textwrap.indent(statement, "        ").strip()}  # the import statement
        report("after_import", {{"runs": runs(), "status": status_of("heavy"),
                                "pep810": pep810("heavy"), "in_modules": "heavy" in sys.modules}})
        value = heavy.VALUE  # first use
        report("after_use", {{"runs": runs(), "status": status_of("heavy"), "value": value,
                             "bound": kind(globals()["heavy"]), "pep810": pep810("heavy")}})
        report("backend", lazymed.status().backend)
    """
    out, script = run(tmp_path, main, PKG, xopts=xopts, env=env)
    statement_line = line(script, "# the import statement")
    use_line = line(script, "# first use")
    held_by_pep810 = backend == "native" or trigger != "plain"

    assert out["backend"] == backend
    after_import = out["after_import"]
    assert after_import["runs"] == []  # nothing of heavy ran at the statement
    assert after_import["status"]["state"] == "lazy"
    assert after_import["status"]["imported_at"].endswith(statement_line)
    assert after_import["status"]["first_used_at"] is None
    assert after_import["pep810"] == ("lazy" if held_by_pep810 else None)
    # PEP 810 keeps a deferred name out of sys.modules; the finder's lazy module is in it.
    assert after_import["in_modules"] is (not held_by_pep810)

    after_use = out["after_use"]
    assert after_use["value"] == 42
    assert after_use["bound"] == "module"
    assert after_use["status"]["state"] == "loaded"
    assert after_use["status"]["imported_at"].endswith(statement_line)  # not the first use
    assert after_use["status"]["first_used_at"].endswith(use_line)
    assert after_use["status"]["load_seconds"] > 0
    assert after_use["pep810"] is None
    assert after_use["runs"].count("heavy") == 1
    assert set(after_use["runs"]) == {"heavy", "heavy.part", "helper_dep"}


def test_native_keeps_a_registered_packages_own_imports_eager(tmp_path: Path) -> None:
    main = """
        import lazymed
        lazymed.install(lazy=["heavy"], backend="native")
        import heavy
        import other
        heavy.VALUE
        ns = sys.modules["heavy"].__dict__
        report("bound", {"part": kind(ns["heavy"].__dict__["part"]),
                         "helper_dep": kind(ns["helper_dep"]), "other": kind(globals()["other"])})
        report("runs", runs())
    """
    out, _ = run(tmp_path, main, PKG)
    # Imports made while heavy ran were eager (lazymed's rule); `import other`, not registered,
    # is an ordinary eager import although the interpreter runs in lazy-imports "all" mode.
    assert out["bound"] == {"part": "module", "helper_dep": "module", "other": "module"}
    assert out["runs"] == ["other", "heavy", "heavy.part", "helper_dep"]


@pytest.mark.parametrize("how", ["keyword", "lazy_modules", "X_all"])
def test_native_keeps_the_programs_own_pep810_choices(tmp_path: Path, how: str) -> None:
    statement, xopts, _ = {
        "keyword": ("lazy import other", (), {}),
        "lazy_modules": ("__lazy_modules__ = ['other']\nimport other", (), {}),
        "X_all": ("import other", ("lazy_imports=all",), {}),
    }[how]
    main = f"""
        import lazymed
        lazymed.install(lazy=["heavy"], backend="native")
        {textwrap.indent(statement, "        ").strip()}
        import helper_dep
        report("other", [kind(globals()["other"]), runs(), pep810("other")])
        report("helper_dep", kind(globals()["helper_dep"]))
        report("value", other.OTHER)
        report("mode", sys.get_lazy_imports())
    """
    out, _ = run(tmp_path, main, PKG, xopts=xopts)
    assert out["other"][0] == "lazy_import"
    assert "other" not in out["other"][1]
    assert out["other"][2] == "program"
    assert out["value"] == "other"
    # Without -X lazy_imports=all, an ordinary unregistered import stays eager.
    assert out["helper_dep"] == ("lazy_import" if how == "X_all" else "module")
    assert out["mode"] == "all"


def test_native_disabled_critical_on_load_and_from_import(tmp_path: Path) -> None:
    files = {**PKG, "crit.py": "C = 1\n", "offmod.py": "OFF = 1\n"}
    main = """
        import lazymed
        loaded = []
        lazymed.install(lazy=["heavy"], critical=["crit"], disabled_modules=["offmod"],
                        backend="native")
        report("after_install", runs())
        lazymed.on_load("heavy", lambda m: loaded.append((m.__name__, m.VALUE)))
        import offmod
        try:
            offmod.OFF
        except lazymed.DisabledModuleError as exc:
            report("disabled", ["DisabledModuleError", "switched off" in str(exc)])
        from heavy import VALUE  # from_import = "eager": runs here
        report("from_import", [runs(), status_of("heavy")["state"]])
        report("on_load", loaded)
        report("roles", {m.name: [m.role, m.state] for m in lazymed.status().modules})
    """
    out, _ = run(tmp_path, main, files)
    assert out["after_install"] == ["crit"]
    assert out["disabled"] == ["DisabledModuleError", True]
    assert out["from_import"][0] == ["crit", "heavy", "heavy.part", "helper_dep"]
    assert out["from_import"][1] == "loaded"
    assert out["on_load"] == [["heavy", 42]]
    assert out["roles"] == {
        "crit": ["critical", "loaded"],
        "heavy": ["lazy", "loaded"],
        "offmod": ["disabled", "disabled"],
    }


def test_native_deferred_from_import(tmp_path: Path) -> None:
    main = """
        import lazymed
        lazymed.install(lazy=["heavy"], backend="native", from_import="deferred")
        from heavy import VALUE  # the import statement
        report("after_import", [runs(), kind(globals()["VALUE"]), status_of("heavy")])
        report("value", VALUE + 0)
        report("after_use", status_of("heavy"))
    """
    out, script = run(tmp_path, main, PKG)
    assert out["after_import"][0] == []
    assert out["after_import"][1] == "lazy_import"
    assert out["after_import"][2]["imported_at"].endswith(line(script, "# the import statement"))
    assert out["value"] == 42
    assert out["after_use"]["state"] == "loaded"


def test_native_semantic_differences_from_the_finder(tmp_path: Path) -> None:
    """The four documented differences (docs/pep810.md), each measured against the finder."""
    files = {
        **PKG,
        "broken.py": "import not_installed_anywhere_lm\n",
        "uses_missing.py": "import missing_lm_pkg\n",
        "uses_missing_sub.py": "import heavy.nosuch_lm\n",
    }
    main = """
        import lazymed
        lazymed.install(lazy=["heavy", "missing_lm_pkg", "broken"], backend=BACKEND)
        # 0. the pending module in sys.modules
        import heavy
        report("pending_in_modules", "heavy" in sys.modules)
        # 1. a missing package (a module-level statement in uses_missing): both raise at the
        # statement (native checks the top-level package exists); a missing submodule of an
        # installed package: the finder raises at the statement, native at first use
        try:
            import uses_missing
            report("missing_at_statement", False)
        except ModuleNotFoundError:
            report("missing_at_statement", True)
        try:
            import uses_missing_sub
            report("missing_sub_at_statement", False)
        except ModuleNotFoundError:
            report("missing_sub_at_statement", True)
        if "uses_missing_sub" in sys.modules:
            try:
                uses_missing_sub.heavy.nosuch_lm
            except ImportError as exc:
                report("at_first_use", [type(exc).__name__, type(exc.__cause__).__name__])
        # 2. a try-import of an installed package whose own import fails
        try:
            import broken
            report("try_branch", "body")
        except ImportError:
            report("try_branch", "except")
        report("runs", runs())
    """
    finder, _ = run(tmp_path / "f", "BACKEND = 'finder'\n" + textwrap.dedent(main), files)
    native, _ = run(tmp_path / "n", "BACKEND = 'native'\n" + textwrap.dedent(main), files)
    assert finder["missing_at_statement"] is native["missing_at_statement"] is True
    assert finder["missing_sub_at_statement"] is True
    assert native["missing_sub_at_statement"] is False
    assert "ModuleNotFoundError" in native["at_first_use"]
    # PEP 810 never defers an import inside try; eager CPython takes the except branch.
    assert native["try_branch"] == "except"
    assert finder["pending_in_modules"] is True
    assert native["pending_in_modules"] is False
    # uses_missing failed at its statement; heavy ran for the first use of heavy.nosuch_lm.
    assert native["runs"][:3] == ["uses_missing", "uses_missing_sub", "heavy"]
    assert "broken" in native["runs"]


@pytest.mark.parametrize("how", ["native", "pep810_keyword"])
def test_pytest_collection_under_native_loads_as_pep810_does(tmp_path: Path, how: str) -> None:
    """pytest 9.2's fixture parsing reads every global of a test module with getattr(), which
    reifies a PEP 810 lazy import: collection loads the module under the native backend exactly
    as under a plain ``lazy import`` (documented in docs/pep810.md)."""
    write(tmp_path, PKG)
    if how == "native":
        (tmp_path / "conftest.py").write_text(
            "import lazymed\nlazymed.install(lazy=['heavy'], backend='native')\n"
        )
    statement = "import heavy" if how == "native" else "lazy import heavy"
    (tmp_path / "test_uses_heavy.py").write_text(
        f"import builtins\n{statement}\n\n"
        "def test_loaded_at_collection():\n"
        "    assert 'heavy' in getattr(builtins, 'RUNS', [])\n"
        "    assert heavy.VALUE == 42\n"
    )
    proc = run_python(
        "",
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
        args=["-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_uninstall_restores_mode_and_filter(tmp_path: Path) -> None:
    main = """
        import lazymed
        def mine(importer, name, fromlist):
            return name != "helper_dep"
        sys.set_lazy_imports_filter(mine)
        lazymed.install(lazy=["heavy"], backend="native")
        report("during", [sys.get_lazy_imports(), sys.get_lazy_imports_filter() is mine])
        lazy import helper_dep  # the program's filter still decides its own imports
        report("helper_dep", kind(globals()["helper_dep"]))
        lazymed.uninstall()
        report("after", [sys.get_lazy_imports(), sys.get_lazy_imports_filter() is mine,
                         [repr(f) for f in sys.meta_path if repr(f).startswith("<lazymed")]])
    """
    out, _ = run(tmp_path, main, PKG)
    assert out["during"] == ["all", False]
    assert out["helper_dep"] == "module"
    assert out["after"] == ["normal", True, []]


@pytest.mark.parametrize("backend", ["finder", "native"])
def test_uninstall_undoes_the_backend_with_its_module_gone(tmp_path: Path, backend: str) -> None:
    """install() keeps the lazymed._backend module it activated: uninstall() undoes PEP 810's
    filter and mode even when that module's sys.modules entry was removed meanwhile."""
    main = f"""
        import lazymed
        def mine(importer, name, fromlist):
            return True
        sys.set_lazy_imports_filter(mine)
        lazymed.install(lazy=["heavy"], backend={backend!r})
        del sys.modules["lazymed._backend"]
        lazymed.uninstall()
        report("after", [sys.get_lazy_imports(), sys.get_lazy_imports_filter() is mine])
    """
    out, _ = run(tmp_path, main, PKG)
    assert out["after"] == ["normal", True]


def test_finder_backend_keeps_the_interpreters_decisions(tmp_path: Path) -> None:
    main = """
        import lazymed
        lazymed.install(lazy=["heavy"])
        import other
        lazy import helper_dep
        report("kinds", [kind(globals()["other"]), kind(globals()["helper_dep"]),
                         sys.get_lazy_imports(), lazymed.status().backend])
    """
    out, _ = run(tmp_path, main, PKG)
    assert out["kinds"] == ["module", "lazy_import", "normal", "finder"]


def test_auto_picks_native_under_lazy_imports_all_or_deep(tmp_path: Path) -> None:
    main = """
        import lazymed
        lazymed.install(lazy=["heavy"], backend="auto", deep=DEEP)
        report("backend", lazymed.status().backend)
    """
    plain, _ = run(tmp_path / "a", "DEEP = []\n" + textwrap.dedent(main), PKG)
    all_mode, _ = run(
        tmp_path / "b", "DEEP = []\n" + textwrap.dedent(main), PKG, xopts=("lazy_imports=all",)
    )
    deep, _ = run(tmp_path / "c", "DEEP = ['heavy']\n" + textwrap.dedent(main), PKG)
    assert (plain["backend"], all_mode["backend"], deep["backend"]) == (
        "finder",
        "native",
        "native",
    )


def test_deep_makes_a_registered_packages_own_imports_lazy(tmp_path: Path) -> None:
    files = {
        "deeppkg/__init__.py": """
            import deeppkg.inner
            import helper_dep
            def total():
                return deeppkg.inner.INNER + helper_dep.DEP
        """,
        "deeppkg/inner.py": "INNER = 40\n",
        "helper_dep.py": "DEP = 2\n",
    }
    main = """
        import lazymed
        lazymed.install(lazy=["deeppkg"], backend="native", deep=["deeppkg"])
        import deeppkg
        total = deeppkg.total  # loads deeppkg only
        report("after_load", runs())
        report("result", total())
        report("after_call", runs())
        report("status", status_of("deeppkg")["state"])
    """
    out, _ = run(tmp_path, main, files)
    assert out["after_load"] == ["deeppkg"]
    assert out["result"] == 42
    assert out["after_call"] == ["deeppkg", "deeppkg.inner", "helper_dep"]
    assert out["status"] == "loaded"


# ------------------------------------------------------------------ open CPython PEP 810 reports
# Each case runs under the native backend (the module registered lazy, so the filter defers it)
# and is compared with eager CPython (the same program without lazymed).

REPORTS = {
    # #144957: module __getattr__ ignored by `lazy from`
    "cpython-144957": (
        {
            "rep_a/__init__.py": "def __getattr__(name):\n    if name == 'dyn':\n"
            "        return 'from __getattr__'\n    raise AttributeError(name)\n"
        },
        ["rep_a"],
        "from rep_a import dyn\nreport('value', dyn)\n",
    ),
    # #151208: `import a.foo` after `from a import foo`
    "cpython-151208": (
        {"rep_b/__init__.py": "", "rep_b/foo.py": "X = 1\n"},
        ["rep_b"],
        "from rep_b import foo\nimport rep_b.foo\n"
        "report('value', [foo.X, rep_b.foo.X, rep_b.foo is foo, kind(foo)])\n",
    ),
    # #152298: resolve() not rebinding the importer's name
    "cpython-152298": (
        {"rep_c.py": "X = 3\n"},
        ["rep_c"],
        "import rep_c\n"
        "def peek():\n"
        "    obj = globals()['rep_c']\n"
        "    if type(obj).__name__ == 'lazy_import':\n"
        "        obj = obj.resolve()\n"
        "    return [obj.X, kind(globals()['rep_c']), obj is sys.modules['rep_c']]\n"
        "report('value', peek())\n",
    ),
    # #155695: resolved names left in sys.lazy_modules
    "cpython-155695": (
        {"rep_d.py": "X = 4\n"},
        ["rep_d"],
        "import rep_d\nrep_d.X\n"
        "report('value', ['rep_d' in sys.lazy_modules if hasattr(sys, 'lazy_modules') else False,"
        " pep810('rep_d') if 'lazymed' in sys.modules else None])\n",
    ),
}


def _keyword(body: str) -> str:
    """The same program with the first import statement made explicitly lazy (PEP 810)."""
    first = "from rep" if "from rep" in body else "import rep"
    return body.replace(first, "lazy " + first, 1)


@pytest.mark.parametrize("report_id", list(REPORTS))
def test_open_cpython_reports_against_the_native_backend(tmp_path: Path, report_id: str) -> None:
    files, names, body = REPORTS[report_id]
    native_main = (
        f"import lazymed\nlazymed.install(lazy={names!r}, backend='native', "
        "from_import='deferred')\n" + body
    )
    eager, _ = run(tmp_path / "eager", body, files)
    keyword, _ = run(tmp_path / "keyword", _keyword(body), files)
    native, _ = run(tmp_path / "native", native_main, files)
    # The backend adds nothing of its own: it behaves as a plain `lazy` statement does.
    assert native["value"] == keyword["value"]
    if report_id == "cpython-152298":
        # Reproduced on 3.15.2: resolve() returns the module but leaves the importer's global
        # bound to the lazy_import object (the next ordinary read of the name rebinds it).
        assert eager["value"] == [3, "module", True]
        assert native["value"] == [3, "lazy_import", True]
    else:  # not reproduced on 3.15.2: same as eager CPython
        assert native["value"] == eager["value"]


def test_the_lazy_flag_written_in_cpython_seam_is_what_the_compiler_emits() -> None:
    from lazymed import _cpython

    plain = compile("import lm_probe_x", "<t>", "exec").co_code
    lazy = compile("lazy import lm_probe_x", "<t>", "exec").co_code
    differ = [i for i in range(len(plain)) if plain[i] != lazy[i]]
    assert len(plain) == len(lazy) and len(differ) == 1
    (i,) = differ
    assert plain[i - 1] == lazy[i - 1] == _cpython.OPCODES[sys.version_info[:2]][0]
    assert plain[i] ^ lazy[i] == _cpython.LAZY_IMPORT_FLAG


def test_native_from_pyproject_with_a_profile(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.lazymed]\n"
        'lazy = ["heavy", "other"]\n'
        'backend = "native"\n'
        "[tool.lazymed.profiles.development]\n"
        'disabled_modules = ["other"]\n'
    )
    main = """
        import lazymed
        lazymed.install()
        import heavy
        import other
        st = lazymed.status()
        report("status", [st.backend, st.profile, st.module("other").role,
                          st.module("heavy").state, kind(globals()["heavy"])])
        try:
            other.OTHER
        except lazymed.DisabledModuleError:
            report("other", "disabled")
        report("heavy", heavy.VALUE)
    """
    out, _ = run(
        tmp_path,
        main,
        PKG,
        env={"LAZYMED_PROFILE": "development", "LAZYMED_CACHE_DIR": str(tmp_path / "c")},
    )
    assert out["status"] == ["native", "development", "disabled", "lazy", "lazy_import"]
    assert out["other"] == "disabled"
    assert out["heavy"] == 42


# A lazy package's own `lazy from pkg import sub` (or `lazy from . import sub`) resolves while
# lazymed runs the package: the resolution looks `pkg.sub` up on the package, whose class is
# still lazymed's (a __getattribute__ override). Eager CPython's optional lookup swallows the
# ImportCycleError of that self-reference and imports the submodule; lazymed must do the same,
# and keep the error where plain `pkg.sub` syntax meets it eagerly.
OWN_LAZY_FROM_SUB = {
    "attribute_syntax": "import lmlog, lf\ntry:\n    lmlog.LOG.append(type(lf.sub).__name__)\n"
    "except BaseException as e:\n    lmlog.LOG.append(type(e).__name__)\nW = 2\n",
    "from_import": "import lmlog, sys\nfrom lf import sub as me\n"
    "lmlog.LOG.append(me is sys.modules[__name__])\nW = 2\n",
    "probes": "import lmlog, lf\n"
    "lmlog.LOG.append([hasattr(lf, 'sub'), type(getattr(lf, 'sub', None)).__name__])\nW = 2\n",
}


@pytest.mark.parametrize("statement", ["lazy from lf import sub", "lazy from . import sub"])
@pytest.mark.parametrize("sub", sorted(OWN_LAZY_FROM_SUB))
def test_a_lazy_packages_own_lazy_from_import_of_a_submodule_equals_eager(
    tmp_path: Path, statement: str, sub: str
) -> None:
    (tmp_path / "lf").mkdir()
    (tmp_path / "lmlog.py").write_text("LOG = []\n")
    (tmp_path / "lf" / "__init__.py").write_text(
        f"import lmlog\nlmlog.LOG.append('lf')\n{statement}\nOUT = [sub.W]\n"
    )
    (tmp_path / "lf" / "sub.py").write_text(OWN_LAZY_FROM_SUB[sub])
    outputs = []
    for setup in ("", "import lazymed\nlazymed.install(lazy=['lf'])\n"):
        code = (
            f"import json, sys\nsys.path.insert(0, {str(tmp_path)!r})\nimport lmlog\n{setup}"
            "import lf.sub\nimport lf\n"
            "print(json.dumps([lf.OUT, lmlog.LOG, sorted(k for k in sys.modules if "
            "k.startswith('lf'))]))\n"
        )
        proc = run_python(code)
        assert proc.returncode == 0, proc.stderr
        outputs.append(json.loads(proc.stdout.splitlines()[-1]))
    assert outputs[1] == outputs[0]
    assert outputs[0][0] == [2]

"""The scan library (:mod:`lazymed.scan`) in process: what :func:`scan_source` reports for small
sources, file by file. The command line and the engine cross-check are in tests/cli/test_scan.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lazymed.scan import module_name_for, scan_paths, scan_source
from lazymed.scan._scanner import LAZY_ANNOTATIONS


def kinds(
    source: str, lazy: tuple[str, ...] = ("x",), mode: str = "eager"
) -> list[tuple[int, int, str]]:
    src = textwrap.dedent(source).lstrip("\n").encode()
    return [(f.line, f.col, f.kind) for f in scan_source("mod.py", src, lazy, mode)]


def test_columns_count_characters() -> None:
    assert kinds('import x\ns = "é"; y = x.f()\n') == [(2, 14, "module-level")]


def test_import_a_b_c_binds_a() -> None:
    src = """
        import x.y.z
        import x.y.z as w
        A = x.y.z.f
        B = w.f
        C = x.y
        """
    assert kinds(src, lazy=("x.y.z",)) == [(3, 5, "module-level"), (4, 5, "module-level")]
    # A lazy parent package loads on the first attribute taken from it.
    assert kinds(src, lazy=("x",)) == [
        (3, 5, "module-level"),
        (4, 5, "module-level"),
        (5, 5, "module-level"),
    ]


def test_annotations_follow_future_import() -> None:
    src = """
        import x
        y: x.T = 1
        def f(a: x.T, *args: x.A, b: x.B = None, **kw: x.K) -> x.R:
            z: x.Local = 1
        """
    # 3.11-3.13 evaluate a module's and a signature's annotations when the definition runs;
    # 3.14+ only when asked (PEP 649/749), so there they use nothing at import time.
    evaluated = not LAZY_ANNOTATIONS
    assert {line for line, _, kind in kinds(src) if kind == "annotation"} == (
        {2, 3} if evaluated else set()
    )
    assert len(kinds(src)) == (6 if evaluated else 0)
    assert kinds("from __future__ import annotations\n" + textwrap.dedent(src)) == []
    assert kinds('import x\ndef f(a: "x.T") -> "x.R":\n    pass\n') == []


def test_rebinding_and_branches() -> None:
    src = """
        try:
            import x
        except ImportError:
            x = None
        A = x.f
        x = object()
        B = x.f
        """
    assert kinds(src) == [(5, 5, "module-level")]


def test_type_checking_and_main_guard_are_skipped() -> None:
    src = """
        import typing
        import x
        if typing.TYPE_CHECKING:
            from x import T
            A = x.f
        else:
            B = x.g
        if __name__ == "__main__":
            x.main()
        if not TYPE_CHECKING:
            C = x.h
        """
    assert kinds(src) == [(7, 9, "module-level"), (11, 9, "module-level")]


def test_no_load_attributes_and_plain_references() -> None:
    src = """
        import x
        a = x.__name__
        b = x.__spec__.name
        c = [x]
        d = x is None
        e = hasattr(x, "__path__")
        f = getattr(x, "thing")
        g = dir(x)
        """
    assert kinds(src) == [(7, 5, "module-level"), (8, 5, "module-level")]


def test_getattr_and_transitive_calls() -> None:
    src = """
        import x

        def inner():
            return x.f()

        def outer():
            return inner()

        def unused():
            return x.g()

        outer()
        """
    found_ = scan_source("mod.py", textwrap.dedent(src).lstrip("\n").encode(), ("x",), "eager")
    assert [(f.line, f.kind) for f in found_] == [(4, "import-time-call")]
    assert "inner() is called at line 7, and outer() is called at line 12" in found_[0].message


def test_local_names_shadow_globals() -> None:
    src = """
        import x

        def setup(x=None):
            return x.f()

        setup()
        """
    assert kinds(src) == []


def test_from_import_inside_import_time_code_loads_in_any_mode() -> None:
    src = """
        class A:
            from x import f

        def setup():
            from x import g

        setup()
        """
    for mode in ("eager", "deferred"):
        assert [k for _, _, k in kinds(src, mode=mode)] == ["from-import", "import-time-call"]


def test_submodule_from_import_of_non_lazy_parent() -> None:
    src = """
        from a.b import c
        from a.b import d
        X = c.f
        Y = d.f
        """
    assert kinds(src, lazy=("a.b.c",)) == [(3, 5, "module-level")]


def test_own_lazy_package_is_exempt(tmp_path: Path) -> None:
    pkg = tmp_path / "p" / "q"
    pkg.mkdir(parents=True)
    (tmp_path / "p" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    assert module_name_for(str(pkg / "__init__.py")) == ("p.q", True)
    assert module_name_for(str(pkg / "r.py")) == ("p.q.r", False)
    src = b"from p.q import s\nfrom . import t\nimport p.q\nX = p.q.u\n"
    assert scan_source(str(pkg / "r.py"), src, ("p.q",)) == []
    assert [f.kind for f in scan_source(str(pkg / "r.py"), src, ("p",))] == []
    other = tmp_path / "p" / "w.py"
    assert [(f.line, f.kind) for f in scan_source(str(other), src, ("p.q",))] == [
        (1, "from-import"),
        (4, "module-level"),
    ]
    # `from . import t` in p/w.py names p.t: not lazy here.
    assert scan_source(str(other), b"from . import q\nq.x\n", ("p.q",))[0].line == 2


def test_lazy_package_below_namespace_packages_is_exempt(tmp_path: Path) -> None:
    """google/cloud/storage: the namespace parents have no __init__.py, yet the files of the
    lazy package are recognised as its own."""
    pkg = tmp_path / "ns" / "sub" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    src = b"from ns.sub.pkg import x\nfrom . import y\nV = y.z\n"
    assert scan_source(str(pkg / "mod.py"), src, ("ns.sub.pkg",)) == []
    assert scan_source(str(pkg / "__init__.py"), src, ("ns.sub",)) == []
    outside = tmp_path / "ns" / "other.py"
    assert [(f.line, f.kind) for f in scan_source(str(outside), src, ("ns.sub.pkg",))] == [
        (1, "from-import")
    ]


def test_too_deep_expressions_are_an_error_not_a_crash(tmp_path: Path) -> None:
    deep = tmp_path / "deep.py"
    deep.write_text("import x\nX = " + " + ".join(["x.a"] * 5000) + "\n")
    result = scan_paths([str(deep)], ("x",), "eager")
    assert [(e.path, e.message) for e in result.errors] == [
        (str(deep), "too deeply nested to analyse")
    ]
    assert result.exit_status == 1


def test_aliased_from_import_fix_names_the_real_attribute() -> None:
    """`from m import Settings as S`: the fix spells `m.Settings` (the alias S is no attribute)."""
    src = textwrap.dedent(
        """
        from llama_index.core import Settings as S, VectorStoreIndex
        """
    ).encode()
    (finding,) = scan_source("app.py", src, ("llama_index.core",))
    assert finding.kind == "from-import"
    assert "`llama_index.core.Settings` where S is used" in finding.fix
    assert "`llama_index.core.VectorStoreIndex` where VectorStoreIndex is used" in finding.fix
    assert "llama_index.core.S`" not in finding.fix


def test_no_load_attributes_agree_with_a_real_lazy_module(tmp_path: Path) -> None:
    """The scanner's own list of attributes a pending lazy module answers without loading
    (it does not import the core's private table) is checked against the core's behaviour,
    in a fresh interpreter: reading each of them leaves the module unloaded, and one attribute
    outside the list loads it."""
    import json
    import os
    import subprocess
    import sys

    from lazymed.scan import NO_LOAD_ATTRIBUTES

    (tmp_path / "probepkg").mkdir()
    (tmp_path / "probepkg" / "__init__.py").write_text("LOADED = True\n")
    code = textwrap.dedent(
        """
        import json, sys
        import lazymed
        lazymed.install(lazy=["probepkg"])
        import probepkg
        states = {}
        for attr in sys.argv[1:]:
            getattr(probepkg, attr, None)
            states[attr] = lazymed.status().module("probepkg").state
        probepkg.LOADED
        states["LOADED"] = lazymed.status().module("probepkg").state
        print(json.dumps(states))
        """
    )
    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(repo)])
    done = subprocess.run(
        [sys.executable, "-c", code, *sorted(NO_LOAD_ATTRIBUTES)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    states = json.loads(done.stdout)
    assert {attr: states[attr] for attr in NO_LOAD_ATTRIBUTES} == dict.fromkeys(
        NO_LOAD_ATTRIBUTES, "lazy"
    )
    assert states["LOADED"] == "loaded"


def test_from_import_of_a_submodule_the_engine_keeps_lazy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`from pkg import sub` binds the lazy submodule at run time when pkg provably binds `sub`
    to nothing else: no finding (the engine's rule); a name pkg defines still loads pkg."""
    pkg = tmp_path / "scanpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("def helper():\n    return 1\n")
    (pkg / "sub.py").write_text("X = 1\n")
    (pkg / "helper.py").write_text("Y = 2\n")  # shadowed by the package's own function
    monkeypatch.syspath_prepend(str(tmp_path))
    src = "from scanpkg import sub\nfrom scanpkg import helper\nsub.X\n"
    found = [(f.line, f.kind) for f in scan_source("mod.py", src, ("scanpkg",), "eager")]
    assert found == [(2, "from-import"), (3, "module-level")]


def test_text_source_is_accepted() -> None:
    assert scan_source("mod.py", "import x\nx.y\n", ("x",)) == scan_source(
        "mod.py", b"import x\nx.y\n", ("x",)
    )

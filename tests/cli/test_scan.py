"""``python -m lazymed scan``: exact findings on fixture projects, checked against the engine.

The fixture project (written to ``tmp_path``) has one file per kind of problem; the line that
must be reported carries a marker comment (``# expect: KIND``, or ``# expect-eager:`` /
``# expect-deferred:`` for one ``from_import`` mode only), so the expected findings are read
from the sources themselves. Every claim of the scanner is then checked against what really
happens: each fixture module is imported under ``lazymed.install()`` in a fresh interpreter, and
the set of lazy packages whose code ran (each sets ``RAN`` in its own namespace, read through
``__dict__``, which does not load a lazy module) must equal the set the scan blames on that file.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lazymed.scan import KINDS
from lazymed.scan._scanner import LAZY_ANNOTATIONS

REPO = Path(__file__).resolve().parents[2]
LAZY = ("heavylib", "nspkg.heavy", "app.plugins")
MARKER = re.compile(r"#\s*expect(?:-(?P<mode>eager|deferred))?:\s*(?P<kind>[a-z-]+)")

# Installed third-party packages, as a site directory. Each records that its code ran.
SITE = {
    "heavylib/__init__.py": """
        RAN = True
        DEFAULT = 1


        class Base:
            pass


        class Client:
            pass


        class Meta(type):
            pass


        def register(fn):
            return fn


        def make(*args):
            return object()
        """,
    "heavylib/sub.py": """
        RAN = True
        X = 1
        """,
    # nspkg is a namespace package (no __init__.py); only nspkg.heavy is lazy.
    "nspkg/heavy.py": """
        RAN = True


        def make():
            return 1
        """,
}

# The application. File names say what each one does wrong.
APP = {
    "app/__init__.py": "",
    "app/plugins/__init__.py": """
        RAN = True


        def hook():
            return 1


        def helper():
            return 2
        """,
    # Part of lazy app.plugins itself: its own use of the package is not a problem.
    "app/plugins/extra.py": """
        from app.plugins import helper

        X = helper()
        """,
    "app/p_from_import.py": """
        from heavylib import Client  # expect-eager: from-import
        """,
    "app/p_star.py": """
        from heavylib import *  # expect: from-import
        """,
    "app/p_relative.py": """
        from .plugins import hook  # expect-eager: from-import
        """,
    "app/p_decorator.py": """
        import heavylib


        @heavylib.register  # expect: decorator
        def handler():
            return 1
        """,
    "app/p_class_base.py": """
        import heavylib


        class Model(heavylib.Base):  # expect: class-base
            pass
        """,
    "app/p_metaclass.py": """
        import heavylib


        class Model(metaclass=heavylib.Meta):  # expect: class-base
            pass
        """,
    "app/p_default.py": """
        import heavylib


        def connect(client=heavylib.DEFAULT):  # expect: default-argument
            return client
        """,
    "app/p_annotation.py": """
        import heavylib


        def connect(client: heavylib.Client) -> None:  # expect: annotation
            pass
        """,
    "app/p_module_level.py": """
        import heavylib

        CLIENT = heavylib.make()  # expect: module-level
        """,
    "app/p_class_body.py": """
        import heavylib


        class Settings:
            default = heavylib.DEFAULT  # expect: class-body
        """,
    "app/p_call.py": """
        def setup():
            import heavylib

            return heavylib.make()  # expect: import-time-call


        setup()
        """,
    "app/p_init_call.py": """
        import heavylib


        class Service:
            def __init__(self):
                self.client = heavylib.Client()  # expect: import-time-call


        SERVICE = Service()
        """,
    "app/p_decorator_local.py": """
        import heavylib


        def register(fn):
            heavylib.register(fn)  # expect: import-time-call
            return fn


        @register
        def handler():
            pass
        """,
    "app/p_alias.py": """
        import heavylib as hl
        import nspkg.heavy

        VALUE = hl.DEFAULT  # expect: module-level
        RESULT = nspkg.heavy.make()  # expect: module-level
        """,
    "app/p_submodule.py": """
        import heavylib.sub

        X = heavylib.sub.X  # expect: module-level
        """,
    "app/p_from_package.py": """
        from app import plugins

        HOOK = plugins.hook  # expect: module-level
        """,
    "app/p_deferred_use.py": """
        from heavylib import make  # expect-eager: from-import

        VALUE = make()  # expect-deferred: module-level
        """,
    "app/p_deferred_class.py": """
        from heavylib import Base  # expect-eager: from-import


        class Model(Base):  # expect-deferred: class-base
            pass
        """,
    # Deferred stand-ins that are only referenced, never used: nothing loads.
    "app/p_deferred_ref.py": """
        from heavylib import Client  # expect-eager: from-import

        ALIAS = Client


        def build(client: Client = Client) -> Client:
            return client
        """,
    "app/clean.py": """
        from __future__ import annotations

        from typing import TYPE_CHECKING

        import heavylib
        import heavylib.sub
        import nspkg.heavy

        from app import plugins

        if TYPE_CHECKING:
            from heavylib import Client

        NAME = heavylib.__name__
        SPEC = heavylib.__spec__
        MODULE = heavylib
        NAMESPACE = nspkg.heavy


        def connect(client: heavylib.Client | None = None) -> heavylib.Client:
            return client or heavylib.Client()


        class Service:
            kind: heavylib.Base

            def run(self, x=None):
                return plugins.hook()


        def later():
            from heavylib import make

            return make()


        def never_called():
            import heavylib

            return heavylib.make()


        task = lambda: heavylib.make()  # noqa: E731

        if __name__ == "__main__":
            heavylib.make()
        """,
}

PYPROJECT = """
[tool.lazymed]
lazy = ["heavylib", "nspkg.heavy", "app.plugins"]
from_import = "eager"
"""

DEFERRED = """
[tool.lazymed]
lazy = ["heavylib", "nspkg.heavy", "app.plugins"]
from_import = "deferred"
"""


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip("\n"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """``tmp_path/site`` (installed packages) and ``tmp_path/project`` (the app and its config;
    ``lazymed-deferred.toml`` is the same configuration with ``from_import = "deferred"``)."""
    write_tree(tmp_path / "site", SITE)
    proj = tmp_path / "project"
    write_tree(proj, APP)
    (proj / "pyproject.toml").write_text(PYPROJECT.lstrip())
    (proj / "lazymed-deferred.toml").write_text(DEFERRED.lstrip())
    return proj


def env_for(tmp_path: Path, *paths: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), str(REPO)])
    env["LAZYMED_CACHE_DIR"] = str(tmp_path / "cache")
    return env


def run_scan(
    tmp_path: Path, *args: str, cwd: Path, paths: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lazymed", "scan", *args],
        cwd=cwd,
        env=env_for(tmp_path, *paths),
        capture_output=True,
        text=True,
        timeout=120,
    )


def expected(proj: Path, mode: str) -> set[tuple[str, int, str]]:
    """``(path relative to proj, line, kind)`` of every marker for ``mode``."""
    out = set()
    for path in sorted(proj.rglob("*.py")):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            m = MARKER.search(line)
            if m and m.group("kind") == "annotation" and LAZY_ANNOTATIONS:
                continue  # 3.14+ evaluates annotations lazily (PEP 649/749): not a use there
            if m and m.group("mode") in (None, mode):
                out.add((path.relative_to(proj).as_posix(), lineno, m.group("kind")))
    return out


def scan_json(tmp_path: Path, proj: Path, mode: str, *paths: str) -> dict[str, Any]:
    args = ["--json", *paths]
    if mode == "deferred":
        args += ["--config", "lazymed-deferred.toml"]
    proc = run_scan(tmp_path, *args, cwd=proj)
    assert proc.returncode in (0, 1), proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    assert doc["summary"]["exit_status"] == proc.returncode
    return doc


def found(doc: dict[str, Any]) -> set[tuple[str, int, str]]:
    return {(f["path"], f["line"], f["kind"]) for f in doc["findings"]}


# --------------------------------------------------------------------------- exact findings


@pytest.mark.parametrize("mode", ["eager", "deferred"])
def test_exact_findings(project: Path, tmp_path: Path, mode: str) -> None:
    doc = scan_json(tmp_path, project, mode)
    want = expected(project, mode)
    assert want, "the fixture has markers"
    assert found(doc) == want
    assert doc["config"]["from_import"] == mode
    assert doc["files_scanned"] == len(list(project.rglob("*.py")))
    # Every kind the scanner knows is exercised by the fixture (eager or deferred); no annotation
    # is a use on 3.14+.
    both = {k for _, _, k in expected(project, "eager") | expected(project, "deferred")}
    assert both == set(KINDS) - ({"annotation"} if LAZY_ANNOTATIONS else set())


def test_findings_name_the_module_and_position(project: Path, tmp_path: Path) -> None:
    doc = scan_json(tmp_path, project, "eager")
    by_place = {(f["path"], f["line"]): f for f in doc["findings"]}
    alias = by_place[("app/p_alias.py", 5)]
    assert alias["module"] == "nspkg.heavy"
    assert alias["col"] == 10
    assert alias["code"] == "nspkg.heavy.make"
    assert by_place[("app/p_alias.py", 4)]["module"] == "heavylib"
    assert by_place[("app/p_relative.py", 1)]["module"] == "app.plugins"
    assert by_place[("app/p_from_package.py", 3)]["module"] == "app.plugins"
    decorator = by_place[("app/p_decorator.py", 4)]
    assert (decorator["col"], decorator["code"]) == (2, "heavylib.register")
    call = by_place[("app/p_call.py", 4)]
    assert "setup() is called at line 7" in call["message"]
    init = by_place[("app/p_init_call.py", 6)]
    assert "Service(...) is instantiated at line 9" in init["message"]
    star = by_place[("app/p_star.py", 1)]
    assert "import *" in star["message"]
    frm = by_place[("app/p_from_import.py", 1)]
    assert 'from_import = "deferred"' in frm["fix"]
    assert "`import heavylib` and `heavylib.Client`" in frm["fix"]


def test_clean_paths_exit_zero(project: Path, tmp_path: Path) -> None:
    proc = run_scan(tmp_path, "app/clean.py", "app/plugins", cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("no findings; 3 file(s) scanned for lazy: heavylib")
    doc = scan_json(tmp_path, project, "eager", "app/clean.py", "app/plugins")
    assert doc["findings"] == [] and doc["files_scanned"] == 3


# --------------------------------------------------------------------------- ground truth


RUNTIME = """
import importlib, json, sys
import lazymed

lazymed.install(config=sys.argv[1])
importlib.import_module(sys.argv[2])
ran = [n for n in json.loads(sys.argv[3]) if "RAN" in getattr(sys.modules.get(n), "__dict__", {})]
print(json.dumps(ran))
"""


def covering(name: str) -> str:
    return next(lazy for lazy in LAZY if name == lazy or name.startswith(lazy + "."))


@pytest.mark.parametrize("mode", ["eager", "deferred"])
def test_findings_agree_with_the_engine(project: Path, tmp_path: Path, mode: str) -> None:
    """Importing each app module under lazymed runs exactly the lazy packages the scan blames
    on that file: no finding without a load, no load without a finding."""
    doc = scan_json(tmp_path, project, mode)
    blamed: dict[str, set[str]] = {}
    for f in doc["findings"]:
        blamed.setdefault(f["path"], set()).add(covering(f["module"]))
    config = project / ("pyproject.toml" if mode == "eager" else "lazymed-deferred.toml")
    modules = sorted(p for p in (project / "app").glob("*.py") if p.name != "__init__.py")
    assert len(modules) == len(APP) - 3  # every top-level app module is checked
    for path in modules:
        rel = path.relative_to(project).as_posix()
        proc = subprocess.run(
            [sys.executable, "-c", RUNTIME, str(config), f"app.{path.stem}", json.dumps(LAZY)],
            cwd=tmp_path,
            env=env_for(tmp_path, tmp_path / "site", project),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        ran = set(json.loads(proc.stdout.splitlines()[-1]))
        assert ran == blamed.get(rel, set()), (rel, mode)


# --------------------------------------------------------------------------- output formats


def test_text_output_lines(project: Path, tmp_path: Path) -> None:
    proc = run_scan(tmp_path, "app/p_module_level.py", "app/p_call.py", cwd=project)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0] == (
        "app/p_module_level.py:3:10: module-level: `heavylib.make` loads lazy module "
        "'heavylib' at import time: module-level code, run at import time"
    )
    assert lines[1].startswith("    fix: move the use into the function that needs it")
    assert lines[2].startswith("app/p_call.py:4:12: import-time-call: `heavylib.make` loads")
    assert lines[-1].startswith("2 finding(s) in 2 file(s); 2 file(s) scanned for lazy: ")
    assert proc.stderr == ""


def test_json_schema(project: Path, tmp_path: Path) -> None:
    doc = scan_json(tmp_path, project, "eager")
    assert set(doc) == {"schema", "config", "files_scanned", "findings", "errors", "summary"}
    assert doc["schema"] == "lazymed.scan/1"
    assert doc["config"] == {
        "path": str(project / "pyproject.toml"),
        "profile": None,
        "lazy": list(LAZY),
        "from_import": "eager",
    }
    assert doc["findings"]
    types = {
        "path": str,
        "line": int,
        "col": int,
        "kind": str,
        "module": str,
        "code": str,
        "message": str,
        "fix": str,
    }
    for f in doc["findings"]:
        assert {k: type(v) for k, v in f.items()} == types
        assert f["kind"] in KINDS and f["line"] >= 1 and f["col"] >= 1
    assert doc["findings"] == sorted(
        doc["findings"], key=lambda f: (f["path"], f["line"], f["col"])
    )
    summary = doc["summary"]
    assert set(summary) == {"findings", "files_with_findings", "errors", "by_kind", "exit_status"}
    assert summary["findings"] == len(doc["findings"])
    assert summary["by_kind"] == {
        k: sum(f["kind"] == k for f in doc["findings"])
        for k in KINDS
        if any(f["kind"] == k for f in doc["findings"])
    }
    assert summary["files_with_findings"] == len({f["path"] for f in doc["findings"]})
    assert summary["exit_status"] == 1 and doc["errors"] == []


# --------------------------------------------------------------------------- files and errors


def test_skipped_directories(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    bad = "import heavylib\nX = heavylib.make()\n"
    write_tree(
        proj,
        {
            "main.py": bad,
            ".venv/lib/a.py": bad,
            ".tox/py311/b.py": bad,
            "lib/site-packages/c.py": bad,
            "__pycache__/d.py": bad,
            "env/pyvenv.cfg": "home = /usr\n",
            "env/e.py": bad,
            "pkg/ok.py": bad,
            "notes.txt": bad,
        },
    )
    (proj / "pyproject.toml").write_text('[tool.lazymed]\nlazy = ["heavylib"]\n')
    doc = scan_json(tmp_path, proj, "eager")
    assert found(doc) == {("main.py", 2, "module-level"), ("pkg/ok.py", 2, "module-level")}
    assert doc["files_scanned"] == 2
    # An explicitly named file is scanned wherever it is.
    doc = scan_json(tmp_path, proj, "eager", ".venv/lib/a.py")
    assert found(doc) == {(".venv/lib/a.py", 2, "module-level")}


def test_syntax_error_is_reported_and_fails(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    write_tree(proj, {"broken.py": "x = (\n", "ok.py": "import heavylib\n"})
    (proj / "pyproject.toml").write_text('[tool.lazymed]\nlazy = ["heavylib"]\n')
    proc = run_scan(tmp_path, "--json", cwd=proj)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["findings"] == []
    assert [(e["path"], e["line"]) for e in doc["errors"]] == [("broken.py", 1)]
    assert doc["errors"][0]["message"].startswith("syntax error:")
    text = run_scan(tmp_path, cwd=proj)
    assert text.returncode == 1
    assert "broken.py:1: error: syntax error" in text.stdout


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({"pyproject.toml": '[tool.lazymed]\nlazy = ["x"]\n'}, ["missing.py"], "no such file"),
        ({"pyproject.toml": "[tool.lazymed]\ncritical = []\n"}, [], "no lazy modules configured"),
        ({"a.py": ""}, [], "no lazy modules configured"),
        (
            {"pyproject.toml": '[tool.lazymed]\nlazzy = ["x"]\n'},
            [],
            "configuration error: ",
        ),
        (
            {"pyproject.toml": '[tool.lazymed]\nlazy = ["x"]\n'},
            ["--profile", "nope"],
            "unknown profile 'nope'",
        ),
        ({"other.toml": "[tool.ruff]\n"}, ["--config", "other.toml"], "no [tool.lazymed]"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, files: dict[str, str], args: list[str], message: str
) -> None:
    proj = tmp_path / "proj"
    write_tree(proj, files)
    proc = run_scan(tmp_path, *args, cwd=proj)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("lazymed scan: error: ")
    assert message in proc.stderr
    assert proc.stdout == ""


def test_config_found_from_the_scanned_path(project: Path, tmp_path: Path) -> None:
    """Run from elsewhere: the configuration is looked up from the first PATH upwards."""
    proc = run_scan(tmp_path, "--json", str(project / "app" / "p_star.py"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["config"]["path"] == str(project / "pyproject.toml")
    assert found(doc) == {(str(project / "app" / "p_star.py"), 1, "from-import")}


def test_profile_changes_the_lazy_names(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    write_tree(proj, {"m.py": "import a\nimport b\nX = a.f()\nY = b.g()\n"})
    (proj / "pyproject.toml").write_text(
        '[tool.lazymed]\nlazy = ["a"]\n[tool.lazymed.profiles.more]\nlazy = ["a", "b"]\n'
    )
    assert found(scan_json(tmp_path, proj, "eager")) == {("m.py", 3, "module-level")}
    proc = run_scan(tmp_path, "--json", "--profile", "more", cwd=proj)
    doc = json.loads(proc.stdout)
    assert doc["config"]["profile"] == "more"
    assert found(doc) == {("m.py", 3, "module-level"), ("m.py", 4, "module-level")}


# --------------------------------------------------------------------------- scanner rules


def test_every_kind_has_a_fix_and_the_sources_parse() -> None:
    for body in [*SITE.values(), *APP.values()]:
        ast.parse(textwrap.dedent(body))
    assert KINDS == (
        "from-import",
        "decorator",
        "class-base",
        "default-argument",
        "annotation",
        "module-level",
        "class-body",
        "import-time-call",
    )


def test_config_falls_back_to_the_working_directory(project: Path, tmp_path: Path) -> None:
    external = tmp_path / "external"
    write_tree(external, {"tool.py": "import heavylib\nX = heavylib.make()\n"})
    proc = run_scan(tmp_path, "--json", str(external), cwd=project)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["config"]["path"] == str(project / "pyproject.toml")
    assert found(doc) == {(str(external / "tool.py"), 2, "module-level")}


def test_a_pip_distribution_name_in_the_config_gets_a_hint(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.lazymed]\nlazy = ["llama-index-core"]\n')
    (tmp_path / "app.py").write_text("import json\n")
    proc = run_scan(tmp_path, "app.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "configuration error:" in proc.stderr
    assert "hint: 'llama-index-core' is the name of the pip distribution" in proc.stderr
    assert "write 'llama_index.core'" in proc.stderr

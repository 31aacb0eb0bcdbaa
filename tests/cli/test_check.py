"""``python -m lazymed check``: configuration validation and name resolution, importing nothing.

Fixture packages are written to ``tmp_path``. The ones named ``boom*`` append a line to the file
named by ``$BOOM_MARKER`` and raise when their code runs, so any import by ``check`` is seen;
a control shows the marker works (``importlib.util.find_spec("boom.sub")`` trips it). Figures
``check`` reports are compared with outside observations: the C extension files with a listing
of the package directory, the start-up modules with a separate ``python -c`` run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

BOOM = """
import os
with open(os.environ["BOOM_MARKER"], "a") as fh:
    fh.write(__name__ + "\\n")
raise RuntimeError(__name__ + " must not be imported by lazymed check")
"""

SITE = {
    "boom/__init__.py": BOOM,
    "boom/sub.py": BOOM,
    "boomcrit.py": BOOM,
    "heavylib/__init__.py": "X = 1\n",
    # ns1 and ns1.ns2 are namespace packages (no __init__.py), nested.
    "ns1/ns2/leaf/__init__.py": BOOM,
    "ns1/ns2/plain.py": BOOM,
    "nsonly/mod.py": BOOM,
}


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip("\n"))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    write_tree(root, SITE)
    return root


def project(tmp_path: Path, toml: str, files: dict[str, str] | None = None) -> Path:
    proj = tmp_path / "proj"
    write_tree(proj, {"pyproject.toml": toml, **(files or {})})
    return proj


def env_for(tmp_path: Path, *paths: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), str(REPO)])
    env["LAZYMED_CACHE_DIR"] = str(tmp_path / "cache")
    env["BOOM_MARKER"] = str(tmp_path / "imported.txt")
    env.update(extra)
    return env


def run_check(
    tmp_path: Path,
    *args: str,
    cwd: Path,
    paths: tuple[Path, ...] = (),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lazymed", "check", *args],
        cwd=cwd,
        env=env_for(tmp_path, *paths, **(env or {})),
        capture_output=True,
        text=True,
        timeout=120,
    )


def check_json(
    tmp_path: Path,
    *args: str,
    cwd: Path,
    paths: tuple[Path, ...] = (),
    env: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    proc = run_check(tmp_path, "--json", *args, cwd=cwd, paths=paths, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    assert doc["summary"]["exit_status"] == proc.returncode
    return proc.returncode, doc


def modules(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in doc["modules"]}


def problems(doc: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    return {(p["severity"], p["code"], p["name"]) for p in doc["problems"]}


# --------------------------------------------------------------------------- imports nothing


def test_check_imports_nothing(tmp_path: Path, site: Path) -> None:
    proj = project(
        tmp_path,
        """
        [tool.lazymed]
        lazy = ["boom", "ns1.ns2.leaf", "ns1.ns2.plain", "nsonly"]
        critical = ["boomcrit"]
        disabled_modules = ["boom.sub"]
        """,
    )
    marker = tmp_path / "imported.txt"
    status, doc = check_json(tmp_path, cwd=proj, paths=(site,))
    assert not marker.exists(), marker.read_text()
    assert status == 0 and doc["problems"] == []
    mods = modules(doc)
    assert {n: m["kind"] for n, m in mods.items()} == {
        "boomcrit": "module",
        "boom": "package",
        "ns1.ns2.leaf": "package",
        "ns1.ns2.plain": "module",
        "nsonly": "namespace package",
        "boom.sub": "module",
    }
    assert mods["boom"]["origin"] == str(site / "boom" / "__init__.py")
    assert mods["ns1.ns2.plain"]["origin"] == str(site / "ns1" / "ns2" / "plain.py")
    assert mods["nsonly"]["locations"] == [str(site / "nsonly")]
    assert all(m["imported_at_startup"] is False for m in mods.values())
    # The text report too imports nothing.
    text = run_check(tmp_path, cwd=proj, paths=(site,))
    assert text.returncode == 0, text.stdout + text.stderr
    assert not marker.exists()

    # Control: the marker does catch an import, and importlib.util.find_spec() on a dotted
    # name imports the parent package (the trap check avoids).
    for code in ("import boomcrit", "import importlib.util; importlib.util.find_spec('boom.sub')"):
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env=env_for(tmp_path, site),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 1 and "must not be imported" in proc.stderr
    assert marker.read_text().split() == ["boomcrit", "boom"]


# --------------------------------------------------------------------------- problems


def test_not_found_with_suggestions(tmp_path: Path, site: Path) -> None:
    proj = project(
        tmp_path,
        """
        [tool.lazymed]
        lazy = ["heavylbi", "boom.sbu"]
        critical = ["boomcrt"]
        disabled_modules = ["zzqx_nothing_like_it", "boomcrit2"]
        """,
    )
    status, doc = check_json(tmp_path, cwd=proj, paths=(site,))
    assert status == 1
    assert problems(doc) == {
        ("error", "not-found", "heavylbi"),
        ("error", "not-found", "boom.sbu"),
        ("error", "not-found", "boomcrt"),
        ("error", "not-found", "boomcrit2"),
        ("warning", "not-installed", "zzqx_nothing_like_it"),
    }
    mods = modules(doc)
    assert mods["heavylbi"]["suggestion"] == "heavylib"
    assert mods["boom.sbu"]["suggestion"] == "boom.sub"
    assert mods["boom.sbu"]["missing"] == "boom.sbu"
    assert mods["zzqx_nothing_like_it"]["suggestion"] is None
    by_name = {p["name"]: p for p in doc["problems"]}
    assert by_name["heavylbi"]["message"] == (
        "lazy module 'heavylbi' not found — did you mean 'heavylib'?"
    )
    crit = by_name["boomcrt"]
    assert crit["message"] == "critical module 'boomcrt' not found — did you mean 'boomcrit'?"
    assert crit["fix"].startswith("install it or remove it from critical (")
    assert "as written, 'boomcrit' is not switched off" in by_name["boomcrit2"]["fix"]
    assert not (tmp_path / "imported.txt").exists()


def test_startup_imports_agree_with_a_fresh_interpreter(tmp_path: Path, site: Path) -> None:
    startup = tmp_path / "startup"
    write_tree(
        startup,
        {
            "sitecustomize.py": "import startlazy, startoff, startcrit\n",
            "startlazy.py": "",
            "startoff.py": "",
            "startcrit.py": "",
            "later.py": "",
        },
    )
    proj = project(
        tmp_path,
        """
        [tool.lazymed]
        lazy = ["startlazy", "later"]
        critical = ["startcrit"]
        disabled_modules = ["startoff"]
        """,
    )
    status, doc = check_json(tmp_path, cwd=proj, paths=(startup,))
    reported = {n: m["imported_at_startup"] for n, m in modules(doc).items()}
    # Outside observation: what a fresh interpreter with the same environment has imported.
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, json; print(json.dumps(sorted(sys.modules)))"],
        cwd=proj,
        env=env_for(tmp_path, startup),
        capture_output=True,
        text=True,
        timeout=60,
    )
    seen = set(json.loads(probe.stdout))
    assert reported == {name: name in seen for name in reported}
    assert reported == {"startcrit": True, "startlazy": True, "later": False, "startoff": True}
    assert problems(doc) == {
        ("warning", "imported-at-startup", "startlazy"),
        ("error", "imported-at-startup", "startoff"),
    }
    assert status == 1


def psutil_dir() -> Path:
    spec = importlib.util.find_spec("psutil")  # top-level: imports nothing
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def test_c_extensions_stdlib_and_strict(tmp_path: Path) -> None:
    directory = psutil_dir()
    # Outside listing of the real package's C extension files.
    listed = sorted(
        str(p)
        for p in directory.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and any(p.name.endswith(suffix) for suffix in EXTENSION_SUFFIXES)
    )
    assert listed, "psutil ships C extensions"
    ext = Path(listed[0])
    ext_name = "psutil." + ext.name.partition(".")[0]
    proj = project(
        tmp_path,
        f"""
        [tool.lazymed]
        lazy = ["psutil", "json", "{ext_name}"]
        """,
    )
    status, doc = check_json(tmp_path, cwd=proj)
    mods = modules(doc)
    assert mods["psutil"]["c_extensions"] == listed
    assert mods["psutil"]["kind"] == "package" and mods["psutil"]["stdlib"] is False
    assert mods[ext_name]["kind"] == "extension module"
    assert mods[ext_name]["c_extensions"] == [str(ext)]
    assert mods["json"]["stdlib"] is True and mods["json"]["c_extensions"] == []
    assert problems(doc) == {
        ("warning", "c-extensions", "psutil"),
        ("warning", "c-extension-module", ext_name),
        ("warning", "stdlib", "json"),
        ("warning", "redundant", ext_name),
    }
    assert status == 0 and doc["summary"] == {
        "errors": 0,
        "warnings": 4,
        "strict": False,
        "exit_status": 0,
    }
    status, doc = check_json(tmp_path, "--strict", cwd=proj)
    assert status == 1 and doc["summary"]["strict"] is True
    assert "psutil" not in doc["config"]["settings"][0]["source"]


def test_other_profiles_are_checked(tmp_path: Path, site: Path) -> None:
    proj = project(
        tmp_path,
        """
        [tool.lazymed]
        lazy = ["heavylib"]
        [tool.lazymed.profiles.dev]
        disabled_modules = ["heavylbi"]
        [tool.lazymed.profiles.bad]
        critical = ["heavylib"]
        """,
    )
    status, doc = check_json(tmp_path, cwd=proj, paths=(site,))
    assert status == 1
    assert problems(doc) == {
        ("error", "profile-invalid", None),
        ("error", "not-found", "heavylbi"),
    }
    assert modules(doc)["heavylbi"]["roles"] == [
        {
            "role": "disabled",
            "profile": "dev",
            "in_effect": False,
            "source": f"{proj / 'pyproject.toml'} [tool.lazymed.profiles.dev]",
        }
    ]
    invalid = next(p for p in doc["problems"] if p["code"] == "profile-invalid")
    assert invalid["message"].startswith("profile 'bad' cannot be activated: 'heavylib' is")
    # Activating the broken profile is a configuration error.
    proc = run_check(tmp_path, "--profile", "bad", cwd=proj, paths=(site,))
    assert proc.returncode == 2


def test_redundant_and_disable_env(tmp_path: Path, site: Path) -> None:
    proj = project(tmp_path, '[tool.lazymed]\nlazy = ["boom", "boom.sub"]\n')
    status, doc = check_json(tmp_path, cwd=proj, paths=(site,), env={"LAZYMED_DISABLE": "1"})
    assert status == 0
    assert problems(doc) == {
        ("warning", "redundant", "boom.sub"),
        ("warning", "disabled-by-environment", None),
    }


def test_no_config_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    status, doc = check_json(tmp_path, cwd=empty)
    assert status == 1
    assert problems(doc) == {("error", "no-config", None)}
    assert doc["config"]["path"] is None and doc["modules"] == []


def test_config_directory_is_searched(tmp_path: Path) -> None:
    proj = project(
        tmp_path,
        '[tool.lazymed]\ncritical = ["myapp.core"]\n',
        {"myapp/__init__.py": "", "myapp/core.py": BOOM},
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = str(proj / "pyproject.toml")
    status, doc = check_json(tmp_path, "--config", config, cwd=elsewhere)
    assert status == 0, doc["problems"]
    assert doc["config"]["search_path_extra"] == [str(proj)]
    mod = modules(doc)["myapp.core"]
    assert mod["found"] and mod["via_config_directory"] is True
    text = run_check(tmp_path, "--config", config, cwd=elsewhere)
    assert f"{proj / 'myapp' / 'core.py'} (config directory)" in text.stdout
    assert not (tmp_path / "imported.txt").exists()


# --------------------------------------------------------------------------- configuration


def test_effective_configuration_with_sources(tmp_path: Path, site: Path) -> None:
    proj = project(
        tmp_path,
        """
        [tool.lazymed]
        lazy = ["heavylib"]
        [tool.lazymed.profiles.dev]
        disabled_modules = ["heavylib"]
        """,
    )
    path = proj / "pyproject.toml"
    status, doc = check_json(
        tmp_path,
        cwd=proj,
        paths=(site,),
        env={"LAZYMED_PROFILE": "dev", "LAZYMED_FROM_IMPORT": "deferred"},
    )
    assert status == 0, doc["problems"]
    assert doc["config"]["profile"] == "dev" and doc["config"]["profiles"] == ["dev"]
    settings = doc["config"]["settings"]
    # Sub-tables (memory, ...) are listed after the top-level keys, each key with its source.
    assert {
        "key": "memory.warning_mb",
        "value": 100,
        "source": "default",
        "source_kind": "default",
    } in settings
    assert [s for s in settings if "." not in s["key"]] == [
        {
            "key": "lazy",
            "value": ["heavylib"],
            "source": f"{path} [tool.lazymed]",
            "source_kind": "file",
        },
        {"key": "critical", "value": [], "source": "default", "source_kind": "default"},
        {
            "key": "from_import",
            "value": "deferred",
            "source": "environment LAZYMED_FROM_IMPORT",
            "source_kind": "environment",
        },
        {
            "key": "disabled_modules",
            "value": ["heavylib"],
            "source": f"{path} [tool.lazymed.profiles.dev]",
            "source_kind": "profile",
        },
        {"key": "backend", "value": "finder", "source": "default", "source_kind": "default"},
        {"key": "deep", "value": [], "source": "default", "source_kind": "default"},
    ]
    roles = modules(doc)["heavylib"]["roles"]
    assert [(r["role"], r["profile"], r["in_effect"]) for r in roles] == [
        ("lazy", "dev", True),
        ("disabled", "dev", True),
    ]
    text = run_check(
        tmp_path,
        "--profile",
        "dev",
        cwd=proj,
        paths=(site,),
        env={"LAZYMED_FROM_IMPORT": "deferred"},
    )
    assert text.returncode == 0
    out = text.stdout
    assert f"config:   {path}\n" in out
    assert "profile:  dev   [profiles: dev]\n" in out
    assert "environment: LAZYMED_CACHE_DIR=" in out and "LAZYMED_FROM_IMPORT=deferred" in out
    # The key column is as wide as the longest key (sub-table keys such as memory.* included).
    squeezed = re.sub(r" +", " ", out)
    assert ' lazy = ["heavylib"]\n' in squeezed
    assert f" from {path} [tool.lazymed]\n" in squeezed
    assert ' from_import = "deferred"\n' in squeezed
    assert " from environment LAZYMED_FROM_IMPORT\n" in squeezed
    assert " critical = []\n from default\n" in squeezed
    assert " memory.warning_mb = 100\n from default\n" in squeezed
    assert out.endswith("0 error(s), 0 warning(s); exit status 0\n")


@pytest.mark.parametrize(
    ("toml", "args", "env", "message"),
    [
        (
            '[tool.lazymed]\nlazzy = ["x"]\n',
            [],
            {},
            "[tool.lazymed]: unknown key 'lazzy'. Did you mean 'lazy'?",
        ),
        ('[tool.lazymed]\nlazy = ["x"]\n', ["--profile", "nope"], {}, "unknown profile 'nope'"),
        ('[tool.lazymed]\nlazy = ["x"]\n', ["--config", "missing.toml"], {}, "missing.toml"),
        ('[tool.lazymed]\nlazy = ["x"]\n', [], {"LAZYMED_LAZZY": "a"}, "LAZYMED_LAZZY"),
        (
            '[tool.lazymed]\nlazy = ["a"]\ncritical = ["a.b"]\n',
            [],
            {},
            "'a.b' is critical",
        ),
        ("[tool.lazymed\n", [], {}, "invalid TOML"),
        # Environment variables with a bad value are configuration errors too, like in install().
        ('[tool.lazymed]\nlazy = ["x"]\n', [], {"LAZYMED_DISABLE": "maybe"}, "LAZYMED_DISABLE"),
        (
            '[tool.lazymed]\nlazy = ["x"]\n',
            [],
            {"LAZYMED_FROM_IMPORT": "Deferred"},
            "LAZYMED_FROM_IMPORT",
        ),
        ('[tool.lazymed]\nfrom_import = "later"\n', [], {}, "expected one of 'eager'"),
    ],
)
def test_configuration_errors_exit_2(
    tmp_path: Path, toml: str, args: list[str], env: dict[str, str], message: str
) -> None:
    proj = project(tmp_path, toml)
    proc = run_check(tmp_path, *args, cwd=proj, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("lazymed check: configuration error: ")
    assert message in proc.stderr
    assert proc.stdout == ""
    proc = run_check(tmp_path, "--json", *args, cwd=proj, env=env)
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert set(doc) == {"schema", "config_error", "summary"}
    assert message in doc["config_error"] and doc["summary"] == {"exit_status": 2}


def test_usage_error_exit_2(tmp_path: Path) -> None:
    proc = run_check(tmp_path, "--bogus", cwd=tmp_path)
    assert proc.returncode == 2 and "unrecognized arguments: --bogus" in proc.stderr


# --------------------------------------------------------------------------- output formats


def test_json_schema(tmp_path: Path, site: Path) -> None:
    proj = project(tmp_path, '[tool.lazymed]\nlazy = ["heavylib", "nope_x"]\n')
    status, doc = check_json(tmp_path, cwd=proj, paths=(site,))
    assert status == 1
    assert set(doc) == {"schema", "config", "modules", "problems", "summary"}
    assert doc["schema"] == "lazymed.check/1"
    assert set(doc["config"]) == {"path", "profile", "profiles", "settings", "search_path_extra"}
    module_types: dict[str, type | tuple[type, ...]] = {
        "name": str,
        "roles": list,
        "found": bool,
        "kind": (str, type(None)),
        "namespace": bool,
        "package": bool,
        "origin": (str, type(None)),
        "locations": list,
        "finder": (str, type(None)),
        "missing": (str, type(None)),
        "suggestion": (str, type(None)),
        "distribution": (dict, type(None)),
        "c_extensions": list,
        "imported_at_startup": (bool, type(None)),
        "stdlib": bool,
        "via_config_directory": bool,
    }
    for mod in doc["modules"]:
        assert set(mod) == set(module_types)
        for key, kind in module_types.items():
            assert isinstance(mod[key], kind), key
        for role in mod["roles"]:
            assert set(role) == {"role", "profile", "in_effect", "source"}
    heavy, nope = doc["modules"]
    assert heavy["finder"] == "_frozen_importlib_external.PathFinder"
    assert (nope["found"], nope["kind"], nope["missing"]) == (False, None, "nope_x")
    for problem in doc["problems"]:
        assert set(problem) == {"severity", "code", "name", "message", "fix"}
        assert problem["severity"] in ("error", "warning")
    assert set(doc["summary"]) == {"errors", "warnings", "strict", "exit_status"}


def test_text_table(tmp_path: Path, site: Path) -> None:
    proj = project(tmp_path, '[tool.lazymed]\nlazy = ["heavylib", "heavylbi"]\n')
    proc = run_check(tmp_path, cwd=proj, paths=(site,))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    start = lines.index("registered modules (resolved without importing):")
    header, heavy, typo = lines[start + 1 : start + 4]
    columns = ["NAME", "ROLE", "FOUND", "KIND", "C-EXT", "AT", "START-UP", "STDLIB", "WHERE"]
    assert header.split() == columns
    assert heavy.split() == [
        "heavylib",
        "lazy",
        "yes",
        "package",
        "0",
        "no",
        "no",
        str(site / "heavylib" / "__init__.py"),
    ]
    assert typo.split() == ["heavylbi", "lazy", "NO", "-", "-", "no", "no", "-"]
    assert (
        "  error[not-found]: lazy module 'heavylbi' not found — did you mean 'heavylib'?" in lines
    )
    assert lines[-1] == "1 error(s), 0 warning(s); exit status 1"


# --------------------------------------------------------------------------- suggestions


def test_did_you_mean_only_suggests_names_that_exist(tmp_path: Path, site: Path) -> None:
    """A suggestion has as many components as the name and resolves: critical 'myapp.triage'
    (not on the path) must not become 'mmap.triage' (mmap is a module, without submodules)."""
    proj = project(
        tmp_path,
        """
        [tool.lazymed]
        lazy = ["heavylbi.extra", "boom.sbu", "heavylyb"]
        critical = ["myapp.triage"]
        """,
    )
    status, doc = check_json(tmp_path, cwd=proj, paths=(site,))
    assert status == 1
    mods = modules(doc)
    assert mods["myapp.triage"]["suggestion"] is None
    by_name = {p["name"]: p["message"] for p in doc["problems"]}
    assert (
        by_name["myapp.triage"]
        == "critical module 'myapp.triage' not found ('myapp' does not exist)"
    )
    assert mods["heavylbi.extra"]["suggestion"] is None  # heavylib exists, heavylib.extra not
    assert mods["boom.sbu"]["suggestion"] == "boom.sub"  # one swap away, and it exists
    assert mods["heavylyb"]["suggestion"] == "heavylib"  # two edits: fine for 8 letters
    assert not (tmp_path / "imported.txt").exists()


FAKE_DIST = {
    "acme_widgets/core/__init__.py": BOOM,
    "acme_widgets/core/parts.py": BOOM,
    "_acme_speedups.py": BOOM,
    "acme_widgets_core-1.0.dist-info/METADATA": (
        "Metadata-Version: 2.1\nName: acme-widgets-core\nVersion: 1.0\n"
    ),
    "acme_widgets_core-1.0.dist-info/RECORD": (
        "acme_widgets/core/__init__.py,,\n"
        "acme_widgets/core/parts.py,,\n"
        "acme_widgets/core/__pycache__/parts.cpython-311.pyc,,\n"
        "_acme_speedups.py,,\n"
        "acme_widgets_core-1.0.dist-info/METADATA,,\n"
        "acme_widgets_core-1.0.dist-info/RECORD,,\n"
        "../../bin/acme,,\n"
    ),
}


def test_a_pip_distribution_name_is_answered_with_its_modules(tmp_path: Path) -> None:
    dists = tmp_path / "dists"
    write_tree(dists, FAKE_DIST)
    # A dashed name is not a module name: a configuration error, with the modules to write.
    proj = project(tmp_path, '[tool.lazymed]\nlazy = ["acme-widgets-core"]\n')
    proc = run_check(tmp_path, cwd=proj, paths=(dists,))
    assert proc.returncode == 2 and "configuration error" in proc.stderr
    assert (
        "  hint: 'acme-widgets-core' is the name of the pip distribution acme-widgets-core, not "
        "of a module; it installs the modules 'acme_widgets.core', '_acme_speedups': write "
        "'acme_widgets.core'"
    ) in proc.stderr
    proc = run_check(tmp_path, "--json", cwd=proj, paths=(dists,))
    doc = json.loads(proc.stdout)
    assert doc["hints"] == [
        {
            "name": "acme-widgets-core",
            "distribution": "acme-widgets-core",
            "modules": ["acme_widgets.core", "_acme_speedups"],
            "message": doc["hints"][0]["message"],
        }
    ]
    # The same name spelt as an identifier is a valid name, not found: the same answer.
    proj.joinpath("pyproject.toml").write_text('[tool.lazymed]\nlazy = ["acme_widgets_core"]\n')
    status, doc = check_json(tmp_path, cwd=proj, paths=(dists,))
    assert status == 1
    mod = modules(doc)["acme_widgets_core"]
    assert mod["suggestion"] == "acme_widgets.core"
    assert mod["distribution"] == {
        "name": "acme-widgets-core",
        "modules": ["acme_widgets.core", "_acme_speedups"],
    }
    (problem,) = doc["problems"]
    assert "is the name of the pip distribution acme-widgets-core" in problem["message"]
    assert not (tmp_path / "imported.txt").exists()


def test_a_dashed_name_of_an_uninstalled_distribution_gets_a_spelling_hint(
    tmp_path: Path, site: Path
) -> None:
    proj = project(tmp_path, '[tool.lazymed]\nlazy = ["boom-sub"]\n')
    proc = run_check(tmp_path, cwd=proj, paths=(site,))
    assert proc.returncode == 2
    assert "hint: 'boom-sub' is not a module name" in proc.stderr
    assert "did you mean 'boom.sub'?" in proc.stderr
    assert not (tmp_path / "imported.txt").exists()


def test_runs_early_names_the_line(tmp_path: Path) -> None:
    """A lazy package whose import-time code may change how its submodules are found is
    reported (it would run at `import pkg.sub`), with the file:line; nothing is imported."""
    root = tmp_path / "site"
    write_tree(
        root,
        {
            "earlypkg/__init__.py": "import sys\n\nsys.meta_path.insert(0, None)\n" + BOOM,
            "earlypkg/sub.py": "X = 1\n",
            "quietpkg/__init__.py": "import sys\nsys.modules['unrelated'] = sys\n" + BOOM,
            "quietpkg/sub.py": "X = 1\n",
        },
    )
    proj = project(tmp_path, '[tool.lazymed]\nlazy = ["earlypkg", "quietpkg"]\n')
    _, doc = check_json(tmp_path, cwd=proj, paths=(root,))
    assert problems(doc) == {("warning", "runs-early", "earlypkg")}
    (found,) = [p for p in doc["problems"] if p["code"] == "runs-early"]
    assert f"{root / 'earlypkg' / '__init__.py'}:3: sys.meta_path.insert may" in found["message"]
    assert not (tmp_path / "imported.txt").exists()

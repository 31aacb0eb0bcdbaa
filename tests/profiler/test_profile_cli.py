"""``lazymed profile`` as a command: targets (script, -m, -c, --modules), arguments, the
terminal output (rich and plain), the suggested configuration, exit statuses and errors.

The target must see what plain ``python`` would give it: each fidelity test runs the same probe
plainly and under the profiler and compares what the probe recorded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from _profile_helpers import env_with, module, package, run_cli, run_json, write

PROBE = """
    import json
    import os
    import sys

    record = {
        "argv": sys.argv,
        "name": __name__,
        "path0": sys.path[0],
        "file": globals().get("__file__"),
        "spec": getattr(globals().get("__spec__"), "name", None),
        "main_is_me": sys.modules["__main__"].__dict__ is globals(),
    }
    with open(os.environ["PROBE_OUT"], "w") as f:
        json.dump(record, f)
"""


def _plain_and_profiled(
    tmp_path: Path, plain_args: list[str], profile_args: list[str], cwd: Path
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """What the probe recorded under plain python and under the profiler, and the report."""
    plain_out, prof_out = tmp_path / "plain.json", tmp_path / "profiled.json"
    subprocess.run(
        [sys.executable, *plain_args],
        cwd=cwd,
        env=env_with(extra={"PROBE_OUT": str(plain_out)}),
        check=True,
    )
    cli = [sys.executable, "-m", "lazymed", "profile", "--json", "--no-alloc", "--no-baseline"]
    proc = subprocess.run(
        [*cli, *profile_args],
        cwd=cwd,
        env=env_with(extra={"PROBE_OUT": str(prof_out)}),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    plain = json.loads(plain_out.read_text())
    profiled = json.loads(prof_out.read_text())
    return plain, profiled, json.loads(proc.stdout)


def test_script_sees_what_plain_python_gives_it(tmp_path: Path) -> None:
    app = write(tmp_path / "app", {"probe.py": PROBE, "helper.py": "VALUE = 1\n"})
    (app / "probe.py").write_text(
        (app / "probe.py").read_text() + "import helper\n", encoding="utf-8"
    )
    args = ["app/probe.py", "one", "--two", "-m", "x"]
    plain, profiled, report = _plain_and_profiled(tmp_path, args, args, cwd=tmp_path)
    assert profiled == plain
    assert profiled["argv"] == ["app/probe.py", "one", "--two", "-m", "x"]
    assert profiled["main_is_me"] is True
    assert report["target"] == {
        "kind": "script",
        "value": "app/probe.py",
        "args": ["one", "--two", "-m", "x"],
        "command": "python app/probe.py one --two -m x",
    }
    helper = module(report, "helper")  # found next to the script: sys.path[0] is its directory
    assert helper["imported_at"].endswith("probe.py:16")
    assert helper["chain"] == ["__main__"]


def test_dash_m_sees_what_plain_python_gives_it(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/__init__.py": "", "pkg/__main__.py": PROBE, "pkg/tool.py": PROBE})
    for name in ("pkg.tool", "pkg"):
        args = ["-m", name, "a", "--flag"]
        plain, profiled, report = _plain_and_profiled(tmp_path, args, args, cwd=tmp_path)
        assert profiled == plain
        assert profiled["argv"][1:] == ["a", "--flag"]
        assert profiled["name"] == "__main__"
        assert report["target"]["kind"] == "module"
        assert module(report, "pkg")["chain"] == ["__main__"]


def test_dash_c_sees_what_plain_python_gives_it(tmp_path: Path) -> None:
    write(tmp_path, {"probe_mod.py": PROBE.replace('"__main__"', '"probe_mod"')})
    code = "import probe_mod"
    args = ["-c", code, "x", "-y"]
    plain, profiled, report = _plain_and_profiled(tmp_path, args, args, cwd=tmp_path)
    assert profiled["argv"] == plain["argv"] == ["-c", "x", "-y"]
    assert profiled["path0"] == plain["path0"]
    assert module(report, "probe_mod")["imported_at"] == "<string>:1"


def test_tracer_loads_no_module_the_target_would_not_have(tmp_path: Path) -> None:
    """Modules the tracer itself imported would look free to the target: only built-in ones."""
    code = "import os, sys; open(os.environ['PROBE_OUT'], 'w').write(' '.join(sorted(sys.modules)))"
    plain_out, prof_out = tmp_path / "plain.txt", tmp_path / "prof.txt"
    subprocess.run(
        [sys.executable, "-c", code], env=env_with(extra={"PROBE_OUT": str(plain_out)}), check=True
    )
    subprocess.run(
        [sys.executable, "-m", "lazymed", "profile", "--no-alloc", "--no-baseline", "-c", code],
        env=env_with(extra={"PROBE_OUT": str(prof_out)}),
        check=True,
        capture_output=True,
    )
    extra = set(prof_out.read_text().split()) - set(plain_out.read_text().split())
    assert extra <= set(sys.builtin_module_names), extra


def test_modules_imports_each_in_order(tmp_path: Path) -> None:
    write(tmp_path, {"first.py": "import json\n", "second.py": "import email.parser, decimal\n"})
    report = run_json("--no-baseline", "--modules", "first,second", cwd=tmp_path, paths=[tmp_path])
    assert report["target"]["kind"] == "modules"
    names = [m["name"] for m in report["modules"] if m["parent_id"] is None]
    assert names == ["first", "second"]
    assert module(report, "json")["chain"] == ["<modules>", "first"]
    assert package(report, "email")["kind"] == "stdlib"
    assert package(report, "first")["kind"] == "first-party"
    assert module(report, "_decimal")["c_extension"] is True  # lib-dynload/_decimal*.so
    # _json is lib-dynload/_json*.so in python.org's and pyenv's builds; Debian's compile it into
    # the interpreter (a built-in module: no shared library).
    assert module(report, "_json")["c_extension"] is ("_json" not in sys.builtin_module_names)
    assert module(report, "json")["c_extension"] is False


def test_rich_table_and_plain_fallback(tmp_path: Path) -> None:
    args = ("--no-alloc", "--no-baseline", "--top", "5", "-c", "import json")
    rich = run_cli(*args, cwd=tmp_path)
    assert rich.returncode == 0, rich.stderr
    assert "┃" in rich.stdout and "Top-level packages" in rich.stdout
    # Without rich (an import of it fails, as when the cli extra is not installed): plain text.
    plain = run_cli(*args, cwd=tmp_path, preamble="import sys; sys.modules['rich'] = None")
    assert plain.returncode == 0, plain.stderr
    assert "┃" not in plain.stdout
    assert "Top-level packages by cumulative time" in plain.stdout
    assert "total (top-level imports)" in plain.stdout
    assert "Tracer overhead" in plain.stdout and "[tool.lazymed]" in plain.stdout
    forced = run_cli("--plain", *args, cwd=tmp_path)
    assert "┃" not in forced.stdout and "-------" in forced.stdout


def test_suggestion_names_third_party_imports_with_savings(tmp_path: Path) -> None:
    """A real heavy package (fresh interpreter): flask is suggested, the stdlib never is."""
    write(tmp_path, {"webapp.py": "import json\nimport flask\n"})
    proc = run_cli(
        "--plain", "--no-baseline", "--modules", "webapp", cwd=tmp_path, paths=[tmp_path]
    )
    assert proc.returncode == 0, proc.stderr
    block = proc.stdout[proc.stdout.index("# Suggested by") :]
    table = tomllib.loads(block)["tool"]["lazymed"]
    assert table["lazy"] == ["flask"]
    line = next(line for line in block.splitlines() if '"flask"' in line)
    assert " ms, " in line and "MiB RSS" in line and "MiB allocated" in line and "modules" in line

    report = run_json("--no-baseline", "--modules", "webapp", cwd=tmp_path, paths=[tmp_path])
    (flask_suggestion,) = report["suggestion"]["lazy"]
    flask = module(report, "flask")
    assert flask_suggestion["saves"] == flask["cumulative"]
    assert package(report, "flask")["kind"] == "third-party"
    assert package(report, "werkzeug")["kind"] == "third-party"  # pulled in by flask: not named
    # markupsafe ships a C speed-up module; the extension flag comes from its spec's origin.
    markupsafe = package(report, "markupsafe")
    assert markupsafe["c_extensions"] == ["markupsafe._speedups"]
    assert tomllib.loads(report["suggestion"]["toml"])["tool"]["lazymed"]["lazy"] == ["flask"]


def test_stdlib_is_never_suggested(tmp_path: Path) -> None:
    report = run_json(
        "--no-baseline", "--min-ms", "0", "--min-mib", "0", "-c", "import email.parser, json",
        cwd=tmp_path,
    )  # fmt: skip
    assert report["suggestion"]["lazy"] == []
    assert tomllib.loads(report["suggestion"]["toml"])["tool"]["lazymed"]["lazy"] == []


def test_overhead_is_measured_against_a_plain_run(tmp_path: Path) -> None:
    report = run_json("-c", "import time; time.sleep(0.2)", cwd=tmp_path)
    ov = report["overhead"]
    assert ov["plain_seconds"] >= 0.2 and ov["profiled_seconds"] >= 0.2
    assert ov["alloc_pass_seconds"] >= 0.2
    assert ov["ratio"] == pytest.approx(ov["profiled_seconds"] / ov["plain_seconds"])
    assert ov["runs"] == 1
    assert report["run"]["seconds"] >= 0.2


def test_repeat_alternates_runs(tmp_path: Path) -> None:
    marker = tmp_path / "runs.txt"
    code = f"open({str(marker)!r}, 'a').write('x')"
    report = run_json("--no-alloc", "--repeat", "3", "-c", code, cwd=tmp_path)
    assert marker.read_text() == "x" * 6  # 3 timing passes + 3 plain runs
    assert report["overhead"]["runs"] == 3


# --- exit statuses and errors ---------------------------------------------------------------


def test_target_failure_still_reports_and_exits_1(tmp_path: Path) -> None:
    write(tmp_path, {"boom.py": "import json\nraise RuntimeError('kaput')\n"})
    proc = run_cli("--json", "--no-baseline", "boom.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert "RuntimeError: kaput" in proc.stderr and 'boom.py", line 2' in proc.stderr
    assert "_tracer.py" not in proc.stderr  # the traceback is the target's, not ours
    report = json.loads(proc.stdout)
    assert report["run"]["exit_code"] == 1
    assert report["run"]["exception"] == "RuntimeError: kaput"
    assert module(report, "json")["error"] is None


def test_target_exit_status_is_reported(tmp_path: Path) -> None:
    proc = run_cli("--no-alloc", "--no-baseline", "-c", "import sys; sys.exit(3)", cwd=tmp_path)
    assert proc.returncode == 1
    assert "exit 3" in proc.stdout and "exited with status 3" in proc.stderr


def test_failed_import_is_recorded(tmp_path: Path) -> None:
    code = "try:\n    import no_such_module_xyz\nexcept ImportError:\n    pass"
    report = run_json("--no-baseline", "-c", code, cwd=tmp_path)
    failed = module(report, "no_such_module_xyz")
    assert failed["error"] == "ModuleNotFoundError"
    assert package(report, "no_such_module_xyz")["failed"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "no target"),
        (("missing_script.py",), "can't open file 'missing_script.py'"),
        (("-m", "no_such_module_xyz"), "no module named 'no_such_module_xyz'"),
        (("-m", "json.no_such_sub"), "no module named 'json.no_such_sub'"),
        (("--modules", "no_such_module_xyz"), "no module named 'no_such_module_xyz'"),
        (("--modules", "json,no_such_module_xyz"), "no module named 'no_such_module_xyz'"),
        (("--modules", "not a name"), "not a module name"),
        (("--modules", ","), "at least one module"),
        (("-m",), "-m needs a module name"),
        (("--modules", "json", "-c", "pass"), "one target only"),
        (("--top", "0", "-c", "pass"), "--top must be at least 1"),
        (("--python", "/nonexistent/python", "-c", "pass"), "cannot run /nonexistent/python"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    proc = run_cli("--no-alloc", "--no-baseline", *args, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert message in proc.stderr


def test_bad_option_is_an_argparse_usage_error(tmp_path: Path) -> None:
    proc = run_cli("--sort", "bogus", "-c", "pass", cwd=tmp_path)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_os_exit_leaves_no_report(tmp_path: Path) -> None:
    proc = run_cli("--no-alloc", "--no-baseline", "-c", "import os; os._exit(4)", cwd=tmp_path)
    assert proc.returncode == 1
    assert "status 4 before the tracer could write its report" in proc.stderr


def test_report_includes_lazymed_status_of_the_target(tmp_path: Path) -> None:
    """A target that installs lazymed: the deferred load shows up as status() reports it."""
    write(
        tmp_path,
        {
            "lazy_app.py": """
                import lazymed

                lazymed.install(lazy=["email"])
                import email.parser

                email.parser.Parser()
            """
        },
    )
    report = run_json("--no-baseline", "lazy_app.py", cwd=tmp_path)
    status = {m["name"]: m for m in report["lazymed_status"]}
    parser = status["email.parser"]
    assert parser["role"] == "lazy" and parser["state"] == "loaded"
    assert parser["imported_at"].endswith("lazy_app.py:5")
    assert parser["first_used_at"].endswith("lazy_app.py:7")
    assert parser["load_seconds"] > 0
    plain = run_cli("--plain", "--no-alloc", "--no-baseline", "lazy_app.py", cwd=tmp_path)
    assert "Registered with lazymed" in plain.stdout and "lazy_app.py:7" in plain.stdout


def test_help_does_not_load_the_profiler(tmp_path: Path) -> None:
    code = (
        "import runpy, sys\n"
        "sys.argv = ['lazymed', 'profile', '--help']\n"
        "try:\n    runpy.run_module('lazymed', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('LOADED' if 'lazymed.profiler' in sys.modules else 'NOT LOADED')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env_with(), capture_output=True, text=True, check=True
    )
    assert "-m module [arg ...]" in proc.stdout and "--modules A,B,C" in proc.stdout
    assert proc.stdout.rstrip().endswith("NOT LOADED")


def test_sort_choices_match_the_tables() -> None:
    from lazymed.cli.profile import SORT_CHOICES
    from lazymed.profiler._table import SORT_KEYS

    assert sorted(SORT_CHOICES) == sorted(SORT_KEYS)

"""What ``lazymed profile`` suggests for a program that already uses lazymed or serves requests.

Fixture "third-party" packages live in a ``site-packages`` directory (so the profiler classes
them as third-party); each heavy one allocates 3 MiB at import. The program (a script or a
module run with ``--modules``) has a ``[tool.lazymed]`` table with ``lazy = ["fakelazy"]``.
Thresholds are set to zero, so the tests see *which* imports are eligible, not how costly
they are: a suggestion must be a start-up import made by the program's own code, never a
dependency of a lazy package loading, a run-time import, or a name already configured.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from _profile_helpers import env_with, module, run_cli, run_json, write

HEAVY = "X = bytearray(3 << 20)\n"
SITE = {
    "fakeserver/__init__.py": "def serve(handler):\n    return handler()\n",
    "fakehttp/__init__.py": "def request():\n    import fakecore\n    return fakecore.X\n",
    "fakecore/__init__.py": HEAVY,
    "fakeheavy/__init__.py": HEAVY,
    "fakeeager/__init__.py": HEAVY,
    "fakedep/__init__.py": HEAVY,
    "fakelazy/__init__.py": "import fakedep\nfrom fakelazy import sub\nVALUE = 1\n",
    "fakelazy/sub.py": HEAVY,
}
APP = """
    import lazymed

    lazymed.install()
    import fakelazy
    import fakeeager
    import fakeserver
    import fakehttp

    fakelazy.VALUE  # first use at start-up: fakelazy runs now, outside any import


    def handler():
        fakehttp.request()  # fakehttp imports fakecore inside one of its functions
        import fakeheavy  # the program's own code, but called back by the "server": run time

        return fakeheavy


    fakeserver.serve(handler)
"""
ZERO = ("--min-ms", "0", "--min-mib", "0")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("suggest")
    site = write(root / "site-packages", SITE)
    proj = write(
        root / "proj",
        {
            "pyproject.toml": '[tool.lazymed]\nlazy = ["fakelazy"]\n',
            "app.py": APP,
            "plainapp.py": "import fakelazy\nimport fakeeager\nfakelazy.VALUE\n",
        },
    )
    return site, proj


def names(report: dict[str, Any]) -> list[str]:
    return [s["name"] for s in report["suggestion"]["lazy"]]


def test_run_time_imports_are_not_suggested_and_keep_their_real_importer(
    tree: tuple[Path, Path],
) -> None:
    site, proj = tree
    report = run_json("--no-baseline", *ZERO, "app.py", cwd=proj, paths=[site])
    core = module(report, "fakecore")
    assert core["importer"] == "fakehttp" and core["at_startup"] is False
    assert core["chain"] == ["__main__", "fakehttp"]
    assert core["imported_by"] == "fakehttp"
    heavy = module(report, "fakeheavy")
    assert heavy["importer"] == "__main__" and heavy["at_startup"] is False
    eager = module(report, "fakeeager")
    assert eager["chain"] == ["__main__"] and eager["at_startup"] is True
    assert "fakecore" not in names(report) and "fakeheavy" not in names(report)
    assert "fakeeager" in names(report)


def test_lazy_packages_and_what_their_load_imports_are_not_suggested(
    tree: tuple[Path, Path],
) -> None:
    site, proj = tree
    report = run_json("--no-baseline", *ZERO, "app.py", cwd=proj, paths=[site])
    # fakelazy ran at start-up (first use at module level) outside any import: its submodule
    # and its dependency are credited to it, not to the program.
    assert module(report, "fakelazy.sub")["chain"] == ["__main__", "fakelazy"]
    assert module(report, "fakedep")["importer"] == "fakelazy"
    assert module(report, "fakedep")["at_startup"] is True
    suggested = set(names(report))
    assert suggested.isdisjoint({"fakelazy", "fakelazy.sub", "fakedep"})
    assert suggested == {"fakeeager", "fakehttp"}
    # `fakeserver.serve(handler)` runs at module level: deferring fakeserver saves nothing.
    dropped = {s["name"]: s["used_at_import"] for s in report["suggestion"]["not_suggested"]}
    line = APP.splitlines().index("    fakeserver.serve(handler)") + 1  # 1-based
    assert dropped == {"fakeserver": [f"{proj / 'app.py'}:{line} (module-level)"]}


def test_suggestion_is_merged_with_the_configuration_the_target_runs(
    tree: tuple[Path, Path],
) -> None:
    site, proj = tree
    config = str(proj / "pyproject.toml")
    report = run_json("--no-baseline", *ZERO, "app.py", cwd=proj, paths=[site])
    suggestion = report["suggestion"]
    assert suggestion["existing"] == {
        "installed": True,
        "path": config,
        "profile": None,
        "lazy": ["fakelazy"],
        "critical": [],
        "disabled_modules": [],
        "lazy_source": f"{config} [tool.lazymed]",
        "from_import": "eager",
    }
    assert suggestion["merged_lazy"] == ["fakelazy", *names(report)]
    toml = suggestion["toml"]
    assert "[tool.lazymed]" not in toml.replace(f"{config} [tool.lazymed]", "")
    assert tomllib.loads(toml) == {"lazy": suggestion["merged_lazy"]}
    comments = " ".join(line[2:] for line in toml.splitlines() if line.startswith("# "))
    assert "Merged with the configuration lazymed ran with in the target" in comments
    assert f"replace `lazy = [...]` in {config} [tool.lazymed] with it" in comments
    assert '"fakelazy",  # configured' in toml or '"fakelazy",   # configured' in toml
    assert all(
        "# new: " in line
        for line in toml.splitlines()
        if '"fake' in line and "fakelazy" not in line and not line.startswith("#")
    )
    assert '# Not suggested: "fakeserver"' in toml
    # The plain terminal report prints the same block (figures and order may vary by run).
    proc = run_cli("--plain", "--no-baseline", *ZERO, "app.py", cwd=proj, paths=[site])
    assert proc.returncode == 0, proc.stderr
    printed = tomllib.loads(proc.stdout[proc.stdout.index("# Suggested by") :])
    assert printed["lazy"][0] == "fakelazy"
    assert sorted(printed["lazy"]) == sorted(suggestion["merged_lazy"])


def test_configuration_is_read_when_the_target_does_not_install_lazymed(
    tree: tuple[Path, Path],
) -> None:
    site, proj = tree
    report = run_json("--no-baseline", *ZERO, "--modules", "plainapp", cwd=proj, paths=[site, proj])
    existing = report["suggestion"]["existing"]
    assert existing["installed"] is False and existing["lazy"] == ["fakelazy"]
    assert existing["path"] == str(proj / "pyproject.toml")
    # fakelazy loaded eagerly (no install()), with its dependencies: neither is suggested.
    assert names(report) == ["fakeeager"]
    assert report["suggestion"]["merged_lazy"] == ["fakelazy", "fakeeager"]
    assert "did not run lazymed.install()" in report["suggestion"]["toml"].replace("\n# ", " ")


def test_real_lazy_supabase_loaded_at_startup_suggests_none_of_its_dependencies(
    tmp_path: Path,
) -> None:
    """The reported case: a lazy supabase used at start-up pulled postgrest, supabase_auth,
    httpx... into the suggestion as if the program imported them."""
    write(
        tmp_path,
        {
            "app.py": """
                import lazymed

                lazymed.install(lazy=["supabase"])
                import supabase
                import json

                supabase.create_client  # loads supabase and its dependencies, outside imports
            """
        },
    )
    report = run_json("--no-baseline", "--no-alloc", *ZERO, "app.py", cwd=tmp_path)
    assert module(report, "postgrest")["importer"].startswith("supabase")
    assert names(report) == []
    suggestion = report["suggestion"]
    assert suggestion["existing"]["lazy_source"] == "install() keyword"
    assert suggestion["merged_lazy"] == ["supabase"]
    assert "pass it as install(lazy=[...])" in suggestion["toml"].replace("\n# ", " ")


# --- Ctrl-C ---------------------------------------------------------------------------------

SERVER = """
    import email.parser
    import json
    import os
    import time

    open(os.environ["READY"], "a").close()
    while True:
        time.sleep(0.05)
"""


def _interrupt(tmp_path: Path, *args: str, group: bool) -> subprocess.CompletedProcess[str]:
    """Profile a "server" that never ends and press Ctrl-C once it is up: SIGINT to the whole
    process group (as a terminal does) or to the profiler alone."""
    write(tmp_path, {"server.py": SERVER})
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lazymed", "profile", *args, "server.py"],
        cwd=tmp_path,
        env=env_with(extra={"READY": str(ready)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        if group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("group", [True, False], ids=["terminal", "profiler-only"])
def test_ctrl_c_prints_what_was_traced(tmp_path: Path, group: bool) -> None:
    proc = _interrupt(tmp_path, "--plain", "--no-alloc", "--no-baseline", group=group)
    assert proc.returncode == 130, proc.stderr
    assert "email.parser" in proc.stdout and "Top-level packages" in proc.stdout
    assert "warning: interrupted (Ctrl-C)" in proc.stdout
    assert "(no plain run: interrupted)" in proc.stdout
    assert "interrupted (Ctrl-C): the report covers" in proc.stderr
    assert "error: interrupted" not in proc.stderr


def test_ctrl_c_during_the_allocation_pass_reports_from_it(tmp_path: Path) -> None:
    proc = _interrupt(tmp_path, "--json", group=True)
    assert proc.returncode == 130, proc.stderr
    import json

    report = json.loads(proc.stdout)
    assert report["run"]["interrupted"] is True
    assert report["run"]["exception"] == "KeyboardInterrupt"
    parser = module(report, "email.parser")
    assert parser["cumulative"]["alloc_bytes"] > 0  # the allocation pass's figures
    assert any("during the allocation pass" in w for w in report["warnings"])

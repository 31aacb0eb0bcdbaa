"""Defect #9: ``profile`` must not suggest a lazy name that the importing code uses at import time
(``scan`` would then report that use and the name would load at start-up anyway).

Each suggestion is checked with the scan library on the files that import it; the oracle for
"saves nothing" is a real run: with the name made lazy, ``lazymed.status()`` shows it loaded at
start-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _profile_helpers import REPO, env_with, run_cli, run_json, write

from lazymed.scan import scan_source

HEAVY = "X = bytearray(3 << 20)\nclass Thing:\n    pass\n"
SITE = {f"{name}/__init__.py": HEAVY for name in ("usedpkg", "fnpkg", "frompkg", "helperpkg")}
APP = """\
import usedpkg
import fnpkg
from frompkg import Thing
import helperpkg

THING = usedpkg.Thing()  # module level: usedpkg loads at start-up whatever the config


def later():
    return fnpkg.Thing(), Thing()


def setup():
    return helperpkg.Thing()


SETUP = setup()  # a function called at import time uses helperpkg
"""
ZERO = ("--min-ms", "0", "--min-mib", "0")


def _report(site: Path, proj: Path) -> dict[str, Any]:
    return run_json(*ZERO, "--no-baseline", "--no-alloc", "app.py", cwd=proj, paths=[site])


def _split(report: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
    kept = [s["name"] for s in report["suggestion"]["lazy"]]
    dropped = {s["name"]: s["used_at_import"] for s in report["suggestion"]["not_suggested"]}
    return kept, dropped


def test_names_used_at_import_time_are_not_suggested(tmp_path: Path) -> None:
    site = write(tmp_path / "site-packages", SITE)
    proj = write(tmp_path / "proj", {"app.py": APP, "pyproject.toml": "[tool.lazymed]\n"})
    report = _report(site, proj)
    kept, dropped = _split(report)
    app = str(proj / "app.py")
    assert kept == ["fnpkg"]
    assert dropped == {
        "usedpkg": [f"{app}:6 (module-level)"],
        "frompkg": [f"{app}:3 (from-import)"],  # from_import = "eager" (the default)
        "helperpkg": [f"{app}:14 (import-time-call)"],
    }
    assert report["suggestion"]["merged_lazy"] == ["fnpkg"]
    toml = report["suggestion"]["toml"]
    assert '"fnpkg",' in toml and '"usedpkg",' not in toml
    flat = " ".join(line.lstrip("# ") for line in toml.splitlines())
    assert 'Not suggested: "usedpkg"' in flat
    assert "would save nothing: used at import time in app.py:6 (module-level)" in flat
    # The same places as `lazymed scan` finds with each name lazy.
    findings = scan_source(app, (proj / "app.py").read_bytes(), ["usedpkg", "frompkg", "helperpkg"])
    assert sorted(f"{f.path}:{f.line} ({f.kind})" for f in findings) == sorted(
        p for places in dropped.values() for p in places
    )


def test_deferred_from_imports_are_judged_by_their_use(tmp_path: Path) -> None:
    site = write(tmp_path / "site-packages", SITE)
    proj = write(
        tmp_path / "proj",
        {"app.py": APP, "pyproject.toml": '[tool.lazymed]\nfrom_import = "deferred"\n'},
    )
    kept, dropped = _split(_report(site, proj))
    assert sorted(kept) == ["fnpkg", "frompkg"]  # `Thing` is used inside a function only
    assert set(dropped) == {"usedpkg", "helperpkg"}


def test_text_report_says_why(tmp_path: Path) -> None:
    site = write(tmp_path / "site-packages", SITE)
    proj = write(tmp_path / "proj", {"app.py": APP, "pyproject.toml": "[tool.lazymed]\n"})
    args = ("--plain", *ZERO, "--no-baseline", "--no-alloc", "app.py")
    proc = run_cli(*args, cwd=proj, paths=[site])
    assert proc.returncode == 0, proc.stderr
    text = " ".join(line.lstrip("# ") for line in proc.stdout.splitlines())
    assert 'Not suggested: "usedpkg"' in text
    assert "used at import time in app.py:6 (module-level)" in text


def test_the_issue_case_with_real_flask(tmp_path: Path) -> None:
    """`app = flask.Flask(__name__)` at module level: flask is not suggested; the oracle is a
    real run with lazy = ["flask"], where status() shows flask loaded during start-up."""
    pytest.importorskip("flask")
    app = "import flask\n\napp = flask.Flask(__name__)\n"
    proj = write(tmp_path, {"app.py": app, "pyproject.toml": "[tool.lazymed]\n"})
    kept, dropped = _split(_report(REPO, proj))
    assert "flask" not in kept
    assert dropped["flask"] == [f"{proj / 'app.py'}:3 (module-level)"]
    code = (
        "import json, sys, lazymed; lazymed.install(lazy=['flask']); "
        "sys.path.insert(0, '.'); import app; "
        "print(json.dumps(lazymed.status().module('flask').state))"
    )
    state = subprocess.run(
        [sys.executable, "-c", code],
        cwd=proj,
        env=env_with(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert json.loads(state) == "loaded"  # deferring it saved nothing

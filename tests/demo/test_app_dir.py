"""Where ``lazymed demo`` finds the medical app: ``--app-dir``, ``$LAZYMED_DEMO_APP``, the working
directory, the source checkout, and from an installed wheel (no checkout beside the package)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lazymed.demo import DemoSetupError, find_app_dir

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "examples" / "medical_app"
PIP = (sys.executable, "-m", "pip", "install", "--quiet", "--no-deps")


def test_explicit_then_environment_then_working_directory(tmp_path: Path) -> None:
    assert find_app_dir(APP, environ={}, cwd=tmp_path) == APP
    assert find_app_dir(environ={"LAZYMED_DEMO_APP": str(APP)}, cwd=tmp_path) == APP
    assert find_app_dir(environ={}, cwd=REPO) == APP  # ./examples/medical_app
    assert find_app_dir(environ={}, cwd=APP) == APP  # the app directory itself
    # An explicit path wins over the environment, and a wrong one is an error, not skipped.
    with pytest.raises(DemoSetupError, match=r"--app-dir .* is not the medical app"):
        find_app_dir(tmp_path, environ={"LAZYMED_DEMO_APP": str(APP)}, cwd=REPO)
    with pytest.raises(DemoSetupError, match=r"\$LAZYMED_DEMO_APP .* is not the medical app"):
        find_app_dir(environ={"LAZYMED_DEMO_APP": str(tmp_path)}, cwd=REPO)


def test_source_checkout_is_found_from_anywhere(tmp_path: Path) -> None:
    # This lazymed runs from the checkout: examples/ beside the package.
    assert find_app_dir(environ={}, cwd=tmp_path) == APP


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lazymed installed from a wheel built from this tree, in a directory of its own."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    shutil.copytree(
        REPO, source, ignore=shutil.ignore_patterns(".git", ".tox", "*.egg-info", "build")
    )
    target = root / "site"
    done = subprocess.run(
        [*PIP, "--no-build-isolation", "--target", str(target), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (target / "lazymed" / "demo" / "__init__.py").is_file()
    assert not (target / "examples").exists()  # the app is not in the wheel
    return target


def _from_wheel(site: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    environ.update(PYTHONPATH=str(site), **env)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=300
    )


def test_installed_wheel_without_the_app_says_how_to_get_it(
    installed: Path, tmp_path: Path
) -> None:
    done = _from_wheel(installed, tmp_path, "-m", "lazymed", "demo", "--quiet")
    assert done.returncode == 2, done.stderr
    assert "medical app not found" in done.stderr
    assert "ships with lazymed's source, not with the wheel" in done.stderr
    assert "--app-dir" in done.stderr and "LAZYMED_DEMO_APP" in done.stderr


def test_installed_wheel_runs_the_app_named_by_the_environment(
    installed: Path, tmp_path: Path
) -> None:
    code = (
        "import lazymed, lazymed.demo as d; "
        "run = d.measure_run(d.find_app_dir(), 'lazy', warm_requests=1); "
        "print(lazymed.__file__); print(run.responses.rag_top_note, run.phases['startup'].agree)"
    )
    done = _from_wheel(installed, tmp_path, "-c", code, LAZYMED_DEMO_APP=str(APP))
    assert done.returncode == 0, done.stderr[-4000:]
    where, result = done.stdout.strip().splitlines()[-2:]
    assert where.startswith(str(installed))  # the wheel's lazymed, not the checkout's
    assert result == "note-010 True"

"""``backend`` and ``deep`` (PEP 810, Python 3.15+): validation, the version guard, "auto", and
that the finder path imports nothing new."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest
from conftest import Packages, run_python

import lazymed
from lazymed import ConfigError, LazymedWarning

from ._util import write_pyproject

PEP810 = hasattr(sys, "set_lazy_imports_filter")
VERSION = sys.version.split()[0]
before_315 = pytest.mark.skipif(PEP810, reason="checks the guard on Pythons without PEP 810")


@before_315
def test_native_before_315_is_a_config_error_naming_key_and_version(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["x_lm"]\nbackend = "native"\n')
    with pytest.raises(ConfigError) as info:
        lazymed.install(config=path)
    message = str(info.value)
    assert "backend = 'native'" in message and str(path) in message
    assert f"Python {VERSION}" in message and "3.15" in message
    assert not lazymed.status().installed  # nothing half-installed


@before_315
def test_native_keyword_before_315_names_the_keyword() -> None:
    with pytest.raises(ConfigError, match=r"backend = 'native' \(from .*keyword"):
        lazymed.install(lazy=["x_lm"], backend="native")


@before_315
def test_auto_falls_back_to_the_finder(pkgs: Packages) -> None:
    pkgs.module("auto_lm", "X = 1\n")
    lazymed.install(lazy=["auto_lm"], backend="auto")
    import auto_lm

    assert lazymed.status().backend == "finder"
    assert pkgs.runs == []
    assert auto_lm.X == 1


@before_315
def test_deep_with_auto_before_315_warns_that_it_is_ignored() -> None:
    with pytest.warns(LazymedWarning, match=r"deep .* ignored.*3\.15") as caught:
        lazymed.install(lazy=["deep_lm"], backend="auto", deep=["deep_lm"])
    assert lazymed.status().backend == "finder"
    assert caught[0].filename == __file__  # attributed to the install() call, not to lazymed


def test_deep_with_the_finder_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"deep \(from .*\) needs backend = 'native'"):
        lazymed.install(lazy=["deep_lm"], deep=["deep_lm"])


def test_deep_must_name_a_registered_lazy_package() -> None:
    with pytest.raises(ConfigError, match=r"deep = \['other_lm'\].*not registered lazy"):
        lazymed.install(lazy=["deep_lm"], backend="auto", deep=["other_lm"])


def test_deep_may_name_a_subpackage_of_a_lazy_package() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LazymedWarning)  # auto falls back before 3.15
        lazymed.install(lazy=["deep_lm"], backend="auto", deep=["deep_lm.core"])
    assert lazymed.status().installed


def test_unknown_backend_is_a_config_error_with_the_choices(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed]\nbackend = "pep810"\n')
    with pytest.raises(ConfigError) as info:
        lazymed.install(config=path)
    message = str(info.value)
    assert "backend" in message and "'finder'" in message and "'native'" in message
    assert str(path) in message


def test_backend_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["x_lm"]\n')
    monkeypatch.setenv("LAZYMED_BACKEND", "auto")
    lazymed.install(config=path)
    # "auto" without deep or -X lazy_imports=all is the finder, on every version.
    assert lazymed.status().backend == "finder"
    assert lazymed.status().module("x_lm").role == "lazy"


def test_finder_path_imports_no_pep810_code(tmp_path: Path) -> None:
    """``import lazymed; lazymed.install()`` with the default backend imports no PEP 810 code,
    on any version (on 3.15 its filter imports lazymed._native at the first deferral of a
    registered name only)."""
    write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["x_lm"]\nbackend = "auto"\n')
    proc = run_python(
        "import json, sys, lazymed\nlazymed.install()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('lazymed'))))\n",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "lazymed._native" not in loaded

"""One version number, in one place: ``lazymed.__version__``."""

from __future__ import annotations

import ast
import tomllib

import pytest
from conftest import ROOT

import lazymed


def test_pyproject_takes_the_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "lazymed.__version__"}


def test_version_is_a_literal_setuptools_can_read_without_importing() -> None:
    tree = ast.parse((ROOT / "lazymed" / "__init__.py").read_text())
    literals = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["__version__"]
        and isinstance(node.value, ast.Constant)
    ]
    assert literals == [lazymed.__version__]


def test_setuptools_reads_the_same_version() -> None:
    # the build backend (a build-time tool, absent from bare interpreters such as the 3.14/3.15
    # chroot runs): the other two tests check the same contract without it
    pyprojecttoml = pytest.importorskip("setuptools.config.pyprojecttoml")
    read_configuration = pyprojecttoml.read_configuration

    config = read_configuration(ROOT / "pyproject.toml", expand=True)
    assert config["project"]["version"] == lazymed.__version__

"""Attribute probes tools make on every object (issue 11, defect 5).

pytest collects a test file by reading ``_mock_name``, ``__wrapped__``, ``__test__``,
``__bases__`` (pytest 9) or ``_pytestfixturefunction`` (pytest 8) from each of its globals. A lazy
module imported at the top of a test file must not load for that, and must answer exactly what the
loaded module would answer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Packages

import lazymed

PROBES = ["_mock_name", "__wrapped__", "_pytestfixturefunction", "__test__", "__bases__"]


def _state(name: str) -> str:
    return {m.name: m.state for m in lazymed.status().modules}[name]


@pytest.mark.parametrize("probe", PROBES)
def test_probe_answered_without_loading(pkgs: Packages, probe: str) -> None:
    pkgs.module("tp_heavy", "X = 1\n")
    pkgs.module("tp_pkg", "Y = 2\n", package=True)
    pkgs.module("tp_pkg.sub", "Z = 3\n")
    lazymed.install(lazy=["tp_heavy", "tp_pkg"])
    import tp_heavy
    import tp_pkg

    assert getattr(tp_heavy, probe, "absent") == "absent"
    assert not hasattr(tp_pkg, probe)
    assert pkgs.runs == []
    assert _state("tp_heavy") == "lazy"
    assert tp_heavy.X == 1  # and a real use still loads


@pytest.mark.parametrize(
    "body",
    [
        "_mock_name = 'bound by the module'\n",
        "globals()['_mock' + '_name'] = 'computed'  # the name in a comment: _mock_name\n",
        "def __getattr__(name):\n    return 'from __getattr__'\n",
        "from tp_star_src import *\n",
    ],
    ids=["assigned", "computed", "module-getattr", "star-import"],
)
def test_probe_loads_when_the_source_may_bind_the_name(pkgs: Packages, body: str) -> None:
    pkgs.module("tp_star_src", "__all__ = ['_mock_name']\n_mock_name = 'from a star import'\n")
    pkgs.module("tp_binds", body)
    lazymed.install(lazy=["tp_binds"])
    import tp_binds

    value = getattr(tp_binds, "_mock_name", "absent")
    assert value != "absent"  # what the loaded module answers, as eager import would
    assert "tp_binds" in pkgs.runs


def test_probe_loads_when_another_file_of_the_package_binds_it(pkgs: Packages) -> None:
    pkgs.module("tp_pkg2", "from . import _setup\n", package=True)
    pkgs.module("tp_pkg2._setup", "import sys\nsys.modules[__package__].__test__ = False\n")
    lazymed.install(lazy=["tp_pkg2"])
    import tp_pkg2

    assert getattr(tp_pkg2, "__test__", "absent") is False


def test_probe_loads_for_a_submodule_of_that_name(pkgs: Packages) -> None:
    pkgs.module("tp_pkg3", "from . import _mock_name\n", package=True)
    pkgs.module("tp_pkg3._mock_name", "")
    lazymed.install(lazy=["tp_pkg3"])
    import tp_pkg3

    assert getattr(tp_pkg3, "_mock_name", None) is not None


def test_attribute_syntax_is_a_use(pkgs: Packages) -> None:
    pkgs.module("tp_use", "X = 1\n")
    lazymed.install(lazy=["tp_use"])
    import tp_use

    with pytest.raises(AttributeError):
        tp_use._mock_name  # written in code: a real use, which loads
    assert "tp_use" in pkgs.runs


def test_pytest_collection_loads_no_lazy_module(tmp_path: Path) -> None:
    """A real pytest run (the version these tests run with) in a fresh interpreter."""
    (tmp_path / "tp_collected").mkdir()
    (tmp_path / "tp_collected" / "__init__.py").write_text(
        "import os\nopen(os.environ['TP_MARKER'], 'w').close()\nVALUE = 42\n"
    )
    (tmp_path / "tp_plain.py").write_text(
        "import os\nopen(os.environ['TP_MARKER'] + '.plain', 'w').close()\n"
    )
    (tmp_path / "conftest.py").write_text(
        "import lazymed\nlazymed.install(lazy=['tp_collected', 'tp_plain'])\n"
    )
    (tmp_path / "test_uses.py").write_text(
        "import tp_collected\nimport tp_plain\n\ndef test_nothing():\n    pass\n"
    )
    marker = tmp_path / "loaded"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    env["TP_MARKER"] = str(marker)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(Path(__file__).parents[2])])
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    assert not marker.exists(), "pytest collection loaded tp_collected"
    assert not Path(str(marker) + ".plain").exists(), "pytest collection loaded tp_plain"


def test_the_probe_lists_agree() -> None:
    from lazymed import _module, _tool_probes

    assert _module._PROBES == _tool_probes.PROBES

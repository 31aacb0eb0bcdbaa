"""Imports whose failure the importing code handles stay eager (issue 11, defect 2).

Oracle: eager CPython takes the ``except ImportError`` branch at the statement when the package
(or something it imports) fails; lazymed must do the same, not bind a lazy module that fails later.
"""

from __future__ import annotations

import pytest
from conftest import Packages

import lazymed

BROKEN = "import lm_missing_dependency_xyz\nX = 1\n"


def _state(name: str) -> str:
    return {m.name: m.state for m in lazymed.status().modules}[name]


@pytest.mark.parametrize(
    "handler",
    [
        "except ImportError:",
        "except ModuleNotFoundError:",
        "except (KeyError, ImportError):",
        "except Exception:",
        "except BaseException:",
        "except:",
        "except ImportError as exc:",
    ],
)
def test_failing_import_in_try_takes_the_fallback(pkgs: Packages, handler: str) -> None:
    pkgs.module("gd_optdep", BROKEN)
    pkgs.module(
        "gd_user",
        f"try:\n    import gd_optdep\n    HAVE = True\n{handler}\n    HAVE = False\n",
    )
    lazymed.install(lazy=["gd_optdep"])
    import gd_user

    assert gd_user.HAVE is False  # as eager CPython: the fallback ran
    record = lazymed.status().module("gd_optdep")
    assert record.state == "failed"
    assert record.error is not None and "lm_missing_dependency_xyz" in record.error


def test_working_import_in_try_runs_at_the_statement_and_says_why(pkgs: Packages) -> None:
    pkgs.module("gd_ok", "X = 1\n")
    pkgs.module("gd_user2", "try:\n    import gd_ok\nexcept ImportError:\n    gd_ok = None\n")
    lazymed.install(lazy=["gd_ok"])
    import gd_user2

    assert "gd_ok" in pkgs.runs  # ran at the import statement
    assert _state("gd_ok") == "loaded"
    record = {m.name: m for m in lazymed.status().modules}["gd_ok"]
    assert record.early_reason is not None
    assert "handler of ImportError" in record.early_reason
    assert "gd_user2.py:3" in record.early_reason  # the `try:` (after the 2-line run header)
    assert record.first_used_at == record.imported_at  # the import statement ran it
    assert record.imported_at is not None and record.imported_at.endswith("gd_user2.py:4")
    assert gd_user2.gd_ok.X == 1


@pytest.mark.parametrize(
    "source",
    [
        "try:\n    import gd_lazy\nexcept KeyError:\n    pass\n",
        "try:\n    import gd_lazy\nfinally:\n    pass\n",
        "import warnings\nwith warnings.catch_warnings():\n    import gd_lazy\n",
        "try:\n    pass\nexcept ImportError:\n    pass\nimport gd_lazy\n",
        "try:\n    raise ImportError\nexcept ImportError:\n    import gd_lazy\n",
        "try:\n    pass\nexcept ImportError:\n    pass\nelse:\n    import gd_lazy\n",
        "def f():\n    import gd_lazy\n    return gd_lazy\ntry:\n    m = f()\nexcept ImportError:\n"
        "    m = None\n",
    ],
    ids=["except-keyerror", "finally", "with-block", "after-try", "in-handler", "in-else", "call"],
)
def test_imports_not_guarded_by_an_import_error_handler_stay_lazy(
    pkgs: Packages, source: str
) -> None:
    pkgs.module("gd_lazy", "X = 1\n")
    pkgs.module("gd_user3", source)
    lazymed.install(lazy=["gd_lazy"])
    import gd_user3  # noqa: F401

    assert "gd_lazy" not in pkgs.runs
    assert _state("gd_lazy") == "lazy"


def test_import_error_handler_inside_a_function(pkgs: Packages) -> None:
    pkgs.module("gd_optdep2", BROKEN)
    pkgs.module(
        "gd_user4",
        "def probe():\n    try:\n        import gd_optdep2\n    except ImportError:\n"
        "        return False\n    return True\nHAVE = probe()\n",
    )
    lazymed.install(lazy=["gd_optdep2"])
    import gd_user4

    assert gd_user4.HAVE is False


def test_nested_try_outer_handler_catches(pkgs: Packages) -> None:
    pkgs.module("gd_optdep3", BROKEN)
    pkgs.module(
        "gd_user5",
        "try:\n    try:\n        import gd_optdep3\n    except KeyError:\n        pass\n"
        "    HAVE = True\nexcept ImportError:\n    HAVE = False\n",
    )
    lazymed.install(lazy=["gd_optdep3"])
    import gd_user5

    assert gd_user5.HAVE is False


def test_contextlib_suppress_import_error(pkgs: Packages) -> None:
    pkgs.module("gd_optdep4", BROKEN)
    pkgs.module(
        "gd_user6",
        "import contextlib\ngd_optdep4 = None\nwith contextlib.suppress(ImportError):\n"
        "    import gd_optdep4\n",
    )
    lazymed.install(lazy=["gd_optdep4"])
    import gd_user6

    assert gd_user6.gd_optdep4 is None


def test_import_module_call_in_try(pkgs: Packages) -> None:
    pkgs.module("gd_optdep5", BROKEN)
    pkgs.module(
        "gd_user7",
        "import importlib\ntry:\n    M = importlib.import_module('gd_optdep5')\n"
        "except ImportError:\n    M = None\n",
    )
    lazymed.install(lazy=["gd_optdep5"])
    import gd_user7

    assert gd_user7.M is None


def test_unresolvable_handler_name_keeps_the_import_eager(pkgs: Packages) -> None:
    """``except errors.Missing`` cannot be resolved without running code: the eager answer."""
    pkgs.module("gd_ok2", "X = 1\n")
    pkgs.module(
        "gd_user8",
        "try:\n    import gd_ok2\nexcept NotYetDefined:\n    pass\n",
    )
    lazymed.install(lazy=["gd_ok2"])
    import gd_user8  # noqa: F401

    assert "gd_ok2" in pkgs.runs


def test_from_import_in_try(pkgs: Packages) -> None:
    pkgs.module("gd_optdep6", BROKEN)
    pkgs.module(
        "gd_user9",
        "try:\n    from gd_optdep6 import X\nexcept ImportError:\n    X = None\n",
    )
    lazymed.install(lazy=["gd_optdep6"])
    import gd_user9

    assert gd_user9.X is None


def test_suppress_object_made_before_the_with(pkgs: Packages) -> None:
    pkgs.module("gd_optdep7", BROKEN)
    pkgs.module(
        "gd_user10",
        "import contextlib\nsup = contextlib.suppress(ModuleNotFoundError)\nREACHED = False\n"
        "with sup:\n    import gd_optdep7\n    REACHED = True\n",
    )
    lazymed.install(lazy=["gd_optdep7"])
    import gd_user10

    assert gd_user10.REACHED is False  # as eager: the failure was suppressed at the statement

"""The interpreter seam (lazymed/_cpython.py): versions, names, fail-closed install()."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from conftest import run_python

import lazymed
from lazymed import _cpython


def test_this_interpreter_is_verified_and_complete() -> None:
    assert _cpython.VERSION in _cpython.VERIFIED
    assert _cpython.PROBLEM is None


def test_opcode_numbers_of_every_verified_version_are_written_down() -> None:
    import opcode

    assert set(_cpython.VERIFIED) <= set(_cpython.OPCODES)
    names = ("IMPORT_NAME", "IMPORT_FROM", "LOAD_ATTR", "LOAD_METHOD")
    expected = tuple(opcode.opmap.get(n, -2) for n in names)
    # a LOAD_METHOD above 255 is a pseudo-op: never in co_code
    expected = (*expected[:3], expected[3] if expected[3] < 256 else -2)
    assert _cpython.OPCODES[_cpython.VERSION] == expected


def _stand_ins() -> tuple[types.SimpleNamespace, types.SimpleNamespace]:
    bootstrap = sys.modules["_frozen_importlib"]
    external = sys.modules["_frozen_importlib_external"]
    names = [n for n in dir(bootstrap) if not n.startswith("__")]
    fake_b = types.SimpleNamespace(**{n: getattr(bootstrap, n) for n in names})
    fake_e = types.SimpleNamespace(ExtensionFileLoader=external.ExtensionFileLoader)
    return fake_b, fake_e


def test_resolve_names_a_missing_internal() -> None:
    fake_b, fake_e = _stand_ins()
    del fake_b._handle_fromlist
    found, problem = _cpython.resolve(fake_b, fake_e, _cpython.VERSION)
    assert found["_handle_fromlist"] is None
    assert problem is not None
    assert "_frozen_importlib._handle_fromlist" in problem
    assert f"{_cpython.VERSION[0]}.{_cpython.VERSION[1]}" in problem


def test_resolve_names_an_unverified_version() -> None:
    fake_b, fake_e = _stand_ins()
    _found, problem = _cpython.resolve(fake_b, fake_e, (3, 99))
    assert problem is not None and problem.startswith("Python 3.99 is not one lazymed")
    assert "missing: opcode numbers" in problem


def test_resolve_complete_on_a_verified_version_is_no_problem() -> None:
    fake_b, fake_e = _stand_ins()
    found, problem = _cpython.resolve(fake_b, fake_e, _cpython.VERSION)
    assert problem is None
    assert found["_find_spec_code"] is sys.modules["_frozen_importlib"]._find_spec.__code__


def test_resolve_needs_is_initializing_from_3_15_only() -> None:
    fake_b, fake_e = _stand_ins()
    if hasattr(fake_b, "_is_initializing"):
        del fake_b._is_initializing
    _found, problem = _cpython.resolve(fake_b, fake_e, (3, 15))
    assert problem == (
        "Python 3.15 lacks interpreter internals lazymed needs: _frozen_importlib._is_initializing"
    )
    assert _cpython.resolve(fake_b, fake_e, (3, 14))[1] is None


def test_install_fails_closed_and_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cpython, "PROBLEM", "Python 3.99 is not one lazymed was verified on")
    with pytest.warns(lazymed.LazymedWarning, match=r"does nothing: Python 3\.99.*stays eager"):
        lazymed.install(lazy=["json_lm_never"])
    assert not lazymed.status().installed
    assert not any(getattr(f, "_lazymed_finder", False) for f in sys.meta_path)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lazymed.install(lazy=["json_lm_never"])  # once per process


FAIL_CLOSED = """
import json, sys, warnings
{setup}
import lazymed
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    lazymed.install(lazy=["csv"])
    lazymed.install(lazy=["csv"])
import csv
print(json.dumps({{
    "type": type(csv).__name__,
    "ran": "reader" in vars(csv),
    "warnings": [str(w.message) for w in caught],
    "installed": lazymed.status().installed,
}}))
"""


@pytest.mark.parametrize(
    ("setup", "piece"),
    [
        (
            "import _frozen_importlib as b; del b._DeadlockError",
            "needs: _frozen_importlib._DeadlockError",
        ),
        ("sys.version_info = (3, 99, 0, 'final', 0)", "Python 3.99 is not one lazymed"),
    ],
    ids=["missing-name", "unverified-version"],
)
def test_fail_closed_in_a_fresh_interpreter(setup: str, piece: str) -> None:
    proc = run_python(FAIL_CLOSED.format(setup=setup))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["type"] == "module" and result["ran"], result  # eager, as without lazymed
    assert not result["installed"]
    assert len(result["warnings"]) == 1, result
    assert piece in result["warnings"][0]


def test_resolve_sees_through_a_hook_of_an_earlier_copy() -> None:
    """A hook of ours still patched in stands for importlib's own function."""
    fake_b, fake_e = _stand_ins()
    real_lock_unlock = fake_b._lock_unlock_module
    real_is_initializing = getattr(fake_b, "_is_initializing", None)

    def hook(_arg: object) -> None:
        raise AssertionError("never called")

    hook._lazymed_original = real_lock_unlock  # type: ignore[attr-defined]
    fake_b._lock_unlock_module = hook
    if real_is_initializing is not None:

        def hook2(_arg: object) -> bool:
            raise AssertionError("never called")

        hook2._lazymed_original = real_is_initializing  # type: ignore[attr-defined]
        fake_b._is_initializing = hook2
    found, problem = _cpython.resolve(fake_b, fake_e, _cpython.VERSION)
    assert problem is None
    assert found["_lock_unlock_module"] is real_lock_unlock
    assert found["_is_initializing"] is real_is_initializing


SECOND_COPY = """
import json, sys
sys.path.insert(0, {root!r})
bootstrap = sys.modules["_frozen_importlib"]
real = (bootstrap._lock_unlock_module, getattr(bootstrap, "_is_initializing", None))
import lazymed
lazymed.install(lazy=["lm_second_copy"])
import lm_second_copy  # pending: the importlib route is patched in
first_copy_patched = lazymed._cpython.patched()
for name in [n for n in sys.modules if n == "lazymed" or n.startswith("lazymed.")]:
    del sys.modules[name]
import lazymed as again
out = {{"first": first_copy_patched, "second sees it": again._cpython.patched()}}
again.uninstall()
again._cpython.unpatch()
now = (bootstrap._lock_unlock_module, getattr(bootstrap, "_is_initializing", None))
out["restored"] = now[0] is real[0] and now[1] is real[1]
out["second says patched"] = again._cpython.patched()
print(json.dumps(out))
"""


def test_a_second_copy_of_lazymed_cannot_leave_the_route_patched(tmp_path: Path) -> None:
    """lazymed's modules removed from sys.modules and imported again while a module is pending:
    the new copy must take importlib's own functions as the originals, not the old copy's hooks,
    or its unpatch() would leave them in for good while patched() said False."""
    (tmp_path / "lm_second_copy.py").write_text("X = 1\n")
    proc = run_python(SECOND_COPY.format(root=str(tmp_path)))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {
        "first": True,
        "second sees it": True,
        "restored": True,
        "second says patched": False,
    }

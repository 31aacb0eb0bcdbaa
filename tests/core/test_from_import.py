"""`from X import name` of a lazy X: eager (default) and deferred (PEP 810-style reification)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from conftest import Packages

import lazymed
from lazymed._deferred import Deferred

LIB = """
class Base:
    def __init__(self, v=0):
        self.v = v
    def __add__(self, other):
        return Base(self.v + getattr(other, 'v', other))
    def __eq__(self, other):
        return isinstance(other, Base) and self.v == other.v
    def __hash__(self):
        return hash(self.v)

class Error(Exception):
    pass

def deco(fn):
    fn.decorated = True
    return fn

def double(x):
    return 2 * x

NUMBER = 21
ITEMS = [1, 2, 3]
"""


def _importer(pkgs: Packages, name: str, body: str) -> types.ModuleType:
    pkgs.module(name, body)
    __import__(name)
    return sys.modules[name]


def test_eager_mode_loads_at_the_statement(pkgs: Packages) -> None:
    pkgs.module("fx1", LIB)
    lazymed.install(lazy=["fx1"])
    importer = _importer(pkgs, "use_fx1", "from fx1 import double\n")
    assert pkgs.runs == ["use_fx1", "fx1"]
    assert type(importer.double) is types.FunctionType


def test_eager_mode_missing_name_fails_at_the_statement(pkgs: Packages) -> None:
    pkgs.module("fx2", LIB)
    lazymed.install(lazy=["fx2"])
    with pytest.raises(ImportError, match="cannot import name 'nope'"):
        _importer(pkgs, "use_fx2", "from fx2 import nope\n")


@pytest.fixture
def deferred(pkgs: Packages) -> Packages:
    pkgs.module("dx", LIB)
    lazymed.install(lazy=["dx"], from_import="deferred")
    return pkgs


def test_deferred_binds_a_stand_in_and_runs_nothing(deferred: Packages) -> None:
    importer = _importer(deferred, "use_dx0", "from dx import double, Base, NUMBER\n")
    assert deferred.runs == ["use_dx0"]
    assert type(importer.__dict__["double"]) is Deferred


def test_deferred_call_rebinds_the_importer_global(deferred: Packages) -> None:
    importer = _importer(
        deferred, "use_dx1", "from dx import double\ndef run(x):\n    return double(x)\n"
    )
    assert importer.run(4) == 8
    assert deferred.runs == ["use_dx1", "dx"]
    assert type(importer.__dict__["double"]) is types.FunctionType  # reified: no stand-in left
    assert importer.double is sys.modules["dx"].double


def test_deferred_attribute_access_and_operators(deferred: Packages) -> None:
    importer = _importer(deferred, "use_dx2", "from dx import NUMBER, ITEMS, Base\n")
    number, items, base = (importer.__dict__[k] for k in ("NUMBER", "ITEMS", "Base"))
    assert number + 1 == 22
    assert 1 + number == 22
    assert number * 2 == 42
    assert -number == -21
    assert number == 21
    assert len(items) == 3
    assert 2 in items
    assert list(items) == [1, 2, 3]
    assert items[0] == 1
    assert base(2) + base(3) == base(5)
    assert base.__name__ == "Base"
    assert f"{number:>4}" == "  21"
    assert hash(number) == hash(21)
    assert bool(number)


def test_deferred_isinstance_issubclass_and_subclassing(deferred: Packages) -> None:
    importer = _importer(
        deferred,
        "use_dx3",
        "from dx import Base\nclass Child(Base):\n    pass\n",
    )
    assert deferred.runs == ["use_dx3", "dx"]  # the class statement is a first use
    real = sys.modules["dx"].Base
    assert importer.Child.__mro__[1] is real
    assert importer.Base is real
    fresh = _importer(deferred, "use_dx3b", "from dx import Base\n")
    # a second deferred import of an already loaded module binds the real object at once
    assert fresh.Base is real


def test_deferred_isinstance_before_first_use(pkgs: Packages) -> None:
    pkgs.module("dx4", LIB)
    pkgs.module("dx4b", "class Other:\n    pass\n")
    lazymed.install(lazy=["dx4"], from_import="deferred")
    importer = _importer(pkgs, "use_dx4", "from dx4 import Base, Error\n")
    stand_in = importer.__dict__["Base"]
    assert type(stand_in) is Deferred
    assert not isinstance(object(), stand_in)
    assert isinstance(sys.modules["dx4"].Base(), stand_in)
    assert issubclass(sys.modules["dx4"].Base, importer.__dict__["Error"]) is False


def test_deferred_decorator(deferred: Packages) -> None:
    importer = _importer(
        deferred, "use_dx5", "from dx import deco\n@deco\ndef f():\n    return 1\n"
    )
    assert importer.f.decorated is True
    assert importer.deco is sys.modules["dx"].deco


def test_deferred_annotations(deferred: Packages) -> None:
    importer = _importer(
        deferred,
        "use_dx6",
        "import typing\nfrom dx import Base\n"
        "def f(x: 'Base') -> 'Base':\n    return x\n"
        "def g(x: Base) -> None:\n    pass\n"
        "def hints():\n    return typing.get_type_hints(f)\n",
    )
    assert deferred.runs == ["use_dx6"]  # annotations (string or evaluated) are not a use
    importer.Base(1)  # first use reifies the global
    assert importer.hints() == {"x": sys.modules["dx"].Base, "return": sys.modules["dx"].Base}


def test_deferred_missing_name_fails_at_first_use_with_the_statement(deferred: Packages) -> None:
    importer = _importer(deferred, "use_dx7", "from dx import missing_name\n")
    with pytest.raises(ImportError, match="cannot import name 'missing_name'") as info:
        importer.missing_name()
    assert any("use_dx7.py:3" in note for note in info.value.__notes__)


def test_deferred_submodule(pkgs: Packages) -> None:
    pkgs.module("dpkg", package=True)
    pkgs.module("dpkg.sub", "X = 7\n")
    lazymed.install(lazy=["dpkg"], from_import="deferred")
    importer = _importer(pkgs, "use_dpkg", "from dpkg import sub\n")
    assert pkgs.runs == ["use_dpkg"]
    assert importer.sub.X == 7
    assert importer.sub is sys.modules["dpkg.sub"]


def test_deferred_only_at_module_level(deferred: Packages) -> None:
    importer = _importer(
        deferred, "use_dx8", "def f():\n    from dx import double\n    return type(double)\n"
    )
    assert importer.f() is types.FunctionType  # inside a function: an ordinary from-import


def test_star_import_always_loads(deferred: Packages) -> None:
    importer = _importer(deferred, "use_dx9", "from dx import *\n")
    assert importer.double(2) == 4
    assert type(importer.__dict__["double"]) is types.FunctionType


def test_identity_is_a_documented_limit(deferred: Packages, tmp_path: Path) -> None:
    """Before first use the stand-in is not the real object (`is`, `type()`); after it, the
    importer's global is."""
    importer = _importer(deferred, "use_dx10", "from dx import Base\n")
    stand_in = importer.__dict__["Base"]
    real = sys.modules["dx"].Base  # loads dx, but the stand-in has not been used yet
    assert stand_in is not real
    assert stand_in.__name__ == "Base"  # a use: reifies
    assert importer.Base is real

"""Lazy modules: nothing runs at the import statement; after first use, a plain module."""

from __future__ import annotations

import importlib
import inspect
import pickle
import sys
import types

import pytest
from conftest import Packages

import lazymed
from lazymed._module import LazyModule


def test_import_runs_nothing_and_first_use_runs_once(pkgs: Packages) -> None:
    pkgs.module("heavy1", "import json\nVALUE = 41 + 1\n")
    sys.modules.pop("json", None) if "json" not in sys.modules else None
    lazymed.install(lazy=["heavy1"])
    import heavy1

    assert pkgs.runs == []
    assert type(heavy1) is LazyModule
    assert isinstance(heavy1, types.ModuleType)
    assert heavy1.VALUE == 42
    assert pkgs.runs == ["heavy1"]
    assert heavy1.VALUE == 42
    assert pkgs.runs == ["heavy1"]


def test_after_first_use_it_is_a_plain_module(pkgs: Packages) -> None:
    pkgs.module("heavy2", "def f():\n    return 'f'\n")
    lazymed.install(lazy=["heavy2"])
    import heavy2 as bound

    assert bound.f() == "f"
    assert type(bound) is types.ModuleType
    assert sys.modules["heavy2"] is bound
    assert bound.__spec__.loader is bound.__loader__
    assert type(bound.__loader__).__name__ == "SourceFileLoader"
    assert bound.__spec__.name == "heavy2"
    assert bound.__file__.endswith("heavy2.py")


def test_missing_package_fails_at_the_import_statement() -> None:
    lazymed.install(lazy=["no_such_package_lm"])
    with pytest.raises(ModuleNotFoundError) as info:
        import no_such_package_lm  # noqa: F401
    assert info.value.name == "no_such_package_lm"


def test_scanners_read_spec_attributes_without_loading(pkgs: Packages) -> None:
    pkgs.module("scanned", "X = 1\n", package=True)
    lazymed.install(lazy=["scanned"])
    import scanned

    for attr in ("__name__", "__spec__", "__loader__", "__file__", "__path__", "__package__"):
        getattr(scanned, attr)
    assert scanned.__dict__["__name__"] == "scanned"
    repr(scanned)
    # inspect.getmodule walks sys.modules reading __file__ of every module
    assert inspect.getmodule(inspect) is inspect
    for module in list(sys.modules.values()):
        getattr(module, "__file__", None)
    assert pkgs.runs == []
    assert type(scanned) is LazyModule


def test_second_import_does_not_force_the_load(pkgs: Packages) -> None:
    """cpython#127036: re-importing a lazy module must not execute it."""
    pkgs.module("twice", "X = 1\n")
    lazymed.install(lazy=["twice"])
    import twice  # noqa: F401
    import twice as again  # noqa: F401

    importlib.import_module("twice")
    __import__("twice")
    assert pkgs.runs == []


def test_dir_loads_and_lists_the_modules_own_names(pkgs: Packages) -> None:
    pkgs.module("dirmod", "ALPHA = 1\ndef beta(): pass\n")
    lazymed.install(lazy=["dirmod"])
    import dirmod

    names = dir(dirmod)
    assert {"ALPHA", "beta"} <= set(names)
    assert pkgs.runs == ["dirmod"]


def test_pickle_and_isinstance_of_objects_defined_in_a_lazy_module(pkgs: Packages) -> None:
    pkgs.module("picklemod", "class Thing:\n    def __init__(self, v):\n        self.v = v\n")
    lazymed.install(lazy=["picklemod"])
    import picklemod

    thing = picklemod.Thing(3)
    clone = pickle.loads(pickle.dumps(thing))
    assert isinstance(clone, picklemod.Thing)
    assert clone.v == 3
    assert inspect.getmodule(picklemod.Thing) is picklemod


def test_pickle_whichmodule_scan_loads_pending_modules(pkgs: Packages) -> None:
    """Documented choice: pickle's whichmodule fallback getattr()s every module, which loads a
    pending lazy module (eager import would have loaded it too)."""
    pkgs.module("scanme", "X = 1\n")
    lazymed.install(lazy=["scanme"])
    import scanme  # noqa: F401

    def nameless() -> None:
        pass

    nameless.__module__ = None  # type: ignore[assignment]
    nameless.__qualname__ = "lm_name_no_module_has"
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(nameless)
    assert "scanme" in pkgs.runs


def test_reload_of_a_never_loaded_lazy_module_executes_it(pkgs: Packages) -> None:
    """cpython#139686: the stdlib LazyLoader makes this a no-op; eager semantics run it."""
    pkgs.module("reloadme", "import itertools\nCOUNT = 1\n")
    lazymed.install(lazy=["reloadme"])
    import reloadme

    again = importlib.reload(reloadme)
    assert again is reloadme
    assert type(reloadme) is types.ModuleType
    assert reloadme.COUNT == 1
    assert pkgs.runs == ["reloadme", "reloadme"]  # loaded, then re-executed: as eager + reload


def test_reload_of_a_loaded_lazy_module(pkgs: Packages) -> None:
    pkgs.module("reload2", "COUNT = 1\n")
    lazymed.install(lazy=["reload2"])
    import reload2

    assert reload2.COUNT == 1
    importlib.reload(reload2)
    assert pkgs.runs == ["reload2", "reload2"]


def test_module_that_sets_its_own_class_keeps_it(pkgs: Packages) -> None:
    pkgs.module(
        "classy",
        """
        import sys, types
        class Special(types.ModuleType):
            @property
            def computed(self):
                return 7
        sys.modules[__name__].__class__ = Special
        """,
    )
    lazymed.install(lazy=["classy"])
    import classy

    assert classy.computed == 7
    assert type(classy).__name__ == "Special"


def test_module_getattr_pep562_works_after_load(pkgs: Packages) -> None:
    pkgs.module("pep562", "def __getattr__(name):\n    return name.upper()\n")
    lazymed.install(lazy=["pep562"])
    import pep562

    assert pep562.hello == "HELLO"


def test_attributes_set_before_load_win_like_eager_order(pkgs: Packages) -> None:
    """Monkeypatching a lazy module before its load: eager order is load, then set."""
    pkgs.module("patched", "VALUE = 'original'\nOTHER = 1\n")
    lazymed.install(lazy=["patched"])
    import patched

    patched.VALUE = "patched"
    assert pkgs.runs == []
    assert patched.OTHER == 1
    assert patched.VALUE == "patched"


def test_delattr_loads_first(pkgs: Packages) -> None:
    pkgs.module("delme", "GONE = 1\n")
    lazymed.install(lazy=["delme"])
    import delme

    del delme.GONE
    assert not hasattr(delme, "GONE")
    assert pkgs.runs == ["delme"]


def test_importlib_resources_inside_a_lazy_package(pkgs: Packages) -> None:
    """The real loader must be reachable: without it importlib.resources fails with
    'Can't open orphan path'."""
    path = pkgs.module(
        "respkg",
        """
        import importlib.resources
        DATA = importlib.resources.files(__name__).joinpath("data.txt").read_text()
        """,
        package=True,
    )
    (path.parent / "data.txt").write_text("payload")
    lazymed.install(lazy=["respkg"])
    import respkg

    assert importlib.resources.files("respkg").joinpath("data.txt").read_text() == "payload"
    assert respkg.DATA == "payload"


def test_inspect_getsource_before_and_after_load(pkgs: Packages) -> None:
    pkgs.module("sourced", "def f():\n    return 1\n")
    lazymed.install(lazy=["sourced"])
    import sourced

    assert "def f" in inspect.getsource(sourced)  # reads __loader__/__file__; loads nothing
    assert pkgs.runs == []
    assert "return 1" in inspect.getsource(sourced.f)


def test_uninstall_keeps_pending_modules_working(pkgs: Packages) -> None:
    pkgs.module("keepgoing", "X = 5\n")
    pkgs.module("afterwards", "Y = 6\n")
    lazymed.install(lazy=["keepgoing", "afterwards"])
    import keepgoing

    lazymed.uninstall()
    assert keepgoing.X == 5
    import afterwards  # no finder any more: an ordinary eager import

    assert type(afterwards) is types.ModuleType
    assert pkgs.runs == ["keepgoing", "afterwards"]

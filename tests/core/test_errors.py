"""Errors during a load: propagate from the access, with both sites; nothing half-done."""

from __future__ import annotations

import sys
import types

import pytest
from conftest import Packages

import lazymed
from lazymed._module import LazyModule


def test_exception_propagates_with_a_note_naming_both_sites(pkgs: Packages) -> None:
    pkgs.module("broken", "import json\nPARTIAL = 1\nraise ValueError('boom')\n")
    pkgs.module("uses_broken", "import broken\ndef go():\n    return broken.PARTIAL\n")
    lazymed.install(lazy=["broken"])
    import uses_broken

    with pytest.raises(ValueError, match="boom") as info:
        uses_broken.go()
    notes = "\n".join(info.value.__notes__)
    assert "lazy module 'broken'" in notes
    assert "uses_broken.py:3" in notes  # where it was imported (the header adds two lines)
    assert "uses_broken.py:5" in notes  # what first used it
    assert "broken.PARTIAL" in notes


def test_nothing_half_initialised_remains_and_the_next_access_retries(pkgs: Packages) -> None:
    path = pkgs.module(
        "flaky",
        "import os\nif not os.environ.get('LM_FLAKY_OK'):\n"
        "    raise RuntimeError('not yet')\nREADY = True\n",
    )
    assert path.exists()
    lazymed.install(lazy=["flaky"])
    import flaky

    with pytest.raises(RuntimeError):
        flaky.READY
    assert "flaky" not in sys.modules  # as after a failed eager import
    assert type(flaky) is LazyModule
    assert "os" not in flaky.__dict__  # the failed run's globals are gone
    assert lazymed.status().module("flaky").state == "failed"
    import os

    os.environ["LM_FLAKY_OK"] = "1"
    try:
        assert flaky.READY is True
    finally:
        del os.environ["LM_FLAKY_OK"]
    assert type(flaky) is types.ModuleType
    assert sys.modules["flaky"] is flaky
    assert pkgs.runs == ["flaky", "flaky"]
    assert lazymed.status().module("flaky").state == "loaded"


def test_keyboard_interrupt_during_a_load(pkgs: Packages) -> None:
    pkgs.module(
        "interrupted",
        "import os\nif not os.environ.get('LM_INT_OK'):\n    raise KeyboardInterrupt\nX = 1\n",
    )
    lazymed.install(lazy=["interrupted"])
    import interrupted

    with pytest.raises(KeyboardInterrupt) as info:
        interrupted.X
    assert any("interrupted" in note for note in info.value.__notes__)
    assert type(interrupted) is LazyModule
    import os

    os.environ["LM_INT_OK"] = "1"
    try:
        assert interrupted.X == 1
    finally:
        del os.environ["LM_INT_OK"]


def test_error_in_a_nested_lazy_load_names_the_chain(pkgs: Packages) -> None:
    pkgs.module("outer_mod", "import inner_mod\nVALUE = inner_mod.VALUE\n")
    pkgs.module("inner_mod", "raise LookupError('deep')\n")
    lazymed.install(lazy=["outer_mod", "inner_mod"])
    import inner_mod  # noqa: F401  (lazy, pending: outer's import binds it)
    import outer_mod

    with pytest.raises(LookupError) as info:
        outer_mod.VALUE
    notes = info.value.__notes__
    assert any("'inner_mod'" in n for n in notes)
    assert any("'outer_mod'" in n for n in notes)


def test_failed_module_restores_a_replaced_sys_modules_entry(pkgs: Packages) -> None:
    pkgs.module("replacer", "import sys\nsys.modules[__name__] = object()\nraise OSError('x')\n")
    lazymed.install(lazy=["replacer"])
    import replacer

    with pytest.raises(OSError):
        replacer.anything
    assert "replacer" not in sys.modules  # eager import removes whatever the entry became


def test_failed_submodule_leaves_neither_entry_nor_parent_attribute(pkgs: Packages) -> None:
    """Eager CPython: a failed `from pkg.sub import x` leaves no pkg.sub anywhere; a scan like
    pickle.whichmodule must not meet it again."""
    pkgs.module("fpkg", package=True)
    pkgs.module("fpkg.sub", "import does_not_exist_lm\n")
    lazymed.install(lazy=["fpkg"])
    import fpkg

    with pytest.raises(ImportError):
        from fpkg.sub import thing  # noqa: F401
    assert "fpkg.sub" not in sys.modules
    assert "sub" not in vars(fpkg)
    import pickle

    def orphan() -> None:
        pass

    orphan.__module__ = None  # type: ignore[assignment]
    # The scan reads every module and, finding the name nowhere, falls back to __main__: 3.11-3.13
    # return that name, 3.14+ look it up there and raise (eager CPython does the same).
    if sys.version_info >= (3, 14):
        with pytest.raises(pickle.PicklingError, match=r"not found as __main__\.lm_no_such_name"):
            pickle.whichmodule(orphan, "lm_no_such_name")
    else:
        assert pickle.whichmodule(orphan, "lm_no_such_name") == "__main__"


def test_fresh_import_after_a_failure_retries(pkgs: Packages, tmp_path: object) -> None:
    path = pkgs.module("again", "import lm_dep_later\nX = lm_dep_later.V\n")
    lazymed.install(lazy=["again"])
    import again

    with pytest.raises(ModuleNotFoundError):
        again.X
    (path.parent / "lm_dep_later.py").write_text("V = 9\n")
    import importlib

    importlib.invalidate_caches()
    import again as fresh

    assert fresh.X == 9
    assert again.X == 9  # the first object retries too


def test_module_replacing_its_sys_modules_entry_is_forwarded(pkgs: Packages) -> None:
    """pygments-style: the module puts another module object in sys.modules. Eager importers get
    that object; the one lazily bound forwards every access to it."""
    pkgs.module(
        "swapper",
        """
        import sys, types
        class Auto(types.ModuleType):
            def __getattr__(self, name):
                return name.upper()
        def where():
            return sys.platform  # the original namespace, which the replacement lacks
        m = Auto(__name__)
        m.__dict__.update(globals())
        m.X = 2
        del m.sys
        sys.modules[__name__] = m
        X = 1
        """,
    )
    lazymed.install(lazy=["swapper"])
    import swapper

    assert swapper.X == 2
    assert swapper.anything == "ANYTHING"  # the replacement's class __getattr__
    assert swapper.where() == sys.platform  # old functions keep their globals
    swapper.Y = 3
    assert sys.modules["swapper"].Y == 3  # writes reach the replacement
    assert "Y" in dir(swapper)


def test_module_aliasing_itself_to_another_module(pkgs: Packages) -> None:
    pkgs.module("alias_lm", "import sys, json\nsys.modules[__name__] = json\n")
    lazymed.install(lazy=["alias_lm"])
    import json

    import alias_lm

    assert alias_lm.dumps([1]) == "[1]"
    assert alias_lm.__name__ == "json"  # as `import alias_lm` would have bound json
    assert sys.modules["alias_lm"] is json


def test_module_replacing_its_entry_with_an_object(pkgs: Packages) -> None:
    pkgs.module(
        "swapper2",
        "import sys\nclass Counter:\n    counter = 0\n    def bump(self):\n"
        "        self.counter += 1\nsys.modules[__name__] = Counter()\n",
    )
    lazymed.install(lazy=["swapper2"])
    import swapper2

    with pytest.warns(lazymed.LazymedWarning, match="not calls, operators") as record:
        swapper2.bump()
    assert record[0].filename == __file__  # at the first use
    swapper2.bump()
    assert swapper2.counter == 2

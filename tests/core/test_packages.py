"""Packages, submodules, namespace packages: eager CPython is the oracle."""

from __future__ import annotations

import json
import sys
import textwrap
import types
from pathlib import Path

import pytest
from conftest import Packages, run_python

import lazymed
from lazymed._module import LazyModule


def test_import_a_b_c_runs_nothing_then_runs_the_chain_in_eager_order(pkgs: Packages) -> None:
    pkgs.module("pa", package=True)
    pkgs.module("pa.b", package=True)
    pkgs.module("pa.b.c", "def f():\n    return 'c'\n")
    pkgs.module("pa.b.sibling")
    lazymed.install(lazy=["pa"])
    import pa.b.c

    assert pkgs.runs == []
    assert pa.b.c.f() == "c"
    assert pkgs.runs == ["pa", "pa.b", "pa.b.c"]  # parents first; sibling never runs
    assert type(pa) is type(pa.b) is type(pa.b.c) is types.ModuleType


def test_using_only_the_submodule_still_runs_parents_first(pkgs: Packages) -> None:
    pkgs.module("pb", "ORDER = 'parent ran'\n", package=True)
    pkgs.module("pb.sub", "from pb import ORDER\nSEEN = ORDER\n")
    lazymed.install(lazy=["pb"])
    import pb.sub  # noqa: F401

    sub = sys.modules["pb.sub"]
    assert pkgs.runs == []
    assert sub.SEEN == "parent ran"
    assert pkgs.runs == ["pb", "pb.sub"]


def test_import_as_binds_the_lazy_submodule_when_the_package_cannot_shadow_it(
    pkgs: Packages,
) -> None:
    """`import p.sub as m` is `m = getattr(p, "sub")` (bpo-30024); p's __init__ provably binds
    nothing else to `sub`, so neither runs yet."""
    pkgs.module("pg", package=True)
    pkgs.module("pg.sub", "X = 1\n")
    lazymed.install(lazy=["pg"])
    import pg.sub as sub

    assert pkgs.runs == []
    assert sub is sys.modules["pg.sub"]
    assert sub.X == 1
    assert pkgs.runs == ["pg", "pg.sub"]


def test_from_package_import_submodule_is_lazy(pkgs: Packages) -> None:
    pkgs.module("pc", package=True)
    pkgs.module("pc.leaf", "X = 1\n")
    pkgs.module("pc.other")
    lazymed.install(lazy=["pc"])
    from pc import leaf

    # pc/__init__ provably binds `leaf` to nothing but the submodule: neither runs yet
    assert pkgs.runs == []
    assert type(leaf) is LazyModule
    assert leaf is sys.modules["pc.leaf"]
    assert leaf.X == 1
    assert pkgs.runs == ["pc", "pc.leaf"]


@pytest.mark.parametrize(
    "init",
    [
        "from .leaf import leaf\n",
        "def leaf():\n    return 1\n",
        "from .impl import *\n",
        "def __getattr__(name):\n    return name\n",
        "leaf = 3\n",
        "import sys\nsetattr(sys.modules[__name__], 'leaf', 3)\n",
    ],
)
def test_from_import_runs_the_package_when_it_may_bind_the_name(pkgs: Packages, init: str) -> None:
    pkgs.module("pp", init, package=True)
    pkgs.module("pp.leaf", "def leaf():\n    return 2\n")
    pkgs.module("pp.impl", "leaf = 4\n")
    lazymed.install(lazy=["pp"])
    from pp import leaf  # noqa: F401

    assert pkgs.runs[0] == "pp"  # eager order: the package decides what `leaf` is


def test_lazy_submodule_is_set_on_its_parent(pkgs: Packages) -> None:
    """cpython#86439: after `import p.child` the parent has the attribute."""
    pkgs.module("pd", package=True)
    pkgs.module("pd.child", "X = 1\n")
    lazymed.install(lazy=["pd.child"])
    import pd.child

    assert sys.modules["pd"].child is sys.modules["pd.child"]
    assert pd.child.X == 1
    assert sys.modules["pd"].child is sys.modules["pd.child"]


def test_only_a_subpackage_registered(pkgs: Packages) -> None:
    pkgs.module("pe", "", package=True)
    pkgs.module("pe.heavy", "X = 1\n")
    pkgs.module("pe.light", "Y = 1\n")
    lazymed.install(lazy=["pe.heavy"])
    import pe.heavy
    import pe.light

    assert pkgs.runs == ["pe", "pe.light"]
    assert pe.heavy.X == 1
    assert pkgs.runs == ["pe", "pe.light", "pe.heavy"]


def test_namespace_packages(tmp_path: Path, pkgs: Packages) -> None:
    # google / google.cloud are namespace packages (no __init__.py), split over two entries
    for root, leaf in ((tmp_path / "ns1", "storage"), (tmp_path / "ns2", "firestore")):
        target = root / "nsg" / "cloud" / leaf
        target.mkdir(parents=True)
        (target / "__init__.py").write_text(
            f"import {pkgs.logname} as l\nl.runs.append(__name__)\nNAME = {leaf!r}\n"
        )
        sys.path.insert(0, str(root))
    lazymed.install(lazy=["nsg.cloud.storage", "nsg.cloud.firestore"])
    import nsg.cloud.firestore
    import nsg.cloud.storage

    assert pkgs.runs == []
    assert nsg.cloud.storage.NAME == "storage"
    assert pkgs.runs == ["nsg.cloud.storage"]
    assert nsg.cloud.firestore.NAME == "firestore"
    assert len(nsg.cloud.__path__) == 2


def test_whole_namespace_registered(tmp_path: Path, pkgs: Packages) -> None:
    target = tmp_path / "ns3" / "nsh" / "cloud" / "storage"
    target.mkdir(parents=True)
    (target / "__init__.py").write_text(f"import {pkgs.logname} as l\nl.runs.append(__name__)\n")
    sys.path.insert(0, str(tmp_path / "ns3"))
    lazymed.install(lazy=["nsh"])
    import nsh.cloud.storage

    assert pkgs.runs == []
    assert nsh.cloud.storage.__name__ == "nsh.cloud.storage"
    nsh.cloud.storage.anything = 1
    assert pkgs.runs == []  # setting is not using
    assert nsh.cloud.storage.__spec__ is not None
    dir(nsh.cloud.storage)
    assert pkgs.runs == ["nsh.cloud.storage"]


def test_imports_made_while_a_lazy_module_runs_stay_eager(pkgs: Packages) -> None:
    pkgs.module("pf", "from pf import inner\nfrom pf.inner import VALUE\n", package=True)
    pkgs.module("pf.inner", "VALUE = 3\n")
    lazymed.install(lazy=["pf"])
    import pf

    assert pf.VALUE == 3
    assert type(pf.inner) is types.ModuleType  # imported by pf's own code: ordinary import
    assert pkgs.runs == ["pf", "pf.inner"]


ORACLE_CASES = {
    # `import a.foo` rebinds a.foo to the submodule even though a defines a function foo
    "shadowed_submodule": (
        {"o1/__init__.py": "def foo():\n    return 'fn'\n", "o1/foo.py": "KIND = 'module'\n"},
        "import o1.foo\nresult2 = o1.foo.KIND\nresult = type(o1.foo).__name__\n",
    ),
    # the package imports its submodule itself, then shadows the name
    "self_shadowing": (
        {
            "o2/__init__.py": "from . import foo\ndef foo():\n    return 'fn'\n",
            "o2/foo.py": "KIND = 'module'\n",
        },
        "import o2\nimport o2.foo\nresult2 = o2.foo()\nresult = type(o2.foo).__name__\n",
    ),
    # from-import of a function shadowing a submodule name
    "from_import_shadow": (
        {
            "o3/__init__.py": "from .helpers import helpers\n",
            "o3/helpers.py": "def helpers():\n    return 'fn'\n",
        },
        "from o3 import helpers\nresult2 = helpers()\nresult = type(helpers).__name__\n",
    ),
    # side-effect import inside the package of a submodule imported lazily from outside first
    "side_effect_import": (
        {
            "o5/__init__.py": "REG = []\nimport o5.plugin\nCOUNT = len(REG)\n",
            "o5/plugin.py": "import o5\no5.REG.append('plugin')\n",
        },
        "import o5.plugin\nresult2 = o5.COUNT\nresult = type(o5.plugin).__name__\n",
    ),
    "from_side_effect_import": (
        {
            "o6/__init__.py": "REG = []\nfrom . import plugin\nCOUNT = len(REG)\n",
            "o6/plugin.py": "import o6\no6.REG.append('plugin')\n",
        },
        "import o6.plugin\nresult2 = o6.COUNT\nresult = type(o6.plugin).__name__\n",
    ),
    # the same through importlib.import_module (3.15's _find_and_load asks _is_initializing
    # instead of calling _lock_unlock_module: the route must run the plugin there too)
    "import_module_side_effect": (
        {
            "o7/__init__.py": (
                "REG = []\nimport importlib\nimportlib.import_module('.plugin', __name__)\n"
                "COUNT = len(REG)\n"
            ),
            "o7/plugin.py": "import o7\no7.REG.append('plugin')\n",
        },
        "import o7.plugin\nresult2 = o7.COUNT\nresult = type(o7.plugin).__name__\n",
    ),
    "star_import": (
        {"o4/__init__.py": "__all__ = ['a']\na = 1\nb = 2\n"},
        "from o4 import *\nresult = sorted(k for k in dir() if k in 'ab')\nresult2 = a\n",
    ),
}


@pytest.mark.parametrize("case", sorted(ORACLE_CASES))
def test_state_after_load_equals_eager(tmp_path: Path, case: str) -> None:
    files, body = ORACLE_CASES[case]
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    top = next(iter(files)).split("/")[0]
    outputs = []
    for mode in ("eager", "deferred", "lazy"):
        setup = (
            ""
            if mode == "eager"
            else f"import lazymed\nlazymed.install(lazy=[{top!r}], "
            f"from_import={'deferred' if mode == 'deferred' else 'eager'!r})\n"
        )
        code = (
            f"import sys, json\nsys.path.insert(0, {str(tmp_path)!r})\n{setup}{body}"
            "print(json.dumps([result, result2]))\n"
        )
        proc = run_python(textwrap.dedent(code))
        assert proc.returncode == 0, proc.stderr
        outputs.append(json.loads(proc.stdout.splitlines()[-1]))
    assert outputs[0] == outputs[1] == outputs[2]


# ------------------------------------------------ issue 11 #3: what makes `import pkg.sub` run pkg

STAYS_LAZY = {
    # sys.modules writes whose key cannot be pkg.sub or a parent of it
    "unrelated_key": "import sys\nsys.modules['lm_elsewhere'] = sys\n",
    "sibling_key": "import sys\nsys.modules[__name__ + '.other'] = sys\n",
    # a computed import and a matching write, in functions nothing calls at import time
    "uncalled_function": (
        "import importlib, sys\n"
        "def plugin(name):\n    return importlib.import_module(name)\n"
        "def alias():\n    sys.modules[__name__ + '.sub'] = sys\n"
    ),
    "uncalled_method": (
        "import sys\nclass Loader:\n    def install(self):\n        sys.meta_path.append(self)\n"
    ),
    "type_checking_and_main": (
        "import sys\nTYPE_CHECKING = False\nif TYPE_CHECKING:\n    sys.modules['x'] = sys\n"
        "if __name__ == '__main__':\n    sys.meta_path.clear()\n"
    ),
    # appends to __path__ cannot change a submodule already found on it, nor a finder put
    # after the others on sys.meta_path
    "extend_path": "import pkgutil\n__path__ = pkgutil.extend_path(__path__, __name__)\n",
    "meta_path_append": (
        "import sys\nclass F:\n    def find_spec(self, *a):\n        return None\n"
        "sys.meta_path.append(F())\nfor f in filter(None, sys.meta_path):\n    pass\n"
    ),
    # re-registering the module the package imported itself under its own name
    "identity_write": "import sys\nfrom . import other\nsys.modules[__name__ + '.other'] = other\n"
    "from . import other as again\nsys.modules.update({'sl.sub.x': sys})\n",
}

RUNS_EARLY = {
    "same_key": ("import sys\nsys.modules[__name__ + '.sub'] = sys\n", "__init__.py:"),
    "self_replacement": (
        "import sys, types\nnew = types.ModuleType(__name__)\nnew.__path__ = __path__\n"
        "new.__spec__ = __spec__\nsys.modules[__name__] = new\n",
        "new.__path__",
    ),
    "called_function": (
        "import sys\ndef alias():\n    sys.modules[f'{__name__}.sub'] = sys\nalias()\n",
        "sys.modules[f'{__name__}.sub']",
    ),
    "called_in_own_module": (
        "from ._setup import install\ninstall()\n",
        "_setup.py:",
    ),
    "used_class_method": (
        "import sys\nclass Finder:\n    def install(self):\n        sys.meta_path.insert(0, self)\n"
        "    def find_spec(self, *a):\n        return None\nFinder().install()\n",
        "sys.meta_path",
    ),
    "computed_import_at_module_level": (
        "import importlib\nfor n in ['_setup']:\n    importlib.import_module('.' + n, __name__)\n",
        "import_module",
    ),
    "path_insert": ("import os\n__path__.insert(0, os.path.dirname(__file__))\n", "__path__"),
}


@pytest.mark.parametrize("case", sorted(STAYS_LAZY))
def test_import_pkg_sub_stays_lazy_when_nothing_can_change_it(pkgs: Packages, case: str) -> None:
    pkgs.module("sl", STAYS_LAZY[case], package=True)
    pkgs.module("sl.sub", "X = 1\n")
    pkgs.module("sl.other", "Y = 1\n")
    lazymed.install(lazy=["sl"])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", lazymed.LazymedWarning)
        import sl.sub

    assert pkgs.runs == []
    assert lazymed.status().module("sl").early_reason is None
    assert sl.sub.X == 1
    assert pkgs.runs[0] == "sl" and pkgs.runs[-1] == "sl.sub"


@pytest.mark.parametrize("case", sorted(RUNS_EARLY))
def test_import_pkg_sub_runs_the_package_and_says_why(pkgs: Packages, case: str) -> None:
    init, named = RUNS_EARLY[case]
    pkgs.module("se", init, package=True)
    pkgs.module("se.sub", "X = 1\n")
    pkgs.module("se._setup", "import sys\ndef install():\n    sys.modules['se.sub'] = sys\n")
    lazymed.install(lazy=["se"])
    with pytest.warns(lazymed.LazymedWarning) as caught:
        import se.sub  # noqa: F401
    assert pkgs.runs[:1] == ["se"]
    message = str(caught[0].message)
    assert "runs at `import se.sub`" in message and named in message, message
    assert caught[0].filename == __file__  # attributed to the import statement
    reason = lazymed.status().module("se").early_reason
    assert reason == message


def test_from_import_that_runs_the_package_says_why(pkgs: Packages) -> None:
    pkgs.module("sf", "from .leaf import leaf\n", package=True)
    pkgs.module("sf.leaf", "def leaf():\n    return 2\n")
    lazymed.install(lazy=["sf"])
    with pytest.warns(lazymed.LazymedWarning, match=r"from sf import leaf.*may bind 'leaf'"):
        from sf import leaf
    assert leaf() == 2
    assert "from sf import leaf" in (lazymed.status().module("sf").early_reason or "")


ORACLE_PROGRAM = """
import sys, json
sys.path.insert(0, {root!r})
{setup}
import {child}
child = sys.modules[{child!r}]
getattr(child, '__doc__')  # first use
parent = sys.modules[{parent!r}]
import {child}  # again, as a program would
bound = getattr(parent, {leaf!r}, 'MISSING')
print(json.dumps([
    type(bound).__name__, bound is sys.modules.get({child!r}), repr(bound)[:40] if
    isinstance(bound, str) else None, sorted(k for k in sys.modules if k.startswith({top!r})),
]))
"""

BINDING_CASES = {
    # __init__ imports version.py itself (through an own module), then binds the name
    "version_string": (
        {
            "bv/__init__.py": "from . import _util\nversion = '1.2'\n",
            "bv/_util.py": "from bv.version import V\n",
            "bv/version.py": "V = 1\n",
        },
        "bv.version",
    ),
    # the same, with a sys.modules write that makes lazymed run the package early
    "version_string_run_early": (
        {
            "bw/__init__.py": (
                "import sys\nsys.modules['bw.version.alias'] = sys\n"
                "from . import _util\nversion = '1.2'\n"
            ),
            "bw/_util.py": "from bw.version import V\n",
            "bw/version.py": "V = 1\n",
        },
        "bw.version",
    ),
    # a subpackage binds a function named like its submodule
    "subpackage_function": (
        {
            "bb/__init__.py": "",
            "bb/llms/__init__.py": "from .bedrock import bedrock\n",
            "bb/llms/bedrock.py": "def bedrock():\n    return 1\n",
        },
        "bb.llms.bedrock",
    ),
    "subpackage_function_run_early": (
        {
            "bc/__init__.py": "",
            "bc/llms/__init__.py": (
                "import sys\nsys.path_importer_cache.pop('lm-none', None)  # runs it early\n"
                "from .bedrock import bedrock\n"
            ),
            "bc/llms/bedrock.py": "def bedrock():\n    return 1\n",
        },
        "bc.llms.bedrock",
    ),
    # imported with importlib.import_module (Python 3.15's _find_and_load waits on the module
    # lock itself there, without _lock_unlock_module), package lazy until first use
    "import_module": (
        {
            "bj/__init__.py": (
                "import importlib\nimportlib.import_module('.version', __name__)\nversion = '1.2'\n"
            ),
            "bj/version.py": "V = 1\n",
        },
        "bj.version",
    ),
    # imported by a computed name, or imported and deleted, with the package run early
    "import_module_run_early": (
        {
            "bi/__init__.py": (
                "import sys\nsys.path_importer_cache.pop('lm-none', None)  # runs it early\n"
                "import importlib\nimportlib.import_module('.version', __name__)\n"
                "version = '1.2'\n"
            ),
            "bi/version.py": "V = 1\n",
        },
        "bi.version",
    ),
    "deleted_run_early": (
        {
            "bd/__init__.py": (
                "import sys\nsys.path_importer_cache.pop('lm-none', None)  # runs it early\n"
                "from . import version\ndel version\n"
            ),
            "bd/version.py": "V = 1\n",
        },
        "bd.version",
    ),
    # the package defines a name but does not import the submodule: eager rebinds it
    "shadow_without_import": (
        {"bs/__init__.py": "version = '1.2'\n", "bs/version.py": "V = 1\n"},
        "bs.version",
    ),
}


@pytest.mark.parametrize("case", sorted(BINDING_CASES))
def test_package_binding_of_a_submodule_name_equals_eager(tmp_path: Path, case: str) -> None:
    """Eager CPython keeps what the package's own code bound to a name that is also a
    submodule it imported itself; lazymed must too, whether the package runs early or late."""
    files, child = BINDING_CASES[case]
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    top = child.split(".")[0]
    parent, _, leaf = child.rpartition(".")
    outputs = []
    for setup in ("", f"import lazymed\nlazymed.install(lazy=[{top!r}])"):
        code = ORACLE_PROGRAM.format(
            root=str(tmp_path), setup=setup, child=child, parent=parent, leaf=leaf, top=top
        )
        proc = run_python(code, args=["-W", "ignore", "-c", textwrap.dedent(code)])
        assert proc.returncode == 0, proc.stderr
        outputs.append(json.loads(proc.stdout.splitlines()[-1]))
    assert outputs[1] == outputs[0]


def test_import_module_in_the_package_runs_a_pending_submodule_there(pkgs: Packages) -> None:
    """A package whose code calls ``importlib.import_module`` on a submodule that is still
    pending runs it at that call, as eager CPython has, and its error reaches the call (on 3.15
    through the ``_is_initializing`` route, on 3.11-3.14 through ``_lock_unlock_module``)."""
    pkgs.module(
        "im",
        "import importlib\nORDER = []\n"
        "importlib.import_module('.good', __name__)\nORDER.append('im')\n"
        "try:\n    importlib.import_module('.bad', __name__)\n"
        "except ZeroDivisionError as exc:\n    CAUGHT = repr(exc)\n",
        package=True,
    )
    pkgs.module("im.good", "import im\nim.ORDER.append('good')\n")
    pkgs.module("im.bad", "1 / 0\n")
    lazymed.install(lazy=["im"])
    import im.bad
    import im.good

    assert pkgs.runs == []
    assert im.ORDER == ["good", "im"]  # first use: im runs, and im.good at its import_module
    assert im.CAUGHT.startswith("ZeroDivisionError")
    assert pkgs.runs == ["im", "im.good", "im.bad"]
    assert "im.bad" not in sys.modules  # a failed import leaves no entry, as eager


# ------------------------------ importlib.import_module while a lazy package runs (3.15's route)
# Python 3.15's _find_and_load asks _is_initializing(module) where 3.11-3.14 call
# _lock_unlock_module(name) (lazymed/_cpython.py patch_is_initializing). Each case runs eagerly
# and with its top package lazy, in fresh interpreters, and compares what the program saw: values,
# sys.modules entries, the order modules ran in (lmlog.LOG), exceptions (type and message).

ROUTE_HEADER = """
import faulthandler, importlib, json, sys, threading
faulthandler.dump_traceback_later(60, exit=True)  # a hang fails the case, with tracebacks
sys.path.insert(0, {root!r})
import lmlog
{setup}
def mods(p):
    return sorted(k for k in sys.modules if k == p or k.startswith(p + '.'))
def attempt(f):
    try:
        return f()
    except BaseException as e:
        return [type(e).__name__, str(e)]
"""

ROUTE_CASES: dict[str, tuple[dict[str, str], str]] = {
    # two threads first-use the package, whose __init__ import_module()s a pending submodule
    "two_threads_first_use": (
        {
            "rt1/__init__.py": (
                "import lmlog, time, importlib\nlmlog.LOG.append('rt1 start')\ntime.sleep(0.2)\n"
                "importlib.import_module('rt1.sub')\nlmlog.LOG.append('rt1 end')\nX = sub.V\n"
            ),
            "rt1/sub.py": "import lmlog\nlmlog.LOG.append('sub')\nV = 5\n",
        },
        "import rt1.sub\nres = []\nb = threading.Barrier(2)\n"
        "def use():\n    b.wait()\n    import rt1\n    res.append(attempt(lambda: rt1.X))\n"
        "ts = [threading.Thread(target=use) for _ in range(2)]\n"
        "[t.start() for t in ts]\n[t.join(30) for t in ts]\n"
        "out = [lmlog.LOG, res, mods('rt1'), sys.modules['rt1'].sub is sys.modules['rt1.sub']]\n",
    ),
    # another thread import_module()s the pending submodule while the package runs in the first
    "other_thread_import_module": (
        {
            "sync_rt2.py": "import threading\nstarted = threading.Event()\n",
            "rt2/__init__.py": (
                "import lmlog, time, importlib, sync_rt2\nlmlog.LOG.append('rt2 start')\n"
                "sync_rt2.started.set()\ntime.sleep(0.3)\nimportlib.import_module('rt2.sub')\n"
                "lmlog.LOG.append('rt2 end')\nX = 1\n"
            ),
            "rt2/sub.py": (
                "import lmlog, rt2\nlmlog.LOG.append('sub')\nV = 5\n"
                "SEEN = getattr(rt2, 'X', 'unset')\n"
            ),
        },
        "import sync_rt2, rt2.sub\nres = {}\n"
        "def a():\n    import rt2\n    res['a'] = attempt(lambda: rt2.X)\n"
        "def b():\n    sync_rt2.started.wait(30)\n"
        "    m = importlib.import_module('rt2.sub')\n"
        "    res['b'] = [m.V, m.SEEN, m is sys.modules['rt2.sub']]\n"
        "ts = [threading.Thread(target=a), threading.Thread(target=b)]\n"
        "[t.start() for t in ts]\n[t.join(30) for t in ts]\nout = [lmlog.LOG, res, mods('rt2')]\n",
    ),
    # the submodule's own code raises: caught by the package, then uncaught, twice
    "submodule_raises": (
        {
            "rt3/__init__.py": (
                "import lmlog, importlib, sys\ntry:\n    importlib.import_module('rt3.bad')\n"
                "except ZeroDivisionError as e:\n    lmlog.LOG.append(repr(e))\n"
                "lmlog.LOG.append(hasattr(sys.modules[__name__], 'bad'))\n"
                "importlib.import_module('rt3.bad2')\nX = 1\n"
            ),
            "rt3/bad.py": "import lmlog\nlmlog.LOG.append('bad')\n1 / 0\n",
            "rt3/bad2.py": "import lmlog\nlmlog.LOG.append('bad2')\nraise ValueError('boom')\n",
        },
        "def use():\n    import rt3.bad, rt3.bad2\n    return rt3.X\n"
        "out = [attempt(use), mods('rt3'), attempt(use), mods('rt3'), lmlog.LOG]\n",
    ),
    # the submodule imports the package back (import, from-import, import_module)
    "submodule_imports_the_package": (
        {
            "rt4/__init__.py": (
                "import importlib\nA = 1\nm = importlib.import_module('rt4.sub')\n"
                "from . import sub as s2\nSAME = m is s2\nB = 2\n"
            ),
            "rt4/sub.py": (
                "import lmlog, importlib, rt4\nfrom rt4 import A\n"
                "lmlog.LOG.append([A, getattr(rt4, 'B', None), hasattr(rt4, 'sub')])\n"
                "lmlog.LOG.append(importlib.import_module('rt4') is rt4)\n"
            ),
        },
        "from rt4 import sub\nimport rt4\n"
        "out = [rt4.SAME, rt4.B, lmlog.LOG, mods('rt4'), rt4.sub is sys.modules['rt4.sub']]\n",
    ),
    # nested: pkg.a.b imported with import_module from pkg/__init__
    "nested_package": (
        {
            "rt5/__init__.py": (
                "import lmlog, importlib\nlmlog.LOG.append('rt5')\nZ = 1\n"
                "VAL = importlib.import_module('rt5.a.b').V\nZ = 2\n"
            ),
            "rt5/a/__init__.py": "import lmlog\nlmlog.LOG.append('a')\n",
            "rt5/a/b.py": (
                "import lmlog, rt5\nlmlog.LOG.append(['b', getattr(rt5, 'Z', None)])\nV = 7\n"
            ),
        },
        "import rt5.a.b\nimport rt5\n"
        "out = [rt5.VAL, lmlog.LOG, mods('rt5'), type(rt5.a).__name__, type(rt5.a.b).__name__]\n",
    ),
    # relative names: import_module(package=) and __import__(level=), from inside and outside
    "relative_names": (
        {
            "rt6/__init__.py": (
                "import lmlog, importlib\nlmlog.LOG.append('rt6')\n"
                "m1 = importlib.import_module('.sub', __name__)\n"
                "m2 = __import__('sub2', globals(), None, ['W'], 1)\n"
                "m3 = importlib.import_module('..c', 'rt6.a')\n"
                "m4 = importlib.import_module('.a.b', 'rt6')\n"
                "m5 = __import__('a.b', globals(), None, [], 1)\n"
                "OUT = [m.__name__ for m in (m1, m2, m3, m4, m5)] + [m2.W, m4.V]\n"
            ),
            "rt6/sub.py": "import lmlog\nlmlog.LOG.append('sub')\n",
            "rt6/sub2.py": "import lmlog\nlmlog.LOG.append('sub2')\nW = 2\n",
            "rt6/c.py": "import lmlog\nlmlog.LOG.append('c')\n",
            "rt6/a/__init__.py": "import lmlog\nlmlog.LOG.append('a')\n",
            "rt6/a/b.py": "import lmlog\nlmlog.LOG.append('b')\nV = 9\n",
        },
        "m = importlib.import_module('.sub2', 'rt6')\nimport rt6.sub, rt6.c, rt6.a.b\n"
        "out = [rt6.OUT, m.W, lmlog.LOG, mods('rt6')]\n",
    ),
    # importlib.reload of the pending submodule from the package's code
    "reload_in_the_package": (
        {
            "rt7/__init__.py": (
                "import lmlog, importlib\nlmlog.LOG.append('rt7')\n"
                "m = importlib.import_module('rt7.sub')\nimportlib.reload(m)\nK = m.K\n"
            ),
            "rt7/sub.py": "import lmlog\nlmlog.LOG.append('sub')\nK = globals().get('K', 0) + 1\n",
        },
        "import rt7.sub\nr = importlib.reload(rt7.sub)\n"
        "out = [r is sys.modules['rt7.sub'], rt7.K, rt7.sub.K, lmlog.LOG, mods('rt7')]\n",
    ),
    # uninstall() while the package and its submodule are pending, then import_module
    "uninstall_while_pending": (
        {
            "rt8/__init__.py": (
                "import lmlog, importlib\nlmlog.LOG.append('rt8')\n"
                "importlib.import_module('rt8.sub')\nX = sub.V\n"
            ),
            "rt8/sub.py": (
                "import lmlog, rt8\nlmlog.LOG.append(['sub', hasattr(rt8, 'X')])\nV = 3\n"
            ),
        },
        "import rt8.sub\nif 'lazymed' in sys.modules:\n    lazymed.uninstall()\n"
        "s = importlib.import_module('rt8.sub')\nout = [s.V, rt8.X, lmlog.LOG, mods('rt8')]\n",
    ),
    # modules lazymed does not manage, circular through import_module, inside a lazy load
    "unmanaged_circular_import_module": (
        {
            "rt9/__init__.py": (
                "import lmlog\nlmlog.LOG.append('rt9')\nimport circ_rt9\nX = circ_rt9.OUT\n"
            ),
            "circ_rt9.py": (
                "import lmlog, importlib, sys\nlmlog.LOG.append('circ start')\nA = 1\n"
                "me = importlib.import_module('circ_rt9')\n"
                "part = importlib.import_module('circ2_rt9')\n"
                "OUT = [me is sys.modules['circ_rt9'], hasattr(me, 'OUT'), part.R]\n"
                "lmlog.LOG.append('circ end')\n"
            ),
            "circ2_rt9.py": (
                "import lmlog, importlib\nc = importlib.import_module('circ_rt9')\n"
                "R = [getattr(c, 'A', None), hasattr(c, 'OUT')]\nlmlog.LOG.append('circ2')\n"
            ),
        },
        "import rt9\nout = [rt9.X, lmlog.LOG, mods('circ'), mods('rt9')]\n",
    ),
    # the middle package of a pending pkg.a.b fails while pkg import_module()s pkg.a.b: eager
    # leaves no pkg.a.b behind, and a retry fails the same way (b never runs without a)
    "failed_middle_package": (
        {
            "rta/__init__.py": (
                "import lmlog, importlib\nlmlog.LOG.append('rta')\n"
                "importlib.import_module('rta.a.b')\nX = 1\n"
            ),
            "rta/a/__init__.py": "import lmlog\nlmlog.LOG.append('a')\nraise KeyError('a broke')\n",
            "rta/a/b.py": "import lmlog\nlmlog.LOG.append('b')\n",
        },
        "def use():\n    import rta.a.b\n    import rta\n    return rta.X\n"
        "out = [attempt(use), mods('rta'), attempt(use), mods('rta'), lmlog.LOG]\n",
    ),
}


@pytest.mark.parametrize("case", sorted(ROUTE_CASES))
def test_import_module_while_a_lazy_package_runs_equals_eager(tmp_path: Path, case: str) -> None:
    files, body = ROUTE_CASES[case]
    files = {"lmlog.py": "LOG = []\n", **files}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    tops = sorted({rel.split("/")[0] for rel in files if "/" in rel})
    outputs = []
    for setup in ("", f"import lazymed\nlazymed.install(lazy={tops!r})"):
        code = ROUTE_HEADER.format(root=str(tmp_path), setup=setup) + body
        code += "print(json.dumps(out))\n"
        proc = run_python(code, args=["-W", "ignore", "-c", code])
        assert proc.returncode == 0, proc.stderr
        outputs.append(json.loads(proc.stdout.splitlines()[-1]))
    assert outputs[1] == outputs[0]


def test_a_pending_submodule_never_runs_without_its_failed_package(pkgs: Packages) -> None:
    """A held pending submodule whose package failed to run imports the package again at its
    next use (as importlib does before a submodule), instead of running alone; its entry is gone
    from sys.modules meanwhile, as after a failed eager ``import a.b``."""
    pkgs.module("fm", "import importlib\nimportlib.import_module('fm.a.b')\n", package=True)
    pkgs.module("fm.a", "raise KeyError('a broke')\n", package=True)
    pkgs.module("fm.a.b", "V = 1\n")
    lazymed.install(lazy=["fm"])
    import fm.a.b

    held = sys.modules["fm.a.b"]  # a pending module, as `from fm.a import b` would bind
    with pytest.raises(KeyError, match="a broke"):
        fm.X  # first use
    assert not any(name.startswith("fm.a") for name in sys.modules)
    with pytest.raises(KeyError, match="a broke"):
        held.V
    assert "fm.a.b" not in pkgs.runs
    assert pkgs.runs == ["fm", "fm.a", "fm", "fm.a"]


def test_the_importlib_route_goes_when_the_last_pending_module_fails_uninstalled(
    pkgs: Packages,
) -> None:
    """After uninstall(), the patch of _lock_unlock_module (3.15: _is_initializing) lasts only
    while a pending module is in sys.modules: a failed last load ends it too."""
    from lazymed import _cpython

    pkgs.module("fu", "1 / 0\n", package=True)
    lazymed.install(lazy=["fu"])
    import fu

    lazymed.uninstall()
    assert _cpython.patched()  # fu is pending: imports of it inside a lazy load still need it
    with pytest.raises(ZeroDivisionError):
        fu.x
    assert "fu" not in sys.modules
    assert not _cpython.patched()
    bootstrap = sys.modules["_frozen_importlib"]
    assert bootstrap._lock_unlock_module is _cpython.original_lock_unlock
    assert getattr(bootstrap, "_is_initializing", None) is _cpython.original_is_initializing


def test_the_route_loads_only_pending_modules_of_lazymed(
    pkgs: Packages, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the route is patched in (a pending module exists), every import_module() of a
    module in sys.modules passes through it (3.15: _is_initializing; 3.11-3.14: when it is
    initialising, _lock_unlock_module). It must run nothing but lazymed's pending modules:
    modules it does not manage, loaded or half-initialised (circular), are left as they are."""
    from lazymed import _load

    loaded: list[str] = []
    real_load = _load.load

    def recording_load(state: _load.Pending, *args: object, **kwargs: object) -> None:
        loaded.append(state.name)
        real_load(state, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_load, "load", recording_load)
    pkgs.module(
        "cr",
        "import importlib, sys\nimport cr_plain\nbefore = dict(sys.modules)\n"
        "SAME = [importlib.import_module(n) is before[n] for n in ('json', 'cr_plain', 'os')]\n"
        "UNCHANGED = dict(sys.modules) == before\n"
        "importlib.import_module('cq')\n",
        package=True,
    )
    pkgs.module("cq", "X = 1\n")
    pkgs.module(
        "cr_plain",
        "import importlib\nA = 1\nme = importlib.import_module('cr_plain')\n"
        "PARTIAL = not hasattr(me, 'PARTIAL')\n",
    )
    import json  # noqa: F401  # loaded before, as the program's other imports are

    lazymed.install(lazy=["cr", "cq"])
    import cq  # noqa: F401
    import cr

    assert _load.pending(sys.modules["cq"]) is not None  # the route is needed, patched in
    assert cr.SAME == [True, True, True]
    assert cr.UNCHANGED
    assert sys.modules["cr_plain"].PARTIAL  # the half-initialised module, as eager
    assert loaded == ["cq"]  # the pending module the package imported, nothing else
    assert pkgs.runs == ["cr", "cr_plain", "cq"]


def test_a_pending_module_that_removes_its_own_entry_fails_its_import_once(
    pkgs: Packages,
) -> None:
    """importlib's _load_unlocked fails an import whose module deleted its own sys.modules entry
    with KeyError (it pops the entry to move it last). Through the route, eager's values:
    the package catches KeyError('sd.sub') and the submodule ran once (on 3.15 _find_and_load
    would otherwise import it afresh, running it twice; on 3.11-3.14 nothing failed)."""
    pkgs.module(
        "sd",
        "import importlib\ntry:\n    importlib.import_module('sd.sub')\n"
        "except KeyError as e:\n    CAUGHT = repr(e)\n",
        package=True,
    )
    pkgs.module("sd.sub", "import sys\ndel sys.modules[__name__]\n")
    lazymed.install(lazy=["sd"])
    import sd.sub  # noqa: F401

    assert pkgs.runs == []
    assert sys.modules["sd"].CAUGHT == "KeyError('sd.sub')"
    assert pkgs.runs == ["sd", "sd.sub"]
    assert "sd.sub" not in sys.modules

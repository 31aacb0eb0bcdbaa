"""Regressions found by adversarial testing: each compares with eager CPython where it matters."""

from __future__ import annotations

import copy
import functools
import pickle
import sys
import threading
import types
from pathlib import Path

import pytest
from conftest import Packages, run_json, run_python

import lazymed
from lazymed import DisabledModuleError
from lazymed._module import LazyModule


def test_child_run_inside_a_load_runs_its_pending_parent_first(pkgs: Packages) -> None:
    """a/p/q.py needs a.p's __init__ to have run; eager order guarantees it."""
    pkgs.module("ra", "", package=True)
    pkgs.module("ra.p", "helper = 1\nfrom .q import Q\n", package=True)
    pkgs.module("ra.p.q", "from ra.p import helper\nQ = helper + 1\n")
    pkgs.module("rb", "import ra.p.q\nX = ra.p.q.Q\n")
    lazymed.install(lazy=["ra", "rb"])
    import ra.p
    import rb

    assert rb.X == 2  # rb's load imports ra.p.q eagerly: ra and ra.p run first
    assert ra.p.Q == 2
    assert pkgs.runs.count("ra.p.q") == 1


def test_side_effect_order_parent_before_submodule(pkgs: Packages) -> None:
    pkgs.module("rc", "REGISTRY = {}\n", package=True)
    pkgs.module("rc.sub", "import sys\nSEEN = 'REGISTRY' in vars(sys.modules['rc'])\n")
    pkgs.module("rd", "import rc.sub\nX = rc.sub.SEEN\n")
    lazymed.install(lazy=["rc", "rd"])
    import rc  # noqa: F401
    import rd

    assert rd.X is True


def test_error_in_a_pending_module_imported_during_a_load_propagates(pkgs: Packages) -> None:
    """CPython swallows exceptions raised while reading __spec__._initializing; the load must
    not run there."""
    pkgs.module("ram", "raise RuntimeError('am broken')\n")
    pkgs.module("rbm", "import ram\nX = 1\n")
    lazymed.install(lazy=["ram", "rbm"])
    import ram  # noqa: F401
    import rbm

    with pytest.raises(RuntimeError, match="am broken"):
        rbm.X


def test_keyboard_interrupt_in_a_nested_import_is_not_swallowed(pkgs: Packages) -> None:
    pkgs.module("rki", "raise KeyboardInterrupt\n")
    pkgs.module("rkj", "import rki\nX = 1\n")
    lazymed.install(lazy=["rki", "rkj"])
    import rki  # noqa: F401
    import rkj

    with pytest.raises(KeyboardInterrupt):
        rkj.X


def test_binding_made_by_a_submodule_the_package_imports(pkgs: Packages) -> None:
    pkgs.module("rplug", "from . import _setup\n", package=True)
    pkgs.module(
        "rplug._setup",
        "import sys\nfrom . import tool as _t\ndef tool():\n    return 'fn'\n"
        "sys.modules[__package__].tool = tool\n",
    )
    pkgs.module("rplug.tool", "X = 1\n")
    lazymed.install(lazy=["rplug"])
    from rplug import tool

    assert tool() == "fn"


def test_module_getattr_assigned_not_defined(pkgs: Packages) -> None:
    pkgs.module(
        "rplug2",
        "def _getattr(name):\n    if name == 'client':\n        return lambda: 'fn'\n"
        "    raise AttributeError(name)\n__getattr__ = _getattr\n",
        package=True,
    )
    pkgs.module("rplug2.client", "X = 1\n")
    lazymed.install(lazy=["rplug2"])
    from rplug2 import client

    assert client() == "fn"


def test_warning_as_error_leaves_nothing_installed(pkgs: Packages) -> None:
    import json  # noqa: F401  (already imported: install warns)
    import warnings

    pkgs.module("rcrit", "")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(lazymed.LazymedWarning):
            lazymed.install(lazy=["json"], critical=["rcrit"])
    assert not lazymed.status().installed
    with pytest.warns(lazymed.LazymedWarning):
        lazymed.install(lazy=["json"], critical=["rcrit"])
    assert "rcrit" in sys.modules


def test_reload_of_a_disabled_module_runs_nothing(pkgs: Packages) -> None:
    import importlib

    pkgs.module("roff", "")
    lazymed.install(disabled_modules=["roff"])
    import roff

    with pytest.raises(DisabledModuleError):
        importlib.reload(roff)
    assert pkgs.runs == []


def test_probing_a_disabled_module_gives_attribute_error(pkgs: Packages) -> None:
    pkgs.module("roff2", "")
    lazymed.install(disabled_modules=["roff2"])
    import roff2

    assert [n for n, m in list(sys.modules.items()) if hasattr(m, "LmNoSuchThing")] == []
    assert getattr(roff2, "anything", "default") == "default"
    with pytest.raises(DisabledModuleError):
        roff2.anything
    namespace: dict[str, object] = {}
    exec("def g():\n    pass\n", namespace)
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(namespace["g"])  # whichmodule scans sys.modules with getattr


def test_setting_class_from_outside_loads_first(pkgs: Packages) -> None:
    pkgs.module("rcm", "V = 1\n")
    lazymed.install(lazy=["rcm"])
    import rcm

    class Custom(types.ModuleType):
        pass

    rcm.__class__ = Custom
    assert rcm.V == 1
    assert type(rcm) is Custom


def test_thread_started_by_the_module_using_its_globals(pkgs: Packages) -> None:
    """Module code that starts a worker at import time and waits for it: the worker reads the
    module's globals directly (not through the module object), as such code does, so it does
    not wait for the load it is part of."""
    pkgs.module(
        "rtmod",
        "import threading\nX = 1\nr = []\ndef work():\n    r.append(X)\n"
        "t = threading.Thread(target=work)\nt.start(); t.join(10)\nALIVE = t.is_alive()\n",
    )
    lazymed.install(lazy=["rtmod"])
    import rtmod

    assert rtmod.r == [1]
    assert rtmod.ALIVE is False


def test_thread_started_during_a_load_waits_for_the_whole_module(pkgs: Packages) -> None:
    """A request thread that arrives while another request is loading the module must see it
    complete (it would have waited on the import lock with eager imports)."""
    pkgs.module(
        "rslow",
        "import time\ndef f():\n    return CONFIG['x']\ntime.sleep(0.5)\nCONFIG = {'x': 42}\n",
    )
    lazymed.install(lazy=["rslow"])
    import rslow

    out: list[object] = []

    def call() -> None:
        try:
            out.append(rslow.f())
        except Exception as exc:
            out.append(exc)

    first = threading.Thread(target=call)
    first.start()
    while "rslow" not in pkgs.runs:
        pass
    second = threading.Thread(target=call)  # born during the load
    second.start()
    first.join(30)
    second.join(30)
    assert out == [42, 42]


def test_stand_in_forwards_doc_module_and_survives_wraps(pkgs: Packages) -> None:
    pkgs.module("rdoc", "def f():\n    '''real doc'''\n    return 1\nclass K:\n    pass\n")
    lazymed.install(lazy=["rdoc"], from_import="deferred")
    pkgs.module("rdoc_user", "from rdoc import f, K\n")
    __import__("rdoc_user")
    user = sys.modules["rdoc_user"]
    stand_in = user.__dict__["f"]

    @functools.wraps(stand_in)
    def wrapper() -> object:
        return stand_in()

    assert wrapper.__doc__ == "real doc"
    assert wrapper.__module__ == "rdoc"
    klass = user.__dict__["K"]
    assert copy.deepcopy(klass) is sys.modules["rdoc"].K
    assert pickle.loads(pickle.dumps(klass)) is sys.modules["rdoc"].K


def test_stand_in_protocols(pkgs: Packages) -> None:
    pkgs.module(
        "rproto",
        "IT = iter([1, 2])\nNUM = 7.6\nclass Ctx:\n    async def __aenter__(self):\n"
        "        return 1\n    async def __aexit__(self, *a):\n        return False\n",
    )
    lazymed.install(lazy=["rproto"], from_import="deferred")
    pkgs.module("rproto_user", "from rproto import IT, NUM, Ctx\n")
    __import__("rproto_user")
    ns = sys.modules["rproto_user"].__dict__
    assert next(ns["IT"]) == 1
    assert round(ns["NUM"]) == 8
    assert divmod(ns["NUM"], 2) == divmod(7.6, 2)
    import asyncio
    import math

    assert math.trunc(ns["NUM"]) == 7

    async def use() -> object:
        async with ns["Ctx"]() as value:
            return value

    assert asyncio.run(use()) == 1


def test_try_except_import_error_fallback_stays_eager_in_deferred_mode(pkgs: Packages) -> None:
    pkgs.module("rfast", "class Loader:\n    name = 'pure'\n")
    lazymed.install(lazy=["rfast"], from_import="deferred")
    pkgs.module(
        "rfast_user",
        "try:\n    from rfast import CLoader as Loader\nexcept ImportError:\n"
        "    from rfast import Loader\nNAME = Loader.name\n",
    )
    __import__("rfast_user")
    assert sys.modules["rfast_user"].NAME == "pure"


def test_find_spec_queries_get_the_real_loader(pkgs: Packages) -> None:
    import importlib.util

    pkgs.module("rquery", "X = 1\n")
    lazymed.install(lazy=["rquery"])
    spec = importlib.util.find_spec("rquery")
    assert spec is not None and type(spec.loader).__name__ == "SourceFileLoader"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.X == 1  # the manual import recipe executes, as documented by importlib
    assert type(module) is types.ModuleType


def test_runpy_run_module_sees_the_real_loader(pkgs: Packages) -> None:
    import runpy

    pkgs.module("rrun", "LOADER = type(__loader__).__name__\n")
    lazymed.install(lazy=["rrun"])
    assert runpy.run_module("rrun")["LOADER"] == "SourceFileLoader"


def test_many_threads_mixing_import_statements_and_use(pkgs: Packages) -> None:
    pkgs.module("rmix", "import time\ntime.sleep(0.2)\nV = 3\n")
    lazymed.install(lazy=["rmix"])
    import rmix  # noqa: F401

    out: list[int] = []
    barrier = threading.Barrier(32)

    def worker(i: int) -> None:
        barrier.wait()
        if i % 2:
            out.append(__import__("rmix").V)
        else:
            out.append(sys.modules["rmix"].V)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert out == [3] * 32
    assert pkgs.runs == ["rmix"]
    assert type(sys.modules["rmix"]) is not LazyModule


def test_class_getattr_of_a_module_that_sets_its_own_class(pkgs: Packages) -> None:
    """pygments.lexers: first access after the load must go through the module's own class."""
    pkgs.module(
        "rcg",
        "import sys, types\nclass _M(types.ModuleType):\n    def __getattr__(self, name):\n"
        "        if name.startswith('dyn_'):\n            return name.upper()\n"
        "        raise AttributeError(name)\nsys.modules[__name__].__class__ = _M\n",
    )
    lazymed.install(lazy=["rcg"])
    import rcg

    assert rcg.dyn_x == "DYN_X"


def test_module_reused_from_a_parent_import_keeps_its_spec(pkgs: Packages) -> None:
    pkgs.module("rpk", "from . import sub\n", package=True)
    pkgs.module("rpk.sub", "import sys\nSPEC = sys.modules[__name__].__spec__\n")
    pkgs.module("ruser", "import rpk.sub\nX = rpk.sub.SPEC\n")
    lazymed.install(lazy=["rpk", "ruser"])
    import ruser

    spec_seen_by_its_code = ruser.X
    sub = sys.modules["rpk.sub"]
    assert spec_seen_by_its_code is sub.__spec__
    assert type(sub.__spec__.loader).__name__ == "SourceFileLoader"


def test_retry_after_a_failed_load_keeps_one_module_object(pkgs: Packages) -> None:
    path = pkgs.module(
        "rbmod",
        "import os\nif not os.path.exists(__file__ + '.ok'):\n"
        "    raise RuntimeError('first run fails')\nV = 1\n",
    )
    pkgs.module("ramod", "import rbmod\nx = rbmod.V\n")
    lazymed.install(lazy=["ramod", "rbmod"])
    import ramod
    import rbmod

    with pytest.raises(RuntimeError):
        ramod.x
    (path.parent / (path.name + ".ok")).write_text("")
    assert ramod.x == 1
    assert sys.modules["rbmod"] is rbmod
    assert ramod.rbmod is rbmod
    assert pkgs.runs.count("rbmod") == 2  # failed once, then ran once


def test_deepcopy_of_a_stand_in_for_a_class_with_deepcopy(pkgs: Packages) -> None:
    pkgs.module("rdc", "class K:\n    def __deepcopy__(self, memo):\n        return self\n")
    lazymed.install(lazy=["rdc"], from_import="deferred")
    pkgs.module("rdc_user", "from rdc import K\n")
    __import__("rdc_user")
    assert copy.deepcopy(sys.modules["rdc_user"].__dict__["K"]) is sys.modules["rdc"].K
    assert copy.copy(sys.modules["rdc_user"].__dict__["K"]) is sys.modules["rdc"].K


def test_names_bound_before_the_load_are_not_seen_by_its_code(pkgs: Packages) -> None:
    pkgs.module(
        "rgp",
        "def f():\n    pass\n__all__ = [n for n in dir() if not n.startswith('_')]\n",
        package=True,
    )
    pkgs.module("rgp.sub", "")
    pkgs.module("rmq", "try:\n    hook\nexcept NameError:\n    hook = 'default'\nVAL = hook\n")
    lazymed.install(lazy=["rgp", "rmq"])
    import rgp.sub
    import rmq

    rmq.hook = "patched"
    assert rgp.__all__ == ["f"]  # eager: `sub` is bound after the package's code ran
    assert rmq.VAL == "default"
    assert rmq.hook == "patched"  # and the later binding wins afterwards
    assert rgp.sub is sys.modules["rgp.sub"]


def test_package_that_aliases_a_submodule_in_sys_modules(pkgs: Packages) -> None:
    """requests.packages style: the package's code puts `pkg.virtual` into sys.modules."""
    pkgs.module(
        "rvp",
        "import sys, types\nm = types.ModuleType('rvp.virtual')\nm.X = 5\n"
        "sys.modules['rvp.virtual'] = m\n",
        package=True,
    )
    lazymed.install(lazy=["rvp"])
    from rvp.virtual import X

    assert X == 5


def test_package_that_prepends_to_its_path(pkgs: Packages, tmp_path: object) -> None:
    from pathlib import Path

    override = Path(str(tmp_path)) / "override"
    override.mkdir()
    (override / "sub.py").write_text("WHICH = 'override'\n")
    pkgs.module("rpo", f"__path__.insert(0, {str(override)!r})\n", package=True)
    pkgs.module("rpo.sub", "WHICH = 'package'\n")
    lazymed.install(lazy=["rpo"])
    from rpo import sub

    assert sub.WHICH == "override"


def test_package_whose_module_chain_aliases_submodules(pkgs: Packages) -> None:
    """requests: __init__ imports .packages, whose code aliases other modules into sys.modules
    under the package's name; a submodule-first import must see those aliases."""
    pkgs.module("rrq", "from . import packages\n", package=True)
    pkgs.module(
        "rrq.packages",
        "import sys, json\nsys.modules['rrq.packages.json'] = json\n",
    )
    lazymed.install(lazy=["rrq"])
    from rrq.packages.json import dumps

    assert dumps([1]) == "[1]"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # the parent package patches the subpackage's attribute
        (
            {
                "rpa/__init__.py": "from . import b\nb.sub = 'patched'\n",
                "rpa/b/__init__.py": "",
                "rpa/b/sub.py": "",
            },
            "patched",
        ),
        # importlib.import_module of an own module that sets the attribute
        (
            {
                "rpa/__init__.py": "",
                "rpa/b/__init__.py": "import importlib\nimportlib.import_module('rpa.b._setup')\n",
                "rpa/b/_setup.py": "import sys\nsys.modules['rpa.b'].sub = 'fn'\n",
                "rpa/b/sub.py": "",
            },
            "fn",
        ),
        # vars(...)[...] = ... in an own module
        (
            {
                "rpa/__init__.py": "",
                "rpa/b/__init__.py": "from . import _setup\n",
                "rpa/b/_setup.py": "import sys\nvars(sys.modules['rpa.b'])['sub'] = 'fn'\n",
                "rpa/b/sub.py": "",
            },
            "fn",
        ),
        # __dict__.update in __init__
        (
            {
                "rpa/__init__.py": "",
                "rpa/b/__init__.py": (
                    "import sys\nsys.modules[__name__].__dict__.update(sub='fn')\n"
                ),
                "rpa/b/sub.py": "",
            },
            "fn",
        ),
        # module.__setattr__ in an own module
        (
            {
                "rpa/__init__.py": "",
                "rpa/b/__init__.py": "from . import _setup\n",
                "rpa/b/_setup.py": "import sys\nsys.modules['rpa.b'].__setattr__('sub', 'fn')\n",
                "rpa/b/sub.py": "",
            },
            "fn",
        ),
        # a match capture pattern binds the name
        (
            {
                "rpa/__init__.py": "",
                "rpa/b/__init__.py": "match 'fn':\n    case sub:\n        pass\n",
                "rpa/b/sub.py": "",
            },
            "fn",
        ),
        # sys.modules alias for the submodule name
        (
            {
                "rpa/__init__.py": "",
                "rpa/b/__init__.py": (
                    "import sys\nsys.modules[__name__ + '.sub'] = 'fn'\nsub = 'fn'\n"
                ),
                "rpa/b/sub.py": "",
            },
            "fn",
        ),
    ],
)
def test_static_reading_catches_other_bindings(
    tmp_path: object, files: dict[str, str], expected: str
) -> None:
    """Each case: eager `from rpa.b import sub` gives `expected`, not the submodule."""
    import json
    import textwrap
    from pathlib import Path

    from conftest import run_python

    root = Path(str(tmp_path))
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    results = []
    for setup in ("", "import lazymed\nlazymed.install(lazy=['rpa'])\n"):
        code = f"import sys, json\nsys.path.insert(0, {str(root)!r})\n{setup}" + textwrap.dedent(
            """
            from rpa.b import sub
            print(json.dumps(sub if isinstance(sub, str) else 'module'))
            """
        )
        proc = run_python(code)
        assert proc.returncode == 0, proc.stderr
        results.append(json.loads(proc.stdout.splitlines()[-1]))
    assert results == [expected, expected]


def test_child_waits_for_a_parent_another_thread_is_loading(pkgs: Packages) -> None:
    pkgs.module("rlq", "import time\ntime.sleep(0.3)\nfrom .other import O\n", package=True)
    pkgs.module("rlq.other", "from rlq.sub import PLUG\nO = PLUG\n")
    pkgs.module("rlq.sub", "from rlq import util\nPLUG = 1\n")
    pkgs.module("rlq.util", "U = 1\n")
    lazymed.install(lazy=["rlq"])
    import rlq.sub

    out: list[object] = []

    def a() -> None:
        out.append(rlq.O)

    def b() -> None:
        import time

        time.sleep(0.1)
        exec("from rlq.sub import PLUG as P; out.append(P)", {"out": out})

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert out == [1, 1]
    assert pkgs.runs.count("rlq") == 1


def test_submodule_import_racing_the_package_load(pkgs: Packages) -> None:
    """A thread imports pkg.sub while another runs pkg, whose code imports pkg.sub: no
    _DeadlockError, each body once (the hook releases the child's import lock)."""
    pkgs.module(
        "rtq",
        # __path__.insert: lazymed runs the package before `import rtq.sub` looks it up
        "import time, os\n__path__.insert(0, os.path.dirname(__file__))\n"
        "time.sleep(0.3)\nfrom . import sub\nX = 1\n",
        package=True,
    )
    pkgs.module("rtq.sub", "S = 2\n")
    lazymed.install(lazy=["rtq"])
    import rtq

    out: list[object] = []

    def importer() -> None:
        try:
            exec("import rtq.sub; out.append(rtq.sub.S)", {"out": out})
        except BaseException as exc:
            out.append(exc)

    def user() -> None:
        try:
            out.append(rtq.X)
        except BaseException as exc:
            out.append(exc)

    threads = [threading.Thread(target=importer), threading.Thread(target=user)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(map(repr, out)) == ["1", "2"]
    assert pkgs.runs.count("rtq") == 1


def test_package_replacing_itself_gives_its_replacements_path(pkgs: Packages) -> None:
    init = pkgs.module(
        "rp7",
        "import sys, types, os\nnew = types.ModuleType(__name__)\n"
        "new.__path__ = [os.path.join(os.path.dirname(__file__), 'alt')]\n"
        "new.__file__ = __file__\nnew.__spec__ = __spec__\nsys.modules[__name__] = new\n",
        package=True,
    )
    (init.parent / "alt").mkdir()
    (init.parent / "alt" / "sub.py").write_text("WHERE = 'alt'\n")
    (init.parent / "sub.py").write_text("WHERE = 'orig'\n")
    lazymed.install(lazy=["rp7"])
    import rp7.sub  # noqa: F401

    assert sys.modules["rp7.sub"].WHERE == "alt"


def test_attribute_error_in_a_package_run_before_its_submodule(pkgs: Packages) -> None:
    pkgs.module(
        "rp10",
        "import sys\nsys.path_importer_cache.clear()\nimport os\nos.lm_no_such()\n",
        package=True,
    )
    pkgs.module("rp10.sub", "S = 1\n")
    lazymed.install(lazy=["rp10"])
    with pytest.raises(ImportError) as info:
        import rp10.sub  # noqa: F401
    assert not isinstance(info.value, ModuleNotFoundError)
    assert isinstance(info.value.__cause__, AttributeError)
    assert "lm_no_such" in str(info.value)


def test_none_blocker_and_odd_entries_a_package_puts_in_sys_modules(pkgs: Packages) -> None:
    pkgs.module(
        "rp5",
        "import sys\nsys.modules[__name__ + '.blocked'] = None\n"
        "sys.modules[__name__ + '.number'] = 42\n",
        package=True,
    )
    pkgs.module("rp5.blocked", "B = 1\n")
    lazymed.install(lazy=["rp5"])
    with pytest.raises(ModuleNotFoundError, match="halted"):
        import rp5.blocked
    assert "rp5.blocked" not in pkgs.runs
    import rp5.number  # noqa: F401

    assert sys.modules["rp5.number"] == 42


def test_deferred_names_used_where_only_the_real_object_works_stay_eager(
    pkgs: Packages,
) -> None:
    """`raise Name`, `except Name` and class bodies (pydantic reads annotations at class
    creation) need the real object: those from-imports load at the statement."""
    pkgs.module(
        "rexc",
        "class NotFound(Exception):\n    pass\nclass Other(Exception):\n    pass\n"
        "class Url(str):\n    pass\n",
    )
    pkgs.module("rhelp", "def helper():\n    return 1\n")
    lazymed.install(lazy=["rexc", "rhelp"], from_import="deferred")
    pkgs.module(
        "rexc_user",
        "from rhelp import helper\nfrom rexc import NotFound as NF, Other, Url\n"
        "def f():\n    raise NF\n"
        "def g():\n    try:\n        raise ValueError\n    except (Other, ValueError):\n"
        "        return 'caught'\n"
        "class Model:\n    url: Url\n",
    )
    __import__("rexc_user")
    user = sys.modules["rexc_user"].__dict__
    real = sys.modules["rexc"]
    assert user["NF"] is real.NotFound
    assert user["Other"] is real.Other
    assert user["Url"] is real.Url
    assert type(user["helper"]).__name__ == "Deferred"  # an ordinary call: still deferred
    with pytest.raises(real.NotFound):
        user["f"]()
    assert user["g"]() == "caught"


# --------------------------------------------------------------------------- issue 11 §1


def test_disabled_module_raises_disabled_module_error_on_every_use(pkgs: Packages) -> None:
    """#7: on 3.12 the second execution of `m.name` is specialised (LOAD_ATTR calling the
    overridden __getattribute__ directly), which left f_lasti on an inline-cache entry: lazymed
    took it for a getattr() probe and raised AttributeError from the second use on, so the
    README's `except ImportError:` guard (a Flask view) stopped catching it."""
    pkgs.module("r7_off", "def connect():\n    return 1\n")
    lazymed.install(disabled_modules=["r7_off"])
    import r7_off

    def view() -> str:
        try:
            r7_off.connect()
        except ImportError as exc:
            return type(exc).__name__
        return "ran"

    assert [view() for _ in range(6)] == ["DisabledModuleError"] * 6
    for _ in range(4):  # the same instruction again and again
        with pytest.raises(DisabledModuleError):
            r7_off.connect
    assert getattr(r7_off, "connect", "probe") == "probe"  # getattr() probes: AttributeError
    assert pkgs.runs == []


class _SourceLoader:
    """A frozen-app / plugin style loader: runs source it holds."""

    runs: list[str]

    def __init__(self, source: str) -> None:
        self.source = source

    def exec_module(self, module: types.ModuleType) -> None:
        type(self).runs.append(module.__name__)
        exec(self.source, module.__dict__)


class _DefaultCreate(_SourceLoader):
    def create_module(self, spec: object) -> None:
        return None  # "default module creation"


class _Builds(_SourceLoader):
    def create_module(self, spec: object) -> types.ModuleType:
        module = types.ModuleType(spec.name)  # type: ignore[attr-defined]
        module.BUILT = True  # type: ignore[attr-defined]
        return module


class _NoCreate(_SourceLoader):
    pass


def _finder_for(loaders: dict[str, object]) -> object:
    import importlib.util

    class Finder:
        @staticmethod
        def find_spec(name: str, path: object = None, target: object = None) -> object:
            loader = loaders.get(name)
            return None if loader is None else importlib.util.spec_from_loader(name, loader)

    return Finder


@pytest.mark.parametrize("via_abc", [False, True], ids=["create_module-None", "importlib.abc"])
def test_custom_loader_with_default_module_creation_is_lazy(via_abc: bool) -> None:
    """#4: a create_module returning None means "default creation": the module is lazy."""
    import importlib.abc

    class AbcLoader(importlib.abc.Loader, _SourceLoader):
        pass

    cls = AbcLoader if via_abc else _DefaultCreate
    cls.runs = []
    sys.meta_path.append(_finder_for({"r4_plugin": cls("VALUE = 4\n")}))  # type: ignore[arg-type]
    lazymed.install(lazy=["r4_plugin"])
    import r4_plugin

    assert type(r4_plugin) is LazyModule
    assert cls.runs == []
    assert r4_plugin.VALUE == 4
    assert cls.runs == ["r4_plugin"]
    assert type(r4_plugin) is types.ModuleType


def test_custom_loader_that_builds_its_module_runs_at_the_statement() -> None:
    _Builds.runs = []
    sys.meta_path.append(_finder_for({"r4_built": _Builds("VALUE = 5\n")}))  # type: ignore[arg-type]
    lazymed.install(lazy=["r4_built"])
    import r4_built

    assert _Builds.runs == ["r4_built"]  # cannot be deferred: as eager
    assert (r4_built.BUILT, r4_built.VALUE) == (True, 5)
    assert lazymed.status().module("r4_built").state == "loaded"


def test_loader_without_create_module_gives_pythons_import_error() -> None:
    """#4: exec_module without create_module: the ImportError Python gives, not AttributeError."""
    _NoCreate.runs = []
    sys.meta_path.append(_finder_for({"r4_nocreate": _NoCreate("X = 1\n")}))  # type: ignore[arg-type]
    with pytest.raises(ImportError) as eager:
        import r4_nocreate
    lazymed.install(lazy=["r4_nocreate"])
    with pytest.raises(ImportError) as lazy:
        import r4_nocreate  # noqa: F401
    assert type(lazy.value) is type(eager.value)
    assert str(lazy.value) == str(eager.value)
    assert "create_module" in str(lazy.value)
    assert _NoCreate.runs == []


def test_install_keywords_do_not_import_the_validator(tmp_path: Path) -> None:
    """#6: the README says validation runs only on a cache miss or an error; keywords too."""
    (tmp_path / "pyproject.toml").write_text('[tool.lazymed]\nlazy = ["lm_file_only"]\n')
    env = {"LAZYMED_CACHE_DIR": str(tmp_path / "cache")}
    code = """
        import sys, json, lazymed
        lazymed.install(lazy=["lm_kw_a", "lm_kw.b"], critical=[], from_import="deferred",
                        disabled_modules=("lm_kw_off",))
        st = lazymed.status()
        print(json.dumps(["lazymed._validate" in sys.modules, st.lazy, st.from_import,
                          st.disabled_modules, st.sources["lazy"]]))
        """
    assert run_python(code, cwd=tmp_path, env=env).returncode == 0  # warms the cache
    assert run_json(code, cwd=tmp_path, env=env) == [
        False,
        ["lm_kw_a", "lm_kw.b"],
        "deferred",
        ["lm_kw_off"],
        "install() keyword",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lazy": ["a", "a"]}, "install() keyword key 'lazy': 'a' is listed twice"),
        ({"lazy": ["a b"]}, "'a b' is not a dotted module name"),
        ({"lazy": "a"}, "expected a list of module names, got str 'a'"),
        ({"from_import": "lazy"}, "expected one of 'eager', 'deferred', got 'lazy'"),
        ({"critical": [3]}, "module names must be strings, got 3"),
    ],
)
def test_bad_install_keywords_are_still_explained(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(lazymed.ConfigError) as info:
        lazymed.install(**kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_keyword_fast_path_equals_the_validator() -> None:
    from lazymed import _config
    from lazymed._schema import SCHEMA
    from lazymed._validate import validate_table

    given = {"lazy": ["x.y", "z"], "critical": ("c",), "from_import": "eager"}
    assert _config._plainly_valid(given) == validate_table(given, SCHEMA, "install() keyword")


def test_failed_lazy_submodule_reached_through_its_parent_retries(
    pkgs: Packages, tmp_path: Path
) -> None:
    """#1: `import acme.cloud.storage`, its first use fails (a marker file makes its __init__
    raise), the marker goes: the next access through the parent retries, as the README promises
    ("the next access retries") and as the bound object already did."""
    marker = tmp_path / "storage-broken"
    marker.write_text("")
    pkgs.module("acme1", package=True)
    pkgs.module("acme1.cloud", package=True)
    pkgs.module(
        "acme1.cloud.storage",
        f"import os\nif os.path.exists({str(marker)!r}):\n    raise OSError('no credentials')\n"
        "class Client:\n    pass\n",
        package=True,
    )
    lazymed.install(lazy=["acme1.cloud.storage"])
    import acme1.cloud.storage

    with pytest.raises(OSError, match="no credentials"):
        acme1.cloud.storage.Client
    assert "acme1.cloud.storage" not in sys.modules  # as a failed import: no entry
    assert lazymed.status().module("acme1.cloud.storage").state == "failed"
    marker.unlink()
    assert acme1.cloud.storage.Client.__name__ == "Client"  # through the parent: retried
    assert sys.modules["acme1.cloud.storage"] is acme1.cloud.storage
    assert lazymed.status().module("acme1.cloud.storage").state == "loaded"
    assert pkgs.runs.count("acme1.cloud.storage") == 2


def test_failed_lazy_submodule_retries_on_a_new_import_statement(
    pkgs: Packages, tmp_path: Path
) -> None:
    marker = tmp_path / "broken"
    marker.write_text("")
    pkgs.module("acme2", package=True)
    pkgs.module(
        "acme2.storage",
        f"import os\nif os.path.exists({str(marker)!r}):\n    raise OSError('down')\nX = 1\n",
    )
    lazymed.install(lazy=["acme2.storage"])
    import acme2.storage

    first = acme2.storage
    with pytest.raises(OSError):
        acme2.storage.X
    marker.unlink()
    import acme2.storage  # eager Python's way to retry

    assert acme2.storage is first
    assert acme2.storage.X == 1


# --------------------------------------------------------------- found by the adversarial round


def test_imported_at_names_the_caller_of_importlib_import_module(pkgs: Packages) -> None:
    pkgs.module("rv_mod3", "X = 1\n")
    pkgs.module(
        "rv_helper", "import importlib\ndef imp(n):\n    return importlib.import_module(n)\n"
    )
    lazymed.install(lazy=["rv_mod3"])
    from rv_helper import imp

    imp("rv_mod3")
    site = lazymed.status().module("rv_mod3").imported_at
    assert site is not None and site.endswith("rv_helper.py:5"), site  # 2-line run header


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"config": 3}, ["'config'", "int"]),
        ({"config": ["pyproject.toml"]}, ["'config'", "list"]),
        ({"config": b"/x/pyproject.toml"}, ["'config'", "bytes"]),
        ({"config": "/tmp/a\x00b"}, ["'config'", "NUL"]),
        ({"profile": ["dev"]}, ["'profile'", "list"]),
    ],
)
def test_install_arguments_of_the_wrong_type_are_config_errors(
    kwargs: dict[str, object], words: list[str]
) -> None:
    with pytest.raises(lazymed.ConfigError) as info:
        lazymed.install(**kwargs)  # type: ignore[arg-type]
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("raw", ["a,,b", ",", "a, ,b"])
def test_empty_name_in_an_environment_list_is_a_config_error(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAZYMED_LAZY", raw)
    with pytest.raises(lazymed.ConfigError, match="LAZYMED_LAZY"):
        lazymed.install(config=None)

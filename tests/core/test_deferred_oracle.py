"""Deferred mode must be invisible to tools that look at the bound object (issue 11, defect 12).

Eager CPython is the oracle: each program runs in a fresh interpreter once eagerly and once with
``from_import = "deferred"``, and the observations must be equal. The known limits (identity and
C-level type checks, which no stand-in can pass before its first use) are asserted as documented.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import run_python

LIBRARY = """
import dataclasses, enum, warnings
SHARED = [1, 2, 3]
NAME = "olib-name"
NUMBER = 41
CONFIG = {"a": 1}
def func(a, b=2, *, c=3):
    "func doc"
    return a + b + c
async def coro(x):
    return x
class Klass:
    "klass doc"
    def __init__(self, x: int = 0):
        self.x = x
    def method(self, y):
        return self.x + y
    def __eq__(self, other):
        return isinstance(other, Klass) and other.x == self.x
    def __hash__(self):
        return hash(self.x)
def old_api():
    warnings.warn("old_api is deprecated", DeprecationWarning, stacklevel=2)
    return 1
class Color(enum.Enum):
    RED = 1
@dataclasses.dataclass
class Point:
    x: int
    y: int = 0
def helper():
    return "function helper"
"""

RUNNER = """
import json, sys
if sys.argv[1] == "deferred":
    import lazymed
    lazymed.install(lazy=["olib"], from_import="deferred")
out = []
import prog
print(json.dumps(prog.out, default=repr))
"""

# Each program appends observations to `out`; they must be the same eager and deferred.
SAME = {
    "signature": """
        from olib import func, Klass, coro
        import inspect
        out.append(str(inspect.signature(func)))
        out.append(str(inspect.signature(Klass)))
        out.append(str(inspect.signature(Klass.method)))
        out.append(inspect.iscoroutinefunction(coro))
        out.append(inspect.iscoroutinefunction(func))
        """,
    "abc-checks": """
        from olib import func, Klass, SHARED, NUMBER
        import collections.abc as abc
        for obj in (func, Klass, SHARED, NUMBER):
            out.append([isinstance(obj, c) for c in
                        (abc.Iterable, abc.Sized, abc.Awaitable, abc.Callable, abc.Hashable,
                         abc.Container, abc.AsyncIterable, abc.Mapping, abc.Sequence)])
        """,
    "autospec": """
        import warnings
        warnings.simplefilter("error")
        from olib import func, Klass
        from unittest import mock
        m = mock.create_autospec(func)
        m(1, 2)
        out.append(str(m.call_args))
        out.append(type(m).__name__)
        try:
            m(1, 2, 3, 4)
        except TypeError:
            out.append("TypeError")
        k = mock.create_autospec(Klass, instance=True)
        k.method(1)
        out.append(str(k.method.call_args))
        """,
    "pickle-shared-references": """
        from olib import SHARED, Klass, func
        import olib, pickle
        data = pickle.loads(pickle.dumps([SHARED, olib.SHARED, SHARED]))
        out.append([data[0] is data[1], data[0] is data[2], data[0]])
        out.append(pickle.loads(pickle.dumps(Klass)) is olib.Klass)
        out.append(pickle.loads(pickle.dumps(func)) is olib.func)
        """,
    "warning-attributed-to-the-caller": """
        from olib import old_api
        import warnings
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            old_api()
        out.append((w[0].filename.rsplit("/", 1)[-1], w[0].lineno))
        """,
    "later-import-of-a-submodule-shadowed-by-a-function": """
        from olib import helper
        import olib.helper
        out.append(callable(helper))
        out.append(helper() if callable(helper) else repr(helper))
        """,
    "copy": """
        from olib import SHARED, CONFIG, Klass
        import copy
        c = copy.copy(SHARED)
        out.append([c, type(c).__name__])
        d = copy.deepcopy(CONFIG)
        out.append([d, type(d).__name__])
        out.append(copy.copy(Klass).__name__)
        """,
    "enum-dataclass-match": """
        from olib import Klass, Color, Point
        import dataclasses
        match Klass(1):
            case Klass():
                out.append("matched")
        out.append(Color(1).name)
        out.append(repr(Point(1)))
        out.append([f.name for f in dataclasses.fields(Point)])
        """,
    "singledispatch-dataclass-field-typing": """
        from olib import Klass, func, SHARED
        import dataclasses, functools, typing
        @functools.singledispatch
        def show(x):
            return "default"
        @show.register(Klass)
        def _(x):
            return "klass"
        out.append([show(Klass(1)), show(3)])
        @dataclasses.dataclass
        class Holder:
            items: list = dataclasses.field(default_factory=lambda: list(SHARED))
        out.append(Holder().items)
        def f(x: "Klass") -> "Klass":
            return x
        out.append(sorted(typing.get_type_hints(f, globals())))
        out.append([typing.Optional[Klass] == typing.Optional[Klass], isinstance(Klass(), Klass)])
        """,
    "doc-and-names": """
        from olib import func, Klass
        out.append([func.__doc__, Klass.__doc__, func.__name__, func.__module__])
        """,
    "callable-after-first-use": """
        from olib import func, NAME, SHARED
        import olib
        held = [func, NAME, SHARED]  # copies of the stand-ins, held past the reification
        olib.NUMBER  # loads olib: every stand-in takes its value
        out.append([callable(x) for x in held])
        out.append([callable(func), callable(NAME), callable(SHARED)])
        """,
}

# Documented limits: what the stand-in cannot be before its first use.
LIMITS = {
    # `is` compares the stand-in with the real object.
    "identity": (
        """
        from olib import Klass
        import olib
        out.append(Klass is olib.Klass)
        """,
        [True],
        [False],
    ),
    # callable() reads the stand-in's type, which offers calls until the value is known.
    "callable-before-first-use": (
        """
        from olib import NAME
        out.append(callable(NAME))
        """,
        [False],
        [True],
    ),
    # C code that checks the exact type (str.join, json's encoder) sees the stand-in.
    "c-level-type-checks": (
        """
        from olib import NAME, CONFIG
        import json
        for fn in (lambda: ",".join([NAME]), lambda: json.dumps(CONFIG)):
            try:
                out.append(fn())
            except TypeError:
                out.append("TypeError")
        """,
        ["olib-name", '{"a": 1}'],
        ["TypeError", "TypeError"],
    ),
}


def _run(tmp_path: Path, program: str, mode: str) -> object:
    (tmp_path / "olib").mkdir(exist_ok=True)
    (tmp_path / "olib" / "__init__.py").write_text(textwrap.dedent(LIBRARY))
    (tmp_path / "olib" / "helper.py").write_text("VALUE = 'submodule helper'\n")
    (tmp_path / "prog.py").write_text("out = []\n" + textwrap.dedent(program))
    (tmp_path / "runner.py").write_text(textwrap.dedent(RUNNER))
    proc = run_python(
        "",
        args=[str(tmp_path / "runner.py"), mode],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "LAZYMED_CACHE_DIR": ""},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", sorted(SAME))
def test_deferred_is_invisible(tmp_path: Path, case: str) -> None:
    eager = _run(tmp_path, SAME[case], "eager")
    deferred = _run(tmp_path, SAME[case], "deferred")
    assert deferred == eager


@pytest.mark.parametrize("case", sorted(LIMITS))
def test_documented_limits(tmp_path: Path, case: str) -> None:
    program, eager_expected, deferred_expected = LIMITS[case]
    assert _run(tmp_path, program, "eager") == eager_expected
    assert _run(tmp_path, program, "deferred") == deferred_expected

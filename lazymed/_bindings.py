"""Can a package's own code bind ``name`` to anything but its submodule ``pkg.name``?

Eager CPython runs ``pkg/__init__`` before ``from pkg import name`` or ``import pkg.name as m``
looks ``name`` up, and the package's binding wins when it makes one (``from .auth import auth``,
``def auth(): ...``, ``from .api import *``, a module ``__getattr__``). lazymed may bind the lazy
submodule without running the package only when a static reading of ``__init__`` proves no such
binding exists. Conservative: anything unreadable or unusual answers "may bind" (the package then
runs at the statement, exactly as eager). Imported only on that path (it imports :mod:`ast`).
"""

from __future__ import annotations

import ast

_cache: dict[tuple[str, int, int], dict[str, bool]] = {}


def _names_bound(source: str, package: str) -> tuple[set[str], bool]:
    """Names the module may bind to something other than its own submodule, and whether it may
    bind arbitrary names (star import, module ``__getattr__``)."""
    tree = ast.parse(source)
    bound: set[str] = set()
    anything = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.attr)  # sys.modules[__name__].x = ..., self-module tricks
        elif isinstance(node, ast.Global):
            bound.update(node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
            if node.name in ("__getattr__", "__dir__"):
                anything = True
        elif isinstance(node, ast.Import):
            for alias in node.names:
                bound.add(alias.asname or alias.name.partition(".")[0])
        elif isinstance(node, ast.ImportFrom):
            own = (node.level == 1 and not node.module) or (
                node.level == 0 and node.module == package
            )
            for alias in node.names:
                if alias.name == "*":
                    anything = True
                elif not (own and alias.asname in (None, alias.name)):
                    bound.add(alias.asname or alias.name)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "globals", "vars", "exec", "eval", "__import__")
        ):
            anything = True
    return bound, anything


def binds_only_submodule(package: str, init_file: str | None, name: str) -> bool:
    """True when ``init_file`` (the package's ``__init__.py``) provably binds ``name`` to nothing
    but the submodule ``package.name``. False when it might, or cannot be read and parsed."""
    if not init_file or not init_file.endswith(".py"):
        return False
    import os

    try:
        st = os.stat(init_file)
        key = (init_file, st.st_mtime_ns, st.st_size)
        verdicts = _cache.get(key)
        if verdicts is None:
            with open(init_file, "rb") as fh:
                source = fh.read().decode("utf-8")
            bound, anything = _names_bound(source, package)
            verdicts = _cache[key] = {"*": not anything, **{n: False for n in bound}}
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return False
    return verdicts["*"] and verdicts.get(name, True)

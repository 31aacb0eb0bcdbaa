"""Can a package's own code bind ``name`` to anything but its submodule ``pkg.name``?

Eager CPython runs ``pkg/__init__`` before ``from pkg import name`` or ``import pkg.name as m``
looks ``name`` up, and the package's binding wins when it makes one (``from .auth import auth``,
``def auth(): ...``, ``from .api import *``, a module ``__getattr__``, or a submodule that sets
``sys.modules[__package__].auth``). lazymed may bind the lazy submodule without running the
package only when a static reading proves no such binding exists: ``__init__`` itself, and the
package's own modules it imports (transitively, up to :data:`BUDGET` files). Conservative:
anything unreadable or unusual answers "may bind" (the package then runs at the statement,
exactly as eager). Imported only on that path (it imports :mod:`ast`).
"""

import ast
import os

#: Most files read for one answer; a package whose own imports reach further "may bind".
BUDGET = 40

_DYNAMIC = {"setattr", "globals", "vars", "locals", "exec", "eval", "__import__"}
_cache: dict[tuple[object, ...], tuple[frozenset[str], bool, tuple[str, ...]]] = {}


class _Unknown(Exception):
    """A file that cannot be read or resolved: answer "may bind"."""


def _own_module(node: ast.ImportFrom, current: str, package: str, is_package: bool) -> str | None:
    """The absolute name a ``from ... import`` refers to, if it is inside ``package``."""
    if node.level:
        base = current if is_package else current.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    return target if target == package or target.startswith(package + ".") else None


def _scan(
    source: str, current: str, package: str, is_package: bool, is_init: bool
) -> tuple[frozenset[str], bool, tuple[str, ...]]:
    """Names this file may bind on ``package`` (for ``__init__``: any name it binds to something
    other than its own submodule; for other files: attribute writes), whether it may bind
    arbitrary names, and the package's own modules it imports."""
    tree = ast.parse(source)
    bound: set[str] = set()
    anything = False
    imports: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                bound.add(node.attr)  # sys.modules[__package__].x = ..., pkg.x = ...
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            if isinstance(node.value, ast.Attribute) and node.value.attr == "__dict__":
                anything = True  # module.__dict__[...] = ...
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _DYNAMIC
        ):
            key = node.args[1] if node.func.id == "setattr" and len(node.args) >= 2 else None
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                bound.add(key.value)  # setattr(x, "name", ...) may target the package
            elif is_init or node.func.id == "setattr":
                anything = True
        elif isinstance(node, ast.ImportFrom):
            own = _own_module(node, current, package, is_package)
            if own is not None:
                imports.append(own)
                imports.extend(f"{own}.{alias.name}" for alias in node.names)
            if is_init:
                for alias in node.names:
                    if alias.name == "*":
                        anything = True
                    elif not (own == package and alias.asname in (None, alias.name)):
                        bound.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + "."):
                    imports.append(alias.name)
                if is_init:
                    bound.add(alias.asname or alias.name.partition(".")[0])
        elif not is_init:
            continue
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.Global):
            bound.update(node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
    if is_init and bound & {"__getattr__", "__dir__"}:
        anything = True  # PEP 562: any missing name may be answered
    return frozenset(bound), anything, tuple(imports)


def _read(
    path: str, current: str, package: str, is_package: bool, is_init: bool
) -> tuple[frozenset[str], bool, tuple[str, ...]]:
    try:
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size, current, package, is_init)
        found = _cache.get(key)
        if found is None:
            with open(path, "rb") as fh:
                source = fh.read().decode("utf-8")
            found = _cache[key] = _scan(source, current, package, is_package, is_init)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
        raise _Unknown(path) from exc
    return found


def _locate(root: str, package: str, module: str) -> tuple[str, bool] | None:
    """File of ``module`` (inside ``package`` whose directory is ``root``) and whether it is a
    package ``__init__``; None when it is not plain source (missing, extension, namespace)."""
    parts = module[len(package) + 1 :].split(".") if module != package else []
    base = os.path.join(root, *parts)
    if os.path.isfile(os.path.join(base, "__init__.py")):
        return os.path.join(base, "__init__.py"), True
    if parts and os.path.isfile(base + ".py"):
        return base + ".py", False
    return None


def binds_only_submodule(package: str, init_file: str | None, name: str) -> bool:
    """True when the package whose ``__init__.py`` is ``init_file`` provably binds ``name`` to
    nothing but the submodule ``package.name``. False when it might, or when that cannot be
    established (unreadable files, more than :data:`BUDGET` own modules to read)."""
    if not init_file or os.path.basename(init_file) != "__init__.py":
        return False
    root = os.path.dirname(init_file)
    try:
        bound, anything, imports = _read(init_file, package, package, True, True)
        if anything or name in bound:
            return False
        seen = {package, f"{package}.{name}"}  # the submodule itself may do as it likes
        todo = list(imports)
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            if len(seen) > BUDGET:
                return False
            located = _locate(root, package, module)
            if located is None:
                continue  # a name imported from a module, or not plain source: nothing to read
            path, is_package = located
            bound, anything, more = _read(path, module, package, is_package, False)
            if anything or name in bound:
                return False
            todo.extend(more)
    except _Unknown:
        return False
    return True

"""Static reading of a pending package: what can its own code do to names and imports?

Eager CPython runs ``pkg/__init__`` before ``from pkg import name``, ``import pkg.name as m`` or
``import pkg.sub`` resolves anything, and the package's code may

* bind ``name`` to something other than the submodule ``pkg.name`` (``from .auth import auth``,
  ``def auth(): ...``, ``from .api import *``, a module ``__getattr__``, a submodule setting
  ``sys.modules[__package__].auth``), or
* change how its submodules are found (``__path__`` edits, ``pkgutil.extend_path``,
  ``sys.modules[...] = ...`` aliases as ``requests.packages`` makes, finders on
  ``sys.meta_path``).

lazymed answers those imports without running the package only when a static reading proves
neither happens: ``__init__`` itself, and the package's own modules it imports (transitively, up
to :data:`BUDGET` files). Conservative: anything unreadable or unusual answers "may" (the package
then runs first, exactly as eager). Imported only on those paths (it imports :mod:`ast`).
"""

import ast
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

#: Most files read for one answer; a package whose own imports reach further "may".
BUDGET = 40

_DYNAMIC = {"setattr", "globals", "vars", "locals", "exec", "eval", "__import__"}
_NAMESPACE_WRITERS = {"update", "setdefault", "__setitem__", "pop", "clear"}
_IMPORT_STATE = {"meta_path", "path_hooks", "path_importer_cache"}
_PATH_TOOLS = {"extend_path", "declare_namespace"}


class Scan:
    """What one file may do: ``bound`` names it may bind on the package, ``anything`` (it may
    bind any name), ``imports`` (the package's own modules it imports) and ``imports_changed``
    (it may change how the package's submodules are found)."""

    __slots__ = ("anything", "bound", "imports", "imports_changed")

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.anything = False
        self.imports: list[str] = []
        self.imports_changed = False


class _Unknown(Exception):
    """A file that cannot be read, parsed or located: answer "may"."""


_cache: "dict[tuple[object, ...], Scan]" = {}


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


def _is_sys_modules(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "modules"


def _namespace_of(node: ast.AST) -> bool:
    """``x.__dict__``, ``vars(...)``, ``globals()``, ``locals()``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "__dict__"
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("vars", "globals", "locals")
    )


def _scan(source: str, current: str, package: str, is_package: bool, is_init: bool) -> Scan:
    """Read one file. ``is_init``: the package's own ``__init__`` (every name it binds counts);
    otherwise only writes that can reach the package object count."""
    tree = ast.parse(source)
    out = Scan()
    bound = out.bound
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr in _IMPORT_STATE or (node.attr == "__path__" and not is_init):
                out.imports_changed = True  # sys.meta_path..., or another module's __path__
            if isinstance(node.value, ast.Name) and node.value.id == "__path__":
                out.imports_changed = True  # __path__.insert(...), __path__.append(...)
            if isinstance(node.ctx, ast.Store | ast.Del):
                owner = node.value
                if node.attr == "__path__":
                    out.imports_changed = True
                if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                    bound.add(node.attr)  # sys.modules[__package__].x = ..., pkg.x = ...
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            if _is_sys_modules(node.value):
                out.imports_changed = True  # sys.modules["pkg.sub"] = alias
            elif _namespace_of(node.value):
                out.anything = True  # module.__dict__[...] = ..., vars(m)[...] = ...
        elif isinstance(node, ast.Call):
            _scan_call(node, out, current, package, is_init)
        elif isinstance(node, ast.ImportFrom):
            own = _own_module(node, current, package, is_package)
            if own is not None:
                out.imports.append(own)
                out.imports.extend(f"{own}.{alias.name}" for alias in node.names)
            if is_init:
                for alias in node.names:
                    if alias.name == "*":
                        out.anything = True
                    elif not (own == package and alias.asname in (None, alias.name)):
                        bound.add(alias.asname or alias.name)
                    if alias.name in _PATH_TOOLS:
                        out.imports_changed = True
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + "."):
                    out.imports.append(alias.name)
                if is_init:
                    bound.add(alias.asname or alias.name.partition(".")[0])
        elif isinstance(node, ast.Name):
            if node.id == "__path__" and isinstance(node.ctx, ast.Store | ast.Del):
                out.imports_changed = True
            if is_init and isinstance(node.ctx, ast.Store | ast.Del):
                bound.add(node.id)
        elif not is_init:
            continue
        elif isinstance(node, ast.Global):
            bound.update(node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.MatchAs | ast.MatchStar | ast.ExceptHandler):
            if node.name:
                bound.add(node.name)  # `case name:`, `case [*name]`, `except E as name`
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    if is_init and bound & {"__getattr__", "__dir__"}:
        out.anything = True  # PEP 562: any missing name may be answered
    if is_init and "__path__" in bound:
        out.imports_changed = True
    return out


def _scan_call(node: ast.Call, out: Scan, current: str, package: str, is_init: bool) -> None:
    func = node.func
    name = (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else None
    )
    if name in _PATH_TOOLS:
        out.imports_changed = True
    if name in ("import_module", "__import__"):
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            target = first.value
            if target.startswith("."):
                target = current.rpartition(".")[0] + target if not is_init else current + target
            if target == package or target.startswith(package + "."):
                out.imports.append(target)
        else:
            out.anything = True
            out.imports_changed = True
        return
    if name in ("setattr", "__setattr__"):
        index = 1 if name == "setattr" else 0
        key = node.args[index] if len(node.args) > index else None
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            out.bound.add(key.value)  # setattr(x, "name", ...) may target the package
        else:
            out.anything = True
        return
    if isinstance(func, ast.Attribute) and func.attr in _NAMESPACE_WRITERS:
        if _namespace_of(func.value):
            out.anything = True  # sys.modules[__name__].__dict__.update(...)
        elif _is_sys_modules(func.value):
            out.imports_changed = True  # sys.modules.update / setdefault
        for keyword in node.keywords:
            if keyword.arg is not None:
                out.bound.add(keyword.arg)
        return
    if isinstance(func, ast.Name) and func.id in _DYNAMIC and is_init:
        out.anything = True


def _read(path: str, current: str, package: str, is_package: bool, is_init: bool) -> Scan:
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
    """Source file of ``module`` inside ``package`` (whose directory is ``root``) and whether it
    is a package ``__init__``; None when no such module exists (a name imported from a module).
    Raises _Unknown for a module that exists but is not plain source (sourceless .pyc, C
    extension, no ``__init__``)."""
    parts = module[len(package) + 1 :].split(".") if module != package else []
    base = os.path.join(root, *parts)
    if os.path.isfile(os.path.join(base, "__init__.py")):
        return os.path.join(base, "__init__.py"), True
    if parts and os.path.isfile(base + ".py"):
        return base + ".py", False
    directory, stem = os.path.split(base)
    try:
        entries = os.listdir(directory)
    except OSError:
        return None
    if any(entry.partition(".")[0] == stem and entry != stem for entry in entries):
        raise _Unknown(base)  # e.g. sub.pyc or sub.cpython-311-x86_64-linux-gnu.so
    if stem in entries and os.path.isdir(base):
        raise _Unknown(base)  # a directory without __init__.py: a namespace portion
    return None


def _files(
    package: str, init_file: str, skip: str | None, as_init: bool = True
) -> "Iterator[Scan]":
    """Scans of ``init_file`` (with ``__init__`` rules when ``as_init``) and of the package's
    own modules it imports, transitively."""
    root = os.path.dirname(init_file)
    yield (first := _read(init_file, package, package, True, as_init))
    seen = {package} if skip is None else {package, skip}
    todo = list(first.imports)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        if len(seen) > BUDGET:
            raise _Unknown(module)
        located = _locate(root, package, module)
        if located is None:
            continue
        path, is_package = located
        scan = _read(path, module, package, is_package, False)
        yield scan
        todo.extend(scan.imports)


def _is_init(init_file: str | None) -> bool:
    return bool(init_file) and os.path.basename(init_file or "") == "__init__.py"


def binds_only_submodule(
    package: str,
    init_file: str | None,
    name: str,
    ancestors: "Sequence[tuple[str, str | None]]" = (),
) -> bool:
    """True when the package whose ``__init__.py`` is ``init_file`` provably binds ``name`` to
    nothing but its submodule ``package.name`` and leaves its submodules' resolution alone, and
    its still-pending ``ancestors`` (``(package, init_file)`` pairs) provably set no such name on
    it. False when any of them might, or when that cannot be established."""
    if not _is_init(init_file):
        return False
    assert init_file is not None
    try:
        for scan in _files(package, init_file, f"{package}.{name}"):
            if scan.anything or scan.imports_changed or name in scan.bound:
                return False
        for ancestor, ancestor_init in ancestors:
            if not _is_init(ancestor_init):
                return False
            assert ancestor_init is not None
            # An ancestor binds names in its own namespace; only attribute writes, setattr and
            # namespace tricks can reach this package, so its __init__ is read like any module.
            for scan in _files(ancestor, ancestor_init, None, as_init=False):
                if scan.anything or scan.imports_changed or name in scan.bound:
                    return False
    except _Unknown:
        return False
    return True


def may_change_imports(package: str, init_file: str | None) -> bool:
    """Whether the package's ``__init__`` itself may change how its submodules are found
    (``__path__`` edits, ``pkgutil.extend_path``, ``sys.modules`` writes, import hooks). Only
    ``__init__`` is read: this runs on every submodule import of a pending package, so it must
    stay cheap (a submodule that does not exist on disk runs the package anyway: see
    ``lazymed._module._before_submodule_import``). True when that cannot be ruled out."""
    if not _is_init(init_file):
        return True
    assert init_file is not None
    try:
        return _read(init_file, package, package, True, True).imports_changed
    except _Unknown:
        return True

"""Static reading of a pending package: what can its own code do to names and imports?

Eager CPython runs ``pkg/__init__`` before ``from pkg import name``, ``import pkg.name as m`` or
``import pkg.sub`` resolves anything, and the package's code may

* bind ``name`` to something other than the submodule ``pkg.name`` (``from .auth import auth``,
  ``def auth(): ...``, ``from .api import *``, a module ``__getattr__``, a submodule setting
  ``sys.modules[__package__].auth``), or
* change how ``pkg.sub`` is found (``__path__`` edits, ``pkgutil.extend_path``,
  ``sys.modules["pkg.sub"] = ...`` aliases as ``requests.packages`` makes, finders on
  ``sys.meta_path``).

lazymed answers those imports without running the package only when a static reading proves
neither happens: ``__init__`` itself, and the package's own modules it imports (transitively, up
to :data:`BUDGET` files). Conservative: anything unreadable or unusual answers "may" (the package
then runs first, exactly as eager). Imported only on those paths; readings are cached on disk
(:func:`_read_disk`), and :mod:`ast` is imported only to read a file.

What changes how submodules are found is read along the code that runs at import time only:
module-level statements (every branch of their ``if``/``try``/``with``/loops, except
``if TYPE_CHECKING:`` and ``if __name__ == "__main__":``), class bodies, and the bodies of the
functions that code calls, transitively, matched by name across the package's files: ``f()``
(a name bound in that file), ``own_module.f()``, decorators, functions handed to ``map``,
``sorted``, ``Thread`` and the like; ``x.m()`` reaches the methods named ``m`` of every class
the code uses (calls, subclasses), whose dunder methods count as called. Not followed: calls of
other distributions' functions, functions only stored or passed along. A ``sys.modules[key]``
write counts only when ``key`` may equal the submodule's name or one of its parents' (keys are
read from string constants, ``__name__``, ``__package__``, names bound once to strings, ``+``
and f-strings; anything else may be any name).
"""

from __future__ import annotations  # annotations name ast, imported only to read a file

import marshal
import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ast
    from collections.abc import Iterable, Iterator, Sequence

#: Most files read for one answer; a package whose own imports reach further "may".
BUDGET = 40

_DYNAMIC = {"setattr", "globals", "vars", "locals", "exec", "eval", "__import__"}
_NAMESPACE_WRITERS = {"update", "setdefault", "__setitem__", "pop", "clear"}
_IMPORT_STATE = {"meta_path", "path_hooks", "path_importer_cache"}
_PATH_TOOLS = {"extend_path", "declare_namespace"}
# list/dict methods that change the object they are called on
_MUTATORS = {
    "append",
    "insert",
    "extend",
    "remove",
    "pop",
    "clear",
    "sort",
    "reverse",
    "update",
    "setdefault",
    "popitem",
    "__setitem__",
    "__delitem__",
    "__iadd__",
    "__ior__",
}
# Builtins that only read the container they are given.
_READERS = {
    *("len", "list", "tuple", "set", "frozenset", "dict", "sorted", "iter", "any", "all"),
    *("filter", "map", "enumerate", "reversed", "zip", "isinstance", "id", "repr", "print"),
    "iter_modules",  # pkgutil.iter_modules(__path__) lists, imports nothing
}
_ANY = ".*"  # a key pattern that matches every name


class Change:
    """One place that may change how submodules are found: ``where`` (``"file:line"``), ``what``
    (the code, shortened) and ``key``: a regular expression the affected module names match
    (``sys.modules`` writes), or None when every submodule may be affected."""

    __slots__ = ("appends", "key", "what", "where")

    def __init__(self, where: str, what: str, key: str | None, appends: bool = False) -> None:
        self.where = where
        self.what = what
        self.key = key
        # Only appends directories to a package's __path__: a submodule already found on the
        # path keeps resolving to the same file (the path is searched in order).
        self.appends = appends

    def affects(self, names: Iterable[str]) -> bool:
        """Whether this change may affect the resolution of any of ``names``."""
        key = self.key
        return key is None or any(re.fullmatch(key, name) for name in names)

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"

    def __repr__(self) -> str:
        return f"Change({self.where!r}, {self.what!r}, {self.key!r})"


class Scan:
    """What one file may do: ``bound`` names it may bind on the package, ``anything`` (it may
    bind any name), ``imports`` (the package's own modules it imports); and, for import-time
    code: ``changes`` (module-level code's :class:`Change` list), ``refs`` (what that code
    calls: ``"f"`` a function or class, ``".m"`` a method of any class in use), ``defs``
    (``"f"``, ``"Class"`` (its dunder methods and bases), ``"Class.m"`` -> the changes and calls
    of the body) and ``classes`` (the names of its classes)."""

    __slots__ = ("anything", "bound", "changes", "classes", "defs", "imports", "refs")

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.anything = False
        self.imports: list[str] = []
        self.changes: list[Change] = []
        self.refs: set[str] = set()
        self.defs: dict[str, list[tuple[list[Change], set[str]]]] = {}
        self.classes: set[str] = set()


class _Unknown(Exception):
    """A file that cannot be read, parsed or located: answer "may"."""


_cache: dict[tuple[object, ...], Scan] = {}


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


def _scan(
    source: str, path: str, current: str, package: str, is_package: bool, is_init: bool
) -> Scan:
    """Read one file. ``is_init``: the package's own ``__init__`` (every name it binds counts);
    otherwise only writes that can reach the package object count."""
    tree = ast.parse(source)
    nodes = list(ast.walk(tree))
    out = Scan()
    bound = out.bound
    for node in nodes:
        if isinstance(node, ast.Attribute):
            if isinstance(node.ctx, ast.Store | ast.Del):
                owner = node.value
                if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                    bound.add(node.attr)  # sys.modules[__package__].x = ..., pkg.x = ...
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            if _namespace_of(node.value):
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
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + "."):
                    out.imports.append(alias.name)
                if is_init:
                    bound.add(alias.asname or alias.name.partition(".")[0])
        elif isinstance(node, ast.Name):
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
    _Effects(out, path, current, is_package, is_init, nodes).run(tree)
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
        for keyword in node.keywords:
            if keyword.arg is not None:
                out.bound.add(keyword.arg)
        return
    if isinstance(func, ast.Name) and func.id in _DYNAMIC and is_init:
        out.anything = True


class _Effects:
    """Finds the :class:`Change` places of one file and sorts them into import-time code and
    function bodies (see :class:`Scan`)."""

    def __init__(
        self,
        out: Scan,
        path: str,
        current: str,
        is_package: bool,
        is_init: bool,
        nodes: list[ast.AST],
    ) -> None:
        self.out = out
        self.path = path
        self.current = current
        self.package = current if is_package else current.rpartition(".")[0]
        self.is_init = is_init
        # Names bound to sys.modules itself (`modules = sys.modules`, `from sys import modules`),
        # names bound by import statements (module objects), and names bound exactly once in
        # the file, to string constants (`for ta in ["a", "b"]` binds either): key parts.
        self.aliases: set[str] = set()
        self.state_aliases: set[str] = set()  # `hooks = sys.meta_path`
        self.imported: set[str] = set()
        # name -> the module an import binds to it (`import a.b as n`, `from a import b`)
        self.imported_as: dict[str, str] = {}
        # Names bound in this file (a call of any other bare name reaches a builtin), and
        # names imported from other distributions (their functions are not the package's).
        self.local: set[str] = set()
        self.foreign: set[str] = set()
        top = self.package.partition(".")[0]
        bindings: dict[str, int] = {}
        values: dict[str, list[str]] = {}
        methods: set[int] = set()  # ast.walk visits a class before its methods
        for node in nodes:
            if isinstance(node, ast.Assign):
                if _is_sys_modules(node.value):
                    self.aliases.update(t.id for t in node.targets if isinstance(t, ast.Name))
                elif isinstance(node.value, ast.Attribute) and node.value.attr in _IMPORT_STATE:
                    names = (t.id for t in node.targets if isinstance(t, ast.Name))
                    self.state_aliases.update(names)
                if (
                    len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)
                ):
                    values[node.targets[0].id] = [node.value.value]
            elif isinstance(node, ast.For) and isinstance(node.target, ast.Name):
                items = node.iter.elts if isinstance(node.iter, ast.List | ast.Tuple) else ()
                strings = [e.value for e in items if isinstance(e, ast.Constant)]
                if (
                    items
                    and len(strings) == len(items)
                    and all(isinstance(v, str) for v in strings)
                ):
                    values[node.target.id] = [str(v) for v in strings]
            elif isinstance(node, ast.Import | ast.ImportFrom):
                source = node.module or "" if isinstance(node, ast.ImportFrom) else ""
                level = node.level if isinstance(node, ast.ImportFrom) else 0
                for alias in node.names:
                    bound = alias.asname or alias.name.partition(".")[0]
                    bindings[bound] = bindings.get(bound, 0) + 1
                    if isinstance(node, ast.ImportFrom) and node.module == "sys":
                        if alias.name == "modules":
                            self.aliases.add(bound)
                    else:
                        self.imported.add(bound)
                    origin = source if isinstance(node, ast.ImportFrom) else alias.name
                    if not level and origin.partition(".")[0] != top:
                        self.foreign.add(bound)  # another distribution's module or function
                    if isinstance(node, ast.ImportFrom) and alias.name != "*":
                        base = source
                        if level:
                            base = self.package
                            for _ in range(level - 1):
                                base = base.rpartition(".")[0]
                            base = f"{base}.{source}" if source else base
                        self.imported_as[bound] = f"{base}.{alias.name}"
                    elif alias.asname:
                        self.imported_as[bound] = alias.name
                continue
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if id(node) not in methods:
                    self.local.add(node.name)  # a method's name is no bare name: `open()` in
                    # a method of a class with an `open` method is the builtin
                if isinstance(node, ast.ClassDef):
                    defs = (ast.FunctionDef, ast.AsyncFunctionDef)
                    methods.update(id(n) for n in node.body if isinstance(n, defs))
            elif isinstance(node, ast.arg):
                bindings[node.arg] = bindings.get(node.arg, 0) + 1
                continue
            elif isinstance(node, ast.Global | ast.Nonlocal):
                for name in node.names:
                    bindings[name] = bindings.get(name, 2) + 2
                continue
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bindings[node.id] = bindings.get(node.id, 0) + 1
        self.constants = {k: v for k, v in values.items() if bindings.get(k) == 1}
        self.local.update(bindings)
        self.local -= self.foreign
        # an imported name rebound elsewhere in the file (`copy = cls.__new__(cls)`) is not known
        # to be that module
        self.imported = {n for n in self.imported if bindings.get(n) == 1}
        self.imported_as = {k: v for k, v in self.imported_as.items() if bindings.get(k) == 1}
        self.skip: set[int] = set()  # ids of sys.modules writes found to be no-ops

    def run(self, tree: ast.AST) -> None:
        self._visit(tree, self.out.changes, self.out.refs, None)

    # -------------------------------------------------------------------------- walking

    def _body(self, name: str, node: ast.AST, owner: str | None) -> None:
        """A function body: its own sink, reachable when ``name`` is called (a dunder method
        also when its class ``owner`` is mentioned: instantiation, subclassing, ...)."""
        changes: list[Change] = []
        refs: set[str] = set()
        skip = (*getattr(node, "decorator_list", ()), getattr(node, "args", None))
        for child in ast.iter_child_nodes(node):
            if child in skip or child is getattr(node, "returns", None):
                continue  # evaluated at def time, in the enclosing code
            self._visit(child, changes, refs, None)
        entry = (changes, refs)
        if owner is None:
            key = name  # a function: runs when called by name
        elif name.startswith("__") and name.endswith("__"):
            # a dunder method runs when its class is used (instantiated, subclassed, ...), not
            # wherever any class's __init__ is named (super().__init__())
            key = owner
        else:
            key = f"{owner}.{name}"  # a method: runs when `x.name()` is called and its class used
        self.out.defs.setdefault(key, []).append(entry)

    def _visit(
        self, node: ast.AST, changes: list[Change], refs: set[str], owner: str | None
    ) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                self._visit(decorator, changes, refs, None)
                self._ref(refs, decorator)  # @deco calls deco
            self._visit(node.args, changes, refs, None)
            if node.returns is not None:
                self._visit(node.returns, changes, refs, None)
            if any(_decorator_may_call(d) for d in node.decorator_list):
                # a decorator receives the function and may call it
                refs.add(node.name if owner is None else "." + node.name)
            self._body(node.name, node, owner)
            return
        if isinstance(node, ast.ClassDef):
            for expr in (*node.decorator_list, *node.bases, *node.keywords):
                self._visit(expr, changes, refs, None)
            for expr in (*node.decorator_list, *node.bases):
                self._ref(refs, expr)  # decorators run; bases' __init_subclass__
            # a used class uses its bases' dunder methods (super().__init__(), ...)
            bases = {n for b in node.bases for n in _called_name(b)}
            self.out.defs.setdefault(node.name, []).append(([], bases))
            self.out.classes.add(node.name)
            for stmt in node.body:  # the class body runs now; its methods when called
                self._visit(stmt, changes, refs, node.name)
            return
        if isinstance(node, ast.If) and _never_at_import(node.test):
            for stmt in node.orelse:  # `if TYPE_CHECKING:` / `if __name__ == "__main__":`
                self._visit(stmt, changes, refs, owner)
            return
        self._check(node, changes, refs)
        for child in ast.iter_child_nodes(node):
            self._visit(child, changes, refs, None)

    # ------------------------------------------------------------------------- detection

    def _add(
        self, changes: list[Change], node: ast.AST, key: str | None, appends: bool = False
    ) -> None:
        what = ast.unparse(node)
        if len(what) > 80:
            what = what[:77] + "..."
        where = f"{self.path}:{getattr(node, 'lineno', 0)}"
        changes.append(Change(where, what, key, appends))

    def _import_state(self, node: ast.AST) -> bool:
        """``sys.meta_path``, ``sys.path_hooks``, ``sys.path_importer_cache`` or an alias."""
        if isinstance(node, ast.Attribute):
            return node.attr in _IMPORT_STATE
        return isinstance(node, ast.Name) and node.id in self.state_aliases

    def _same_module(self, key: ast.AST | None, value: ast.AST | None) -> bool:
        """``sys.modules[key] = value`` where ``value`` was bound by importing ``key`` itself
        (``from grpc import aio``; ``sys.modules["grpc.aio"] = aio``): changes nothing."""
        if key is None or not isinstance(value, ast.Name):
            return False
        module = self.imported_as.get(value.id)
        pattern = self._key(key)
        return (
            module is not None and _ANY not in pattern and re.fullmatch(pattern, module) is not None
        )

    def _modules(self, node: ast.AST) -> bool:
        return _is_sys_modules(node) or (isinstance(node, ast.Name) and node.id in self.aliases)

    def _module_object(self, node: ast.AST) -> bool:
        """An expression that may be a module: ``sys.modules[...]``, ``sys.modules.get(...)``,
        ``import_module(...)``, a name bound by an import statement."""
        if isinstance(node, ast.Subscript):
            return self._modules(node.value)
        if isinstance(node, ast.Call):
            return _called_name(node.func) & {"get", "import_module", "__import__"} != set()
        return isinstance(node, ast.Name) and node.id in self.imported

    def _namespace(self, node: ast.AST) -> bool:
        """A module namespace: ``globals()`` / argument-less ``vars()`` / ``locals()`` in
        ``__init__``, ``vars(m)`` / ``m.__dict__`` of a module object."""
        if isinstance(node, ast.Attribute):
            return node.attr == "__dict__" and self._module_object(node.value)
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            return False
        if node.func.id in ("globals", "locals") or (node.func.id == "vars" and not node.args):
            return self.is_init
        return node.func.id == "vars" and bool(node.args) and self._module_object(node.args[0])

    def _key(self, node: ast.AST | None) -> str:
        """The regular expression of the names a key expression may evaluate to."""
        if node is None:
            return _ANY
        if isinstance(node, ast.Constant):
            return re.escape(node.value) if isinstance(node.value, str) else _ANY
        if isinstance(node, ast.Name):
            if node.id == "__name__":
                return re.escape(self.current)
            if node.id == "__package__":
                return re.escape(self.package)
            found = self.constants.get(node.id)
            if found is not None:
                return "(?:" + "|".join(re.escape(v) for v in found) + ")"
            return _ANY
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return _join(self._key(node.left), self._key(node.right))
        if isinstance(node, ast.JoinedStr):
            key = ""
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    plain = part.format_spec is None and part.conversion in (-1, 115)
                    key = _join(key, self._key(part.value) if plain else _ANY)
                else:
                    key = _join(key, self._key(part))
            return key
        return _ANY

    def _ref(self, refs: set[str], func: ast.AST) -> None:
        """Record a call of ``func``: by name, matched against every function of the package
        (``x.f()`` may be any ``f``), except builtins and other distributions' functions."""
        while isinstance(func, ast.Call):
            func = func.func
        if isinstance(func, ast.Name):
            if func.id in self.local:
                refs.add(func.id)
        elif isinstance(func, ast.Attribute):
            owner = func.value
            if isinstance(owner, ast.Name):
                if owner.id in self.foreign:
                    return  # os.path.join(...), json.load(...)
                if owner.id in self.local:
                    refs.add(owner.id)  # Class.method(...): the class is in use
                    if owner.id in self.imported:
                        refs.add(func.attr)  # own_module.function(...)
            refs.add("." + func.attr)

    def _path_use(self, node: ast.AST) -> bool:
        """``__path__`` (in ``__init__``) or ``x.__path__``."""
        if isinstance(node, ast.Name):
            return node.id == "__path__" and self.is_init
        return isinstance(node, ast.Attribute) and node.attr == "__path__"

    def _check(self, node: ast.AST, changes: list[Change], refs: set[str]) -> None:
        if isinstance(node, ast.Call):
            self._ref(refs, node.func)
            if _called_name(node.func) & _CALLERS:
                for arg in node.args:
                    # functions handed to builtins that call them: map(f, xs), sorted(key=f)
                    self._ref(refs, arg)
            self._check_call(node, changes)
            return
        if isinstance(node, ast.Name):
            if node.id == "__path__" and self.is_init and isinstance(node.ctx, ast.Del):
                self._add(changes, node, None)  # del __path__ (assignments: see Assign)
            return
        if isinstance(node, ast.Attribute):
            if node.attr in _IMPORT_STATE and not isinstance(node.ctx, ast.Load):
                self._add(changes, node, None)  # sys.meta_path = [...]
            elif node.attr == "__path__" and not isinstance(node.ctx, ast.Load):
                self._add(changes, node, None)  # other.__path__ = [...]
            elif node.attr in _MUTATORS and self._path_use(node.value):
                self._add(changes, node, None, node.attr in ("append", "extend"))
            elif node.attr in _MUTATORS and self._import_state(node.value):
                # sys.meta_path.append(finder): a finder after the others cannot change what
                # they already find
                self._add(changes, node, None, node.attr == "append")
            return
        if isinstance(node, ast.Subscript):
            if isinstance(node.ctx, ast.Store | ast.Del):
                if self._modules(node.value):
                    if id(node) not in self.skip:
                        self._add(changes, node, self._key(node.slice))  # sys.modules[key] = ...
                elif self._path_use(node.value) or self._import_state(node.value):
                    self._add(changes, node, None)  # __path__[:] = ...
                elif self._namespace(node.value) and _may_be_path(node.slice, self):
                    self._add(changes, node, None)  # globals()[name] = ... may be __path__
            return
        if isinstance(node, ast.AugAssign):
            if self._modules(node.target) or self._import_state(node.target):
                self._add(changes, node, None)  # sys.modules |= {...}
            elif self._path_use(node.target):
                self._add(changes, node, None, isinstance(node.op, ast.Add))  # __path__ += [...]
            return
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Subscript)
                    and self._modules(target.value)
                    and self._same_module(target.slice, node.value)
                ):
                    self.skip.add(id(target))
            if any(isinstance(t, ast.Name) and t.id == "__path__" for t in targets):
                # __path__ = extend_path(__path__, __name__) only appends directories
                appends = node.value is not None and _extends_own_path(node.value)
                self._add(changes, node, None, appends)

    def _check_call(self, node: ast.Call, changes: list[Change]) -> None:
        func = node.func
        name = (
            func.id
            if isinstance(func, ast.Name)
            else func.attr
            if isinstance(func, ast.Attribute)
            else None
        )
        first = node.args[0] if node.args else None
        if name in _PATH_TOOLS:
            if isinstance(first, ast.Name) and first.id == "__path__":
                return  # extend_path(__path__, ...): counted where __path__ is assigned
            self._add(changes, node, None)
            return
        if name == "walk_packages":
            self._add(changes, node, None)  # imports every subpackage
            return
        if name in ("exec", "eval"):
            # Generated code run in a namespace of its own (attrs, namedtuple-style code
            # generators) is not read; code run in this module's namespace may set __path__.
            space = node.args[1] if len(node.args) > 1 else None
            if (
                space is None
                or self._namespace(space)
                or (isinstance(space, ast.Call) and _called_name(space.func) == {"globals"})
            ):
                self._add(changes, node, None)
            return
        if name in ("import_module", "__import__"):
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                # Names bound once to constants are third-party modules unless they are the
                # package's own (constant own imports are followed: see Scan.imports).
                top = self.package.partition(".")[0]
                known = self.constants.get(first.id) if isinstance(first, ast.Name) else None
                if known is None or any(v == top or v.startswith(top + ".") for v in known):
                    self._add(changes, node, None)  # which module runs is unknown
            return
        if isinstance(func, ast.Attribute) and self._modules(func.value):
            if func.attr in ("setdefault", "__setitem__"):
                value = node.args[1] if len(node.args) > 1 else None
                if not self._same_module(first, value):
                    self._add(changes, node, self._key(first))
            elif func.attr in ("pop", "__delitem__"):
                self._add(changes, node, self._key(first))
            elif func.attr == "update" and not node.keywords and isinstance(first, ast.Dict):
                for key, value in zip(first.keys, first.values, strict=True):
                    # sys.modules.update({"a.b": m, ...})
                    if key is None or not self._same_module(key, value):
                        self._add(changes, node, _ANY if key is None else self._key(key))
            elif func.attr == "update" and not node.args:
                for keyword in node.keywords:
                    self._add(changes, node, _ANY if keyword.arg is None else keyword.arg)
            elif func.attr in _MUTATORS:
                self._add(changes, node, None)  # update(...), clear(), popitem()
            return
        if isinstance(func, ast.Attribute) and func.attr in _NAMESPACE_WRITERS:
            if self._namespace(func.value):
                keys = [k.arg for k in node.keywords]
                if node.args or None in keys or "__path__" in keys:
                    self._add(changes, node, None)  # globals().update(...) may set __path__
            return
        if name in ("setattr", "delattr"):
            key = node.args[1] if len(node.args) > 1 else None
            if first is not None and self._module_object(first) and _may_be_path(key, self):
                self._add(changes, node, None)  # setattr(module, name, ...) may be __path__
            return
        if name in _READERS:
            return
        for arg in (*node.args, *(k.value for k in node.keywords)):
            if self._modules(arg) or self._path_use(arg) or self._import_state(arg):
                self._add(changes, node, None)  # handed to code that may change it
                return


# Builtins and stdlib callables that call the functions they are given.
_CALLERS = {"map", "filter", "sorted", "min", "max", "reduce", "partial", "Thread", "Timer"}
# Decorators that only wrap or record a function, never call it at definition time.
_WRAPPERS = {
    *("property", "staticmethod", "classmethod", "cached_property", "abstractmethod"),
    *("setter", "getter", "deleter", "overload", "override", "final", "wraps", "lru_cache"),
    *("cache", "contextmanager", "asynccontextmanager", "singledispatch", "singledispatchmethod"),
    *("register", "deprecated", "no_type_check", "runtime_checkable", "dataclass"),
}


def _called_name(node: ast.AST) -> set[str]:
    """The name a call of ``node`` reaches: ``f`` for ``f``, ``x.f``, ``f(...)``, ``x.f(...)``."""
    while isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Attribute):
        return {node.attr}
    return set()


def _decorator_may_call(node: ast.AST) -> bool:
    return not (_called_name(node) & _WRAPPERS)


def _never_at_import(test: ast.AST) -> bool:
    """``TYPE_CHECKING`` / ``typing.TYPE_CHECKING`` (false at run time) or
    ``__name__ == "__main__"`` (false on import)."""
    if isinstance(test, ast.Name | ast.Attribute):
        return _called_name(test) == {"TYPE_CHECKING"}
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _may_be_path(key: ast.AST | None, effects: _Effects) -> bool:
    """Whether an attribute/namespace key expression may be ``"__path__"``."""
    return key is None or re.fullmatch(effects._key(key), "__path__") is not None


def _extends_own_path(value: ast.AST) -> bool:
    """``extend_path(__path__, __name__)`` / ``pkgutil.extend_path(...)``: appends only."""
    return (
        isinstance(value, ast.Call)
        and _called_name(value.func) == {"extend_path"}
        and bool(value.args)
        and isinstance(value.args[0], ast.Name)
        and value.args[0].id == "__path__"
    )


def _join(left: str, right: str) -> str:
    if left.endswith(_ANY) and right.startswith(_ANY):
        return left + right[len(_ANY) :]
    return left + right


def _read(path: str, current: str, package: str, is_package: bool, is_init: bool) -> Scan:
    try:
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size, current, package, is_init)
        found = _cache.get(key)
        if found is None:
            found = _cache[key] = _read_disk(path, key, is_package)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
        raise _Unknown(path) from exc
    return found


def _stamp() -> tuple[int, int]:
    """This file's size and mtime: a changed reading makes every cached scan stale."""
    st = os.stat(__file__)
    return st.st_size, st.st_mtime_ns


def _read_disk(path: str, key: tuple[object, ...], is_package: bool) -> Scan:
    """The scan of ``path``, from lazymed's cache directory when a scan of the same file (path,
    mtime, size), question and reader is there, as CPython caches bytecode: a big package's
    files cost tens of milliseconds to read, at an import statement that should cost nothing."""
    from ._config import _cache_file, _write_cache  # the config cache's directory and writer

    _, _, _, current, package, is_init = key
    cache = _cache_file("\0".join(map(str, (path, current, package, is_init, "bindings"))))
    stamp = (*key[1:3], *_stamp(), 1)
    if cache is not None:
        try:
            with open(cache, "rb") as fh:
                cached_path, cached_stamp, payload = marshal.loads(fh.read())
            if cached_path == path and cached_stamp == stamp:
                return _unpack(payload)
        except (OSError, ValueError, EOFError, TypeError):
            pass  # missing, stale or corrupt: read the source
    with open(path, "rb") as fh:
        source = fh.read().decode("utf-8")
    global ast  # cached scans need no ast (its import costs ~3 ms)
    import ast

    assert isinstance(current, str) and isinstance(package, str)
    found = _scan(source, path, current, package, is_package, bool(is_init))
    if cache is not None:
        _write_cache(cache, (path, stamp, _pack(found)))
    return found


def _pack(scan: Scan) -> tuple[object, ...]:
    def changes(items: list[Change]) -> list[tuple[str, str, str | None, bool]]:
        return [(c.where, c.what, c.key, c.appends) for c in items]

    defs = {k: [(changes(c), sorted(r)) for c, r in v] for k, v in scan.defs.items()}
    return (
        sorted(scan.bound),
        scan.anything,
        scan.imports,
        changes(scan.changes),
        sorted(scan.refs),
        defs,
        sorted(scan.classes),
    )


def _unpack(payload: tuple[object, ...]) -> Scan:
    bound, anything, imports, changes, refs, defs, classes = payload

    def unchanges(items: object) -> list[Change]:
        return [Change(*item) for item in items]  # type: ignore[attr-defined]

    scan = Scan()
    scan.bound = set(bound)  # type: ignore[call-overload]
    scan.anything = bool(anything)
    scan.imports = list(imports)  # type: ignore[call-overload]
    scan.changes = unchanges(changes)
    scan.refs = set(refs)  # type: ignore[call-overload]
    scan.defs = {
        k: [(unchanges(c), set(r)) for c, r in v]
        for k, v in defs.items()  # type: ignore[attr-defined]
    }
    scan.classes = set(classes)  # type: ignore[call-overload]
    return scan


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
    package: str, init_file: str, skip: str | None, as_init: bool = True, strict: bool = True
) -> Iterator[Scan]:
    """Scans of ``init_file`` (with ``__init__`` rules when ``as_init``) and of the package's
    own modules it imports, transitively. Past :data:`BUDGET` files, or at an own module that is
    not plain source: raises _Unknown when ``strict``, else stops following that import."""
    root = os.path.dirname(init_file)
    yield (first := _read(init_file, package, package, True, as_init))
    seen = {package} if skip is None else {package, skip}
    todo = list(first.imports)
    while todo:
        module = todo.pop(0)
        if module in seen:
            continue
        seen.add(module)
        try:
            if len(seen) > BUDGET:
                raise _Unknown(module)
            located = _locate(root, package, module)
            if located is None:
                continue
            path, is_package = located
            scan = _read(path, module, package, is_package, False)
        except _Unknown:
            if strict:
                raise
            continue
        yield scan
        todo.extend(scan.imports)


def _reachable(scans: Sequence[Scan]) -> list[Change]:
    """The changes of the code that may run at import time across ``scans``: module-level code
    and, transitively, every function or class body whose name that code mentions."""
    found = [change for scan in scans for change in scan.changes]
    todo = [name for scan in scans for name in scan.refs]
    classes = {name for scan in scans for name in scan.classes}
    live: set[str] = set()  # classes in use: their methods run when called by name
    methods: set[str] = set()  # ".m": method names called
    done: set[str] = set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        if name.startswith("."):
            methods.add(name)
            keys = [owner + name for owner in live]
        else:
            keys = [name]
            if name in classes:
                live.add(name)
                keys.extend(name + method for method in methods)
        for key in keys:
            for scan in scans:
                for changes, refs in scan.defs.get(key, ()):
                    found.extend(changes)
                    todo.extend(refs - done)
    return found


def _names(child: str) -> list[str]:
    """``child`` and its parent packages' names: the ``sys.modules`` keys that decide it."""
    parts = child.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _first_change(
    package: str, init_file: str, child: str, skip: str | None, as_init: bool, found: bool
) -> Change | None:
    scans = list(_files(package, init_file, skip, as_init, strict=False))
    names = _names(child)
    for change in _reachable(scans):
        if change.affects(names) and not (found and change.appends):
            return change
    return None


def _is_init(init_file: str | None) -> bool:
    return bool(init_file) and os.path.basename(init_file or "") == "__init__.py"


def why_not_only_submodule(
    package: str,
    init_file: str | None,
    name: str,
    ancestors: Sequence[tuple[str, str | None]] = (),
) -> str | None:
    """None when the package whose ``__init__.py`` is ``init_file`` provably binds ``name`` to
    nothing but its submodule ``package.name`` and leaves its resolution alone, and its
    still-pending ``ancestors`` (``(package, init_file)`` pairs) provably set no such name on
    it; else why not, as ``"file:line: code"`` where a place is known."""
    if not _is_init(init_file):
        return f"{package} has no __init__.py to read"
    assert init_file is not None
    child = f"{package}.{name}"
    try:
        scans = list(_files(package, init_file, child))
        for scan in scans:
            if scan.anything:
                return f"{init_file}: may bind any name (star import, __getattr__, setattr, ...)"
            if name in scan.bound:
                return f"{init_file}: may bind {name!r} to something other than {child}"
        for change in _reachable(scans):
            if change.affects(_names(child)):
                return str(change)
        for ancestor, ancestor_init in ancestors:
            if not _is_init(ancestor_init):
                return f"{ancestor} has no __init__.py to read"
            assert ancestor_init is not None
            # An ancestor binds names in its own namespace; only attribute writes, setattr and
            # namespace tricks can reach this package, so its __init__ is read like any module.
            ancestor_scans = list(_files(ancestor, ancestor_init, None, as_init=False))
            for scan in ancestor_scans:
                if scan.anything or name in scan.bound:
                    return f"{ancestor_init}: may set {name!r} on {package}"
            for change in _reachable(ancestor_scans):
                if change.affects(_names(child)):
                    return str(change)
    except _Unknown as exc:
        return f"cannot read {exc.args[0]} (not plain source, or past {BUDGET} files)"
    return None


def import_change(
    package: str,
    init_file: str | None,
    child: str | None = None,
    ancestors: Sequence[tuple[str, str | None]] = (),
    found: bool = False,
) -> str | None:
    """Why running ``package`` (and its pending ``ancestors``, ``(name, __init__ file)``
    pairs) at import time may change how its submodule ``child`` is found, as ``"file:line:
    code"``; None when a static reading rules that out.

    Read: ``__init__.py`` and the package's own modules it imports (up to :data:`BUDGET` files;
    own modules past that, or not plain source, are not followed), along import-time code only
    (see the module docstring). Counted: ``__path__`` changes, ``pkgutil.extend_path``,
    ``sys.meta_path``/``path_hooks``/``path_importer_cache``, ``sys.modules`` writes whose key
    may be ``child`` or one of its parents, ``importlib.import_module``/``__import__`` of a
    computed name, ``exec``/``eval``. ``found``: ``child`` was found as a regular module or
    package on the current ``__path__``, so changes that only append to ``__path__``
    (``extend_path``) cannot change it. This runs on every submodule import of a pending package;
    the per-file readings are cached (keyed by path, mtime and size)."""
    if not _is_init(init_file):
        return f"{package} has no __init__.py to read"
    assert init_file is not None
    target = child or f"{package}.\0"  # \0: matches only keys that may be any name
    try:
        change = _first_change(package, init_file, target, target, True, found)
        if change is not None:
            return str(change)
        for ancestor, ancestor_init in ancestors:
            if _is_init(ancestor_init):
                assert ancestor_init is not None
                change = _first_change(ancestor, ancestor_init, target, package, False, found)
                if change is not None:
                    return str(change)
    except _Unknown as exc:
        return f"cannot read {exc.args[0]}"
    return None

"""The static analysis: one parsed module walked statement by statement, tracking which names
are bound to lazy modules and reporting every place where import-time code uses one."""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from lazymed.scan._model import Finding

#: Attributes a pending lazy module answers from its ``__dict__`` without loading: what the
#: import system sets from the spec, and what ``sys.modules`` scanners read. The scanner's own
#: copy of the core's list (tests/scan checks it against a real lazy module's behaviour).
NO_LOAD_ATTRIBUTES = frozenset(
    {
        "__name__",
        "__spec__",
        "__loader__",
        "__file__",
        "__path__",
        "__package__",
        "__cached__",
        "__dict__",
        "__class__",
        "__wrapped__",
    }
)
_GETATTR_CALLS = frozenset({"getattr", "hasattr", "setattr", "delattr"})
#: Python 3.14+ evaluates annotations only when something asks for them (PEP 649, PEP 749):
#: `def f(x: T)` and `v: T = ...` in a module or class body use nothing at import time there.
LAZY_ANNOTATIONS = sys.version_info >= (3, 14)
_MAX_TEXT = 80


class Binding(NamedTuple):
    """What a name refers to: module ``module`` (``import a.b`` binds ``a`` to "a"), or, when
    ``deferred``, the stand-in for ``from module import attr`` that loads ``module`` on any use."""

    module: str
    deferred: bool = False
    attr: str | None = None


class _Ctx(NamedTuple):
    """Where a block of import-time code runs.

    ``scope``: "module" (the module body, including its if/try/with/for blocks), "class" (a class
    body) or "call" (the body of a function that runs at import time); ``via`` describes the
    call chain for "call"; ``genv`` is the module-level bindings in effect (what the
    functions called from here see as globals).
    """

    scope: str
    via: str | None
    genv: dict[str, Binding]


# --------------------------------------------------------------------------- helpers


def covering(name: str, lazy: Iterable[str]) -> str | None:
    """The most specific lazy name that covers dotted ``name`` (itself or a parent), or None."""
    best: str | None = None
    for item in lazy:
        if (name == item or name.startswith(item + ".")) and (
            best is None or len(item) > len(best)
        ):
            best = item
    return best


def module_name_for(path: str) -> tuple[str | None, bool]:
    """The dotted module name of source file ``path``, found by walking up the directories that
    hold an ``__init__.py``, and whether it is a package's ``__init__``. ``(None, False)`` when
    the file name is not an identifier."""
    path = os.path.abspath(path)
    directory, filename = os.path.split(path)
    stem = filename[:-3] if filename.endswith(".py") else filename.partition(".")[0]
    is_init = stem == "__init__"
    parts: list[str] = [] if is_init else [stem]
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        parent, base = os.path.split(directory)
        if not base.isidentifier() or parent == directory:
            break
        parts.insert(0, base)
        directory = parent
    if not parts or not all(p.isidentifier() for p in parts):
        return None, is_init
    return ".".join(parts), is_init


def _lazy_dotted_name(path: str, lazy: Sequence[str]) -> str | None:
    """The longest dotted name made of ``path``'s trailing components that a lazy name covers
    (``.../google/cloud/storage/blob.py`` -> ``google.cloud.storage.blob``), or None. Finds the
    files of a lazy package even below namespace packages, which have no ``__init__.py``."""
    parts = os.path.abspath(path).split(os.sep)
    stem = parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1].partition(".")[0]
    names = [*parts[:-1]] if stem == "__init__" else [*parts[:-1], stem]
    best: str | None = None
    for start in range(len(names) - 1, -1, -1):
        if not names[start].isidentifier():
            break
        dotted = ".".join(names[start:])
        if covering(dotted, lazy) is not None:
            best = dotted
    return best


def _dotted(node: ast.expr) -> tuple[ast.Name, list[str]] | None:
    """``(base Name, [attr, ...])`` for an attribute chain ``a.b.c``; None otherwise."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return node, attrs[::-1]
    return None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def _qualified_uses(module: str, aliases: Sequence[ast.alias], limit: int = 3) -> str:
    """How to spell each imported name through the module: ``from m import A as a, B`` ->
    "`m.A` where a is used, `m.B` where B is used" (the attribute is the real name, never the
    local alias)."""
    uses = [
        f"`{module}.{a.name}` where {a.asname or a.name} is used" for a in aliases if a.name != "*"
    ]
    if len(uses) > limit:
        uses = [*uses[:limit], f"and so on for the other {len(uses) - limit} name(s)"]
    return ", ".join(uses) or f"`{module}.name` where the names are used"


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _is_main_guard(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    has_name = any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
    has_main = any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
    return has_name and has_main


def _target_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for elt in target.elts:
            yield from _target_names(elt)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


# --------------------------------------------------------------------------- the analysis

_FIX_USE = (
    "move the use into the function that needs it (it then runs on first call), or, if the "
    "module is needed at start-up anyway, take it out of lazy (or make it critical)"
)
_FIXES = {
    "decorator": (
        "apply the decorator when the object is first needed (e.g. register handlers inside a "
        "setup/create_app function called at start of serving), or take the module out of lazy"
    ),
    "class-base": (
        "define the subclass inside a function or in a module imported only where it is used, "
        "or take the module out of lazy"
    ),
    "default-argument": ("use None as the default and look the value up inside the function body"),
    "annotation": (
        "add `from __future__ import annotations` at the top of the file (or quote the "
        "annotation); import names used only in annotations under `if TYPE_CHECKING:`"
    ),
    "module-level": _FIX_USE,
    "class-body": _FIX_USE,
}


class _FileScanner:
    """Scans one parsed module; findings accumulate in ``findings``."""

    def __init__(
        self,
        path: str,
        source: bytes,
        tree: ast.Module,
        lazy: Sequence[str],
        from_import: str,
    ) -> None:
        self.path = path
        self.lines = source.splitlines()
        self.tree = tree
        self.lazy = tuple(lazy)
        self.from_import = from_import
        self.modname, self.is_init = module_name_for(path)
        inside = _lazy_dotted_name(path, self.lazy)
        if inside is not None:
            self.modname = inside  # e.g. google/cloud/storage: namespace parents have no __init__
        self.own_lazy = None if self.modname is None else covering(self.modname, self.lazy)
        # Annotations that the definition does not evaluate: every one on 3.14+ (PEP 649/749
        # evaluate them lazily, on request), else only under `from __future__ import annotations`.
        # The scan answers for the interpreter it runs on, as the import it predicts would.
        self.lazy_annotations = LAZY_ANNOTATIONS or any(
            isinstance(stmt, ast.ImportFrom)
            and stmt.module == "__future__"
            and any(a.name == "annotations" for a in stmt.names)
            for stmt in tree.body
        )
        self.findings: list[Finding] = []
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.classes: dict[str, ast.ClassDef] = {}
        self.analysed: set[int] = set()
        self.seen: set[tuple[int, int, str]] = set()
        self.module_env: dict[str, Binding] = {}

    # ------------------------------------------------------------------ reporting

    def _col(self, node: ast.AST) -> int:
        line: int = getattr(node, "lineno", 1)
        offset: int = getattr(node, "col_offset", 0)
        if 0 < line <= len(self.lines):
            return len(self.lines[line - 1][:offset].decode("utf-8", "replace")) + 1
        return offset + 1

    def _lazy_of(self, module: str) -> str | None:
        """The lazy name covering ``module``, unless this file is part of that same lazy
        package (its own imports run when the package loads anyway)."""
        lazy = covering(module, self.lazy)
        if lazy is None or lazy == self.own_lazy:
            return None
        return lazy

    def _report(
        self, node: ast.AST, kind: str, module: str, code: str, message: str, fix: str
    ) -> None:
        line: int = getattr(node, "lineno", 1)
        col = self._col(node)
        if (line, col, kind) in self.seen:
            return
        self.seen.add((line, col, kind))
        self.findings.append(
            Finding(self.path, line, col, kind, module, _short(code), message, fix)
        )

    def _use(self, node: ast.AST, site: str, ctx: _Ctx, module: str, code: str) -> None:
        """Report that evaluating ``node`` (at ``site``) loads lazy ``module``."""
        if ctx.scope == "call":
            self._report(
                node,
                "import-time-call",
                module,
                code,
                f"`{_short(code)}` loads lazy module {module!r}: it runs at import time because "
                f"{ctx.via}",
                "do not call it at import time (call it from main() or on first use), or take "
                "the module out of lazy if it is needed at start-up anyway",
            )
            return
        kind = site
        if site == "statement":
            kind = "class-body" if ctx.scope == "class" else "module-level"
        where = {
            "decorator": "a decorator, evaluated when the definition runs",
            "class-base": "a base class or class keyword, evaluated when the class is created",
            "default-argument": "a default argument value, evaluated at def time",
            "annotation": "an annotation, evaluated when the definition runs (the file has no "
            "`from __future__ import annotations`)",
            "module-level": "module-level code, run at import time",
            "class-body": "a class body, run when the class is created at import time",
        }[kind]
        self._report(
            node,
            kind,
            module,
            code,
            f"`{_short(code)}` loads lazy module {module!r} at import time: {where}",
            _FIXES[kind],
        )

    # ------------------------------------------------------------------ statements

    def scan(self) -> None:
        """Analyse the module body (and what it calls); fills ``findings``."""
        self._block(self.tree.body, self.module_env, _Ctx("module", None, self.module_env))

    def _block(self, stmts: Sequence[ast.stmt], env: dict[str, Binding], ctx: _Ctx) -> None:
        for stmt in stmts:
            self._stmt(stmt, env, ctx)

    def _branches(
        self,
        env: dict[str, Binding],
        ctx: _Ctx,
        branches: Sequence[Sequence[ast.stmt]],
    ) -> None:
        """Run alternative blocks on copies of ``env``; afterwards a name is bound to a lazy
        module if any branch left it so (conservative)."""
        results: list[dict[str, Binding]] = []
        for branch in branches:
            copy = dict(env)
            self._block(branch, copy, ctx._replace(genv=copy) if ctx.scope == "module" else ctx)
            results.append(copy)
        env.clear()
        for result in results:
            for key, value in result.items():
                env.setdefault(key, value)

    def _unbind(self, env: dict[str, Binding], names: Iterable[str]) -> None:
        for name in names:
            env.pop(name, None)

    def _stmt(self, stmt: ast.stmt, env: dict[str, Binding], ctx: _Ctx) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    env[alias.asname] = Binding(alias.name)
                else:
                    top = alias.name.partition(".")[0]
                    env[top] = Binding(top)
        elif isinstance(stmt, ast.ImportFrom):
            self._import_from(stmt, env, ctx)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            self._def(stmt, env, ctx)
            env.pop(stmt.name, None)
            if ctx.scope == "module":
                self.functions[stmt.name] = stmt
                self.classes.pop(stmt.name, None)
        elif isinstance(stmt, ast.ClassDef):
            self._class(stmt, env, ctx)
            env.pop(stmt.name, None)
            if ctx.scope == "module":
                self.classes[stmt.name] = stmt
                self.functions.pop(stmt.name, None)
        elif isinstance(stmt, ast.Assign):
            self._expr(stmt.value, "statement", env, ctx)
            for target in stmt.targets:
                self._expr_target(target, env, ctx)
            names = [n for t in stmt.targets for n in _target_names(t)]
            same = (
                env.get(stmt.value.id)
                if isinstance(stmt.value, ast.Name) and len(names) == 1
                else None
            )
            self._unbind(env, names)
            if same is not None:
                env[names[0]] = same  # `st = storage`: the same lazy module
        elif isinstance(stmt, ast.AnnAssign):
            if ctx.scope in ("module", "class") and not self.lazy_annotations:
                self._expr(stmt.annotation, "annotation", env, ctx)
            if stmt.value is not None:
                self._expr(stmt.value, "statement", env, ctx)
            self._expr_target(stmt.target, env, ctx)
            if stmt.value is not None:
                self._unbind(env, _target_names(stmt.target))
        elif isinstance(stmt, ast.AugAssign):
            self._expr(stmt.value, "statement", env, ctx)
            self._expr(stmt.target, "statement", env, ctx)
        elif isinstance(stmt, ast.Expr | ast.Return):
            if stmt.value is not None:
                self._expr(stmt.value, "statement", env, ctx)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                self._expr_target(target, env, ctx)
                self._unbind(env, _target_names(target))
        elif isinstance(stmt, ast.If):
            if _is_type_checking(stmt.test) or _is_main_guard(stmt.test):
                self._block(stmt.orelse, env, ctx)
            elif (
                isinstance(stmt.test, ast.UnaryOp)
                and isinstance(stmt.test.op, ast.Not)
                and (_is_type_checking(stmt.test.operand))
            ):
                self._block(stmt.body, env, ctx)
            else:
                self._use_name(stmt.test, "statement", env, ctx)
                self._expr(stmt.test, "statement", env, ctx)
                self._branches(env, ctx, [stmt.body, stmt.orelse])
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            self._use_name(stmt.iter, "statement", env, ctx)
            self._expr(stmt.iter, "statement", env, ctx)
            self._unbind(env, _target_names(stmt.target))
            self._branches(env, ctx, [[*stmt.body, *stmt.orelse], stmt.orelse])
        elif isinstance(stmt, ast.While):
            self._expr(stmt.test, "statement", env, ctx)
            self._branches(env, ctx, [[*stmt.body, *stmt.orelse], stmt.orelse])
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                self._expr(item.context_expr, "statement", env, ctx)
                if item.optional_vars is not None:
                    self._unbind(env, _target_names(item.optional_vars))
            self._block(stmt.body, env, ctx)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            branches: list[list[ast.stmt]] = [[*stmt.body, *stmt.orelse]]
            for handler in stmt.handlers:
                if handler.type is not None:
                    self._expr(handler.type, "statement", env, ctx)
                branches.append(list(handler.body))
            self._branches(env, ctx, branches)
            self._block(stmt.finalbody, env, ctx)
        elif isinstance(stmt, ast.Match):
            self._expr(stmt.subject, "statement", env, ctx)
            self._branches(env, ctx, [case.body for case in stmt.cases])
        elif isinstance(stmt, ast.Raise | ast.Assert):
            for child in ast.iter_child_nodes(stmt):
                if isinstance(child, ast.expr):
                    self._expr(child, "statement", env, ctx)
        # Pass, Break, Continue, Global, Nonlocal, TypeAlias: nothing evaluated that matters.

    def _resolve_from(self, stmt: ast.ImportFrom) -> str | None:
        if stmt.level == 0:
            return stmt.module
        if self.modname is None:
            return None
        parts = self.modname.split(".")
        package = parts if self.is_init else parts[:-1]
        if not package:
            return None  # not inside a package: the relative import fails at run time anyway
        up = stmt.level - 1
        if up > len(package) or (up == len(package) and not stmt.module):
            return None
        base = package[: len(package) - up]
        if stmt.module:
            base = [*base, stmt.module]
        return ".".join(base) or None

    def _import_from(self, stmt: ast.ImportFrom, env: dict[str, Binding], ctx: _Ctx) -> None:
        module = self._resolve_from(stmt)
        if module is None or module == "__future__":
            return
        bound = [a.asname or a.name for a in stmt.names if a.name != "*"]
        lazy = self._lazy_of(module)
        if lazy is None:
            for alias in stmt.names:
                if alias.name == "*":
                    continue
                target = f"{module}.{alias.name}"
                name = alias.asname or alias.name
                if self._lazy_of(target) is not None:
                    env[name] = Binding(target)  # `from google.cloud import storage`
                else:
                    env.pop(name, None)
            return
        star = any(a.name == "*" for a in stmt.names)
        if not star and ctx.scope != "call":
            # `from pkg import sub` of a submodule the package provably binds to nothing else
            # keeps pkg lazy at run time (the engine's rule, lazymed._bindings): no load here.
            subs = [a for a in stmt.names if _submodule_only(module, a.name)]
            for alias in subs:
                env[alias.asname or alias.name] = Binding(f"{module}.{alias.name}")
            if len(subs) == len(stmt.names):
                return
            if subs:
                rest = [a for a in stmt.names if a not in subs]
                narrowed = ast.ImportFrom(module=stmt.module, names=rest, level=stmt.level)
                stmt = ast.copy_location(narrowed, stmt)
                bound = [a.asname or a.name for a in rest]
        code = ast.unparse(stmt)
        if ctx.scope == "module" and self.from_import == "deferred" and not star:
            for alias in stmt.names:
                env[alias.asname or alias.name] = Binding(module, True, alias.name)
            return
        self._unbind(env, bound)
        if ctx.scope == "call":
            self._use(stmt, "statement", ctx, module, code)
            return
        if star:
            why = "`import *` needs the module's names, so it always loads the module"
            fix = (
                f"import the names you use explicitly, or `import {module}` and use "
                f"`{module}.name` where needed"
            )
        elif ctx.scope == "class":
            why = 'in a class body (from_import = "deferred" applies at module level only)'
            fix = (
                f'move the import to module level with from_import = "deferred", or use '
                f"`import {module}` and `{module}.name` inside the methods that need it"
            )
        else:
            why = 'with from_import = "eager" the module runs at this statement'
            fix = (
                f"use `import {module}` and {_qualified_uses(module, stmt.names)}, or set "
                'from_import = "deferred" in [tool.lazymed]'
            )
        self._report(
            stmt,
            "from-import",
            module,
            code,
            f"`{_short(code)}` loads lazy module {module!r} at import time: {why}",
            fix,
        )

    def _arguments(self, args: ast.arguments, env: dict[str, Binding], ctx: _Ctx) -> None:
        for default in [*args.defaults, *args.kw_defaults]:
            if default is not None:
                self._expr(default, "default-argument", env, ctx)

    def _annotations(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, env: dict[str, Binding], ctx: _Ctx
    ) -> None:
        if self.lazy_annotations:
            return
        args = node.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        every += [a for a in (args.vararg, args.kwarg) if a is not None]
        for arg in every:
            if arg.annotation is not None:
                self._expr(arg.annotation, "annotation", env, ctx)
        if node.returns is not None:
            self._expr(node.returns, "annotation", env, ctx)

    def _def(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, env: dict[str, Binding], ctx: _Ctx
    ) -> None:
        for decorator in node.decorator_list:
            self._use_name(decorator, "decorator", env, ctx)
            self._expr(decorator, "decorator", env, ctx)
            self._decorator_call(decorator, env, ctx)
        self._arguments(node.args, env, ctx)
        self._annotations(node, env, ctx)

    def _class(self, node: ast.ClassDef, env: dict[str, Binding], ctx: _Ctx) -> None:
        for decorator in node.decorator_list:
            self._use_name(decorator, "decorator", env, ctx)
            self._expr(decorator, "decorator", env, ctx)
            self._decorator_call(decorator, env, ctx)
        for base in node.bases:
            self._use_name(base, "class-base", env, ctx)
            self._expr(base, "class-base", env, ctx)
        for keyword in node.keywords:
            self._expr(keyword.value, "class-base", env, ctx)
        inner = ctx if ctx.scope == "call" else _Ctx("class", None, ctx.genv)
        self._block(node.body, dict(env), inner)

    # ------------------------------------------------------------------ calls at import time

    def _decorator_call(self, decorator: ast.expr, env: dict[str, Binding], ctx: _Ctx) -> None:
        if isinstance(decorator, ast.Name):
            self._call_local(decorator, decorator.id, env, ctx, "used as a decorator")

    def _call_local(
        self, node: ast.AST, name: str, env: dict[str, Binding], ctx: _Ctx, how: str
    ) -> None:
        """Analyse the body of module-level function (or class ``__init__``) ``name``, which
        the code at ``node`` runs at import time."""
        if name in env:
            return  # bound to a lazy module, not a local function
        line = getattr(node, "lineno", 0)
        chain = f"{name}() is {how} at line {line}"
        via = chain if ctx.via is None else f"{chain}, and {ctx.via}"
        bodies: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        func = self.functions.get(name)
        if func is not None:
            bodies.append(func)
        cls = self.classes.get(name)
        if cls is not None:
            for stmt in cls.body:
                if isinstance(stmt, ast.FunctionDef) and stmt.name in (
                    "__init__",
                    "__new__",
                    "__post_init__",
                ):
                    bodies.append(stmt)
            via = f"{name}(...) is instantiated at line {line}" + (
                "" if ctx.via is None else f", and {ctx.via}"
            )
        for body in bodies:
            if id(body) in self.analysed:
                continue
            self.analysed.add(id(body))
            local = dict(ctx.genv)
            self._unbind(local, _local_names(body))
            self._block(body.body, local, _Ctx("call", via, ctx.genv))

    # ------------------------------------------------------------------ expressions

    def _expr_target(self, target: ast.expr, env: dict[str, Binding], ctx: _Ctx) -> None:
        """Targets of assignments evaluate their sub-expressions (``X.a.b = 1`` reads ``X.a``;
        ``X.attr = 1`` sets an attribute, which loads a lazy module too)."""
        if isinstance(target, ast.Attribute | ast.Subscript):
            self._expr(target, "statement", env, ctx)
        elif isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self._expr_target(elt, env, ctx)
        elif isinstance(target, ast.Starred):
            self._expr_target(target.value, env, ctx)

    def _chain(self, node: ast.expr, site: str, env: dict[str, Binding], ctx: _Ctx) -> bool:
        """Report an attribute chain on a lazy-module name. True if ``node`` was handled."""
        dotted = _dotted(node)
        if dotted is None:
            return False
        base, attrs = dotted
        binding = env.get(base.id)
        if binding is None:
            return False
        if binding.deferred:
            lazy = self._lazy_of(binding.module)
            if lazy is not None:
                self._use(base, site, ctx, binding.module, ast.unparse(node))
            return True
        current = binding.module
        for attr in attrs:
            if attr in NO_LOAD_ATTRIBUTES:
                return True
            if self._lazy_of(current) is not None:
                self._use(base, site, ctx, current, ast.unparse(node))
                return True
            current = f"{current}.{attr}"
        return True

    def _use_name(self, node: ast.expr, site: str, env: dict[str, Binding], ctx: _Ctx) -> None:
        """``node`` is used in a way that resolves a deferred stand-in (called, subclassed,
        subscripted, operated on...)."""
        if isinstance(node, ast.Name):
            binding = env.get(node.id)
            if binding is not None and binding.deferred and self._lazy_of(binding.module):
                self._use(node, site, ctx, binding.module, node.id)

    def _expr(self, node: ast.expr, site: str, env: dict[str, Binding], ctx: _Ctx) -> None:
        """Walk expression ``node``, evaluated at import time at ``site``."""
        if isinstance(node, ast.Attribute):
            if not self._chain(node, site, env, ctx):
                self._use_name(node.value, site, env, ctx)
                self._expr(node.value, site, env, ctx)
            return
        if isinstance(node, ast.Name):
            return
        if isinstance(node, ast.Lambda):
            self._arguments(node.args, env, ctx)
            return
        if isinstance(node, ast.Call):
            self._use_name(node.func, site, env, ctx)
            if isinstance(node.func, ast.Name):
                fname = node.func.id
                if fname in _GETATTR_CALLS and node.args:
                    self._getattr_call(node, site, env, ctx)
                elif fname in ("isinstance", "issubclass") and len(node.args) == 2:
                    self._use_name(node.args[1], site, env, ctx)
                elif fname == "dir" and node.args:
                    self._use_name_or_module(node.args[0], node, site, env, ctx)
                if fname not in env:
                    self._call_local(node, fname, env, ctx, "called")
        elif isinstance(node, ast.Subscript):
            self._use_name(node.value, site, env, ctx)
        elif isinstance(node, ast.BinOp):
            self._use_name(node.left, site, env, ctx)
            self._use_name(node.right, site, env, ctx)
        elif isinstance(node, ast.UnaryOp):
            self._use_name(node.operand, site, env, ctx)
        elif isinstance(node, ast.Compare):
            if not all(isinstance(op, ast.Is | ast.IsNot) for op in node.ops):
                for operand in [node.left, *node.comparators]:
                    self._use_name(operand, site, env, ctx)
        elif isinstance(node, ast.FormattedValue):
            self._use_name(node.value, site, env, ctx)
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            for gen in node.generators:
                self._use_name(gen.iter, site, env, ctx)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child, site, env, ctx)
            elif isinstance(child, ast.comprehension):
                for sub in (child.target, child.iter, *child.ifs):
                    self._expr(sub, site, env, ctx)
            elif isinstance(child, ast.keyword):
                self._expr(child.value, site, env, ctx)

    def _use_name_or_module(
        self, arg: ast.expr, call: ast.Call, site: str, env: dict[str, Binding], ctx: _Ctx
    ) -> None:
        """``dir(X)`` / ``getattr(X, ...)`` on a lazy module or a deferred stand-in."""
        if not isinstance(arg, ast.Name):
            return
        binding = env.get(arg.id)
        if binding is None:
            return
        if binding.deferred:
            self._use_name(arg, site, env, ctx)
        elif self._lazy_of(binding.module) is not None:
            self._use(call, site, ctx, binding.module, ast.unparse(call))

    def _getattr_call(self, node: ast.Call, site: str, env: dict[str, Binding], ctx: _Ctx) -> None:
        attr = node.args[1] if len(node.args) > 1 else None
        if isinstance(attr, ast.Constant) and attr.value in NO_LOAD_ATTRIBUTES:
            return
        self._use_name_or_module(node.args[0], node, site, env, ctx)


def _local_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names a function assigns (its locals shadow module-level bindings), imports excluded:
    those are tracked as bindings in the body itself."""
    names = {a.arg for a in ast.walk(func.args) if isinstance(a, ast.arg)}
    declared_global: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Global):
            declared_global.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names - declared_global


def scan_source(
    path: str, source: bytes | str, lazy: Sequence[str], from_import: str = "eager"
) -> list[Finding]:
    """Findings for one file's ``source`` (bytes as read from the file, or text, which is
    encoded as UTF-8). Raises SyntaxError/ValueError if it does not parse."""
    if isinstance(source, str):
        source = source.encode("utf-8")
    tree = ast.parse(source, filename=path)
    scanner = _FileScanner(path, source, tree, lazy, from_import)
    scanner.scan()
    return sorted(scanner.findings, key=lambda f: (f.line, f.col, f.kind))


def _submodule_only(package: str, name: str) -> bool:
    """Whether ``from package import name`` binds the lazy submodule ``package.name`` without
    running ``package`` at run time: the submodule is on disk and a static reading of the
    package's ``__init__`` proves it binds ``name`` to nothing else (the engine's rule,
    :func:`lazymed._bindings.why_not_only_submodule`). Found without importing anything."""
    from importlib.machinery import PathFinder

    from lazymed._bindings import why_not_only_submodule

    parts = package.split(".")
    path: list[str] | None = None
    spec = None
    for i in range(len(parts)):
        spec = PathFinder.find_spec(".".join(parts[: i + 1]), path)
        if spec is None or spec.submodule_search_locations is None:
            return False
        path = list(spec.submodule_search_locations)
    if spec is None or PathFinder.find_spec(f"{package}.{name}", path) is None:
        return False
    return why_not_only_submodule(package, spec.origin, name) is None

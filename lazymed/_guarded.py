"""Import statements whose failure the importing code handles: they stay eager.

Eager CPython runs ``import optdep`` inside ``try: ... except ImportError:`` at the statement and
takes the fallback when ``optdep`` (or anything it imports) fails. A lazy ``optdep`` would hide that
failure until the first use, after the program has decided it has the package. PEP 810 refuses
``lazy import`` inside ``try`` for the same reason. So a registered name imported where a handler
can catch the import's failure runs at the statement, as eager import would.

What is checked, in order (imported only when the first check says "maybe"):

1. the importing frame's exception table (``co_exceptiontable``): is the import instruction
   covered by any handler at all (a ``try`` or a ``with`` block)? If not: lazy, at no cost;
2. the importing file's source (``ast``): the ``try`` statements (and ``try``/``except*``) of the
   same function or module body that enclose the import in their ``try:`` suite, and the ``with``
   statements using ``contextlib.suppress(...)``. A bare ``except:``, or a handler naming a class
   that is ``ImportError``, a subclass (``ModuleNotFoundError``) or a base (``Exception``,
   ``BaseException``) keeps it eager; other handlers (``except KeyError:``) and other ``with``
   blocks leave it lazy.

Not checked: handlers in *calling* frames (``try: load_plugins()`` around a function that imports),
context managers other than ``suppress`` that swallow exceptions in ``__exit__``, and handler names
lazymed cannot resolve without running code: those (``except mod.Error`` where ``mod`` is itself
still lazy, or a name not yet bound) are treated as catching, so the import stays eager. Where the
source cannot be read (no file, a frozen or zip-only module), any covering handler keeps it eager.

Core layer: standard library only; ``ast`` and ``linecache`` load only in step 2.
"""

from ._cpython import in_try_block, instruction_position

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ast
    from types import FrameType

# filename -> parsed tree, or None where there is no source; read once per file, as linecache
# (which tracebacks use) would.
_TREES: "dict[str, ast.Module | None]" = {}


def guard(frame: "FrameType") -> "str | None":
    """Where the import ``frame`` is executing is guarded: ``"file:line"`` of the ``try`` (or
    ``with suppress(...)``) whose handler can catch its ImportError, else ``None``."""
    if not in_try_block(frame):
        return None
    code = frame.f_code
    tree = _tree(code.co_filename, frame.f_globals)
    if tree is None:
        return f"{code.co_filename}:{frame.f_lineno}"  # covered, source unknown: stay eager
    position = instruction_position(frame)
    if position is None:
        return f"{code.co_filename}:{frame.f_lineno}"
    found = _guarding_node(tree, position, frame)
    if found is None:
        return None
    return f"{code.co_filename}:{found}"


def _tree(filename: str, module_globals: "dict[str, object]") -> "ast.Module | None":
    if filename in _TREES:
        return _TREES[filename]
    import ast
    import linecache

    lines = linecache.getlines(filename, module_globals)
    tree: ast.Module | None
    try:
        tree = ast.parse("".join(lines), filename) if lines else None
    except (SyntaxError, ValueError):
        tree = None  # source and bytecode disagree: do not guess
    _TREES[filename] = tree
    return tree


def _contains(node: "ast.stmt", position: tuple[int, int]) -> bool:
    end_line = node.end_lineno if node.end_lineno is not None else node.lineno
    end_col = node.end_col_offset if node.end_col_offset is not None else 1 << 30
    return (node.lineno, node.col_offset) <= position <= (end_line, end_col)


def _guarding_node(
    tree: "ast.Module", position: tuple[int, int], frame: "FrameType"
) -> "int | None":
    """Line of the innermost statement of the frame's own body that guards ``position``."""
    import ast

    guard_line: int | None = None
    body: list[ast.stmt] = tree.body
    while True:
        inner = next((stmt for stmt in body if _contains(stmt, position)), None)
        if inner is None:
            return guard_line
        if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            # A new scope: handlers outside it belong to another frame (a class body runs in
            # its own frame too), so only guards inside count from here on.
            if isinstance(inner, ast.ClassDef) or frame.f_code.co_name != "<module>":
                guard_line = None
            body = inner.body
            continue
        if isinstance(inner, ast.Try | ast.TryStar):
            in_body = any(_contains(stmt, position) for stmt in inner.body)
            if in_body and any(_catches_import_error(h.type, frame) for h in inner.handlers):
                guard_line = inner.lineno
        if isinstance(inner, ast.With | ast.AsyncWith) and any(
            _suppresses_import_error(item.context_expr, frame) for item in inner.items
        ):
            guard_line = inner.lineno
        body = [
            child
            for field in ("body", "orelse", "finalbody", "handlers", "cases")
            for child in _statements(getattr(inner, field, None))
        ]


def _statements(value: object) -> "list[ast.stmt]":
    import ast

    if not isinstance(value, list):
        return []
    out: list[ast.stmt] = []
    for item in value:
        if isinstance(item, ast.ExceptHandler | ast.match_case):
            out.extend(item.body)
        elif isinstance(item, ast.stmt):
            out.append(item)
    return out


def _catches_import_error(expr: "ast.expr | None", frame: "FrameType") -> bool:
    import ast

    if expr is None:
        return True  # bare except:
    if isinstance(expr, ast.Tuple):
        return any(_catches_import_error(item, frame) for item in expr.elts)
    value = _resolve(expr, frame)
    if not isinstance(value, type):
        return True  # cannot tell without running code: keep the eager answer
    return issubclass(value, ImportError) or issubclass(ImportError, value)


def _suppresses_import_error(expr: "ast.expr", frame: "FrameType") -> bool:
    import ast
    import contextlib

    if not isinstance(expr, ast.Call):
        # `with sup:` where `sup = contextlib.suppress(...)` was made earlier
        manager = _resolve(expr, frame)
        if isinstance(manager, contextlib.suppress):
            caught = getattr(manager, "_exceptions", ())
            return any(
                isinstance(c, type) and (issubclass(c, ImportError) or issubclass(ImportError, c))
                for c in caught
            )
        return False
    if _resolve(expr.func, frame) is not contextlib.suppress:
        return False
    return any(_catches_import_error(arg, frame) for arg in expr.args)


_UNKNOWN = object()


def _resolve(expr: "ast.expr", frame: "FrameType") -> object:
    """The object a ``Name`` / ``a.b.c`` expression names in ``frame``, without loading a lazy
    module (a pending module's attribute is unknown)."""
    import ast

    if isinstance(expr, ast.Name):
        for namespace in (frame.f_locals, frame.f_globals, frame.f_builtins):
            if expr.id in namespace:
                return namespace[expr.id]
        return _UNKNOWN
    if isinstance(expr, ast.Attribute):
        base = _resolve(expr.value, frame)
        if base is _UNKNOWN:
            return _UNKNOWN
        from ._load import pending

        if pending(base) is not None:
            return _UNKNOWN
        try:
            return object.__getattribute__(base, expr.attr)
        except AttributeError:
            return getattr(type(base), expr.attr, _UNKNOWN)
    return _UNKNOWN

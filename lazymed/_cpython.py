"""The one door to CPython's private import machinery and bytecode.

Everything lazymed relies on that is not a public Python API is resolved here, once, at import:
``importlib._bootstrap`` functions and their code objects (how the finder tells an import from a
query, and a ``from X import name`` from a probe), importlib's module locks and their fields, the
``_lock_unlock_module`` hook (patched and unpatched side by side), the loaders whose
``create_module`` runs the module's own code (extensions, builtins, frozen), opcode
numbers, the ``co_exceptiontable`` format and the frame fields read to know which statement is
running. Every other core file asks this one.

:data:`VERIFIED` lists the interpreter versions the whole test suite passed on. On any other
version, or when one of the names below is missing, :data:`PROBLEM` says what, and ``install()``
warns once and leaves every import eager (fail closed, as ``LAZYMED_DISABLE`` does): never a
half-working finder. Cheap to import (no ``dis``, no ``opcode``): it is on the install path.

Core layer: standard library only.
"""

import sys
from _thread import get_ident as _get_ident

# On the install path: annotations that would build objects when each def runs (X | None,
# tuple[...]) are written as strings, which cost nothing there (3.11-3.13 evaluate them eagerly).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import CodeType, FrameType, ModuleType
    from typing import Any

#: (major, minor) versions on which lazymed's tests pass (3.11-3.13 in CI; 3.14 and 3.15 run in
#: a Debian sid chroot, see tests/README or the issue notes).
VERIFIED = frozenset({(3, 11), (3, 12), (3, 13), (3, 14), (3, 15)})

# (IMPORT_NAME, IMPORT_FROM, LOAD_ATTR, LOAD_METHOD) per version, compared with opcode.opmap by
# tests/core/test_cpython.py on each interpreter. -2: no such instruction in co_code (3.12+ merged
# LOAD_METHOD into LOAD_ATTR; its number there is a pseudo-op above 255). Importing `opcode` at a
# lazy module's first use would cost more than the rest of the load machinery (3.13+ pulls
# _opcode_metadata), so the numbers are written down here.
OPCODES = {
    (3, 11): (108, 109, 106, 160),
    (3, 12): (108, 109, 106, -2),
    (3, 13): (75, 74, 82, -2),
    (3, 14): (73, 72, 80, -2),
    (3, 15): (72, 71, 79, -2),
}


#: The attribute a hook of ours carries: importlib's function it stands in for.
_ORIGINAL = "_lazymed_original"


def resolve(
    bootstrap: object, external: object, version: "tuple[int, int]"
) -> "tuple[dict[str, object], str | None]":
    """Look every private name up: ``({name: value or None}, problem or None)``. ``problem``
    names the version and the missing pieces (tests pass stand-ins to see the fail-closed path)."""
    found: dict[str, object] = {}
    missing: list[str] = []
    for owner, module_name, names in (
        (
            bootstrap,
            "_frozen_importlib",
            (
                "_find_spec",
                "_find_and_load_unlocked",
                "_handle_fromlist",
                "_lock_unlock_module",
                "_get_module_lock",
                "_DeadlockError",
                "_gcd_import",
                "ModuleSpec",
                "BuiltinImporter",
                "FrozenImporter",
            ),
        ),
        (external, "_frozen_importlib_external", ("ExtensionFileLoader",)),
    ):
        for name in names:
            value = getattr(owner, name, None)
            if value is None:
                missing.append(f"{module_name}.{name}")
            found[name] = value
    for name in ("_find_spec", "_find_and_load_unlocked", "_handle_fromlist"):
        code = getattr(found[name], "__code__", None)
        found[name + "_code"] = code
        if code is None and found[name] is not None:
            missing.append(f"_frozen_importlib.{name}.__code__")
    if version not in OPCODES:
        missing.append("opcode numbers")
    # 3.15+: the second route of the import-time hook (see patch_is_initializing)
    found["_is_initializing"] = getattr(bootstrap, "_is_initializing", None)
    if version >= (3, 15) and found["_is_initializing"] is None:
        missing.append("_frozen_importlib._is_initializing")
    for name in ("_lock_unlock_module", "_is_initializing"):
        # A hook of an earlier copy of lazymed, still patched in (its modules were removed from
        # sys.modules and imported again): importlib's own function is the one it stands for,
        # else unpatch() would put the hook back for good and patched() would not see it.
        found[name] = getattr(found[name], _ORIGINAL, found[name])
    where = f"Python {version[0]}.{version[1]}"
    if version not in VERIFIED:
        verified = ", ".join(f"{v[0]}.{v[1]}" for v in sorted(VERIFIED))
        text = f"{where} is not one lazymed was verified on ({verified})"
        problem: str | None = f"{text}; missing: {', '.join(missing)}" if missing else text
    elif missing:
        problem = f"{where} lacks interpreter internals lazymed needs: {', '.join(missing)}"
    else:
        problem = None
    return found, problem


VERSION: "tuple[int, int]" = (sys.version_info[0], sys.version_info[1])
_found, PROBLEM = resolve(
    sys.modules.get("_frozen_importlib"), sys.modules.get("_frozen_importlib_external"), VERSION
)

# ------------------------------------------------------------------ importlib._bootstrap names
_bootstrap = sys.modules.get("_frozen_importlib")  # importlib._bootstrap, always loaded
#: Code of importlib's ``_find_spec``: a finder called from it serves an import or a query.
find_spec_code: "CodeType | None" = _found["_find_spec_code"]  # type: ignore[assignment]
#: Code of ``_find_and_load_unlocked``: the caller of ``_find_spec`` for an import (not a query),
#: and the reader of a parent's ``__path__`` before a submodule import.
find_and_load_unlocked_code: "CodeType | None" = _found["_find_and_load_unlocked_code"]  # type: ignore[assignment]
#: Code of ``_handle_fromlist``: ``from pkg import name`` probing a package.
handle_fromlist_code: "CodeType | None" = _found["_handle_fromlist_code"]  # type: ignore[assignment]
get_module_lock: "Callable[[str], Any]" = _found["_get_module_lock"]  # type: ignore[assignment]
DeadlockError: "type[BaseException]" = _found["_DeadlockError"] or RuntimeError  # type: ignore[assignment]


#: PEP 810's ``ImportCycleError`` (3.15+: raised when a ``lazy import`` is asked for while it is
#: being resolved), for ``except`` clauses; before 3.15 the empty tuple, which catches nothing (a
#: stand-in class would cost a class creation on the install path).
ImportCycleError: "type[BaseException] | tuple[()]" = getattr(
    sys.modules["builtins"], "ImportCycleError", ()
)
#: ``importlib.import_module`` without importing importlib.
gcd_import: "Callable[[str], ModuleType]" = _found["_gcd_import"]  # type: ignore[assignment]
if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec as ModuleSpec
else:
    ModuleSpec = _found["ModuleSpec"]  # the class, without importing importlib.machinery
#: importlib's own ``_lock_unlock_module``, as found before any patch of ours.
original_lock_unlock: "Callable[[str], None]" = _found["_lock_unlock_module"]  # type: ignore[assignment]
# Loaders whose create_module runs the module's own initialisation: an extension's PyInit, a
# builtin's or frozen module's creation. BuiltinImporter and FrozenImporter serve as loaders
# themselves (the classes, not instances).
_builder_types = tuple(t for t in (_found["ExtensionFileLoader"],) if isinstance(t, type))
_builder_classes = tuple(c for c in (_found["BuiltinImporter"], _found["FrozenImporter"]) if c)

#: Frame reading (the importer, the call site): the one reference to ``sys._getframe``.
getframe = sys._getframe


def find_real_spec(name: str, path: "Sequence[str] | None") -> "ModuleSpec | None":
    """The spec the finders on ``sys.meta_path`` other than lazymed's give for ``name``
    (lazymed's finder is known by its ``_lazymed_finder`` class attribute)."""
    for finder in list(sys.meta_path):
        if getattr(finder, "_lazymed_finder", False):
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        spec: ModuleSpec | None = find_spec(name, path, None)
        if spec is not None:
            return spec
    return None


_find_real_spec_code = find_real_spec.__code__


def import_asking(name: str, frame: "FrameType | None") -> "FrameType | None":
    """importlib's ``_find_spec`` frame of an import of ``name`` that is asking the finders on
    ``sys.meta_path`` right now, found by walking out from ``frame`` (a finder's caller).

    Instrumentation finders put ahead of lazymed's (wrapt's post-import hooks, which APM and
    tracing agents register) answer an import by asking ``importlib.util.find_spec`` and wrapping
    the loader they get: that nested lookup is the import itself. ``None`` for a plain query, and
    for the lookups lazymed's own :func:`find_real_spec` makes through the other finders."""
    depth = 0
    while frame is not None and depth < 16:
        code = frame.f_code
        if code is _find_real_spec_code:
            return None
        if code is find_spec_code:
            back = frame.f_back
            if back is not None and back.f_code is find_and_load_unlocked_code:
                return frame if frame.f_locals.get("name") == name else None
        frame = frame.f_back
        depth += 1
    return None


# Frames an import statement's lookup passes through before the finder: importlib's frozen
# bootstrap, importlib.import_module(), and lazymed's own (the profiler wraps _find_and_load).
_IMPORTLIB_FILES = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")
_OWN_DIR = __file__[: -len("_cpython.py")]


def importing_frame(frame: "FrameType | None") -> "FrameType | None":
    """The frame of the import statement (or ``importlib.import_module`` call) that led to
    ``frame``: the first one outside importlib and lazymed, walking out."""
    importlib = sys.modules.get("importlib")
    import_module_code = getattr(getattr(importlib, "import_module", None), "__code__", None)
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        if (
            filename not in _IMPORTLIB_FILES
            and code is not import_module_code
            and not filename.startswith(_OWN_DIR)
        ):
            return frame
        frame = frame.f_back
    return None


def builds_module(loader: object) -> bool:
    """Whether ``loader.create_module`` runs the module's own initialisation (C extensions,
    builtins, frozen modules), so that its pending parent packages must run first. Any other
    ``create_module`` is called to find out: ``None`` means "default module creation" (what
    ``importlib.abc.Loader`` and frozen-app or plugin loaders return), and the module stays lazy."""
    return isinstance(loader, _builder_types) or any(loader is c for c in _builder_classes)


# ------------------------------------------------------------------ the _lock_unlock_module hook


def patch_lock_unlock(hook: "Callable[[str], None]") -> None:
    """Route importlib's ``_lock_unlock_module`` (called by CPython's
    ``import_ensure_initialized`` for a module whose ``__spec__._initializing`` is true) through
    ``hook``, which must defer to :data:`original_lock_unlock` for modules it does not own.
    Undone by :func:`unpatch`. The hook carries importlib's function (``_lazymed_original``),
    which :func:`resolve` reads in a later copy of lazymed."""
    if _bootstrap is not None and _bootstrap._lock_unlock_module is not hook:
        setattr(hook, _ORIGINAL, original_lock_unlock)
        setattr(_bootstrap, "_lock_unlock_module", hook)  # noqa: B010  # typed module


def unpatch() -> None:
    """Put importlib's own ``_lock_unlock_module`` (and 3.15+'s ``_is_initializing``) back
    (no-op when not patched)."""
    if _bootstrap is not None and original_lock_unlock is not None:
        setattr(_bootstrap, "_lock_unlock_module", original_lock_unlock)  # noqa: B010
    if _bootstrap is not None and original_is_initializing is not None:
        setattr(_bootstrap, "_is_initializing", original_is_initializing)  # noqa: B010


def patched() -> bool:
    """Whether importlib's ``_lock_unlock_module`` (or, on 3.15+, ``_is_initializing``) is
    routed through a hook of ours."""
    return _bootstrap is not None and (
        _bootstrap._lock_unlock_module is not original_lock_unlock
        or getattr(_bootstrap, "_is_initializing", None) is not original_is_initializing
    )


#: importlib's own ``_is_initializing(module)`` (3.15+), as found before any patch of ours;
#: ``None`` before 3.15, where importlib has no such function.
original_is_initializing: "Callable[[object], bool] | None" = _found["_is_initializing"]  # type: ignore[assignment]


def patch_is_initializing(hook: "Callable[[object], bool]") -> None:
    """Python 3.15+: route importlib's ``_is_initializing(module)`` through ``hook``, which must
    return what :data:`original_is_initializing` returns after doing its own work. No-op before
    3.15. Undone by :func:`unpatch`; the hook carries importlib's function as
    :func:`patch_lock_unlock`'s does.

    Why: 3.15's ``importlib._bootstrap._find_and_load``, reworked for the import deadlocks of
    gh-83065 (python/cpython#137196) and gh-159963 (its ``_resolve_parents``), no longer calls
    ``_lock_unlock_module`` for a module in ``sys.modules`` whose ``__spec__._initializing`` is
    true: it asks ``_is_initializing(module)`` and waits on the module lock itself. So an
    ``importlib.import_module()`` of a pending module would skip :func:`patch_lock_unlock`'s
    hook; ``_is_initializing`` is asked at that same moment (the C path of the import
    statement, ``import_ensure_initialized``, still calls ``_lock_unlock_module``)."""
    if (
        _bootstrap is not None
        and original_is_initializing is not None
        and _bootstrap._is_initializing is not hook
    ):
        setattr(hook, _ORIGINAL, original_is_initializing)
        setattr(_bootstrap, "_is_initializing", hook)  # noqa: B010  # typed module


# ------------------------------------------------------------------ module locks


# Two functions rather than a context-manager class: this module is on the install path, where a
# class costs ~0.07 M instructions to create (docs/architecture.md); the three callers use
# ``held = release_module_lock(name)`` then ``try: ... finally: reacquire_module_lock(held)``.


def release_module_lock(name: str) -> "tuple[Any, int]":
    """Release this thread's hold on importlib's module lock for ``name`` (importlib holds it
    while it imports ``name``); returns ``(lock, times released)`` for
    :func:`reacquire_module_lock`. Running a pending parent package from inside the child's
    import must not hold the child's lock: another thread may be running that parent, whose code
    imports the child (lock-order inversion, which importlib would break with _DeadlockError in
    the other thread).

    Reads the lock's ``owner`` and ``count`` fields (``count`` an int on 3.11, a list since
    3.12); an importlib without them keeps its lock (released 0 times)."""
    lock = get_module_lock(name)
    count = getattr(lock, "count", None)
    if getattr(lock, "owner", None) != _get_ident() or count is None:
        return lock, 0  # not ours, or an importlib without these fields: keep it
    held = len(count) if isinstance(count, list) else int(count)
    for _ in range(held):
        lock.release()
    return lock, held


def reacquire_module_lock(released: "tuple[Any, int]") -> None:
    """Take back what :func:`release_module_lock` released."""
    lock, held = released
    for _ in range(held):
        lock.acquire()


# ------------------------------------------------------------------ bytecode and frames

_IMPORT_NAME, _IMPORT_FROM, _LOAD_ATTR, _LOAD_METHOD = OPCODES.get(VERSION, (-1, -1, -1, -1))


def _at(frame: "FrameType", op: int) -> bool:
    code = frame.f_code.co_code  # de-specialised bytecode: the numbers in OPCODES
    lasti = frame.f_lasti
    return 0 <= lasti < len(code) and code[lasti] == op


_CACHE = 0  # the inline-cache pseudo-instruction after LOAD_ATTR & co. (3.11-3.15)


def attribute_syntax(frame: "FrameType") -> bool:
    """Whether ``frame`` is evaluating ``obj.name`` syntax (not getattr()/hasattr() probes).

    3.12 leaves ``f_lasti`` on the last inline-cache entry of the ``LOAD_ATTR`` once it is
    specialised to call an overridden ``__getattribute__`` directly
    (``LOAD_ATTR_GETATTRIBUTE_OVERRIDDEN``, from the second execution on): step back over the
    cache entries to the instruction that owns them."""
    code = frame.f_code.co_code
    i = frame.f_lasti
    while 0 < i < len(code) and code[i] == _CACHE:
        i -= 2
    return 0 <= i < len(code) and (code[i] == _LOAD_ATTR or code[i] == _LOAD_METHOD)


def from_import_frame(frame: "FrameType") -> "FrameType | None":
    """The importer's frame if ``frame`` is evaluating ``from X import name`` on this module
    (IMPORT_FROM, or importlib's ``_handle_fromlist`` probing a package); else ``None``."""
    if frame.f_code is handle_fromlist_code:
        importer = frame.f_back
        if importer is not None and _at(importer, _IMPORT_NAME):
            return importer
        return None
    return frame if _at(frame, _IMPORT_FROM) else None


# PEP 810 (3.15+): IMPORT_NAME's oparg bit that marks an explicit `lazy import` / `lazy from`;
# compared with what the compiler emits by tests/core/test_pep810.py.
LAZY_IMPORT_FLAG = {(3, 15): 1}.get(VERSION, 0)


def explicit_lazy_import(frame: "FrameType") -> bool:
    """Whether ``frame`` is running an import statement written with PEP 810's ``lazy``
    keyword (the IMPORT_NAME instruction PEP 810's filter is called from carries the flag)."""
    code = frame.f_code.co_code
    lasti = frame.f_lasti
    return (
        0 <= lasti < len(code) - 1
        and code[lasti] == _IMPORT_NAME
        and bool(code[lasti + 1] & LAZY_IMPORT_FLAG)
    )


def module_level(frame: "FrameType") -> bool:
    """Whether ``frame`` runs module-level code (its locals are its globals)."""
    return frame.f_locals is frame.f_globals


def instruction_offset(frame: "FrameType") -> int:
    """Byte offset of the instruction ``frame`` is running (``f_lasti``)."""
    return frame.f_lasti


def instruction_position(frame: "FrameType") -> "tuple[int, int] | None":
    """(line, column) of the instruction ``frame`` is running (PEP 657 ``co_positions``, one
    entry per 2-byte code unit), or ``None`` where the code object has no positions."""
    index = frame.f_lasti // 2
    for i, (line, _end_line, column, _end_column) in enumerate(frame.f_code.co_positions()):
        if i == index:
            return None if line is None or column is None else (line, column)
    return None


def _varint(data: bytes, i: int) -> "tuple[int, int]":
    byte = data[i]
    value = byte & 63
    while byte & 64:
        i += 1
        byte = data[i]
        value = (value << 6) | (byte & 63)
    return value, i + 1


def in_try_block(frame: "FrameType") -> bool:
    """Whether ``frame``'s current instruction is covered by an exception handler (a ``try`` or
    ``with`` block), read from ``co_exceptiontable`` (format of CPython's
    Objects/exception_handling_notes.txt, as ``dis._parse_exception_table`` reads it)."""
    table = frame.f_code.co_exceptiontable
    lasti = frame.f_lasti
    i = 0
    while i < len(table):
        start, i = _varint(table, i)
        length, i = _varint(table, i)
        _target, i = _varint(table, i)
        _depth, i = _varint(table, i)
        if start * 2 <= lasti < (start + length) * 2:
            return True
    return False

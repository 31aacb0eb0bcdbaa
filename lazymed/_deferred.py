"""The stand-in bound by ``from X import name`` when X is lazy and ``from_import = "deferred"``.

A :class:`Deferred` loads X on first use, then rebinds the importer's global to the real object
(PEP 810 "reification"; the ``lazy-importer`` backport does the same), so after the first use the
name costs nothing. Until then it forwards calls, attribute access, operators, ``isinstance`` /
``issubclass`` checks, subclassing (``__mro_entries__``) and descriptor binding to the real
object. What no stand-in can do before its first use: be the real object for ``is``, be caught by
``except Name:``, or pass C-level type checks (``issubclass(Name, Base)`` with the stand-in as
first argument). Imported only when such a statement is met (it imports :mod:`operator`).

The :class:`Disabled` stand-in of ``disabled_modules`` (:mod:`lazymed._disabled`) shares
:class:`_StandIn`.
"""

import operator
import sys

from ._cpython import instruction_offset

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType, FrameType
    from typing import Any

if TYPE_CHECKING:
    from types import ModuleType
else:
    ModuleType = type(sys)  # types.ModuleType without importing types
_get = object.__getattribute__
_set = object.__setattr__


class _StandIn:
    """Forwards every operation to ``self._lm_resolve()``."""

    __slots__ = ("_lm_attr", "_lm_module", "_lm_site", "_lm_value")

    def _lm_resolve(self) -> "Any":  # pragma: no cover - overridden
        raise NotImplementedError

    # attribute protocol
    def __getattr__(self, attr: str) -> object:
        return getattr(self._lm_resolve(), attr)

    def __setattr__(self, attr: str, value: object) -> None:
        if attr.startswith("_lm_"):
            _set(self, attr, value)
        else:
            setattr(self._lm_resolve(), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(self._lm_resolve(), attr)

    def __dir__(self) -> list[str]:
        return dir(self._lm_resolve())

    @property  # type: ignore[misc]  # deliberately shadows object.__class__, as proxies do
    def __class__(self) -> type:
        return type(self._lm_resolve())

    @property
    def __doc__(self) -> str | None:  # type: ignore[override]  # forwards to the real object
        doc = getattr(self._lm_resolve(), "__doc__", None)
        return doc if isinstance(doc, str) else None

    @property
    def __module__(self) -> str:  # type: ignore[override]  # forwards to the real object
        return str(getattr(self._lm_resolve(), "__module__", ""))

    # calls, classes, descriptors
    def __call__(self, *args: object, **kwargs: object) -> object:
        return self._lm_resolve()(*args, **kwargs)

    def __mro_entries__(self, bases: tuple[object, ...]) -> tuple[object, ...]:
        return (self._lm_resolve(),)

    def __instancecheck__(self, obj: object) -> bool:
        return isinstance(obj, self._lm_resolve())

    def __subclasscheck__(self, cls: type) -> bool:
        return issubclass(cls, self._lm_resolve())

    def __get__(self, instance: object, owner: type | None = None) -> object:
        real = self._lm_resolve()
        get = getattr(type(real), "__get__", None)
        return real if get is None else get(real, instance, owner)

    # conversions and container protocol
    def __repr__(self) -> str:
        return repr(self._lm_resolve())

    def __str__(self) -> str:
        return str(self._lm_resolve())

    def __format__(self, spec: str) -> str:
        return format(self._lm_resolve(), spec)

    def __bool__(self) -> bool:
        return bool(self._lm_resolve())

    def __hash__(self) -> int:
        return hash(self._lm_resolve())

    def __len__(self) -> int:
        return len(self._lm_resolve())

    def __iter__(self) -> object:
        return iter(self._lm_resolve())

    def __contains__(self, item: object) -> bool:
        return item in self._lm_resolve()

    def __getitem__(self, key: object) -> object:
        return self._lm_resolve()[key]

    def __setitem__(self, key: object, value: object) -> None:
        self._lm_resolve()[key] = value

    def __delitem__(self, key: object) -> None:
        del self._lm_resolve()[key]

    def __enter__(self) -> object:
        return self._lm_resolve().__enter__()

    def __exit__(self, *exc: object) -> object:
        return self._lm_resolve().__exit__(*exc)

    def __int__(self) -> int:
        return int(self._lm_resolve())

    def __float__(self) -> float:
        return float(self._lm_resolve())

    def __index__(self) -> int:
        return operator.index(self._lm_resolve())

    def __fspath__(self) -> "Any":
        import os

        return os.fspath(self._lm_resolve())

    def __reduce_ex__(self, protocol: "Any") -> "Any":
        real = self._lm_resolve()
        if isinstance(real, type) or (callable(real) and hasattr(real, "__qualname__")):
            # Classes and functions pickle by reference: name the real object, resolved by the
            # standard library on load (pickle and copy.deepcopy both go through here).
            import pkgutil

            return (pkgutil.resolve_name, (f"{real.__module__}:{real.__qualname__}",))
        return real.__reduce_ex__(protocol)

    def __copy__(self) -> "Any":
        import copy

        return copy.copy(self._lm_resolve())

    def __deepcopy__(self, memo: "Any") -> "Any":
        # copy.deepcopy looks __deepcopy__ up on the object: without this it would find the
        # real class's unbound method through __getattr__.
        import copy

        return copy.deepcopy(self._lm_resolve(), memo)

    def __next__(self) -> "Any":
        return next(self._lm_resolve())

    def __reversed__(self) -> "Any":
        return reversed(self._lm_resolve())

    def __round__(self, ndigits: "Any" = None) -> "Any":
        return round(self._lm_resolve(), ndigits)

    def __trunc__(self) -> "Any":
        import math

        return math.trunc(self._lm_resolve())

    def __floor__(self) -> "Any":
        import math

        return math.floor(self._lm_resolve())

    def __ceil__(self) -> "Any":
        import math

        return math.ceil(self._lm_resolve())

    def __complex__(self) -> complex:
        return complex(self._lm_resolve())

    def __bytes__(self) -> bytes:
        return bytes(self._lm_resolve())

    def __divmod__(self, other: "Any") -> "Any":
        return divmod(self._lm_resolve(), other)

    def __rdivmod__(self, other: "Any") -> "Any":
        return divmod(other, self._lm_resolve())

    def __await__(self) -> "Any":
        return self._lm_resolve().__await__()

    def __aiter__(self) -> "Any":
        return self._lm_resolve().__aiter__()

    def __anext__(self) -> "Any":
        return self._lm_resolve().__anext__()

    def __aenter__(self) -> "Any":
        return self._lm_resolve().__aenter__()

    def __aexit__(self, *exc: "Any") -> "Any":
        return self._lm_resolve().__aexit__(*exc)


def _binary(op: "Callable[[Any, Any], Any]") -> tuple[object, object]:
    def forward(self: "_StandIn", other: object) -> object:
        return op(self._lm_resolve(), other)

    def reflected(self: "_StandIn", other: object) -> object:
        return op(other, self._lm_resolve())

    return forward, reflected


for _name, _op in {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "matmul": operator.matmul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "lshift": operator.lshift,
    "rshift": operator.rshift,
    "and": operator.and_,
    "or": operator.or_,
    "xor": operator.xor,
}.items():
    _fwd, _refl = _binary(_op)
    setattr(_StandIn, f"__{_name}__", _fwd)
    setattr(_StandIn, f"__r{_name}__", _refl)

for _name, _cmp in {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}.items():
    setattr(_StandIn, f"__{_name}__", _binary(_cmp)[0])

for _name, _unary in {
    "neg": operator.neg,
    "pos": operator.pos,
    "abs": operator.abs,
    "invert": operator.invert,
}.items():
    setattr(_StandIn, f"__{_name}__", lambda self, _f=_unary: _f(self._lm_resolve()))


def _forward_doc_and_module(cls: type) -> None:
    # A subclass's docstring and the automatic __module__ would shadow _StandIn's forwarding
    # properties (functools.wraps copies both): put the properties back.
    for name in ("__doc__", "__module__"):
        type.__setattr__(cls, name, _StandIn.__dict__[name])


# code object -> (names its code uses where only the real object works, {offset of an
# IMPORT_FROM: the name it binds})
_analysed: "dict[CodeType, tuple[frozenset[str], dict[int, str]]]" = {}
_LOADS = ("LOAD_NAME", "LOAD_GLOBAL")
_KEEP_LOADS = ("BUILD_TUPLE", "CACHE", "PUSH_NULL", "NOP")


def _analyse(code: "CodeType") -> "tuple[frozenset[str], dict[int, str]]":
    """Read ``code`` (a module's) and the code nested in it with :mod:`dis`: which names are
    used where a stand-in cannot pass — ``raise Name``, ``except Name`` / ``except (A, B)``
    (C-level exception checks), and anything a class body reads (annotations and decorators
    that pydantic, dataclasses or attrs inspect at class creation) — and which name each
    ``from ... import`` binds."""
    import dis  # deferred from-imports only; once per importing module

    needs: set[str] = set()
    binds: dict[int, str] = {}

    def visit(co: "CodeType", class_body: bool, top: bool) -> None:
        loaded: list[str] = []
        previous = None
        for ins in dis.get_instructions(co):
            name = ins.opname
            after_import_from = previous is not None and previous.opname == "IMPORT_FROM"
            if top and after_import_from and name in ("STORE_NAME", "STORE_GLOBAL"):
                assert previous is not None
                binds[previous.offset] = str(ins.argval)
            if name in _LOADS:
                loaded.append(str(ins.argval))
                if class_body:
                    needs.add(str(ins.argval))
            elif name == "RAISE_VARARGS" or name == "CHECK_EXC_MATCH":
                needs.update(loaded[-2:] if name == "RAISE_VARARGS" else loaded)
                loaded = []
            elif name not in _KEEP_LOADS and not name.startswith(("LOAD_", "PRECALL", "CALL")):
                loaded = []
            previous = ins
        for const in co.co_consts:
            if isinstance(const, type(co)):
                visit(const, not const.co_flags & 1, False)  # not CO_OPTIMIZED: a class body

    visit(code, False, True)
    result = (frozenset(needs), binds)
    _analysed[code] = result
    return result


def needs_real_object(importer: "FrameType", attr: str) -> bool:
    """Whether the module executing ``from X import attr`` (``importer``) uses the bound name
    where only the real object works (see :func:`_analyse`): then the import stays eager."""
    code = importer.f_code
    needs, binds = _analysed.get(code) or _analyse(code)
    return binds.get(instruction_offset(importer), attr) in needs or attr in needs


class Deferred(_StandIn):
    """``from X import attr`` of a lazy X, bound before X has run."""

    __slots__ = ("_lm_globals",)

    def __init__(
        self, module: "ModuleType", attr: str, importer_globals: dict[str, object], site: str | None
    ) -> None:
        _set(self, "_lm_module", module)
        _set(self, "_lm_attr", attr)
        _set(self, "_lm_globals", importer_globals)
        _set(self, "_lm_site", site)

    def _lm_resolve(self) -> "Any":
        try:
            return _get(self, "_lm_value")
        except AttributeError:
            pass
        module: ModuleType = _get(self, "_lm_module")
        attr: str = _get(self, "_lm_attr")
        try:
            value = getattr(module, attr)  # loads the module (a plain access)
        except AttributeError:
            # `from pkg import sub` where sub is a submodule the package does not bind itself:
            # import it, as the import statement would have.
            full = f"{module.__name__}.{attr}"
            try:
                __import__(full)
                value = sys.modules[full]
            except ModuleNotFoundError as exc:
                if exc.name != full:
                    raise
                error = ImportError(
                    f"cannot import name {attr!r} from {module.__name__!r} "
                    f"({getattr(module, '__file__', None) or 'unknown location'})",
                    name=module.__name__,
                    path=getattr(module, "__file__", None),
                )
                error.add_note(
                    f"lazymed: deferred `from {module.__name__} import {attr}` at "
                    f"{_get(self, '_lm_site') or 'an unknown site'}"
                )
                raise error from None
        _set(self, "_lm_value", value)
        namespace: dict[str, object] = _get(self, "_lm_globals")
        for key, bound in list(namespace.items()):
            if bound is self:
                namespace[key] = value  # reify: the importer's name now is the real object
        return value


_forward_doc_and_module(Deferred)

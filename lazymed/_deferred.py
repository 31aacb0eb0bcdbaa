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
_set_class = object.__dict__["__class__"].__set__  # _StandIn.__class__ is a read-only property


class _Slots:
    """Every stand-in's storage: all stand-in classes share this layout, so a resolved
    :class:`Deferred` can switch to a class that offers only what the real object's type offers
    (``__class__`` assignment needs the same layout)."""

    __slots__ = (
        "__weakref__",
        "_lm_attr",
        "_lm_globals",
        "_lm_module",
        "_lm_site",
        "_lm_state",
        "_lm_value",
    )


class _StandIn(_Slots):
    """Forwards every operation to ``self._lm_resolve()``."""

    __slots__ = ()

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

    # calls: a property, so that the call itself runs from C (slot_tp_call) with no frame of
    # lazymed's between the caller and the real callable: `warnings.warn(stacklevel=2)` and
    # anything else that reads the caller's frame sees the program's own line.
    @property
    def __call__(self) -> "Callable[..., Any]":
        return self._lm_resolve()  # type: ignore[no-any-return]

    @property
    def __signature__(self) -> object:
        # inspect.signature reads __signature__ before it looks at the type's __call__ (which
        # here is the forwarding property): answer with the real object's signature.
        import inspect

        return inspect.signature(self._lm_resolve())

    # classes, descriptors
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

    # serialisation
    def __reduce_ex__(self, protocol: "Any") -> "Any":
        # Pickle the real object itself, as an item of a list: pickle memoises it by identity,
        # so references the program holds to the real object and to this stand-in unpickle as
        # one object (as they are one object in an eager program). operator.getitem is standard
        # library, so the pickle needs nothing of lazymed to load.
        return (operator.getitem, ([self._lm_resolve()], 0))

    def __copy__(self) -> "Any":
        import copy

        return copy.copy(self._lm_resolve())

    def __deepcopy__(self, memo: "Any") -> "Any":
        # copy.deepcopy looks __deepcopy__ up on the object: without this it would find the
        # real class's unbound method through __getattr__.
        import copy

        return copy.deepcopy(self._lm_resolve(), memo)

    # conversions that have no operator function
    def __repr__(self) -> str:
        return repr(self._lm_resolve())

    def __fspath__(self) -> "Any":
        import os

        return os.fspath(self._lm_resolve())

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

    def __enter__(self) -> object:
        return self._lm_resolve().__enter__()

    def __exit__(self, *exc: object) -> object:
        return self._lm_resolve().__exit__(*exc)

    def __aenter__(self) -> "Any":
        return self._lm_resolve().__aenter__()

    def __aexit__(self, *exc: "Any") -> "Any":
        return self._lm_resolve().__aexit__(*exc)


def _unary(fn: "Callable[[Any], Any]") -> "Callable[[_StandIn], Any]":
    def forward(self: _StandIn) -> object:
        return fn(self._lm_resolve())

    return forward


def _binary(op: "Callable[[Any, Any], Any]") -> tuple[object, object]:
    def forward(self: _StandIn, other: object) -> object:
        return op(self._lm_resolve(), other)

    def reflected(self: _StandIn, other: object) -> object:
        return op(other, self._lm_resolve())

    return forward, reflected


# The forwarded surface, one table each (the lazy-importer backport keeps one too).
_UNARY: "dict[str, Callable[[Any], Any]]" = {
    "str": str,
    "format": format,
    "bool": bool,
    "hash": hash,
    "len": len,
    "iter": iter,
    "next": next,
    "reversed": reversed,
    "int": int,
    "float": float,
    "complex": complex,
    "bytes": bytes,
    "index": operator.index,
    "neg": operator.neg,
    "pos": operator.pos,
    "abs": operator.abs,
    "invert": operator.invert,
    "await": lambda real: real.__await__(),
    "aiter": lambda real: real.__aiter__(),
    "anext": lambda real: real.__anext__(),
}
for _name, _fn in _UNARY.items():
    type.__setattr__(_StandIn, f"__{_name}__", _unary(_fn))
for _name, _method in {
    "__format__": lambda self, spec: format(self._lm_resolve(), spec),
    "__contains__": lambda self, item: item in self._lm_resolve(),
    "__getitem__": _binary(operator.getitem)[0],
    "__delitem__": _binary(operator.delitem)[0],
    "__setitem__": lambda self, key, value: operator.setitem(self._lm_resolve(), key, value),
    "__divmod__": _binary(divmod)[0],
    "__rdivmod__": _binary(divmod)[1],
}.items():
    type.__setattr__(_StandIn, _name, _method)
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

# Kept by a resolved stand-in only where the real object's type has them: their mere presence
# on a type is what structural checks read (collections.abc's Iterable, Sized, Awaitable,
# Callable, Hashable..., typing's runtime protocols, callable()).
_STRUCTURAL = frozenset(
    {
        "__call__",
        "__signature__",
        "__len__",
        "__iter__",
        "__next__",
        "__reversed__",
        "__contains__",
        "__getitem__",
        "__setitem__",
        "__delitem__",
        "__await__",
        "__aiter__",
        "__anext__",
        "__enter__",
        "__exit__",
        "__aenter__",
        "__aexit__",
        "__fspath__",
        "__index__",
        "__int__",
        "__float__",
        "__complex__",
        "__bytes__",
        "__round__",
        "__trunc__",
        "__floor__",
        "__ceil__",
        "__mro_entries__",
        "__instancecheck__",
        "__subclasscheck__",
    }
)
_NARROWED: "dict[type, type]" = {}


def _type_attribute(real_type: type, name: str) -> object:
    """``name`` as the type's own MRO defines it (not its metaclass's: every class has a
    ``__call__`` through ``type``, but its instances are callable only if the class defines it)."""
    for klass in real_type.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


def _narrowed_class(base: type, real_type: type) -> type:
    """``base``'s surface less the structural methods ``real_type`` does not have."""
    key = real_type
    cls = _NARROWED.get(key)
    if cls is not None:
        return cls
    namespace: dict[str, object] = {"__slots__": ()}
    for klass in reversed(base.__mro__[:-2]):  # _StandIn, ..., base (not _Slots, object)
        for name, value in vars(klass).items():
            if name in ("__slots__", "__dict__", "__weakref__", "__init__"):
                continue
            present = name if name != "__signature__" else "__call__"  # with calls only
            if name in _STRUCTURAL and _type_attribute(real_type, present) is None:
                continue
            if name in ("__mro_entries__", "__instancecheck__", "__subclasscheck__") and not (
                isinstance(real_type, type) and issubclass(real_type, type)
            ):
                continue  # only a class is subclassed or used in isinstance()
            namespace[name] = value
    if _type_attribute(real_type, "__hash__") is None:
        namespace["__hash__"] = None  # unhashable real type: not collections.abc.Hashable
    cls = type(base.__name__, (_Slots,), namespace)
    _forward_doc_and_module(cls)
    _NARROWED[key] = cls
    return cls


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

    __slots__ = ()

    def __init__(
        self, module: "ModuleType", attr: str, importer_globals: dict[str, object], site: str | None
    ) -> None:
        _set(self, "_lm_module", module)
        _set(self, "_lm_attr", attr)
        _set(self, "_lm_globals", importer_globals)
        _set(self, "_lm_site", site)

    def _lm_capture(self, namespace: dict[str, object]) -> None:
        """Take the value right after the module's code ran (called by the load, before names
        bound on the module later are put back): what the import statement would have bound.
        A later ``import X.attr`` of a submodule that shadows a function must not change it."""
        attr: str = _get(self, "_lm_attr")
        try:
            _get(self, "_lm_value")
        except AttributeError:
            if attr in namespace:
                self._lm_bind(namespace[attr])

    def _lm_bind(self, value: object) -> None:
        _set(self, "_lm_value", value)
        namespace: dict[str, object] = _get(self, "_lm_globals")
        for key, bound in list(namespace.items()):
            if bound is self:
                namespace[key] = value  # reify: the importer's name now is the real object
        # Copies held elsewhere keep this object: from now on it offers only what the real
        # object's type offers, so structural checks answer as for the real object.
        _set_class(self, _narrowed_class(Deferred, type(value)))

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
        try:
            return _get(self, "_lm_value")  # captured by the load this access ran
        except AttributeError:
            pass
        self._lm_bind(value)
        return value


_forward_doc_and_module(Deferred)

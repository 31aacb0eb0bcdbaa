"""``disabled_modules``: modules switched off by configuration. Importing one succeeds and runs
nothing; every use raises :class:`lazymed.DisabledModuleError`.

Holds the finder's disabled spec, the loader, the module class, the stand-in bound by
``from X import name`` and the error message. Core layer: standard library only; imported by the
first import of a disabled name.
"""

import sys

from ._cpython import ModuleSpec, attribute_syntax, from_import_frame, getframe
from ._deferred import _forward_doc_and_module, _StandIn
from ._errors import DisabledModuleError
from ._load import Pending, loading_stack, pending, register
from ._module import NO_LOAD
from ._probe import call_site
from ._registry import REGISTRY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importlib.abc import Loader
    from types import FrameType
    from typing import Any

if TYPE_CHECKING:
    from types import ModuleType
else:
    ModuleType = type(sys)  # types.ModuleType without importing types
_module_getattribute = ModuleType.__getattribute__
_get = object.__getattribute__
_set = object.__setattr__


def spec_for(name: str, real: "ModuleSpec | None") -> "ModuleSpec":
    """The spec lazymed's finder returns for a switched-off ``name`` (``real``: the spec the
    other finders gave, ``None`` when it is not installed here)."""
    real_loader = None if real is None else real.loader
    origin = None if real is None else real.origin
    spec = ModuleSpec(name, DisabledLoader(real_loader), origin=origin, is_package=True)  # type: ignore[arg-type]  # duck-typed loader
    if real is not None and real.submodule_search_locations is not None:
        spec.submodule_search_locations = list(real.submodule_search_locations)
    else:
        spec.submodule_search_locations = []
    spec.has_location = real is not None and real.has_location
    return spec


class DisabledLoader:
    """Loader of a module switched off by ``disabled_modules``: creates a
    :class:`DisabledModule` and runs nothing."""

    def __init__(self, real: "Loader | None") -> None:
        self.real = real

    def create_module(self, spec: "ModuleSpec") -> "ModuleType":
        return DisabledModule(spec.name)

    def exec_module(self, module: "ModuleType") -> None:
        record = REGISTRY.record(module.__name__, "disabled")
        if not register(module, None, record, disabled=True):
            name = module.__name__
            raise ImportError(f"lazymed: cannot switch off {name!r}", name=name)

    def is_package(self, fullname: str) -> bool:
        return True


def disabled_error(
    state: "Pending", attr: str | None, frame: "FrameType | None"
) -> DisabledModuleError:
    """The DisabledModuleError for using ``attr`` of a disabled module, naming the module, the
    profile, the config file, the import statement and any lazy loads that needed it."""
    config = REGISTRY.config
    profile = config.profile if config is not None else None
    source = config.describe("disabled_modules") if config is not None else "configuration"
    what = f"{state.name}.{attr}" if attr else state.name
    chain = loading_stack()
    needed = f" It was needed while loading {' -> '.join(repr(n) for n in chain)}." if chain else ""
    message = (
        f"{state.name!r} is switched off (disabled_modules, from {source}"
        f"{', profile ' + repr(profile) if profile else ''}); "
        f"used as {what} at {call_site(frame) or 'an unknown site'}, "
        f"imported at {state.record.imported_at or 'an unknown site'}.{needed} "
        f"Check lazymed.enabled({state.name!r}) before using it."
    )
    return DisabledModuleError(message, name=state.name)


class DisabledModule(ModuleType):
    """A module switched off by ``disabled_modules``: importing it succeeds, nothing of it runs.

    Spec attributes answer as for a lazy module; ``from m import name`` binds a stand-in;
    ``m.name`` raises :class:`DisabledModuleError`; ``getattr()``/``hasattr()`` probes and other
    dunder lookups raise AttributeError with the same message (so ``sys.modules`` scanners and
    ``getattr(m, "__version__", None)`` keep working).
    """

    def __getattribute__(self, attr: str) -> object:
        if attr in NO_LOAD:
            return _module_getattribute(self, attr)
        state = pending(self)
        if state is None:
            return _module_getattribute(self, attr)
        caller = getframe(1)
        if from_import_frame(caller) is not None and attr != "__all__":
            return Disabled(self, attr, state)
        error = disabled_error(state, attr, caller)
        if (attr.startswith("__") and attr.endswith("__")) or not attribute_syntax(caller):
            # getattr()/hasattr() probes and dunder lookups (sys.modules scanners, pickle's
            # whichmodule, cloudpickle) expect AttributeError for "not there".
            raise AttributeError(str(error), name=attr, obj=self)
        raise error

    def __dir__(self) -> list[str]:
        return sorted(_module_getattribute(self, "__dict__"))


class Disabled(_StandIn):
    """``from X import attr`` of a disabled X: every use raises DisabledModuleError."""

    __slots__ = ()

    def __init__(self, module: "ModuleType", attr: str, state: "Pending") -> None:
        _set(self, "_lm_module", module)
        _set(self, "_lm_attr", attr)
        _set(self, "_lm_state", state)
        _set(self, "_lm_site", call_site(getframe(2)))

    def __repr__(self) -> str:
        # Safe for debuggers and loggers that print globals: a repr is not a use.
        module: ModuleType = _get(self, "_lm_module")
        return f"<disabled by lazymed: {module.__name__}.{_get(self, '_lm_attr')}>"

    def _lm_resolve(self) -> "Any":
        raise disabled_error(_get(self, "_lm_state"), _get(self, "_lm_attr"), getframe(2))


_forward_doc_and_module(Disabled)

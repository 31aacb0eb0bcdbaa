"""The ``sys.meta_path`` finder and the loaders it hands out.

For a registered name the finder asks the finders after it for the real spec (so a missing
package still raises ModuleNotFoundError at the import statement, and pytest's assertion
rewriting or editable installs keep working), then swaps in :class:`LazyLoader`, whose
``exec_module`` registers the module as pending instead of running it. Before returning, it puts
the real loader back on the spec and module, so ``__loader__``/``__spec__.loader`` are the real
ones (``importlib.resources``, ``linecache``, ``inspect.getsource`` need them); the wrapper also
forwards every other loader method to the real loader.

A finder needs no base class: an object with ``find_spec`` is enough (``importlib.abc`` would
cost ~14 ms to import). Core layer: standard library only.
"""

from __future__ import annotations

import sys

from ._module import (
    DisabledModule,
    LazyModule,
    load,
    loading_stack,
    pending,
    register,
)
from ._registry import LOADED, REGISTRY, call_site, now, rss_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import ModuleType

_bootstrap = sys.modules["_frozen_importlib"]


class LazyLoader:
    """Wraps the real loader of a lazy module: creates a :class:`LazyModule` and defers
    ``exec_module`` to the first attribute access. Forwards everything else to the real loader."""

    def __init__(self, real: Loader, defer: bool) -> None:
        self.real = real
        # False inside another lazy module's load: run now, but record who did it.
        self.defer = defer

    def __getattr__(self, attr: str) -> object:
        # get_resource_reader, get_filename, get_data, is_package, get_code, get_source, ...
        return getattr(self.real, attr)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self.real.create_module(spec)
        if module is not None or not self.defer:
            # The loader builds the module object itself (C extensions, builtins): the work
            # happens here and cannot be deferred, so this import is eager.
            self.defer = False
            return module
        return LazyModule(spec.name)

    def exec_module(self, module: ModuleType) -> None:
        spec = module.__spec__
        if spec is not None:
            spec.loader = self.real
        module.__loader__ = self.real
        record = REGISTRY.record(module.__name__, "lazy")
        if self.defer and type(module) is LazyModule:
            register(module, self.real, record, disabled=False)
            return
        # Eager: a C extension, or imported by another lazy module's code while it loads.
        if record.imported_at is None:
            record.imported_at = call_site(sys._getframe(1))
        stack = loading_stack()
        stack.append(module.__name__)  # a load inside a load: error chains name both
        rss0, t0 = rss_bytes(), now()
        try:
            self.real.exec_module(module)
        finally:
            stack.pop()
        record.load_seconds = now() - t0
        rss1 = rss_bytes()
        record.rss_growth_bytes = None if rss0 is None or rss1 is None else rss1 - rss0
        record.state = LOADED
        if stack and record.first_used_at is None:
            record.first_used_at = f"the load of lazy module {stack[-1]!r}"


class DisabledLoader:
    """Loader of a module switched off by ``disabled_modules``: creates a
    :class:`DisabledModule` and runs nothing."""

    def __init__(self, real: Loader | None) -> None:
        self.real = real

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return DisabledModule(spec.name)

    def exec_module(self, module: ModuleType) -> None:
        register(module, None, REGISTRY.record(module.__name__, "disabled"), disabled=True)

    def is_package(self, fullname: str) -> bool:
        return True


def find_real_spec(name: str, path: Sequence[str] | None) -> ModuleSpec | None:
    """The spec the finders on ``sys.meta_path`` other than lazymed's give for ``name``."""
    for finder in list(sys.meta_path):
        if isinstance(finder, LazyFinder):
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        spec: ModuleSpec | None = find_spec(name, path, None)
        if spec is not None:
            return spec
    return None


def _new_spec(name: str, loader: object, like: ModuleSpec | None = None) -> ModuleSpec:
    """A package spec for ``name`` (origin taken from ``like``)."""
    origin = None if like is None else like.origin
    spec: ModuleSpec = _bootstrap.ModuleSpec(name, loader, origin=origin, is_package=True)
    return spec


class LazyFinder:
    """The meta path finder ``install()`` puts first on ``sys.meta_path``."""

    def find_spec(
        self,
        name: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        """A spec whose loader defers execution, for names registered lazy; a disabled spec for
        switched-off names; ``None`` (the other finders decide) for everything else."""
        role = REGISTRY.role_of(name)
        if role is None:
            return None
        if target is not None:
            # importlib.reload(): run a never-loaded lazy module first, then let the real
            # finders re-execute it, exactly as reloading an eager import would (cpython#139686).
            state = pending(target)
            if state is not None and not state.disabled:
                load(state, None, sys._getframe(1))
            return None
        spec = self.real_spec(name, path, target)
        if role == "ancestor":
            if spec is not None:
                return None  # the real package exists: import it normally
            # Missing parent package of a switched-off module: an empty namespace package, so
            # the disabled import still succeeds on machines without the SDK installed.
            spec = _new_spec(name, None)
            spec.submodule_search_locations = []
            return spec
        if role == "disabled":
            real_loader = None if spec is None else spec.loader
            disabled = _new_spec(name, DisabledLoader(real_loader), spec)
            if spec is not None and spec.submodule_search_locations is not None:
                disabled.submodule_search_locations = list(spec.submodule_search_locations)
            else:
                disabled.submodule_search_locations = []
            disabled.has_location = spec is not None and spec.has_location
            return disabled
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec  # not found (ModuleNotFoundError at the statement), or namespace package
        defer = not loading_stack()
        if not defer and name not in REGISTRY.lazy:
            return spec  # a package's own internal imports while it loads: plain, unrecorded
        spec.loader = LazyLoader(spec.loader, defer)  # type: ignore[assignment]  # duck-typed
        return spec

    def real_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None
    ) -> ModuleSpec | None:
        """The spec the other finders on ``sys.meta_path`` give for ``name``."""
        return find_real_spec(name, path)

    def invalidate_caches(self) -> None:
        """Nothing cached here; present for ``importlib.invalidate_caches()``."""

    def __repr__(self) -> str:
        return "<lazymed.LazyFinder>"

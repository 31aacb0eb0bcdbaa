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

import sys

from ._registry import REGISTRY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import FrameType, ModuleType

_bootstrap = sys.modules["_frozen_importlib"]
_ABSENT = object()
# lazymed._module (lazy module objects, loads) is imported by the first registered import,
# not by install(): the install path stays a few modules small.
# find_spec is an import (not a query) when importlib's _find_spec calls it for
# _find_and_load_unlocked.
_find_spec_code = _bootstrap._find_spec.__code__
_import_code = _bootstrap._find_and_load_unlocked.__code__


def find_real_spec(name: str, path: "Sequence[str] | None") -> "ModuleSpec | None":
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


_find_real_spec_code = find_real_spec.__code__


def _import_asking(name: str, frame: "FrameType | None") -> "FrameType | None":
    """importlib's ``_find_spec`` frame of an import of ``name`` that is asking the finders on
    ``sys.meta_path`` right now, with another finder's lookup between it and ``frame``.

    Instrumentation finders put ahead of lazymed's (wrapt's post-import hooks, which APM and
    tracing agents register) answer an import by asking ``importlib.util.find_spec`` and wrapping
    the loader they get: that nested lookup is the import itself, so lazymed answers it as one and
    the module stays lazy. ``None`` for a plain query. This finder's own lookup of the real spec
    (``find_real_spec``) asks the other finders too: a nested lookup under it is a query.
    """
    depth = 0
    while frame is not None and depth < 16:
        code = frame.f_code
        if code is _find_real_spec_code:
            return None
        if code is _find_spec_code:
            back = frame.f_back
            if back is not None and back.f_code is _import_code:
                return frame if frame.f_locals.get("name") == name else None
        frame = frame.f_back
        depth += 1
    return None


def _new_spec(name: str, loader: object, like: "ModuleSpec | None" = None) -> "ModuleSpec":
    """A package spec for ``name`` (origin taken from ``like``)."""
    origin = None if like is None else like.origin
    spec: ModuleSpec = _bootstrap.ModuleSpec(name, loader, origin=origin, is_package=True)
    return spec


class LazyFinder:
    """The meta path finder ``install()`` puts first on ``sys.meta_path``."""

    def find_spec(
        self,
        name: str,
        path: "Sequence[str] | None" = None,
        target: "ModuleType | None" = None,
    ) -> "ModuleSpec | None":
        """A spec whose loader defers execution, for names registered lazy; a disabled spec for
        switched-off names; ``None`` (the other finders decide) for everything else."""
        role = REGISTRY.role_of(name)
        if role is None:
            return None  # the fast path, taken by every import lazymed does not manage
        from ._module import disabled_error, load, loading_stack, pending

        if target is not None:
            # importlib.reload(): run a never-loaded lazy module first, then let the real
            # finders re-execute it, exactly as reloading an eager import would (cpython#139686).
            state = pending(target)
            if state is not None:
                if state.disabled:
                    raise disabled_error(state, "reload", sys._getframe(2))
                load(state, None, sys._getframe(1))
            return None
        caller = sys._getframe(1)
        if caller.f_code is not _find_spec_code or (
            caller.f_back is not None and caller.f_back.f_code is not _import_code
        ):
            # A query (importlib.util.find_spec, pkgutil, runpy), not an import: the real answer,
            # unless another finder ahead of this one asks on behalf of an import of the name.
            outer = _import_asking(name, caller.f_back)
            if outer is None:
                return None
            caller = outer
        existing = sys.modules.get(name, _ABSENT)
        if existing is None:
            # A parent's code blocked the name, as `import` itself reports it.
            raise ModuleNotFoundError(f"import of {name} halted; None in sys.modules", name=name)
        if existing is not _ABSENT:
            # A pending parent that lazymed ran just now (see _module._before_submodule_import)
            # imported or aliased this name itself: hand importlib that module, as its own
            # "the parent import may have imported it" rule would.
            from ._loaders import ExistingLoader

            spec_for_existing: ModuleSpec = _bootstrap.ModuleSpec(name, ExistingLoader(existing))
            return spec_for_existing
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
            from ._loaders import DisabledLoader

            disabled = _new_spec(name, DisabledLoader(real_loader), spec)
            if spec is not None and spec.submodule_search_locations is not None:
                disabled.submodule_search_locations = list(spec.submodule_search_locations)
            else:
                disabled.submodule_search_locations = []
            disabled.has_location = spec is not None and spec.has_location
            return disabled
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec  # not found (ModuleNotFoundError at the statement), or namespace package
        from ._loaders import LazyLoader

        defer = not loading_stack()
        # Inside a load (a package's own internal imports): run now, after pending parents;
        # recorded in status() only when registered by name.
        record = defer or name in REGISTRY.lazy
        guarded_at = None
        if defer:
            # `try: import X / except ImportError:` needs the failure now, as eager import
            # gives it (PEP 810 refuses `lazy import` inside try for this reason).
            from ._guarded import guard, importing_frame

            importer = importing_frame(caller)
            guarded_at = None if importer is None else guard(importer)
            defer = guarded_at is None
        loader = LazyLoader(spec.loader, defer, record=record)
        if guarded_at is not None:
            loader.reason = f"the import statement (a handler of ImportError at {guarded_at})"
        spec.loader = loader  # type: ignore[assignment]  # duck-typed Loader
        return spec

    def real_spec(
        self, name: str, path: "Sequence[str] | None", target: "ModuleType | None"
    ) -> "ModuleSpec | None":
        """The spec the other finders on ``sys.meta_path`` give for ``name``."""
        return find_real_spec(name, path)

    def invalidate_caches(self) -> None:
        """Nothing cached here; present for ``importlib.invalidate_caches()``."""

    def __repr__(self) -> str:
        return "<lazymed.LazyFinder>"

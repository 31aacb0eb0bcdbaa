"""The ``sys.meta_path`` finder: a router on the registry's role of each name.

For a registered name the finder asks the finders after it for the real spec (so a missing
package still raises ModuleNotFoundError at the import statement, and pytest's assertion
rewriting or editable installs keep working), then hands out a spec whose loader defers
execution (:mod:`lazymed._loaders`), a disabled spec (:mod:`lazymed._disabled`), or, for the
missing parent package of a disabled name, an empty namespace package. Everything else (every
name lazymed does not manage, and queries such as ``importlib.util.find_spec``) gets ``None``:
the other finders decide.

A finder needs no base class: an object with ``find_spec`` is enough (``importlib.abc`` would
cost ~14 ms to import). Core layer: standard library only, on the install path: the modules
behind the routes are imported by the first import of a registered name.
"""

import sys

from ._cpython import ModuleSpec as _ModuleSpec
from ._cpython import (
    find_and_load_unlocked_code,
    find_real_spec,
    find_spec_code,
    getframe,
    import_asking,
    importing_frame,
    in_try_block,
)
from ._registry import REGISTRY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import FrameType, ModuleType

_ABSENT = object()


class LazyFinder:
    """The meta path finder ``install()`` puts first on ``sys.meta_path``."""

    _lazymed_finder = True  # find_real_spec skips it (without importing this module)

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
        caller = getframe(1)
        if target is not None:
            _reload(target, caller)
            return None
        if caller.f_code is not find_spec_code or (
            caller.f_back is not None and caller.f_back.f_code is not find_and_load_unlocked_code
        ):
            # A query (importlib.util.find_spec, pkgutil, runpy): the real answer, unless another
            # finder ahead of this one (wrapt's post-import hooks) asks on behalf of an import.
            outer = import_asking(name, caller.f_back)
            if outer is None:
                return None
            caller = outer
        existing = sys.modules.get(name, _ABSENT)
        if existing is not _ABSENT:
            return _spec_for_existing(name, existing)
        spec = self.real_spec(name, path, target)
        if role == "ancestor":
            return _spec_for_ancestor(name, spec)
        if role == "disabled":
            from ._disabled import spec_for  # first import of a disabled name

            return spec_for(name, spec)
        return _spec_for_lazy(name, spec, caller)

    def real_spec(
        self, name: str, path: "Sequence[str] | None", target: "ModuleType | None"
    ) -> "ModuleSpec | None":
        """The spec the other finders on ``sys.meta_path`` give for ``name`` (an indirection
        tests can spy on)."""
        return find_real_spec(name, path)

    def invalidate_caches(self) -> None:
        """Nothing cached here; present for ``importlib.invalidate_caches()``."""

    def __repr__(self) -> str:
        return "<lazymed.LazyFinder>"


def _reload(target: "ModuleType", caller: "FrameType") -> None:
    """importlib.reload(): run a never-loaded lazy module first, then let the real finders
    re-execute it, exactly as reloading an eager import would (cpython#139686)."""
    from ._load import load, pending  # the modules behind a route load on its first use

    state = pending(target)
    if state is not None:
        if state.disabled:
            from ._disabled import disabled_error  # reload of a disabled module only

            raise disabled_error(state, "reload", caller.f_back)
        load(state, None, caller)


def _spec_for_existing(name: str, existing: object) -> "ModuleSpec":
    if existing is None:
        # A parent's code blocked the name, as `import` itself reports it.
        raise ModuleNotFoundError(f"import of {name} halted; None in sys.modules", name=name)
    # A pending parent that lazymed ran just now (see _module._before_submodule_import) imported
    # or aliased this name itself: hand importlib that module, as its own "the parent import
    # may have imported it" rule would.
    from ._loaders import ExistingLoader  # off the install path (see the module docstring)

    return _ModuleSpec(name, ExistingLoader(existing))  # type: ignore[arg-type]  # duck-typed


def _spec_for_ancestor(name: str, spec: "ModuleSpec | None") -> "ModuleSpec | None":
    if spec is not None:
        return None  # the real package exists: import it normally
    # Missing parent package of a switched-off module: an empty namespace package, so the
    # disabled import still succeeds on machines without the SDK installed.
    empty = _ModuleSpec(name, None, is_package=True)
    empty.submodule_search_locations = []
    return empty


def _spec_for_lazy(
    name: str, spec: "ModuleSpec | None", caller: "FrameType"
) -> "ModuleSpec | None":
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return spec  # not found (ModuleNotFoundError at the statement), or namespace package
    if not hasattr(spec.loader, "create_module"):
        return spec  # importlib's own ImportError: "loaders that define exec_module() must ..."
    # Off the install path: the first lazy import loads them (with _module, the class).
    from ._load import loading_stack
    from ._loaders import LazyLoader

    defer = not loading_stack()
    # Inside a load (a package's own internal imports): run now, after pending parents;
    # recorded in status() only when registered by name.
    record = defer or name in REGISTRY.lazy
    guarded_at = None
    if defer:
        # `try: import X / except ImportError:` needs the failure now, as eager import gives
        # it (PEP 810 refuses `lazy import` inside try for this reason).
        importer = importing_frame(caller)
        if importer is not None and in_try_block(importer):  # else nothing more to read
            from ._guarded import guard  # only for imports a handler covers (it reads ast)

            guarded_at = guard(importer)
        defer = guarded_at is None
    loader = LazyLoader(spec.loader, defer, record=record)
    if guarded_at is not None:
        loader.reason = f"guarded by a handler of ImportError (try statement at {guarded_at})"
    spec.loader = loader  # type: ignore[assignment]  # duck-typed Loader
    return spec

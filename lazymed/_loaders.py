"""The loaders lazymed's finder hands out for lazy names, and the specs that carry them:
:class:`LazyLoader` creates a lazy module instead of running it (:func:`lazy_spec`);
:class:`ExistingLoader` hands importlib a module already there (:func:`existing_spec`). (The
disabled loader is :mod:`lazymed._disabled`.) Imported by the first import of a registered name,
not by ``install()``. Core layer: standard library only.
"""

import sys

from ._cpython import (
    ModuleSpec,
    builds_module,
    getframe,
    importing_frame,
    in_try_block,
    reacquire_module_lock,
    release_module_lock,
)
from ._load import Pending, load, load_parents, loading_stack, pending, register
from ._module import LazyModule
from ._probe import call_site, now, rss_bytes
from ._registry import REGISTRY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importlib.abc import Loader
    from types import FrameType, ModuleType


_SPEC_ATTRS = (
    "__name__",
    "__spec__",
    "__loader__",
    "__package__",
    "__path__",
    "__file__",
    "__cached__",
)
_MISSING = object()


class ExistingLoader:
    """Hands importlib a module that is already in ``sys.modules`` (a parent package's code
    imported or aliased it while lazymed ran that parent first), as importlib's own "the parent
    import may have imported it" rule would. importlib's ``_init_module_attrs`` then rewrites
    ``__spec__`` (always) and fills missing spec attributes: :meth:`exec_module` puts every one
    of them back as it was."""

    def __init__(self, module: object) -> None:
        self.module = module
        namespace = _namespace(module)
        self.saved = {k: namespace.get(k, _MISSING) for k in _SPEC_ATTRS} if namespace else {}

    def create_module(self, spec: "ModuleSpec") -> object:
        return self.module

    def exec_module(self, module: object) -> None:
        namespace = _namespace(module)
        if namespace is None:
            return  # e.g. an int someone put in sys.modules: importlib could set nothing on it
        for key, value in self.saved.items():
            if value is _MISSING:
                namespace.pop(key, None)
            else:
                namespace[key] = value


def _namespace(obj: object) -> "dict[str, object] | None":
    try:
        namespace = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        return None
    return namespace if isinstance(namespace, dict) else None


class LazyLoader:
    """Wraps the real loader of a module lazymed manages: creates a :class:`LazyModule` and
    defers ``exec_module`` to the first attribute access, or (``defer=False``: inside another
    lazy module's load) runs it now after its pending parent packages, as eager import order
    would. Forwards everything else to the real loader."""

    def __init__(self, real: "Loader", defer: bool, record: bool = True) -> None:
        self.real = real
        self.defer = defer
        self.record = record  # registered names get a status() record; covered submodules
        self.existing: ExistingLoader | None = None  # not, when they merely run inside a load
        self.reason: str | None = None  # why a registered name runs at its import statement

    def __getattr__(self, attr: str) -> object:
        # get_resource_reader, get_filename, get_data, is_package, get_code, get_source, ...
        return getattr(self.real, attr)

    def create_module(self, spec: "ModuleSpec") -> "ModuleType | None":
        if not self.defer or builds_module(self.real):
            # This module runs now. Its parent packages, if still pending, must run first
            # (without holding importlib's lock on this module: see _cpython.release_module_lock).
            held = release_module_lock(spec.name)
            try:
                load_parents(spec.name, getframe(1))
            finally:
                reacquire_module_lock(held)
            self.defer = False
        existing = sys.modules.get(spec.name)
        if existing is None:
            # A lazy module whose load failed earlier is still bound where it was imported:
            # the new import gets that same object back, as the retry of one module.
            record = REGISTRY.records.get(spec.name)
            detached = None if record is None else record.detached
            if isinstance(detached, Pending) and pending(detached.module) is detached:
                assert record is not None
                record.detached = None
                existing = detached.module
        if existing is not None:
            # A parent's code imported (or aliased) it, or a failed lazy module is re-imported.
            self.existing = ExistingLoader(existing)
            return existing
        module: ModuleType | None = self.real.create_module(spec)
        if module is not None and self.defer:
            # A loader that builds its module (not one importlib knows, see builds_module):
            # it cannot be deferred. Run it now, its pending parents first.
            held = release_module_lock(spec.name)
            try:
                load_parents(spec.name, getframe(1))
            finally:
                reacquire_module_lock(held)
            self.defer = False
        if module is not None or not self.defer:
            return module  # built by the loader (cannot be deferred), or running now
        return LazyModule(spec.name)

    def exec_module(self, module: "ModuleType") -> None:
        if self.existing is not None and module is self.existing.module:
            self.existing.exec_module(module)
            state = pending(module)
            if state is not None and not self.defer:
                load(state, None, getframe(1))  # a re-imported failed module, run now
            return
        spec = module.__spec__
        if spec is not None:
            spec.loader = self.real
        module.__loader__ = self.real
        if (
            self.defer
            and type(module) is LazyModule
            and register(module, self.real, REGISTRY.record(module.__name__, "lazy"), False)
        ):
            _adopt_post_import_hooks(module.__name__)
            return
        if type(module) is LazyModule:  # its spec could not carry the pending state
            object.__setattr__(module, "__class__", type(sys))
        # Runs now: a C extension, or imported by another lazy module's code while it loads.
        record = REGISTRY.record(module.__name__, "lazy") if self.record else None
        if record is not None and record.imported_at is None:
            record.imported_at = call_site(getframe(1))
        if record is not None and self.reason is not None:
            record.early_reason = self.reason
            record.first_used_at = record.imported_at  # the import statement ran it
        stack = loading_stack()
        stack.append(module.__name__)  # a load inside a load: error chains name both
        # Measured only for a status() record: two /proc reads per module add up in a
        # package's load of dozens of its own submodules.
        rss0, t0 = (rss_bytes(), now()) if record is not None else (None, 0.0)
        try:
            self.real.exec_module(module)
        except BaseException as exc:
            if record is not None:
                record.failed(exc)
            raise
        finally:
            stack.pop()
        if record is None:
            return
        record.loaded(now() - t0, rss0, rss_bytes())
        if stack and record.first_used_at is None:
            record.first_used_at = f"the load of lazy module {stack[-1]!r}"


def _adopt_post_import_hooks(name: str) -> None:
    """Move wrapt's post-import hooks for ``name`` (registered by APM and tracing agents through
    ``wrapt.when_imported`` / ``register_post_import_hook``) to lazymed's ``on_load`` callbacks, so
    they run when the module really loads rather than on the pending module at the import
    statement (which would load it there). Reads wrapt only when the program imported it."""
    importer = sys.modules.get("wrapt.importer")
    hooks_table = getattr(importer, "_post_import_hooks", None)
    lock = getattr(importer, "_post_import_hooks_lock", None)
    if not isinstance(hooks_table, dict) or lock is None:
        return
    with lock:
        hooks = hooks_table.pop(name, None)
    if hooks:
        with REGISTRY.lock:
            REGISTRY.callbacks.setdefault(name, []).extend(h for h in hooks if callable(h))


# ------------------------------------------------------------------ the finder's specs


def lazy_spec(name: str, spec: "ModuleSpec | None", caller: "FrameType") -> "ModuleSpec | None":
    """The finder's answer for a registered lazy ``name`` whose real spec is ``spec``: that spec
    with a :class:`LazyLoader` around its loader (deferring unless a load is running or a
    handler of ImportError covers the import statement in ``caller``'s importer), or ``spec``
    as it is when it cannot be deferred (not found, namespace package, no ``create_module``)."""
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return spec  # not found (ModuleNotFoundError at the statement), or namespace package
    if not hasattr(spec.loader, "create_module"):
        return spec  # importlib's own ImportError: "loaders that define exec_module() must ..."
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


def existing_spec(name: str, existing: object) -> "ModuleSpec":
    """The finder's spec for a registered ``name`` already in ``sys.modules`` as ``existing``."""
    if existing is None:
        # A parent's code blocked the name, as `import` itself reports it.
        raise ModuleNotFoundError(f"import of {name} halted; None in sys.modules", name=name)
    # A pending parent that lazymed ran just now (see _module._before_submodule_import) imported
    # or aliased this name itself: hand importlib that module, as its own "the parent import
    # may have imported it" rule would.
    return ModuleSpec(name, ExistingLoader(existing))  # type: ignore[arg-type]  # duck-typed

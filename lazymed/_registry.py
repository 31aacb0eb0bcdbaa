"""Which names lazymed manages, and how an import of each is routed.

* **The registry** — one :class:`Record` per registered module (configured names, and covered
  submodules when they are imported): role, state, where it was imported, what first used it,
  what its load cost (the measurements themselves are taken with :mod:`lazymed._probe`).
  No lock of ours is ever held while module code runs.
* **The finder** — :class:`LazyFinder`, the ``sys.meta_path`` finder ``install()`` puts first: a
  router on the registry's role of each name. For a registered name it asks the finders after it
  for the real spec (so a missing package still raises ModuleNotFoundError at the import
  statement, and pytest's assertion rewriting or editable installs keep working), then hands out
  a spec whose loader defers execution (:mod:`lazymed._loaders`), a disabled spec
  (:mod:`lazymed._disabled`), or, for the missing parent package of a disabled name, an empty
  namespace package. Everything else (every name lazymed does not manage, and queries such as
  ``importlib.util.find_spec``) gets ``None``: the other finders decide. A finder needs no base
  class: an object with ``find_spec`` is enough (``importlib.abc`` would cost ~14 ms to import).

One module for the two on purpose: the finder is the registry's only reader on every import, and
both are on the install path, where each file costs ~0.1 ms (docs/architecture.md). Core layer:
standard library only; the modules behind the finder's routes are imported by the first import
of a registered name.
"""

import _thread
import sys

from ._cpython import ModuleSpec as _ModuleSpec
from ._cpython import (
    find_and_load_unlocked_code,
    find_real_spec,
    find_spec_code,
    getframe,
    import_asking,
)

# On the install path: annotations that would build objects when each def runs (X | None,
# tuple[...]) are written as strings, which cost nothing there (3.11-3.13 evaluate them eagerly).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import FrameType, ModuleType

    from ._config import Config

# =========================================================================== registry
# States, as reported by status().
NOT_IMPORTED = "not imported"
LAZY = "lazy"
LOADING = "loading"
LOADED = "loaded"
FAILED = "failed"
DISABLED = "disabled"


class Record:
    """What lazymed knows about one registered module (mutable; snapshot via status())."""

    __slots__ = (
        "detached",
        "early_reason",
        "error",
        "evictions",
        "first_used_at",
        "first_used_attr",
        "imported_at",
        "last_used",
        "load_seconds",
        "name",
        "reloads",
        "role",
        "rss_growth_bytes",
        "state",
    )

    def __init__(self, name: str, role: str) -> None:
        # The pending state of a lazy module whose load failed: removed from sys.modules but
        # still bound where it was imported; the next import of the name gets it back.
        self.detached: object = None
        self.name = name
        self.role = role
        self.state = NOT_IMPORTED
        self.imported_at: str | None = None
        self.first_used_at: str | None = None
        self.first_used_attr: str | None = None
        self.load_seconds: float | None = None
        self.rss_growth_bytes: int | None = None
        self.error: str | None = None
        # Why it ran at an import statement rather than at its first use (see _module).
        self.early_reason: str | None = None
        # Eviction (lazymed.memory): times the module was taken out of the process, times it
        # was loaded again after that, and the last time.monotonic() its code was seen running.
        self.evictions = 0
        self.reloads = 0
        self.last_used: float | None = None

    def loaded(self, seconds: float, rss_before: "int | None", rss_after: "int | None") -> None:
        """Mark the module loaded: ``seconds`` its code took, RSS readings around it (bytes)."""
        self.state = LOADED
        self.error = None
        if self.evictions > self.reloads:
            self.reloads += 1  # loaded again after an eviction
        self.load_seconds = seconds
        if rss_before is None or rss_after is None:
            self.rss_growth_bytes = None
        else:
            self.rss_growth_bytes = rss_after - rss_before

    def failed(self, exc: BaseException) -> None:
        """Mark the module's load failed with ``exc`` (status() shows "Type: message")."""
        self.state = FAILED
        self.error = f"{type(exc).__name__}: {exc}"

    def evicted(self) -> None:
        """Mark the module taken out of the process by an eviction (``not imported`` again)."""
        self.state = NOT_IMPORTED
        self.evictions += 1


class Registry:
    """Names and records. Mutations take ``lock``; reads of single dict entries rely on the GIL."""

    def __init__(self) -> None:
        self.lock = _thread.allocate_lock()
        self.reset()

    def reset(self) -> None:
        """Forget every name, record and callback (uninstalled state)."""
        self.config: Config | None = None
        self.installed = False
        self.lazy: frozenset[str] = frozenset()
        self.disabled: frozenset[str] = frozenset()
        self.critical: frozenset[str] = frozenset()
        # First components of every managed name: the finder's fast path.
        self.tops: frozenset[str] = frozenset()
        self.records: dict[str, Record] = {}
        self.callbacks: dict[str, list[Callable[[ModuleType], object]]] = {}

    def configure(self, config: "Config") -> None:
        """Adopt ``config``'s names; records of earlier configurations are kept."""
        with self.lock:
            self.config = config
            self.lazy = frozenset(config.lazy)
            self.disabled = frozenset(config.disabled_modules)
            self.critical = frozenset(config.critical)
            names = (*config.lazy, *config.disabled_modules, *config.critical)
            self.tops = frozenset(n.partition(".")[0] for n in names)
            for name in config.critical:
                self._ensure(name, "critical")
            for name in config.lazy:
                self._ensure(name, "lazy")
            for name in config.disabled_modules:
                self._ensure(name, "disabled")

    def _ensure(self, name: str, role: str) -> "Record":
        record = self.records.get(name)
        if record is None or record.role != role:
            record = self.records[name] = Record(name, role)
        return record

    def record(self, name: str, role: str) -> "Record":
        """The record of ``name`` in ``role``, created on first use."""
        with self.lock:
            return self._ensure(name, role)

    def role_of(self, name: str) -> "str | None":
        """How lazymed treats an import of ``name``.

        ``"disabled"`` if ``name`` or a parent is disabled; else ``"lazy"`` if the most specific
        registered prefix of ``name`` is lazy; else ``"ancestor"`` if it is a parent package of a
        disabled name; else ``None`` (critical names and their submodules are ordinary imports).
        """
        if not self.installed or name.partition(".")[0] not in self.tops:
            return None
        prefixes = [name]
        while (dot := prefixes[-1].rfind(".")) > 0:
            prefixes.append(prefixes[-1][:dot])
        if any(prefix in self.disabled for prefix in prefixes):
            return "disabled"
        for prefix in prefixes:  # the most specific of lazy / critical decides
            if prefix in self.lazy:
                return "lazy"
            if prefix in self.critical:
                return None
        dotted = name + "."
        if any(off.startswith(dotted) for off in self.disabled):
            return "ancestor"
        return None


REGISTRY = Registry()

# =========================================================================== finder

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
            from ._loaders import existing_spec  # off the install path, as the loaders are

            return existing_spec(name, existing)
        spec = self.real_spec(name, path, target)
        if role == "ancestor":
            return _spec_for_ancestor(name, spec)
        if role == "disabled":
            from ._disabled import spec_for  # first import of a disabled name

            return spec_for(name, spec)
        from ._loaders import lazy_spec  # the first lazy import loads the loaders

        return lazy_spec(name, spec, caller)

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


def _spec_for_ancestor(name: str, spec: "ModuleSpec | None") -> "ModuleSpec | None":
    if spec is not None:
        return None  # the real package exists: import it normally
    # Missing parent package of a switched-off module: an empty namespace package, so the
    # disabled import still succeeds on machines without the SDK installed.
    empty = _ModuleSpec(name, None, is_package=True)
    empty.submodule_search_locations = []
    return empty


#: The one finder ``install()`` puts on ``sys.meta_path``.
FINDER = LazyFinder()


def is_installed() -> bool:
    """Whether lazymed's finder is active."""
    return REGISTRY.installed and FINDER in sys.meta_path

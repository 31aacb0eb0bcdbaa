"""The registry: which names lazymed manages, in which role, and what happened to each.

One :class:`Record` per registered module (configured names, and covered submodules when they
are imported): role, state, where it was imported, what first used it, what its load cost (the
measurements themselves are taken with :mod:`lazymed._probe`).
Core layer: standard library only; no lock of ours is ever held while module code runs.
"""

import _thread

# On the install path: annotations that would build objects when each def runs (X | None,
# tuple[...]) are written as strings, which cost nothing there (3.11-3.13 evaluate them eagerly).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from ._config import Config

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

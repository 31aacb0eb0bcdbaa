"""``lazymed.status()``: immutable snapshots of the registry. Imported on first call only
(``dataclasses`` costs ~12 ms, too much for the install path)."""

import dataclasses
import sys

from ._install import is_installed
from ._registry import REGISTRY


@dataclasses.dataclass(frozen=True)
class ModuleStatus:
    """One registered module.

    ``role``: ``"lazy"``, ``"critical"`` or ``"disabled"``. ``state``: ``"not imported"``,
    ``"lazy"`` (imported, not run yet), ``"loading"``, ``"loaded"``, ``"failed"`` (the last load
    raised; the next access retries) or ``"disabled"``. ``load_seconds``: seconds the module's
    code took (including what it imported). ``rss_growth_bytes``: resident memory growth during
    the load, in bytes (``/proc/self/statm``; ``None`` without procfs). ``imported_at`` /
    ``first_used_at``: ``"file:line"`` of the import statement and of the access that loaded it;
    ``first_used_attr`` the attribute read there. ``error``: ``"Type: message"`` of a failed load.
    ``evictions`` / ``reloads``: times ``lazymed.evict()`` took it out of the process, and times
    it was loaded again after that.
    """

    name: str
    role: str
    state: str
    load_seconds: float | None
    rss_growth_bytes: int | None
    imported_at: str | None
    first_used_at: str | None
    first_used_attr: str | None
    error: str | None
    evictions: int = 0
    reloads: int = 0


@dataclasses.dataclass(frozen=True)
class Status:
    """Everything ``status()`` reports: whether lazymed is installed, the config file and active
    profile it read (``None``: none), and one :class:`ModuleStatus` per registered module, in
    registration order. ``startup``: what ``[tool.lazymed.startup]`` did — ``{"applied": {key:
    what it did, or "not available: ..."}, "warm": {"state", "loaded", "failed", "seconds"}}``
    (empty when the table is absent)."""

    installed: bool
    config_path: str | None
    profile: str | None
    from_import: str | None
    modules: "tuple[ModuleStatus, ...]"
    startup: "dict[str, object]" = dataclasses.field(default_factory=dict)

    def module(self, name: str) -> "ModuleStatus":
        """The record of ``name``. Raises KeyError naming it if it is not registered."""
        for record in self.modules:
            if record.name == name:
                return record
        raise KeyError(f"{name!r} is not registered with lazymed")

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (stable keys)."""
        return dataclasses.asdict(self)


def status() -> "Status":
    """A snapshot of what lazymed manages. See :class:`Status`."""
    with REGISTRY.lock:
        records = list(REGISTRY.records.values())
        modules = tuple(
            ModuleStatus(
                name=r.name,
                role=r.role,
                state=r.state,
                load_seconds=r.load_seconds,
                rss_growth_bytes=r.rss_growth_bytes,
                imported_at=r.imported_at,
                first_used_at=r.first_used_at,
                first_used_attr=r.first_used_attr,
                error=r.error,
                evictions=r.evictions,
                reloads=r.reloads,
            )
            for r in records
        )
    config = REGISTRY.config
    return Status(
        installed=is_installed(),
        config_path=None if config is None else config.path,
        profile=None if config is None else config.profile,
        from_import=None if config is None else config.from_import,
        modules=modules,
        startup=_startup_status(),
    )


def _startup_status() -> "dict[str, object]":
    startup = sys.modules.get(f"{__package__}._startup")  # imported only with the table
    if startup is None:
        return {}
    warm = dict(startup.WARM)
    warm["loaded"] = list(warm["loaded"])
    warm["failed"] = dict(warm["failed"])
    return {"applied": dict(startup.APPLIED), "warm": warm}

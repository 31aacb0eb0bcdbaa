"""``lazymed.status()``: immutable snapshots of the registry. Imported on first call only
(``dataclasses`` costs ~12 ms, too much for the install path)."""

import dataclasses
import sys

from ._registry import REGISTRY, is_installed
from ._schema import DEFAULTS


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
    ``early_reason``: why a lazy package ran at an import statement (``import pkg.sub``,
    ``from pkg import sub``) rather than at its first use — the statement and its site, and the
    ``"file:line: code"`` of the package code that forced it — or ``None``.
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
    early_reason: str | None = None
    evictions: int = 0
    reloads: int = 0


@dataclasses.dataclass(frozen=True)
class Status:
    """Everything ``status()`` reports: whether lazymed is installed, the config file and active
    profile it read (``None``: none), one :class:`ModuleStatus` per registered module, in
    registration order, the effective configuration tools need (the profiler, ``check``), the
    backend, and what PEP 810 holds lazy beside lazymed's own (Python 3.15+):

    ``lazy``, ``critical``, ``disabled_modules``: the configured dotted names, as configured
    (each covers its submodules), after every layer (file, profile, ``LAZYMED_*``, keywords).
    ``profiles``: the profile names the file defines. ``sources``: where each setting came from,
    keyed by dotted key (``"lazy"``, ``"from_import"``, ...; sub-table keys as
    ``"table.key"``): ``"<file> [tool.lazymed]"``, ``"<file> [tool.lazymed.profiles.NAME]"``,
    ``"environment LAZYMED_LAZY"``, ``"install() keyword"`` or ``"default"``. Empty when lazymed
    was never installed. ``startup``: what ``[tool.lazymed.startup]`` did — ``{"applied": {key:
    what it did, or "not available: ..."}, "warm": {"state", "loaded", "failed", "seconds"}}``
    (empty when the table is absent). ``backend``: ``"finder"`` or ``"native"`` (PEP 810, Python
    3.15+); ``None`` when not installed. ``pep810_lazy``: ``(name, role)`` for each name PEP 810
    holds lazy (``sys.lazy_modules``): role ``"lazy"``/``"disabled"``/``"critical"`` for names
    lazymed manages, ``"program"`` for the program's (and the standard library's) own lazy
    imports; empty before 3.15.
    """

    installed: bool
    config_path: str | None
    profile: str | None
    from_import: str | None
    modules: "tuple[ModuleStatus, ...]"
    lazy: tuple[str, ...] = ()
    critical: tuple[str, ...] = ()
    disabled_modules: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    sources: dict[str, str] = dataclasses.field(default_factory=dict)
    startup: "dict[str, object]" = dataclasses.field(default_factory=dict)
    backend: str | None = None
    pep810_lazy: "tuple[tuple[str, str], ...]" = ()

    def module(self, name: str) -> "ModuleStatus":
        """The record of ``name``. Raises KeyError naming it if it is not registered."""
        for record in self.modules:
            if record.name == name:
                return record
        raise KeyError(f"{name!r} is not registered with lazymed")

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (stable keys)."""
        return dataclasses.asdict(self)


def _leaf_keys(table: "dict[str, object]", prefix: str = "") -> "list[str]":
    """Dotted keys of ``table``'s settings (sub-tables as ``table.key``)."""
    keys: list[str] = []
    for key, value in table.items():
        if isinstance(value, dict):
            keys.extend(_leaf_keys(value, f"{prefix}{key}."))
        else:
            keys.append(f"{prefix}{key}")
    return keys


def _pep810_lazy() -> "tuple[tuple[str, str], ...]":
    """``(name, role)`` for each name in ``sys.lazy_modules`` (Python 3.15+), sorted."""
    names = getattr(sys, "lazy_modules", None)
    out = []
    for name in sorted(names or ()):
        role = REGISTRY.role_of(name)
        if role is None and any(name == c or name.startswith(c + ".") for c in REGISTRY.critical):
            role = "critical"
        out.append((name, role if role in ("lazy", "disabled", "critical") else "program"))
    return tuple(out)


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
                early_reason=r.early_reason,
                evictions=r.evictions,
                reloads=r.reloads,
            )
            for r in records
        )
    config = REGISTRY.config
    native = sys.modules.get(f"{__package__}._native")
    pep810_lazy = _pep810_lazy()
    if config is None:
        return Status(
            is_installed(),
            None,
            None,
            None,
            modules,
            startup=_startup_status(),
            pep810_lazy=pep810_lazy,
        )
    installed = is_installed()
    backend = None
    if installed:
        backend = "native" if native is not None and native.active() == "native" else "finder"
    sources = dict.fromkeys(_leaf_keys(DEFAULTS), "default")
    sources.update(config.sources)
    return Status(
        installed=installed,
        config_path=config.path,
        profile=config.profile,
        from_import=config.from_import,
        modules=modules,
        lazy=config.lazy,
        critical=config.critical,
        disabled_modules=config.disabled_modules,
        profiles=config.profiles,
        sources=sources,
        startup=_startup_status(),
        backend=backend,
        pep810_lazy=pep810_lazy,
    )


def _startup_status() -> "dict[str, object]":
    startup = sys.modules.get(f"{__package__}._startup")  # imported only with the table
    if startup is None:
        return {}
    warm = dict(startup.WARM)
    warm["loaded"] = list(warm["loaded"])
    warm["failed"] = dict(warm["failed"])
    warm["skipped"] = dict(warm["skipped"])
    return {"applied": dict(startup.APPLIED), "warm": warm}

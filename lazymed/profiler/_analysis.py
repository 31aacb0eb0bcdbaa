"""Turn the tracer's raw events into per-module and per-package costs (self and cumulative)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from lazymed.profiler._model import (
    Cost,
    ExistingConfig,
    ModuleCost,
    Overhead,
    PackageCost,
    PackageKind,
    Report,
    RunInfo,
    Target,
)
from lazymed.profiler._suggest import suggest

# Raw record indexes, as written by lazymed/profiler/_tracer.py (kept in step by a test).
F_NAME, F_PARENT, F_THREAD, F_WHERE = 0, 1, 2, 3
F_T0, F_T1, F_OVT0, F_OVT1 = 4, 5, 6, 7
F_RSS0, F_RSS1, F_THR0, F_THR1 = 8, 9, 10, 11
F_GC0, F_GC1, F_OVG0, F_OVG1 = 12, 13, 14, 15
F_MEM0, F_MEM1, F_OVM0, F_OVM1 = 16, 17, 18, 19
F_TM0, F_TM1 = 20, 21
F_ORIGIN, F_EXT, F_ERROR = 22, 23, 24
F_IMPORTER, F_STARTUP = 25, 26
RAW_VERSION = 2
#: Importer names that mean "the target itself".
ROOT_IMPORTERS = frozenset({"__main__"})

Raw = Mapping[str, Any]


def build_report(
    target: Target,
    timing: Raw,
    alloc: Raw | None,
    overhead: Overhead,
    *,
    outside_peak_rss: int | None = None,
    suggest_min_seconds: float = 0.010,
    suggest_min_rss: int = 1 << 20,
    warnings: Sequence[str] = (),
    existing: ExistingConfig | None = None,
    interrupted: bool = False,
    stopped_by: str | None = None,
) -> Report:
    """Build the :class:`Report` from the timing pass's raw data and, optionally, the allocation
    pass's (whose events are matched to the timing pass's by module name and occurrence).

    ``existing`` is the target's lazymed configuration; by default the one the tracer found
    installed in the target (:func:`existing_from_raw`). ``interrupted`` marks a run stopped by
    SIGINT or SIGTERM; ``stopped_by`` names the signal, or ``"duration"``.
    Raises ValueError if the raw data was written by an incompatible tracer.
    """
    for raw in (timing, alloc):
        if raw is not None and raw.get("raw_version") != RAW_VERSION:
            raise ValueError(f"tracer data version {raw.get('raw_version')!r}, need {RAW_VERSION}")
    notes = list(warnings)
    events, parents, dropped = _complete_events(timing["events"])
    if dropped:
        notes.append(
            f"{dropped} import(s) were still running when the target exited; left out of the report"
        )
    memory = _memory_costs(alloc) if alloc is not None else None
    cums = [_cost(e, memory) for e in _keyed(events)]
    children: list[list[int]] = [[] for _ in events]
    for i, parent in enumerate(parents):
        if parent is not None:
            children[parent].append(i)
    root = target.root
    chains: list[tuple[str, ...]] = []
    modules: list[ModuleCost] = []
    for i, rec in enumerate(events):
        parent = parents[i]
        importer, at_startup = _importer(rec)
        if at_startup is None and parent is not None:
            at_startup = modules[parent].at_startup  # an import made during another one
        if parent is None:
            chain: tuple[str, ...] = (root if rec[F_THREAD] == 0 else "<thread>",)
            if importer is not None and importer not in ROOT_IMPORTERS:
                chain = (*chain, importer)
        else:
            chain = (*chains[parent], events[parent][F_NAME])
            if importer is not None and importer != chain[-1]:
                chain = (*chain, importer)
        chains.append(chain)
        self_cost = cums[i]
        for child in children[i]:
            self_cost = self_cost - cums[child]
        name: str = rec[F_NAME]
        modules.append(
            ModuleCost(
                id=i,
                name=name,
                package=name.partition(".")[0],
                parent_id=parent,
                chain=chain,
                imported_at=rec[F_WHERE],
                origin=rec[F_ORIGIN],
                c_extension=bool(rec[F_EXT]),
                error=rec[F_ERROR],
                thread=int(rec[F_THREAD]),
                self_cost=self_cost,
                cumulative=cums[i],
                importer=importer,
                at_startup=at_startup,
            )
        )
    packages = _packages(modules, timing)
    totals = sum((m.cumulative for m in modules if m.parent_id is None), Cost())
    if alloc is None:
        totals = Cost(totals.seconds, totals.rss_bytes, None, None, totals.threads)
    run = _run_info(timing, modules, alloc, outside_peak_rss, interrupted, stopped_by)
    if alloc is not None and alloc.get("exit_code") != timing.get("exit_code"):
        notes.append(
            f"the allocation pass exited with {alloc.get('exit_code')}, the timing pass with "
            f"{timing.get('exit_code')}: allocation figures may not match the same imports"
        )
    if existing is None:
        existing = existing_from_raw(timing)
    candidates = suggest(
        modules,
        packages,
        min_seconds=suggest_min_seconds,
        min_rss_bytes=suggest_min_rss,
        existing=existing,
    )
    suggestions = tuple(s for s in candidates if not s.used_at_import)
    return Report(
        target=target,
        run=run,
        overhead=overhead,
        modules=tuple(modules),
        packages=packages,
        totals=totals,
        suggestions=suggestions,
        lazymed_status=timing.get("lazymed_status"),
        warnings=tuple(notes),
        suggest_min_seconds=suggest_min_seconds,
        suggest_min_rss_bytes=suggest_min_rss,
        existing=existing,
        not_suggested=tuple(s for s in candidates if s.used_at_import),
    )


def _importer(rec: Sequence[Any]) -> tuple[str | None, bool | None]:
    """(importer, at start-up) of a raw event: at start-up is None for a nested import (it
    inherits its enclosing import's) and for records without it."""
    if len(rec) <= F_STARTUP:
        return None, None
    importer, startup = rec[F_IMPORTER], rec[F_STARTUP]
    return (importer if isinstance(importer, str) else None), (
        startup if isinstance(startup, bool) else None
    )


def existing_from_raw(raw: Raw) -> ExistingConfig | None:
    """The lazymed configuration the tracer found installed in the target, or None."""
    data = raw.get("lazymed_config")
    if not isinstance(data, dict) or "error" in data:
        return None

    def names(key: str) -> tuple[str, ...]:
        value = data.get(key)
        return tuple(str(n) for n in value) if isinstance(value, list) else ()

    path, profile, source = data.get("path"), data.get("profile"), data.get("lazy_source")
    from_import = data.get("from_import")
    return ExistingConfig(
        installed=True,
        path=path if isinstance(path, str) else None,
        profile=profile if isinstance(profile, str) else None,
        lazy=names("lazy"),
        critical=names("critical"),
        disabled_modules=names("disabled_modules"),
        lazy_source=source if isinstance(source, str) else None,
        from_import=from_import if from_import in ("eager", "deferred") else "eager",
    )


def _complete_events(
    raw_events: Sequence[Sequence[Any]],
) -> tuple[list[Sequence[Any]], list[int | None], int]:
    """Events that finished, with parent indexes renumbered (an unfinished import's children
    are attached to its nearest finished ancestor)."""
    keep: dict[int, int] = {}
    events: list[Sequence[Any]] = []
    parents: list[int | None] = []
    for i, rec in enumerate(raw_events):
        if rec[F_T1] is None:
            continue
        parent = rec[F_PARENT]
        while parent >= 0 and parent not in keep:
            parent = raw_events[parent][F_PARENT]
        keep[i] = len(events)
        events.append(rec)
        parents.append(keep[parent] if parent >= 0 else None)
    return events, parents, len(raw_events) - len(events)


def _keyed(events: Sequence[Sequence[Any]]) -> list[tuple[tuple[str, int], Sequence[Any]]]:
    """Each event with its key (name, occurrence of that name), to match the two passes."""
    seen: dict[str, int] = {}
    out = []
    for rec in events:
        n = seen.get(rec[F_NAME], 0)
        seen[rec[F_NAME]] = n + 1
        out.append(((rec[F_NAME], n), rec))
    return out


def _memory_costs(alloc: Raw) -> dict[tuple[str, int], tuple[int, int]]:
    """(traced bytes, gc objects) per event key of the allocation pass, the tracer's own
    allocations and objects removed."""
    events, _, _ = _complete_events(alloc["events"])
    return {
        key: (
            round((rec[F_MEM1] - rec[F_MEM0]) - (rec[F_OVM1] - rec[F_OVM0])),
            round((rec[F_GC1] - rec[F_GC0]) - (rec[F_OVG1] - rec[F_OVG0])),
        )
        for key, rec in _keyed(events)
    }


def _cost(
    keyed: tuple[tuple[str, int], Sequence[Any]],
    memory: dict[tuple[str, int], tuple[int, int]] | None,
) -> Cost:
    """Cumulative cost of one event (time, RSS, threads from the timing pass; bytes and objects
    from the allocation pass) with the tracer's own cost subtracted."""
    key, rec = keyed
    seconds = (rec[F_T1] - rec[F_T0]) - (rec[F_OVT1] - rec[F_OVT0])
    rss = None
    if rec[F_RSS0] >= 0 and rec[F_RSS1] >= 0:
        rss = (rec[F_RSS1] - rec[F_RSS0]) - (rec[F_TM1] - rec[F_TM0])
    matched = None if memory is None else memory.get(key)
    alloc = None if matched is None else matched[0]
    gc_objects = None if matched is None else matched[1]
    return Cost(
        seconds=max(0.0, seconds),
        rss_bytes=rss,
        alloc_bytes=alloc,
        gc_objects=gc_objects,
        threads=rec[F_THR1] - rec[F_THR0],
    )


def _package_kind(
    name: str, origins: Sequence[str], stdlib: frozenset[str], site_dirs: Sequence[str]
) -> PackageKind:
    if name in stdlib:
        return "stdlib"
    for origin in origins:
        real = os.path.realpath(origin)
        if any(real.startswith(d + os.sep) for d in site_dirs):
            return "third-party"
        parts = real.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts:
            return "third-party"
    return "first-party"


def _packages(modules: Sequence[ModuleCost], timing: Raw) -> tuple[PackageCost, ...]:
    """Aggregate modules by top-level package, sorted by cumulative seconds (largest first)."""
    stdlib = frozenset(timing.get("stdlib_names", ()))
    site_dirs = [d for d in timing.get("site_dirs", ()) if d]
    by_name: dict[str, list[ModuleCost]] = {}
    for m in modules:
        by_name.setdefault(m.package, []).append(m)
    out = []
    for name, members in by_name.items():
        ids = {m.id for m in members}
        outermost = [m for m in members if not _has_ancestor_in(m, ids, modules)]
        origins = [m.origin for m in members if m.origin and os.path.isabs(m.origin)]
        first = outermost[0]
        out.append(
            PackageCost(
                name=name,
                kind=_package_kind(name, origins, stdlib, site_dirs),
                modules=sum(1 for m in members if m.error is None),
                failed=sum(1 for m in members if m.error is not None),
                c_extensions=tuple(m.name for m in members if m.c_extension),
                self_cost=sum((m.self_cost for m in members), Cost()),
                cumulative=sum((m.cumulative for m in outermost), Cost()),
                chain=first.chain,
                imported_at=first.imported_at,
            )
        )
    out.sort(key=lambda p: p.cumulative.seconds, reverse=True)
    return tuple(out)


def _has_ancestor_in(module: ModuleCost, ids: set[int], modules: Sequence[ModuleCost]) -> bool:
    parent = module.parent_id
    while parent is not None:
        if parent in ids:
            return True
        parent = modules[parent].parent_id
    return False


def _opt(value: Any) -> int | None:
    """A raw reading, None when the tracer could not measure it (-1)."""
    return None if value is None or value < 0 else int(value)


def _run_info(
    timing: Raw,
    modules: Sequence[ModuleCost],
    alloc: Raw | None,
    outside_peak: int | None,
    interrupted: bool = False,
    stopped_by: str | None = None,
) -> RunInfo:
    start, end = timing["start"], timing["end"]
    seconds = (end["t"] - start["t"]) - (end["tracer_seconds"] - start["tracer_seconds"])
    return RunInfo(
        python=str(timing.get("python", "")),
        executable=str(timing.get("executable", "")),
        exit_code=int(timing.get("exit_code", 0)),
        exception=timing.get("exception"),
        not_found=tuple(timing.get("not_found", ())),
        seconds=max(0.0, seconds),
        import_seconds=sum(
            m.cumulative.seconds for m in modules if m.parent_id is None and m.thread == 0
        ),
        modules_imported=sum(1 for m in modules if m.error is None),
        modules_at_startup=int(timing.get("startup_modules", 0)),
        rss_start_bytes=_opt(start["rss"]),
        rss_end_bytes=_opt(end["rss"]),
        rss_peak_bytes=_opt(timing.get("peak_rss")),
        rss_peak_outside_bytes=outside_peak,
        gc_objects_start=int(start["gc_exact"]),
        gc_objects_end=int(end["gc_exact"]),
        threads_start=int(start["threads"]),
        threads_end=int(end["threads"]),
        alloc_end_bytes=None if alloc is None else int(alloc["end"]["traced"]),
        interrupted=interrupted,
        stopped_by=stopped_by,
    )

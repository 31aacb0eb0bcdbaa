"""Which third-party imports could be lazy, what each would save, as a ``[tool.lazymed]`` block."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterable, Sequence

from lazymed.profiler._format import fmt_count, fmt_mib, fmt_ms
from lazymed.profiler._model import (
    Cost,
    ExistingConfig,
    ModuleCost,
    PackageCost,
    Report,
    Suggestion,
)

OWN_PACKAGE = "lazymed"


def _covered(name: str, names: Iterable[str]) -> bool:
    """Whether one of ``names`` is ``name`` or a parent package of it."""
    return any(name == n or name.startswith(n + ".") for n in names)


def suggest(
    modules: Sequence[ModuleCost],
    packages: Sequence[PackageCost],
    *,
    min_seconds: float = 0.010,
    min_rss_bytes: int = 1 << 20,
    existing: ExistingConfig | None = None,
) -> tuple[Suggestion, ...]:
    """Third-party imports made at start-up by the program's own code (the target or a
    first-party module) whose cumulative cost reaches ``min_seconds`` or ``min_rss_bytes``,
    largest time first.

    Not suggested: a package pulled in only by another third-party or stdlib module (deferring
    its importer covers it, and deferring it alone would not help while its importer stays
    eager); an import made at run time (``ModuleCost.at_startup`` False: called by a library,
    e.g. during a request); a name covered by the ``existing`` configuration's lazy, critical or
    disabled names, or whose lazy form would contain a critical name; an import made while a
    lazy module of ``existing`` was loading (its dependencies). When both ``a`` and ``a.b``
    qualify, only ``a`` is named (a lazy name covers its submodules) and its figures include
    ``a.b``'s. The figures are upper bounds: modules that other eager imports also need are
    still loaded at start-up. Each candidate is checked against the code that imports it
    (:func:`import_time_uses`, the ``lazymed scan`` analysis): one used at import time there
    would save nothing and comes back with ``used_at_import`` set.
    """
    kinds = {p.name: p.kind for p in packages}
    lazy: tuple[str, ...] = ()
    critical: tuple[str, ...] = ()
    configured: tuple[str, ...] = ()
    if existing is not None:
        lazy, critical = existing.lazy, existing.critical
        configured = (*lazy, *critical, *existing.disabled_modules)
    children: dict[int | None, list[ModuleCost]] = {}
    for m in modules:
        children.setdefault(m.parent_id, []).append(m)

    # Imports made while a configured lazy module ran (its own imports, or what they imported).
    in_lazy_load: list[bool] = []
    for m in modules:
        parent = None if m.parent_id is None else modules[m.parent_id]
        in_lazy_load.append(
            (m.importer is not None and _covered(m.importer, lazy))
            or (parent is not None and (in_lazy_load[parent.id] or _covered(parent.name, lazy)))
        )

    def by_own_code(m: ModuleCost) -> bool:
        if m.at_startup is None:  # no importer recorded: judge by the enclosing import
            if m.parent_id is None:
                return True
            parent = modules[m.parent_id]
            return parent.package != m.package and kinds.get(parent.package) == "first-party"
        if not m.at_startup:
            return False
        importer = m.importer
        if importer is None or importer == "__main__":  # the target itself
            return True
        top = importer.partition(".")[0]  # lazymed's own imports are not the program's
        return top not in (m.package, OWN_PACKAGE) and kinds.get(top) == "first-party"

    def eligible(m: ModuleCost) -> bool:
        if m.error is not None or in_lazy_load[m.id] or _covered(m.name, configured):
            return False
        if any(_covered(c, [m.name]) for c in critical):
            return False  # lazy m would make a critical module lazy: install() refuses that
        return by_own_code(m)

    def heavy(cost: Cost) -> bool:
        return cost.seconds >= min_seconds or (cost.rss_bytes or 0) >= min_rss_bytes

    def subtree_loads(m: ModuleCost) -> int:
        count, todo = 0, [m]
        while todo:
            node = todo.pop()
            count += node.error is None
            todo.extend(children.get(node.id, ()))
        return count

    out: list[Suggestion] = []
    for package in packages:
        if package.kind != "third-party" or package.name == OWN_PACKAGE:
            continue
        chosen = [m for m in modules if m.package == package.name and eligible(m)]
        chosen = [m for m in chosen if heavy(m.cumulative)]
        names = {m.name for m in chosen}
        for m in chosen:
            if _has_ancestor_name(m.name, names):
                continue
            covered = [c for c in chosen if c.name == m.name or c.name.startswith(m.name + ".")]
            out.append(
                Suggestion(
                    name=m.name,
                    package=package.name,
                    cost=sum((c.cumulative for c in covered), Cost()),
                    modules=sum(subtree_loads(c) for c in covered),
                    imported_at=m.imported_at,
                    used_at_import=import_time_uses(
                        m.name,
                        [c.imported_at for c in covered],
                        lazy=lazy,
                        from_import="eager" if existing is None else existing.from_import,
                    ),
                )
            )
    out.sort(key=lambda s: s.cost.seconds, reverse=True)
    return tuple(out)


def _file_of(site: str | None) -> str | None:
    """The file of a ``"file:line"`` import site, None when it is not a readable file
    (``<string>`` for ``-c`` code, ``<frozen ...>``)."""
    if not site:
        return None
    path = site.rpartition(":")[0]
    return path if path and not path.startswith("<") and os.path.isfile(path) else None


def import_time_uses(
    name: str,
    sites: Iterable[str | None],
    *,
    lazy: Sequence[str] = (),
    from_import: str = "eager",
) -> tuple[str, ...]:
    """Where the files that import ``name`` (the files of ``sites``, ``"file:line"`` import
    statements) use it at import time if it were lazy: ``lazymed scan`` run on them with ``name``
    added to ``lazy``, as ``"file:line (kind)"``, in file order. Empty when nothing would load
    it at start-up (a file that cannot be read or parsed counts as no use: the profile itself
    shows the import)."""
    from lazymed.scan import covering, scan_source  # only when there is something to check

    names = [*(n for n in lazy if not n.startswith(name + ".")), name]
    found: list[str] = []
    for path in dict.fromkeys(p for p in map(_file_of, sites) if p is not None):
        try:
            with open(path, "rb") as f:
                source = f.read()
            findings = scan_source(path, source, names, from_import)
        except (OSError, SyntaxError, ValueError, RecursionError):
            continue
        for finding in findings:
            if covering(finding.module, names) == name:
                found.append(f"{finding.path}:{finding.line} ({finding.kind})")
    return tuple(found)


def _has_ancestor_name(name: str, names: set[str]) -> bool:
    parts = name.split(".")
    return any(".".join(parts[:i]) in names for i in range(1, len(parts)))


HEADER = (
    "# Suggested by `lazymed profile`: third-party imports your own code makes at start-up.",
    "# Each comment is what deferring the name would save at start-up, at most: modules",
    "# that other eager imports also need still load.",
)


def _saving(s: Suggestion) -> str:
    parts = [f"{fmt_ms(s.cost.seconds)} ms"]
    if s.cost.rss_bytes is not None:
        parts.append(f"{fmt_mib(s.cost.rss_bytes)} MiB RSS")
    if s.cost.alloc_bytes is not None:
        parts.append(f"{fmt_mib(s.cost.alloc_bytes)} MiB allocated")
    if s.cost.gc_objects is not None:
        parts.append(f"{fmt_count(s.cost.gc_objects)} objects")
    parts.append(f"{s.modules} modules")
    return ", ".join(parts)


def merged_lazy(suggestions: Sequence[Suggestion], existing: ExistingConfig | None) -> list[str]:
    """The whole ``lazy`` list to configure: the existing names (those not covered by a new
    one), then the suggested names."""
    new = [s.name for s in suggestions]
    kept = [n for n in (existing.lazy if existing else ()) if not _covered(n, new)]
    return [*kept, *new]


def _where_lazy_goes(existing: ExistingConfig) -> str:
    source = existing.lazy_source
    if source and source.startswith("environment "):
        return f"set it in {source.removeprefix('environment ')} (your lazy names come from there)"
    if source and source.startswith("install()"):
        return "pass it as install(lazy=[...]) (your lazy names come from that keyword)"
    if source and source != "default":
        return f"replace `lazy = [...]` in {source} with it; keep the other keys"
    if existing.path is not None:
        return (
            f"put it in the [tool.lazymed] table of {existing.path} (replacing its `lazy`, if "
            "any); keep the other keys"
        )
    return "put it in the [tool.lazymed] table of your pyproject.toml"


def toml_block(
    suggestions: Sequence[Suggestion],
    *,
    min_seconds: float = 0.010,
    min_rss_bytes: int = 1 << 20,
    existing: ExistingConfig | None = None,
    not_suggested: Sequence[Suggestion] = (),
) -> str:
    """The suggestion as TOML text, each new name commented with what deferring it would save
    at start-up (at most).

    Without an ``existing`` configuration: a whole ``[tool.lazymed]`` table. With one: only the
    key ``lazy = [...]``, the merged list (:func:`merged_lazy`: the configured names, then the new
    ones), preceded by comments saying so and where it goes, so that pasting it neither
    duplicates the table nor drops configured names. Each of ``not_suggested`` gets a comment
    line saying why it is left out (used at import time, where).
    """
    lines = list(HEADER)
    for s in not_suggested:
        lines += textwrap.wrap(
            f'Not suggested: "{s.name}" ({_saving(s)}) would save nothing: ' + unused_reason(s),
            88,
            initial_indent="# ",
            subsequent_indent="#   ",
        )
    merged = merged_lazy(suggestions, existing)
    if existing is None:
        lines.append("[tool.lazymed]")
    else:
        where = "the configuration lazymed ran with in the target"
        if not existing.installed:
            where = (
                f"{existing.path or 'your configuration'} (the target did not run "
                "lazymed.install(): those names were imported eagerly)"
            )
        dropped = [n for n in existing.lazy if n not in merged]
        note = (
            f"Merged with {where}: this `lazy` list is the whole list, your "
            f"{len(existing.lazy)} configured name(s) first"
            + (f" ({', '.join(dropped)} now covered by a new name)" if dropped else "")
            + f", then {len(suggestions)} new. To use it, {_where_lazy_goes(existing)}."
        )
        lines += textwrap.wrap(note, 88, initial_indent="# ", subsequent_indent="# ")
    if not suggestions:
        nothing = (
            "nothing third-party your code imports at start-up costs "
            f"{fmt_ms(min_seconds)} ms or {fmt_mib(min_rss_bytes)} MiB"
            + (" outside the names you configured" if existing is not None else "")
        )
        if not merged:
            lines.append(f"lazy = []  # {nothing}")
            return "\n".join(lines) + "\n"
        lines.append(f"# Nothing to add: {nothing}.")
    width = max(len(n) for n in merged) + 3
    lines.append("lazy = [")
    new = {s.name for s in suggestions}
    for name in merged:
        if name not in new:
            entry = f'"{name}",'.ljust(width)  # module names need no escaping
            lines.append(f"    {entry} # configured")
    for s in suggestions:
        entry = f'"{s.name}",'.ljust(width)
        tag = "new: " if existing is not None else ""
        lines.append(f"    {entry} # {tag}{_saving(s)}")
    lines.append("]")
    return "\n".join(lines) + "\n"


def suggestion_toml(report: Report) -> str:
    """:func:`toml_block` for a report's suggestions, thresholds and existing configuration."""
    return toml_block(
        report.suggestions,
        min_seconds=report.suggest_min_seconds,
        min_rss_bytes=report.suggest_min_rss_bytes,
        existing=report.existing,
        not_suggested=report.not_suggested,
    )


def unused_reason(s: Suggestion, limit: int = 3) -> str:
    """``used at import time in app.py:12 (module-level), ...``: why deferring ``s`` saves
    nothing (at most ``limit`` places, then how many more)."""
    places = [os.path.relpath(p) if os.path.isabs(p) else p for p in s.used_at_import]
    shown = ", ".join(places[:limit])
    more = len(places) - limit
    return f"used at import time in {shown}" + (f" and {more} more place(s)" if more > 0 else "")

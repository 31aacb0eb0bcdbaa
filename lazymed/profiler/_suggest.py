"""Which third-party imports could be lazy, what each would save, as a ``[tool.lazymed]`` block."""

from __future__ import annotations

from collections.abc import Sequence

from lazymed.profiler._format import fmt_count, fmt_mib, fmt_ms
from lazymed.profiler._model import Cost, ModuleCost, PackageCost, Report, Suggestion

OWN_PACKAGE = "lazymed"


def suggest(
    modules: Sequence[ModuleCost],
    packages: Sequence[PackageCost],
    *,
    min_seconds: float = 0.010,
    min_rss_bytes: int = 1 << 20,
) -> tuple[Suggestion, ...]:
    """Third-party imports made directly by first-party code (or the target itself) whose
    cumulative cost reaches ``min_seconds`` or ``min_rss_bytes``, largest time first.

    A package pulled in only by another third-party or stdlib module is not suggested: deferring
    its importer covers it, and deferring it alone would not help while its importer stays eager.
    When both ``a`` and ``a.b`` qualify, only ``a`` is named (a lazy name covers its submodules)
    and its figures include ``a.b``'s. The figures are upper bounds: modules that other eager
    imports also need are still loaded at start-up.
    """
    kinds = {p.name: p.kind for p in packages}
    children: dict[int | None, list[ModuleCost]] = {}
    for m in modules:
        children.setdefault(m.parent_id, []).append(m)

    def direct(m: ModuleCost) -> bool:
        if m.error is not None:
            return False
        if m.parent_id is None:
            return True
        parent = modules[m.parent_id]
        return parent.package != m.package and kinds.get(parent.package) == "first-party"

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
        chosen = [m for m in modules if m.package == package.name and direct(m)]
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
                )
            )
    out.sort(key=lambda s: s.cost.seconds, reverse=True)
    return tuple(out)


def _has_ancestor_name(name: str, names: set[str]) -> bool:
    parts = name.split(".")
    return any(".".join(parts[:i]) in names for i in range(1, len(parts)))


def toml_block(
    suggestions: Sequence[Suggestion],
    *,
    min_seconds: float = 0.010,
    min_rss_bytes: int = 1 << 20,
) -> str:
    """The suggested ``[tool.lazymed]`` table as TOML text, each name commented with what
    deferring it would save at start-up (at most)."""
    lines = [
        "# Suggested by `lazymed profile`: third-party imports made directly by your code.",
        "# Each comment is what deferring the name would save at start-up, at most: modules",
        "# that other eager imports also need still load.",
        "[tool.lazymed]",
    ]
    if not suggestions:
        lines.append(
            f"lazy = []  # nothing third-party costs {fmt_ms(min_seconds)} ms or "
            f"{fmt_mib(min_rss_bytes)} MiB"
        )
        return "\n".join(lines) + "\n"
    width = max(len(s.name) for s in suggestions) + 3
    lines.append("lazy = [")
    for s in suggestions:
        entry = f'"{s.name}",'.ljust(width)
        parts = [f"{fmt_ms(s.cost.seconds)} ms"]
        if s.cost.rss_bytes is not None:
            parts.append(f"{fmt_mib(s.cost.rss_bytes)} MiB RSS")
        if s.cost.alloc_bytes is not None:
            parts.append(f"{fmt_mib(s.cost.alloc_bytes)} MiB allocated")
        if s.cost.gc_objects is not None:
            parts.append(f"{fmt_count(s.cost.gc_objects)} objects")
        parts.append(f"{s.modules} modules")
        lines.append(f"    {entry} # {', '.join(parts)}")
    lines.append("]")
    return "\n".join(lines) + "\n"


def suggestion_toml(report: Report) -> str:
    """:func:`toml_block` for a report's suggestions and thresholds."""
    return toml_block(
        report.suggestions,
        min_seconds=report.suggest_min_seconds,
        min_rss_bytes=report.suggest_min_rss_bytes,
    )

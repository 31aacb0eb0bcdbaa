"""The terminal report as plain text (used when rich is not installed, or with --plain)."""

from __future__ import annotations

from lazymed.profiler._model import Report
from lazymed.profiler._suggest import suggestion_toml
from lazymed.profiler._table import (
    Table,
    lazy_table,
    module_table,
    overhead_line,
    package_table,
    summary_lines,
)

MAX_CELL = 60


def _cell(text: str) -> str:
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."


def format_table(table: Table) -> str:
    """``table`` as aligned columns under its title, with a dashed rule around the header."""
    rows = [tuple(_cell(c) for c in row) for row in table.rows]
    footer = tuple(_cell(c) for c in table.footer) if table.footer else None
    headers = tuple(h for h, _ in table.columns)
    widths = [len(h) for h in headers]
    for row in [*rows, *([footer] if footer else [])]:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))

    def line(cells: tuple[str, ...]) -> str:
        parts = []
        for (_, align), width, c in zip(table.columns, widths, cells, strict=True):
            parts.append(c.rjust(width) if align == "r" else c.ljust(width))
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [table.title, line(headers), rule, *(line(r) for r in rows)]
    if footer:
        out += [rule, line(footer)]
    return "\n".join(out)


def render_text(report: Report, *, top: int = 20, sort: str = "time") -> str:
    """The whole terminal report as plain text: summary, packages, modules, overhead,
    warnings and the suggested ``[tool.lazymed]`` block."""
    parts = [
        "\n".join(summary_lines(report)),
        format_table(package_table(report, top, sort)),
        format_table(module_table(report, top, sort)),
    ]
    lazy = lazy_table(report)
    if lazy is not None:
        parts.append(format_table(lazy))
    parts.append(overhead_line(report))
    if report.warnings:
        parts.append("\n".join(f"warning: {w}" for w in report.warnings))
    parts.append(suggestion_toml(report).rstrip("\n"))
    return "\n\n".join(parts) + "\n"

"""The terminal report with rich (the ``cli`` extra); the only module that imports rich."""

from __future__ import annotations

from typing import IO

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table as RichTable
from rich.text import Text

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

# Width used when the output is not a terminal (rich would otherwise wrap at 80 columns).
PIPE_WIDTH = 160


def _rich_table(table: Table) -> RichTable:
    out = RichTable(title=table.title, title_justify="left", show_footer=table.footer is not None)
    for i, (header, align) in enumerate(table.columns):
        out.add_column(
            header,
            justify="right" if align == "r" else "left",
            footer=table.footer[i] if table.footer else "",
            overflow="ellipsis" if header == "imported by" else "fold",
            no_wrap=header == "imported by",
            max_width=70 if header == "imported by" else None,
            style="bold" if i == 0 else None,
        )
    for row in table.rows:
        out.add_row(*row)
    return out


def render_rich(
    report: Report, *, top: int = 20, sort: str = "time", file: IO[str] | None = None
) -> None:
    """Print the terminal report to ``file`` (default stdout) with rich tables."""
    console = Console(file=file, highlight=False)
    if not console.is_terminal:
        console = Console(file=file, highlight=False, width=PIPE_WIDTH)
    summary = summary_lines(report)
    console.print(Text(summary[0], style="bold"))
    for line in summary[1:]:
        console.print(line)
    console.print()
    console.print(_rich_table(package_table(report, top, sort)))
    console.print()
    console.print(_rich_table(module_table(report, top, sort)))
    console.print()
    lazy = lazy_table(report)
    if lazy is not None:
        console.print(_rich_table(lazy))
        console.print()
    console.print(Text(overhead_line(report), style="dim"))
    for warning in report.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
    console.print()
    console.print(
        Syntax(suggestion_toml(report), "toml", theme="ansi_dark", background_color="default")
    )

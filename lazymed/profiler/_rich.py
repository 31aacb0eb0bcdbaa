"""The terminal report with rich (the ``cli`` extra); the only module that imports rich."""

from __future__ import annotations

from typing import IO

from rich.cells import cell_len
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
# Widest a text column gets (characters): the first (package or module name), the others.
NAME_MAX = 40
TEXT_MAX = 60
# Narrowest a text column is squeezed to before the numbers would have to give.
NAME_MIN = 10
TEXT_MIN = 12


def _natural(table: Table, i: int, header: str) -> int:
    """Width column ``i`` needs to show every cell whole (a text column's footer may wrap)."""
    cells = [row[i] for row in table.rows]
    if table.footer and table.columns[i][1] == "r":
        cells.append(table.footer[i])
    return max([cell_len(line) for line in header.split("\n")] + [cell_len(c) for c in cells])


def _word(header: str) -> int:
    """Width of the longest word of a header (a header may wrap between words)."""
    return max(cell_len(word) for word in header.split())


def _headers(table: Table) -> list[str]:
    """Headers as shown: a numeric column's header on two lines (``self\\nms``), so that the
    column is only as wide as its numbers."""
    return [h.replace(" ", "\n") if align == "r" else h for h, align in table.columns]


def _fit(table: Table, shown: list[int], width: int) -> tuple[dict[int, int | None], bool]:
    """Widths of the ``shown`` columns (None: numeric, natural width) within ``width``, and
    whether they fit: text columns are capped, then the widest narrowed down to its floor."""
    headers = _headers(table)
    natural = {i: _natural(table, i, headers[i]) for i in shown}
    text = [i for i in shown if table.columns[i][1] != "r"]
    widths: dict[int, int | None] = dict.fromkeys(shown)
    for i in text:
        widths[i] = min(natural[i], NAME_MAX if i == 0 else TEXT_MAX)
    floors = {
        i: min(natural[i], max(NAME_MIN if i == 0 else TEXT_MIN, _word(headers[i]))) for i in text
    }
    # Collapsed padding and no outer edge: one space and one rule between neighbours.
    fixed = sum(natural[i] for i in shown if i not in text) + 2 * (len(shown) - 1)
    excess = fixed + sum(w or 0 for w in widths.values()) - width
    while excess > 0:
        shrinkable = [i for i in text if (widths[i] or 0) > floors[i]]
        if not shrinkable:
            return widths, False
        widest = max(shrinkable, key=lambda i: (widths[i] or 0, i))
        widths[widest] = (widths[widest] or 0) - 1
        excess -= 1
    return widths, True


def layout(table: Table, width: int) -> dict[int, int | None]:
    """The columns to show in ``width`` terminal columns and the width of each text column
    (None for numeric ones, which keep their natural width: numbers are never cut or wrapped).

    Text columns are capped (:data:`NAME_MAX` for the first, :data:`TEXT_MAX`), then the widest
    is narrowed one character at a time down to :data:`NAME_MIN` / :data:`TEXT_MIN` (or its
    header's longest word); if that is not enough, text columns other than the first are left
    out, rightmost first."""
    shown = list(range(len(table.columns)))
    while True:
        widths, fits = _fit(table, shown, width)
        droppable = [i for i in shown if i != 0 and table.columns[i][1] != "r"]
        if fits or not droppable:
            return widths
        shown.remove(droppable[-1])


def _rich_table(table: Table, width: int = PIPE_WIDTH) -> RichTable:
    """``table`` for a console ``width`` columns wide (see :func:`layout`): numbers never wrap
    or shrink, the name column folds, other text columns end with an ellipsis."""
    widths = layout(table, width)
    hidden = [h for i, (h, _) in enumerate(table.columns) if i not in widths]
    out = RichTable(
        title=table.title,
        title_justify="left",
        caption=(
            f"not shown, the terminal is too narrow: {', '.join(hidden)} (--plain shows all)"
            if hidden
            else None
        ),
        caption_justify="left",
        show_footer=table.footer is not None,
        show_edge=False,
        collapse_padding=True,
        pad_edge=False,
    )
    headers = _headers(table)
    for i, max_width in widths.items():
        numeric = table.columns[i][1] == "r"
        out.add_column(
            headers[i],
            justify="right" if numeric else "left",
            footer=table.footer[i] if table.footer else "",
            no_wrap=i != 0,
            overflow="fold" if i == 0 else "ellipsis",
            max_width=max_width,
            style="bold" if i == 0 else None,
        )
    for row in table.rows:
        out.add_row(*(row[i] for i in widths))
    return out


def render_rich(
    report: Report,
    *,
    top: int = 20,
    sort: str = "time",
    file: IO[str] | None = None,
    width: int | None = None,
) -> None:
    """Print the terminal report to ``file`` (default stdout) with rich tables, ``width``
    columns wide (default: the terminal's, or :data:`PIPE_WIDTH` when not a terminal). Numbers
    stay whole on one line at any width the numeric columns fit in (about 90 columns)."""
    console = Console(file=file, highlight=False, width=width)
    if width is None and not console.is_terminal:
        console = Console(file=file, highlight=False, width=PIPE_WIDTH)
    summary = summary_lines(report)
    console.print(Text(summary[0], style="bold"))
    for line in summary[1:]:
        console.print(line)
    console.print()
    console.print(_rich_table(package_table(report, top, sort), console.width))
    console.print()
    console.print(_rich_table(module_table(report, top, sort), console.width))
    console.print()
    lazy = lazy_table(report)
    if lazy is not None:
        console.print(_rich_table(lazy, console.width))
        console.print()
    console.print(Text(overhead_line(report), style="dim"))
    for warning in report.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
    console.print()
    # soft_wrap: long comment lines are not cut at the console's width (the terminal folds
    # them), so the block can be copied as it is.
    console.print(
        Syntax(suggestion_toml(report), "toml", theme="ansi_dark", background_color="default"),
        soft_wrap=True,
    )

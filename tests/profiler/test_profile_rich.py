"""The rich terminal report at the widths people have: every number whole, on one line.

A report with long module names, deep import chains and wide figures is rendered with rich's
``Console(width=...)``; each row's numeric cells must appear, intact and in order, on one line
of the output. The rich tables used to give the "imported by" column a fixed 70 characters, so
below ~200 columns rich squeezed the numeric columns and wrapped numbers one digit per line.
"""

from __future__ import annotations

import io
import re

import pytest
from test_profile_analysis import SITE, ev, raw, report

from lazymed.profiler import Target
from lazymed.profiler import _analysis as analysis
from lazymed.profiler._model import Overhead, Report
from lazymed.profiler._rich import layout, render_rich
from lazymed.profiler._table import Table, lazy_table, module_table, package_table

pytest.importorskip("rich")  # the cli extra, installed by every tox env that tests


def wide_report() -> Report:
    """Long dotted names, a deep chain, four-digit milliseconds and five-digit object counts."""
    names = [
        "applicationpackage",
        "applicationpackage.services.reporting",
        "google.cloud.storage",
        "google.cloud.storage.batch",
        "postgrest._async.request_builder",
        "postgrest._async.request_builder.helpers",
    ]
    events = []
    for depth, name in enumerate(names):
        t0 = depth * 0.1
        events.append(
            ev(
                name,
                depth - 1,
                t0,
                t0 + 2.5 - depth * 0.3,
                rss=(0, (60 - depth) << 20),
                threads=(1, 1 + depth),
                origin=f"{SITE}/{name.replace('.', '/')}/__init__.py",
            )
        )
    memory = [
        ev(name, depth - 1, 0, 1, mem=(0, (40 - depth) << 20), gc=(0, 123_456 - depth))
        for depth, name in enumerate(names)
    ]
    return report(events, memory)


def numeric_cells(table: Table) -> list[list[str]]:
    """Per row, the right-aligned (numeric) cells that are not empty."""
    right = [i for i, (_, align) in enumerate(table.columns) if align == "r"]
    return [[row[i] for i in right if row[i]] for row in table.rows]


def render(rep: Report, width: int) -> list[str]:
    out = io.StringIO()
    render_rich(rep, top=20, file=out, width=width)
    return out.getvalue().splitlines()


@pytest.mark.parametrize("width", [100, 120])
def test_numbers_are_whole_on_one_line(width: int) -> None:
    rep = wide_report()
    lines = render(rep, width)
    assert max(len(line.rstrip()) for line in lines if "┃" in line or "│" in line) <= width
    tables = [package_table(rep, 20), module_table(rep, 20)]
    checked = 0
    for table in tables:
        for cells in numeric_cells(table):
            pattern = r"(?<![\d.,])" + r"\D+".join(re.escape(c) for c in cells) + r"(?![\d.,])"
            assert any(re.search(pattern, line) for line in lines), (width, cells)
            checked += 1
    assert checked >= 8
    # The widest figures really are there: four-digit milliseconds, six-digit object counts.
    text = "\n".join(lines)
    assert "2,500.0" not in text and "2500.0" in text
    assert "123,456" in text


def test_names_fold_and_chains_end_with_an_ellipsis_when_narrow() -> None:
    rep = wide_report()
    lines = render(rep, 100)
    start = next(i for i, line in enumerate(lines) if line.startswith("Modules by"))
    rows = [line for line in lines[start:] if "│" in line]
    first_column = "".join(line.split("│")[0].strip() for line in rows)
    # The module name column folds long names: every character is kept ...
    for m in rep.modules:
        assert m.name in first_column
    # ... while the "imported by" chains are shortened with an ellipsis, not wrapped.
    assert any(line.rstrip().endswith("…") for line in rows)
    assert len(rows) < 2 * len(rep.modules)


def test_text_columns_are_left_out_before_numbers_are_cut() -> None:
    table = package_table(wide_report(), 20)
    wide = layout(table, 160)
    assert len(wide) == len(table.columns)
    narrow = layout(table, 80)
    headers = [table.columns[i][0] for i in narrow]
    assert "imported by" not in headers and headers[0] == "package"
    assert all(narrow[i] is None for i, (_, a) in enumerate(table.columns) if a == "r")
    lines = render(wide_report(), 80)
    assert any("not shown, the terminal is too narrow: " in line for line in lines)
    for cells in numeric_cells(table):
        pattern = r"\D+".join(re.escape(c) for c in cells)
        assert any(re.search(pattern, line) for line in lines), cells


def test_the_suggested_block_is_not_cut_at_the_console_width() -> None:
    rep = wide_report()
    text = "\n".join(render(rep, 80))
    toml = text[text.index("# Suggested by") :]
    assert rep.suggestions
    for s in rep.suggestions:  # each line whole, although longer than the console
        line = next(line for line in toml.splitlines() if f'"{s.name}"' in line)
        assert line.endswith(f"{s.modules} modules") and len(line) > 80


def test_lazy_table_numbers_are_whole_too() -> None:
    status = [
        {
            "name": f"very.long.package.name.number{i}.with.many.parts",
            "role": "lazy",
            "state": "loaded",
            "load_seconds": 1.2345 + i,
            "rss_growth_bytes": (123 + i) << 20,
            "imported_at": "/srv/application/with/a/long/path/app.py:12",
            "first_used_at": "/srv/application/with/a/long/path/handlers.py:345",
            "error": None,
        }
        for i in range(3)
    ]
    rep = analysis.build_report(
        Target("script", "app.py"),
        raw([ev("app", -1, 0.0, 1.0)], lazymed_status=status),
        None,
        Overhead(1.0, None, None, 0.0),
    )
    table = lazy_table(rep)
    assert table is not None
    lines = render(rep, 100)
    for cells in numeric_cells(table):
        assert any(re.search(r"\D+".join(map(re.escape, cells)), line) for line in lines), cells

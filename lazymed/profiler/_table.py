"""The terminal report's content as rows of text, shared by the plain and the rich views."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from lazymed.profiler._format import chain_text, fmt_count, fmt_mib, fmt_ms, fmt_ratio
from lazymed.profiler._model import Cost, ModuleCost, PackageCost, Report

# --sort choices: how to rank packages and modules.
SORT_KEYS: dict[str, Callable[[Cost, Cost], float]] = {
    "time": lambda own, cum: cum.seconds,
    "self": lambda own, cum: own.seconds,
    "rss": lambda own, cum: cum.metric("rss_bytes"),
    "alloc": lambda own, cum: cum.metric("alloc_bytes"),
    "objects": lambda own, cum: cum.metric("gc_objects"),
}
SORT_TITLES = {
    "time": "cumulative time",
    "self": "self time",
    "rss": "cumulative RSS",
    "alloc": "cumulative Python allocations",
    "objects": "cumulative gc objects",
}


@dataclass(frozen=True)
class Table:
    """A titled table: ``columns`` are (header, "l" or "r" alignment); ``footer`` a totals row."""

    title: str
    columns: tuple[tuple[str, str], ...]
    rows: tuple[tuple[str, ...], ...]
    footer: tuple[str, ...] | None = None


def _cost_cells(own: Cost, cum: Cost) -> tuple[str, ...]:
    return (
        fmt_ms(own.seconds),
        fmt_ms(cum.seconds),
        fmt_mib(cum.rss_bytes),
        fmt_mib(cum.alloc_bytes),
        fmt_count(cum.gc_objects),
        fmt_count(cum.threads),
    )


COST_COLUMNS = (
    ("self ms", "r"),
    ("cum ms", "r"),
    ("RSS MiB", "r"),
    ("alloc MiB", "r"),
    ("objects", "r"),
    ("threads", "r"),
)


def package_table(report: Report, top: int, sort: str = "time") -> Table:
    """The ``top`` top-level packages ranked by ``sort``, with a totals row (top-level imports)."""
    key = SORT_KEYS[sort]
    ranked = sorted(report.packages, key=lambda p: key(p.self_cost, p.cumulative), reverse=True)
    rows = tuple(_package_row(p) for p in ranked[:top])
    totals = report.totals
    return Table(
        title=f"Top-level packages by {SORT_TITLES[sort]} ({len(rows)} of {len(report.packages)})",
        columns=(
            ("package", "l"),
            ("kind", "l"),
            ("modules", "r"),
            *COST_COLUMNS,
            ("C ext", "r"),
            ("imported by", "l"),
        ),
        rows=rows,
        footer=(
            "total (top-level imports)",
            "",
            str(report.run.modules_imported),
            "",
            *_cost_cells(totals, totals)[1:],
            "",
            "",
        ),
    )


def _package_row(p: PackageCost) -> tuple[str, ...]:
    return (
        p.name,
        p.kind,
        str(p.modules) + (f" (+{p.failed} failed)" if p.failed else ""),
        *_cost_cells(p.self_cost, p.cumulative),
        str(len(p.c_extensions)) if p.c_extensions else "",
        chain_text(p.chain),
    )


def module_table(report: Report, top: int, sort: str = "time") -> Table:
    """The ``top`` module loads ranked by ``sort`` (failed imports marked ``!``)."""
    key = SORT_KEYS[sort]
    ranked = sorted(report.modules, key=lambda m: key(m.self_cost, m.cumulative), reverse=True)
    rows = tuple(_module_row(m) for m in ranked[:top])
    return Table(
        title=f"Modules by {SORT_TITLES[sort]} ({len(rows)} of {len(report.modules)})",
        columns=(("module", "l"), *COST_COLUMNS, ("C", "l"), ("imported by", "l")),
        rows=rows,
    )


def _module_row(m: ModuleCost) -> tuple[str, ...]:
    name = m.name if m.error is None else f"{m.name} ! {m.error}"
    return (name, *_cost_cells(m.self_cost, m.cumulative), "C" if m.c_extension else "", _where(m))


def _where(m: ModuleCost) -> str:
    text = chain_text(m.chain)
    if m.imported_at:
        filename, _, line = m.imported_at.rpartition(":")
        text += f" ({os.path.basename(filename)}:{line})"
    return text


def lazy_table(report: Report) -> Table | None:
    """Modules lazymed deferred in the target, as ``lazymed.status()`` reported them (their
    real cost is paid at first use, outside any import); None when lazymed was not installed."""
    status = report.lazymed_status
    if not isinstance(status, list) or not status:
        return None
    rows = []
    for m in status:
        rss = m.get("rss_growth_bytes")
        rows.append(
            (
                str(m.get("name")),
                str(m.get("role")),
                str(m.get("state")),
                fmt_ms(m.get("load_seconds")),
                fmt_mib(rss),
                _short(m.get("imported_at")),
                _short(m.get("first_used_at")),
            )
        )
    return Table(
        title="Registered with lazymed (lazymed.status() in the target)",
        columns=(
            ("module", "l"),
            ("role", "l"),
            ("state", "l"),
            ("load ms", "r"),
            ("RSS MiB", "r"),
            ("imported at", "l"),
            ("first used at", "l"),
        ),
        rows=tuple(rows),
    )


def _short(location: object) -> str:
    if not isinstance(location, str):
        return ""
    filename, _, line = location.rpartition(":")
    return f"{os.path.basename(filename)}:{line}" if filename else location


def summary_lines(report: Report) -> list[str]:
    """Header lines: target, exit status, run and import time, RSS, objects, threads."""
    run = report.run
    status = f"exit {run.exit_code}"
    if run.exception:
        status += f", {run.exception}"
    lines = [
        f"lazymed profile: {report.target.describe()} ({status})",
        f"  run {fmt_ms(run.seconds)} ms, imports {fmt_ms(run.import_seconds)} ms in "
        f"{run.modules_imported} modules ({run.modules_at_startup} loaded at interpreter start)",
    ]
    if run.rss_start_bytes is not None and run.rss_end_bytes is not None:
        rss = f"  RSS {fmt_mib(run.rss_start_bytes)} -> {fmt_mib(run.rss_end_bytes)} MiB"
        if run.rss_peak_bytes is not None:
            rss += f" (peak {fmt_mib(run.rss_peak_bytes)} MiB"
            if run.rss_peak_outside_bytes is not None:
                rss += f"; {fmt_mib(run.rss_peak_outside_bytes)} MiB seen by the parent"
            rss += ")"
        lines.append(rss)
    lines.append(
        f"  gc objects {fmt_count(run.gc_objects_start)} -> {fmt_count(run.gc_objects_end)}, "
        f"threads {run.threads_start} -> {run.threads_end}"
        + (
            f", Python allocations at exit {fmt_mib(run.alloc_end_bytes)} MiB"
            if run.alloc_end_bytes is not None
            else ""
        )
    )
    if run.not_found:
        lines.append("  not found: " + ", ".join(run.not_found))
    return lines


def overhead_line(report: Report) -> str:
    """The tracer's measured overhead in one line."""
    ov = report.overhead
    best = f" (best of {ov.runs})" if ov.runs > 1 else ""
    text = f"Tracer overhead{best}: profiled run {ov.profiled_seconds:.3f} s"
    if ov.plain_seconds is not None:
        text += f" vs plain run {ov.plain_seconds:.3f} s ({fmt_ratio(ov.ratio)})"
    elif report.run.interrupted:
        text += " (no plain run: interrupted)"
    else:
        text += " (no plain run: --no-baseline)"
    if ov.alloc_pass_seconds is not None:
        text += f"; allocation pass {ov.alloc_pass_seconds:.3f} s"
        if ov.alloc_ratio is not None:
            text += f" ({fmt_ratio(ov.alloc_ratio)})"
    text += f"; bookkeeping {fmt_ms(ov.tracer_seconds)} ms, subtracted from the times above"
    return text

"""The demo's side-by-side table and its notes, rendered from the ``lazymed.demo/1`` document
(so a saved ``--json`` document renders the same), as plain text or with rich."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lazymed.demo._measure import median
from lazymed.demo._model import MB, MIB, Document


def _groups(runs: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The document's runs grouped by mode and profile, in order of first appearance: one
    group per column, each holding the ``--repeat`` runs of that mode."""
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["mode"], run["profile"]), []).append(run)
    return list(groups.values())


@dataclass(frozen=True)
class Row:
    """One table row: its section, label, target text, and per run the formatted value, whether
    the target was met (None: no target) and the raw number (None: not a number)."""

    section: str
    label: str
    target: str
    texts: tuple[str, ...]
    met: tuple[bool | None, ...]
    values: tuple[float | None, ...]

    def ratio(self) -> str:
        """``last / first`` run as ``0.23x`` (lazy against eager), or "" when not numeric."""
        first, last = self.values[0], self.values[-1]
        if len(self.values) < 2 or first is None or last is None or first == 0:
            return ""
        return f"{last / first:.2f}x"


def _mib(value: float) -> str:
    return f"{value / MIB:,.1f} MiB"


def _seconds(value: float) -> str:
    return f"{value * 1000:,.0f} ms" if value < 1 else f"{value:,.2f} s"


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _target_text(value: float, fmt: Callable[[float], str]) -> str:
    if fmt is _mib:  # the story's targets are decimal megabytes: both spellings
        return f"< {value / MIB:,.1f} MiB ({value / MB:g} MB)"
    if fmt is _seconds:
        return f"< {value * 1000:g} ms" if value < 1 else f"< {value:g} s"
    return f"< {value:,.0f}"


def _lazy_roots(phase: dict[str, Any]) -> str | None:
    """ "loaded of registered" over the top-level registered names (not their submodules), with
    the disabled ones counted apart; None without lazymed."""
    info = phase.get("lazymed")
    if not info:
        return None
    modules = info["modules"]
    roots = [
        name
        for name, rec in modules.items()
        if rec["role"] in ("lazy", "disabled")
        and not any(name.startswith(other + ".") for other in modules if other != name)
    ]
    loaded = sum(modules[name]["state"] == "loaded" for name in roots)
    disabled = sum(modules[name]["role"] == "disabled" for name in roots)
    return f"{loaded} of {len(roots)}" + (f" ({disabled} disabled)" if disabled else "")


def table_rows(result: Document) -> list[Row]:
    """The side-by-side table, one :class:`Row` per measure, in display order; one column per
    mode, each figure the median of that mode's runs."""
    groups = _groups(result["runs"])
    targets = result["targets"]
    start, rag = "after start-up", "after the first RAG request"

    def metric(
        section: str,
        label: str,
        get: Callable[[dict[str, Any]], float],
        fmt: Callable[[float], str],
        target_key: str | None,
    ) -> Row:
        limit = targets[target_key] if target_key else None
        values = tuple(float(median([get(run) for run in group])) for group in groups)
        return Row(
            section=section,
            label=label,
            target="" if limit is None else _target_text(limit, fmt),
            texts=tuple(fmt(v) for v in values),
            met=tuple(None if limit is None else v < limit for v in values),
            values=values,
        )

    def phase_rows(section: str, phase: str) -> list[Row]:
        def field(where: str, key: str) -> Callable[[dict[str, Any]], float]:
            return lambda run: float(run["phases"][phase][where][key])

        rows = [
            metric(section, "RSS", field("outside", "rss_bytes"), _mib, "rss_bytes"),
            metric(section, "VMS", field("outside", "vms_bytes"), _mib, "vms_bytes"),
            metric(section, "threads", field("outside", "threads"), _count, "threads"),
            metric(section, "gc objects", field("inside", "gc_objects"), _count, "gc_objects"),
            metric(section, "modules (sys.modules)", field("inside", "modules"), _count, None),
            metric(
                section,
                "process tree RSS (server + workers)",
                field("outside", "tree_rss_bytes"),
                _mib,
                None,
            ),
        ]
        texts = []
        for group in groups:
            roots = _lazy_roots(group[0]["phases"][phase])
            texts.append("all (eager)" if roots is None else roots)
        rows.append(
            Row(
                section,
                "heavy packages loaded",
                "",
                tuple(texts),
                tuple(None for _ in groups),
                tuple(None for _ in groups),
            )
        )
        return rows

    def requests(key: str) -> Callable[[dict[str, Any]], float]:
        return lambda run: float(run["requests"][key])

    return [
        metric(start, "start-up time", lambda r: r["startup_seconds"], _seconds, "startup_seconds"),
        *phase_rows(start, "startup"),
        metric(
            start,
            "first triage response",
            requests("first_triage_seconds"),
            _seconds,
            "response_seconds",
        ),
        metric(
            rag, "first RAG response", requests("first_rag_seconds"), _seconds, "response_seconds"
        ),
        *phase_rows(rag, "after_first_rag"),
        *_tree_ratio_row(rag, groups, targets),
        metric(
            rag,
            "warm RAG response (median)",
            requests("warm_rag_median_seconds"),
            _seconds,
            "response_seconds",
        ),
    ]


def _tree_ratio_row(
    section: str, groups: Sequence[Sequence[dict[str, Any]]], targets: dict[str, Any]
) -> list[Row]:
    """Each mode's process tree after the first RAG request over the eager process's (medians);
    held against ``tree_rss_vs_eager`` (at most). Only when eager and isolated both ran."""
    modes = [group[0]["mode"] for group in groups]
    limit = targets.get("tree_rss_vs_eager")
    if "eager" not in modes or "isolated" not in modes or limit is None:
        return []

    def tree(group: Sequence[dict[str, Any]]) -> float:
        return float(
            median([run["phases"]["after_first_rag"]["outside"]["tree_rss_bytes"] for run in group])
        )

    eager = tree(groups[modes.index("eager")])
    values = tuple(tree(group) / eager for group in groups)
    return [
        Row(
            section,
            "process tree RSS / eager",
            f"<= {limit:g}x (isolated)",
            tuple(f"{v:.2f}x" for v in values),
            tuple(
                v <= limit if g[0]["mode"] == "isolated" else None
                for v, g in zip(values, groups, strict=True)
            ),
            values,
        )
    ]


def _run_title(run: dict[str, Any]) -> str:
    return run["mode"] if run["profile"] is None else f"{run['mode']} (profile {run['profile']})"


def footnotes(result: Document) -> list[str]:
    """Sentences printed under the table: units, how it was measured and how many runs each
    verdict rests on, the cross-checks, identical answers, and what the lazy app's first use of
    a heavy package cost."""
    groups = _groups(result["runs"])
    repeat = len(groups[0]) if groups else 1
    notes = [
        "Memory in MiB (2^20 bytes), like `lazymed profile`; the story's targets are decimal "
        f"megabytes (50 MB = {50 * MB / MIB:.1f} MiB). RSS, VMS and threads: psutil on the "
        "child's pid, read by this process; gc objects (after gc.collect()) and modules: "
        "reported by the child; times: client side over loopback HTTP.",
        (
            "Each figure and verdict comes from a single run per mode: a busy machine can move "
            "times by tens of percent; --repeat N takes the median of N runs per mode."
            if repeat == 1
            else f"Each figure and verdict is the median of {repeat} runs per mode (the JSON "
            "document has every run and, per check, every sample)."
        ),
    ]
    for group in groups:
        title = _run_title(group[0])
        gaps = [
            abs(phase["inside"]["rss_bytes"] - phase["outside"]["rss_bytes"])
            for run in group
            for phase in run["phases"].values()
            if phase["inside"]["rss_bytes"] is not None
        ]
        problems = [
            p for run in group for phase in run["phases"].values() for p in phase["disagreements"]
        ]
        pids = ", ".join(str(run["pid"]) for run in group)
        if problems:
            notes.append(f"{title}: outside and inside readings DISAGREE: {'; '.join(problems)}")
            continue
        ready = [run["child_ready_after_seconds"] for run in group]
        late = [run for run in group if not run["startup_agree"]]
        notes.append(
            f"{title} (pid {pids}): the child's own /proc/self readings agree with psutil "
            f"(largest RSS gap {max(gaps, default=0) / MIB:.2f} MiB); it saw itself listening "
            + ", ".join(f"{r} s" for r in ready)
            + " after it started"
            + (
                "."
                if not late
                else f", which DISAGREES with the client's start-up time in {len(late)} run(s)."
            )
        )
    if result["identical_responses"]:
        notes.append("Every mode gave byte-identical JSON to the first triage and RAG requests.")
    else:
        notes.append("The modes gave DIFFERENT responses to the same requests.")
    for group in groups:
        waits = [run.get("services_ready_seconds") for run in group]
        if any(w is not None for w in waits):
            notes.append(
                f"{_run_title(group[0])}: the RAG index runs in a lazymed.isolate worker started "
                "at install() (warm = true); the demo waited "
                + ", ".join(f"{w:.2f} s" for w in waits if w is not None)
                + " after the server was ready for it to be running (GET /healthz) before "
                "measuring. Process tree RSS: the server and its workers, read with psutil."
            )
    for group in groups:
        loads: dict[str, list[float]] = {}
        for run in group:
            info = run["phases"]["after_first_rag"].get("lazymed")
            for name, rec in (info or {}).get("modules", {}).items():
                if rec["state"] == "loaded" and rec["role"] == "lazy" and rec.get("load_seconds"):
                    loads.setdefault(name, []).append(rec["load_seconds"])
        costs = [
            f"{name} ({median(seconds):.2f} s)"
            for name, seconds in loads.items()
            if median(seconds) >= 0.05
        ]
        if costs:
            notes.append(
                f"{_run_title(group[0])}: the first RAG request paid for the deferred import of "
                f"{', '.join(costs)}, as lazymed.status() reports it; later requests do not."
            )
    return notes


def _cell(text: str, met: bool | None, width: int) -> str:
    return text.rjust(width) + ("" if met is None else ("  met" if met else "  MISSED"))


def render_plain(result: Document, width: int = 100) -> str:
    """The side-by-side table and its notes as plain text (``width`` wraps the notes)."""
    import textwrap

    runs = [group[0] for group in _groups(result["runs"])]  # one column per mode
    rows = table_rows(result)
    header = ["", "target", *(_column_title(result, run) for run in runs)]
    if len(runs) == 2:
        header.append(f"{runs[1]['mode']}/{runs[0]['mode']}")
    value_widths = [max(len(row.texts[i]) for row in rows) for i in range(len(runs))]
    lines: list[list[str]] = []
    section = None
    for row in rows:
        if row.section != section:
            lines.append([row.section] + [""] * (len(header) - 1))
            section = row.section
        cells = [_cell(t, m, w) for t, m, w in zip(row.texts, row.met, value_widths, strict=True)]
        lines.append(
            [f"  {row.label}", row.target, *cells, *([row.ratio()] if len(runs) == 2 else [])]
        )
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    out = [_title(result), ""]
    for line in [header, *lines]:
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    out.append("")
    for note in [*footnotes(result), _summary_line(result)]:
        out.extend(textwrap.wrap(note, width, subsequent_indent="  "))
    return "\n".join(out)


def _title(result: Document) -> str:
    repeat = result.get("repeat", 1)
    runs = (
        "one fresh interpreter per mode"
        if repeat == 1
        else f"{repeat} fresh interpreters per mode, medians shown"
    )
    return (
        f"lazymed demo: {result['app_dir']} -- Python {result['python']}, "
        f"{result['cpu_count']} CPUs, {runs}"
    )


def _column_title(result: Document, run: dict[str, Any]) -> str:
    repeat = result.get("repeat", 1)
    return _run_title(run) + ("" if repeat == 1 else f" (median of {repeat})")


def _summary_line(result: Document) -> str:
    parts = [f"{key}: {v['met']} met, {v['missed']} missed" for key, v in result["summary"].items()]
    return "Targets -- " + "; ".join(parts) + "."


def render_rich(result: Document, console: Any) -> None:
    """Print the table with rich to ``console`` (a ``rich.console.Console``)."""
    from rich.table import Table
    from rich.text import Text

    runs = [group[0] for group in _groups(result["runs"])]  # one column per mode
    table = Table()
    table.add_column("")
    table.add_column("target", style="dim")
    for run in runs:
        table.add_column(_column_title(result, run), justify="right")
    if len(runs) == 2:
        table.add_column(f"{runs[1]['mode']}/{runs[0]['mode']}", justify="right", style="cyan")
    section = None
    for row in table_rows(result):
        if row.section != section:
            table.add_row(Text(row.section, style="bold"), *([""] * (len(table.columns) - 1)))
            section = row.section
        cells = []
        for text, met in zip(row.texts, row.met, strict=True):
            if met is None:
                cells.append(Text(text))
            else:
                cells.append(
                    Text(
                        f"{text}  {'met' if met else 'missed'}",
                        style="green" if met else "bold red",
                    )
                )
        table.add_row(
            f"  {row.label}", row.target, *cells, *([row.ratio()] if len(runs) == 2 else [])
        )
    console.print(_title(result), highlight=False)
    console.print(table)
    for note in [*footnotes(result), _summary_line(result)]:
        console.print(note, highlight=False)

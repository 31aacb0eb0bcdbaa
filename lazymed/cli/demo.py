"""``lazymed demo``: the reference medical app started eager and lazy, measured side by side.

Each mode runs in a fresh interpreter (``examples/medical_app/serve.py``) serving on
``127.0.0.1`` with an ephemeral port. The demo is its HTTP client and its outside observer:

* **start-up time**: from just before the child is spawned to its first ``GET /healthz`` 200;
* **RSS, VMS, threads**: ``psutil`` on the child's pid, read from this process, cross-checked
  against what the child reads from its own ``/proc/self/status`` (``GET /_demo/introspect``);
* **gc objects, modules**: reported by the child (``len(gc.get_objects())`` after
  ``gc.collect()``, ``len(sys.modules)``): nothing outside a process can count them;
* **response times**: around the client's HTTP call, for the first triage request, the first
  RAG request and the median of the next warm RAG requests.

Figures are taken after start-up and again after the first RAG request, and compared with the
targets in :data:`TARGETS`; each is marked met or missed from the measurement, nothing else.

Each mode runs once by default, so every verdict rests on a single sample; ``--repeat N`` runs
each mode N times and judges the median. Memory is shown in MiB (2^20 bytes, as ``lazymed
profile`` does); the story's targets are decimal MB (10^6 bytes) and are shown both ways.

``--json`` prints one JSON document (schema ``lazymed.demo/1``) instead of the table: every run,
every check (the median of that mode's runs, with its samples) and a summary, memory in bytes and
times in seconds. docs/demo.md documents it key by key (a test compares that table with real
output). Exit status: 0 when every run completed, the cross-checks agree and the responses are
identical (missed targets are reported, not failed); 1 otherwise; 2 for a usage error or when
the app or its packages cannot be found.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lazymed.cli._measure import ChildServer, Response

SCHEMA = "lazymed.demo/1"
MB = 1_000_000  # the story's memory targets are decimal megabytes ...
MIB = 1 << 20  # ... shown, like every figure, in MiB (as `lazymed profile` does)

#: Targets from the project's story: the lazy app must start within them.
TARGETS: dict[str, float] = {
    "startup_seconds": 5.0,
    "rss_bytes": 50 * MB,
    "vms_bytes": 200 * MB,
    "threads": 8,
    "gc_objects": 50_000,
    "response_seconds": 0.2,
}

#: The packages the eager app imports at start-up (the warm-up imports them once, untimed).
HEAVY_MODULES = ("flask", "google.cloud.storage", "firebase_admin", "supabase", "llama_index.core")

TRIAGE_REQUEST: dict[str, Any] = {
    "age": 81,
    "complaint": "new confusion and fever, urine smells strong",
    "pain": 2,
    "vitals": {
        "respiratory_rate": 24,
        "spo2": 93,
        "on_oxygen": False,
        "systolic_bp": 96,
        "heart_rate": 118,
        "consciousness": "C",
        "temperature": 38.9,
    },
}
RAG_REQUEST: dict[str, Any] = {
    "question": "wasp sting with swollen lips and low blood pressure: which drug first?",
    "top_k": 3,
}

STEPS_PER_RUN = 7
STARTUP_TIMEOUT = 120.0


class DemoError(RuntimeError):
    """The demo could not complete: a child failed to start or answered badly."""


class DemoSetupError(DemoError):
    """The demo cannot start: the app directory or the app's packages are missing."""


class Progress(Protocol):
    """Receives one call per step; ``message`` is a short human phrase."""

    def __call__(self, message: str) -> None: ...


def _no_progress(message: str) -> None:
    return None


# --------------------------------------------------------------------------- locating the app


def find_app_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The medical app directory: ``explicit`` if given, else ``./examples/medical_app``, else
    ``examples/medical_app`` beside the ``lazymed`` package (a source checkout).

    Raises DemoSetupError when none holds ``serve.py`` and ``pyproject.toml``.
    """
    if explicit is not None:
        candidates = [Path(explicit)]
    else:
        candidates = [
            Path.cwd() / "examples" / "medical_app",
            _lazymed_root() / "examples" / "medical_app",
        ]
    for candidate in candidates:
        if (candidate / "serve.py").is_file() and (candidate / "pyproject.toml").is_file():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise DemoSetupError(
        f"medical app not found (looked in {tried}); run from a lazymed source checkout or pass "
        "--app-dir"
    )


def _lazymed_root() -> Path:
    """The directory that contains the ``lazymed`` package this code runs from."""
    return Path(__file__).resolve().parent.parent.parent


# --------------------------------------------------------------------------- one run


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _agreement(outside: dict[str, Any], after: dict[str, Any], inside: dict[str, Any]) -> list[str]:
    """Where the child's own reading lies outside the band of the two psutil readings taken
    around it. Tolerance: 2 MiB or 5 % for memory, none for threads."""
    problems = []
    for key in ("rss_bytes", "vms_bytes", "threads"):
        value = inside.get(key)
        if value is None:
            problems.append(f"{key}: the child could not read /proc/self/status")
            continue
        low, high = sorted((outside[key], after[key]))
        slack = 0 if key == "threads" else max(2 * 1024 * 1024, 0.05 * high)
        if not low - slack <= value <= high + slack:
            problems.append(
                f"{key}: child reports {value}, psutil read {outside[key]} then {after[key]}"
            )
    return problems


def _outside(pid: int) -> dict[str, Any]:
    from lazymed.cli._measure import read_process

    reading: dict[str, Any] = read_process(pid).as_dict()
    reading["unix_time"] = time.time()
    return reading


def _phase(server: ChildServer) -> dict[str, Any]:
    outside = _outside(server.pid)
    report = server.get_json("/_demo/introspect")
    after = _outside(server.pid)
    keys = ("rss_bytes", "vms_bytes", "threads", "gc_objects", "modules")
    inside = {key: report.get(key) for key in keys}
    problems = _agreement(outside, after, inside)
    return {
        "outside": outside,
        "outside_after": after,
        "inside": inside,
        "lazymed": report.get("lazymed"),
        "agree": not problems,
        "disagreements": problems,
    }


def _request_ok(server: ChildServer, method: str, path: str, body: Any) -> Response:
    answer = server.request(method, path, body)
    if answer.status != 200:
        raise DemoError(f"{method} {path} answered {answer.status}: {answer.body[:300]!r}")
    return answer


def measure_run(
    app_dir: Path,
    mode: str,
    *,
    profile: str | None = None,
    warm_requests: int = 5,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """Start the app in ``mode`` ("eager" or "lazy", the latter optionally under ``profile``)
    in a fresh interpreter, measure it, stop it. Returns a ``Run`` (see the module docstring).

    Raises DemoError (with the child's stderr) if the child fails.
    """
    from lazymed.cli._measure import ChildError, ChildServer, child_env

    label = mode if profile is None else f"{mode}/{profile}"
    env = child_env(
        os.environ,
        {
            "MEDICAL_APP_LAZY": "1" if mode == "lazy" else "0",
            "MEDICAL_APP_PROFILE": profile or "",
            "MEDICAL_APP_INTROSPECT": "1",
        },
        [app_dir, _lazymed_root()],
    )
    argv = [sys.executable, str(app_dir / "serve.py"), "--host", "127.0.0.1", "--port", "0"]
    server = ChildServer(argv, env=env, cwd=app_dir)
    try:
        progress(f"{label}: starting a fresh interpreter")
        server.start()
        startup = server.wait_ready(STARTUP_TIMEOUT)
        progress(f"{label}: ready in {startup:.2f} s, measuring")
        first_phase = _phase(server)
        progress(f"{label}: first triage request")
        triage = _request_ok(server, "POST", "/triage", TRIAGE_REQUEST)
        progress(f"{label}: first RAG request")
        rag = _request_ok(server, "POST", "/rag", RAG_REQUEST)
        progress(f"{label}: measuring after the first RAG request")
        rag_phase = _phase(server)
        progress(f"{label}: {warm_requests} warm RAG requests")
        warm = [
            _request_ok(server, "POST", "/rag", RAG_REQUEST).seconds for _ in range(warm_requests)
        ]
        progress(f"{label}: stopping")
        pid = server.pid
        ready_after = server.ready.get("ready_after_seconds")
    except ChildError as exc:
        raise DemoError(f"{label}: {exc}") from exc
    finally:
        status = server.stop()
    startup_agree = ready_after is not None and abs(startup - ready_after) <= 0.25 + 0.1 * startup
    top = rag.json()["results"][0]["note_id"] if rag.json().get("results") else ""
    return {
        "mode": mode,
        "profile": profile,
        "pid": pid,
        "startup_seconds": startup,
        "child_ready_after_seconds": ready_after,
        "startup_agree": startup_agree,
        "phases": {"startup": first_phase, "after_first_rag": rag_phase},
        "requests": {
            "first_triage_seconds": triage.seconds,
            "first_rag_seconds": rag.seconds,
            "warm_rag_seconds": warm,
            "warm_rag_median_seconds": statistics.median(warm) if warm else rag.seconds,
        },
        "responses": {
            "triage_sha256": _sha256(triage.body),
            "rag_sha256": _sha256(rag.body),
            "rag_top_note": top,
        },
        "exit_status": status,
    }


# --------------------------------------------------------------------------- the whole demo


def warm_file_cache(app_dir: Path) -> None:
    """Import the heavy packages once in a throw-away interpreter (untimed), so that the first
    measured run does not pay alone for reading them from disk. Raises DemoSetupError naming
    what is missing."""
    from lazymed.cli._measure import child_env

    env = child_env(os.environ, {}, [app_dir, _lazymed_root()])
    code = "import " + ", ".join(HEAVY_MODULES)
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=app_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise DemoSetupError(
            "the medical app's packages are not importable "
            f"({lines[-1] if lines else f'exit status {done.returncode}'}); "
            "install them with: pip install 'lazymed[real,cli]' (or: pip install flask "
            "google-cloud-storage firebase-admin supabase llama-index-core)"
        )


def group_runs(runs: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``runs`` grouped by (mode, profile), in order of first appearance: one group per column
    of the table (eager, then lazy), each holding the ``--repeat`` runs of that mode."""
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["mode"], run["profile"]), []).append(run)
    return list(groups.values())


def _median(values: list[float]) -> float:
    """The median, kept an ``int`` when it is one of the values (odd count, or equal middles)."""
    middle = statistics.median(values)
    return (
        int(middle) if all(isinstance(v, int) for v in values) and middle == int(middle) else middle
    )


def _checks(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One check per metric for one group of runs of the same mode and profile: the median of
    the runs' values (``samples``, in run order) against the target."""
    out = []
    first = runs[0]

    def add(
        phase: str, metric: str, get: Callable[[dict[str, Any]], float], target_key: str
    ) -> None:
        target = TARGETS[target_key]
        samples = [get(run) for run in runs]
        value = _median(samples)
        out.append(
            {
                "mode": first["mode"],
                "profile": first["profile"],
                "phase": phase,
                "metric": metric,
                "value": value,
                "target": target,
                "met": value < target,
                "samples": samples,
            }
        )

    def outside(phase: str, key: str) -> Callable[[dict[str, Any]], float]:
        return lambda run: run["phases"][phase]["outside"][key]

    def inside(phase: str, key: str) -> Callable[[dict[str, Any]], float]:
        return lambda run: run["phases"][phase]["inside"][key]

    def request(key: str) -> Callable[[dict[str, Any]], float]:
        return lambda run: run["requests"][key]

    add("startup", "startup_seconds", lambda run: run["startup_seconds"], "startup_seconds")
    for phase in ("startup", "after_first_rag"):
        add(phase, "rss_bytes", outside(phase, "rss_bytes"), "rss_bytes")
        add(phase, "vms_bytes", outside(phase, "vms_bytes"), "vms_bytes")
        add(phase, "threads", outside(phase, "threads"), "threads")
        add(phase, "gc_objects", inside(phase, "gc_objects"), "gc_objects")
        if phase == "startup":
            add(phase, "first_triage_seconds", request("first_triage_seconds"), "response_seconds")
        else:
            add(phase, "first_rag_seconds", request("first_rag_seconds"), "response_seconds")
            add(
                phase,
                "warm_rag_median_seconds",
                request("warm_rag_median_seconds"),
                "response_seconds",
            )
    return out


def run_demo(
    app_dir: str | os.PathLike[str] | None = None,
    *,
    profile: str | None = None,
    warmup: bool = True,
    warm_requests: int = 5,
    repeat: int = 1,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """Run the eager and the lazy app one after the other (``repeat`` times: eager, lazy,
    eager, lazy, ...) and return the JSON document described in docs/demo.md. ``profile``
    applies to the lazy runs only. Each target is judged on the median of the ``repeat`` runs
    of a mode.

    Raises DemoSetupError when the app or its packages are missing, DemoError when a child
    fails, ValueError when ``repeat`` < 1.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    directory = find_app_dir(app_dir)
    if warmup:
        progress("warming the file cache (one untimed import of the heavy packages)")
        warm_file_cache(directory)
    runs = []
    for _ in range(repeat):
        runs.append(measure_run(directory, "eager", warm_requests=warm_requests, progress=progress))
        runs.append(
            measure_run(
                directory, "lazy", profile=profile, warm_requests=warm_requests, progress=progress
            )
        )
    checks = [check for group in group_runs(runs) for check in _checks(group)]
    summary = {}
    for group in group_runs(runs):
        run = group[0]
        key = run["mode"] if run["profile"] is None else f"{run['mode']}/{run['profile']}"
        mine = [c for c in checks if c["mode"] == run["mode"] and c["profile"] == run["profile"]]
        summary[key] = {
            "met": sum(c["met"] for c in mine),
            "missed": sum(not c["met"] for c in mine),
        }
    identical = all(
        run["responses"]["rag_sha256"] == runs[0]["responses"]["rag_sha256"]
        and run["responses"]["triage_sha256"] == runs[0]["responses"]["triage_sha256"]
        for run in runs
    )
    agree = all(
        run["startup_agree"] and all(phase["agree"] for phase in run["phases"].values())
        for run in runs
    )
    return {
        "schema": SCHEMA,
        "app_dir": str(directory),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count() or 1,
        "units": {"memory": "bytes", "time": "seconds"},
        "warmup": warmup,
        "repeat": repeat,
        "targets": dict(TARGETS),
        "runs": runs,
        "checks": checks,
        "identical_responses": identical,
        "cross_checks_agree": agree,
        "summary": summary,
    }


# --------------------------------------------------------------------------- presentation


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


def table_rows(result: dict[str, Any]) -> list[Row]:
    """The side-by-side table, one :class:`Row` per measure, in display order; one column per
    mode (:func:`group_runs`), each figure the median of that mode's runs."""
    groups = group_runs(result["runs"])
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
        values = tuple(float(_median([get(run) for run in group])) for group in groups)
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
        metric(
            rag,
            "warm RAG response (median)",
            requests("warm_rag_median_seconds"),
            _seconds,
            "response_seconds",
        ),
    ]


def _run_title(run: dict[str, Any]) -> str:
    return run["mode"] if run["profile"] is None else f"{run['mode']} (profile {run['profile']})"


def footnotes(result: dict[str, Any]) -> list[str]:
    """Sentences printed under the table: units, how it was measured and how many runs each
    verdict rests on, the cross-checks, identical answers, and what the lazy app's first use of
    a heavy package cost."""
    groups = group_runs(result["runs"])
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
        notes.append("Both modes gave byte-identical JSON to the first triage and RAG requests.")
    else:
        notes.append("The modes gave DIFFERENT responses to the same requests.")
    for group in groups:
        loads: dict[str, list[float]] = {}
        for run in group:
            info = run["phases"]["after_first_rag"].get("lazymed")
            for name, rec in (info or {}).get("modules", {}).items():
                if rec["state"] == "loaded" and rec["role"] == "lazy" and rec.get("load_seconds"):
                    loads.setdefault(name, []).append(rec["load_seconds"])
        costs = [
            f"{name} ({_median(seconds):.2f} s)"
            for name, seconds in loads.items()
            if _median(seconds) >= 0.05
        ]
        if costs:
            notes.append(
                f"{_run_title(group[0])}: the first RAG request paid for the deferred import of "
                f"{', '.join(costs)}, as lazymed.status() reports it; later requests do not."
            )
    return notes


def _cell(text: str, met: bool | None, width: int) -> str:
    return text.rjust(width) + ("" if met is None else ("  met" if met else "  MISSED"))


def render_plain(result: dict[str, Any], width: int = 100) -> str:
    """The side-by-side table and its notes as plain text (``width`` wraps the notes)."""
    import textwrap

    runs = [group[0] for group in group_runs(result["runs"])]  # one column per mode
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


def _title(result: dict[str, Any]) -> str:
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


def _column_title(result: dict[str, Any], run: dict[str, Any]) -> str:
    repeat = result.get("repeat", 1)
    return _run_title(run) + ("" if repeat == 1 else f" (median of {repeat})")


def _summary_line(result: dict[str, Any]) -> str:
    parts = [f"{key}: {v['met']} met, {v['missed']} missed" for key, v in result["summary"].items()]
    return "Targets -- " + "; ".join(parts) + "."


def render_rich(result: dict[str, Any], console: Any) -> None:
    """Print the table with rich to ``console`` (a ``rich.console.Console``)."""
    from rich.table import Table
    from rich.text import Text

    runs = [group[0] for group in group_runs(result["runs"])]  # one column per mode
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


# --------------------------------------------------------------------------- command line


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``demo`` on the ``lazymed`` command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run the reference medical app eager and lazy, side by side",
        description=(
            "Start examples/medical_app eager and with lazymed, each in a fresh interpreter "
            "serving on 127.0.0.1, and compare start-up time, RSS, VMS, threads, gc objects, "
            "modules and response times against the targets."
        ),
    )
    parser.add_argument(
        "--json", action="store_true", help="print the lazymed.demo/1 JSON document"
    )
    parser.add_argument(
        "--profile", metavar="NAME", help="run the lazy app under this lazymed profile"
    )
    parser.add_argument(
        "--app-dir", metavar="DIR", help="the medical app (default: examples/medical_app)"
    )
    parser.add_argument(
        "--warm-requests",
        type=int,
        default=5,
        metavar="N",
        help="warm RAG requests timed (default 5)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each mode N times (eager, lazy, eager, lazy, ...) and judge the targets on "
        "the median of each mode (default 1: single samples)",
    )
    parser.add_argument(
        "--no-warmup", action="store_true", help="skip the untimed import that warms the file cache"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def _progress_reporter(quiet: bool, total: int) -> tuple[Progress, Callable[[], None]]:
    """A progress callback on stderr (rich on a terminal, plain lines otherwise) and its closer."""
    if quiet:
        return _no_progress, lambda: None
    if sys.stderr.isatty():
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )
        except ImportError:
            pass
        else:
            bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            task = bar.add_task("lazymed demo", total=total)
            bar.start()

            def rich_step(message: str) -> None:
                bar.update(task, description=message, advance=1)

            return rich_step, bar.stop

    def plain_step(message: str) -> None:
        print(f"[lazymed demo] {message}", file=sys.stderr, flush=True)

    return plain_step, lambda: None


def run(args: argparse.Namespace) -> int:
    """Run the demo; print the table (or JSON). Exit status as in the module docstring."""
    if args.warm_requests < 1:
        print("lazymed demo: --warm-requests must be at least 1", file=sys.stderr)
        return 2
    if args.repeat < 1:
        print("lazymed demo: --repeat must be at least 1", file=sys.stderr)
        return 2
    total = 2 * args.repeat * STEPS_PER_RUN + (0 if args.no_warmup else 1)
    progress, close = _progress_reporter(args.quiet, total)
    try:
        result = run_demo(
            args.app_dir,
            profile=args.profile,
            warmup=not args.no_warmup,
            warm_requests=args.warm_requests,
            repeat=args.repeat,
            progress=progress,
        )
    except DemoError as exc:
        close()
        print(f"lazymed demo: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, DemoSetupError) else 1
    close()
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_table(result)
    ok = result["identical_responses"] and result["cross_checks_agree"]
    return 0 if ok else 1


def _print_table(result: dict[str, Any]) -> None:
    """rich on a terminal when rich is installed, plain text otherwise (pipes, files, CI logs)."""
    if sys.stdout.isatty():
        try:
            from rich.console import Console
        except ImportError:
            pass
        else:
            render_rich(result, Console())
            return
    print(render_plain(result))

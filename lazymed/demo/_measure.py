"""One measured run of the app, and the whole demo: runs of each mode, checks against targets."""

from __future__ import annotations

import hashlib
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lazymed.demo._app import (
    HEAVY_MODULES,
    RAG_REQUEST,
    TRIAGE_REQUEST,
    find_app_dir,
    package_parent,
)
from lazymed.demo._child import ChildError, ChildServer, Response, child_env, read_process
from lazymed.demo._model import (
    PHASES,
    SCHEMA,
    TARGETS,
    Check,
    DemoError,
    DemoSetupError,
    Document,
    InsideReading,
    OutsideReading,
    Phase,
    Progress,
    Requests,
    Responses,
    Run,
    no_progress,
)
from lazymed.demo._modes import DEFAULT_MODES, MODES, mode_env

#: Progress steps one run reports (the CLI sizes its progress bar with it).
STEPS_PER_RUN = 7
STARTUP_TIMEOUT = 120.0


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _agreement(outside: OutsideReading, after: OutsideReading, inside: InsideReading) -> list[str]:
    """Where the child's own reading lies outside the band of the two psutil readings taken
    around it. Tolerance: 2 MiB or 5 % for memory, none for threads."""
    problems = []
    for key in ("rss_bytes", "vms_bytes", "threads"):
        value = getattr(inside, key)
        if value is None:
            problems.append(f"{key}: the child could not read /proc/self/status")
            continue
        first, second = getattr(outside, key), getattr(after, key)
        low, high = sorted((first, second))
        slack = 0 if key == "threads" else max(2 * 1024 * 1024, 0.05 * high)
        if not low - slack <= value <= high + slack:
            problems.append(f"{key}: child reports {value}, psutil read {first} then {second}")
    return problems


def _outside(pid: int) -> OutsideReading:
    reading = read_process(pid)
    return OutsideReading(
        reading.rss_bytes,
        reading.vms_bytes,
        reading.threads,
        time.time(),
        reading.tree_rss_bytes,
        reading.processes,
    )


def _wait_for_isolated_services(server: ChildServer, timeout: float) -> float:
    """Poll ``GET /healthz`` until every isolated service it lists is "running" (the warm
    workers that install() started); the seconds waited. Raises DemoError on a failed service
    or after ``timeout``."""
    t0 = time.perf_counter()
    while True:
        states = server.get_json("/healthz").get("isolated") or {}
        if states and all(state == "running" for state in states.values()):
            return time.perf_counter() - t0
        if any(state == "failed" for state in states.values()):
            raise DemoError(f"an isolated service failed to start: {states}")
        if time.perf_counter() - t0 > timeout:
            raise DemoError(f"isolated services not running after {timeout:g} s: {states}")
        time.sleep(0.05)


def _phase(server: ChildServer) -> Phase:
    outside = _outside(server.pid)
    report = server.get_json("/_demo/introspect")
    after = _outside(server.pid)
    inside = InsideReading.from_report(report)
    status = report.get("lazymed")
    return Phase(
        outside=outside,
        outside_after=after,
        inside=inside,
        lazymed=status if isinstance(status, dict) else None,
        disagreements=tuple(_agreement(outside, after, inside)),
    )


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
    progress: Progress = no_progress,
) -> Run:
    """Start the app in ``mode`` (a name of :data:`~lazymed.demo.MODES`; ``profile`` applies to
    the modes that take one) in a fresh interpreter, measure it, stop it (SIGTERM).

    Raises DemoError (with the child's stderr) if the child fails, ValueError for an unknown
    mode.
    """
    env_extra = mode_env(mode, profile)
    profile = profile if MODES[mode].profiled else None
    label = mode if profile is None else f"{mode}/{profile}"
    env = child_env(os.environ, env_extra, [app_dir, package_parent()])
    argv = [sys.executable, str(app_dir / "serve.py"), "--host", "127.0.0.1", "--port", "0"]
    server = ChildServer(argv, env=env, cwd=app_dir)
    try:
        progress(f"{label}: starting a fresh interpreter")
        server.start()
        startup = server.wait_ready(STARTUP_TIMEOUT)
        services_ready = None
        if MODES[mode].env.get("MEDICAL_APP_ISOLATED") == "1":
            progress(f"{label}: ready in {startup:.2f} s, waiting for the warm RAG worker")
            services_ready = _wait_for_isolated_services(server, STARTUP_TIMEOUT)
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
    results = rag.json().get("results")
    return Run(
        mode=mode,
        profile=profile,
        pid=pid,
        startup_seconds=startup,
        child_ready_after_seconds=None if ready_after is None else float(ready_after),
        startup_agree=startup_agree,
        phases=dict(zip(PHASES, (first_phase, rag_phase), strict=True)),
        requests=Requests(triage.seconds, rag.seconds, tuple(warm)),
        responses=Responses(
            _sha256(triage.body), _sha256(rag.body), results[0]["note_id"] if results else ""
        ),
        exit_status=status,
        services_ready_seconds=services_ready,
    )


def warm_file_cache(app_dir: Path) -> None:
    """Import the heavy packages once in a throw-away interpreter (untimed), so that the first
    measured run does not pay alone for reading them from disk. Raises DemoSetupError naming
    what is missing."""
    env = child_env(os.environ, {}, [app_dir, package_parent()])
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


def group_runs(runs: Sequence[Run]) -> list[list[Run]]:
    """``runs`` grouped by mode and profile, in order of first appearance: one group per column
    of the table, each holding the ``--repeat`` runs of that mode."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.key, []).append(run)
    return list(groups.values())


def median(values: Sequence[float]) -> float:
    """The median, kept an ``int`` when it is one of the values (odd count, or equal middles)."""
    middle = statistics.median(values)
    whole = all(isinstance(v, int) for v in values) and middle == int(middle)
    return int(middle) if whole else middle


def checks(runs: Sequence[Run]) -> list[Check]:
    """One check per metric for one group of runs of the same mode and profile: the median of
    the runs' values (``samples``, in run order) against the target."""
    out: list[Check] = []
    first = runs[0]

    def add(phase: str, metric: str, get: Callable[[Run], float], target_key: str) -> None:
        samples = tuple(get(run) for run in runs)
        out.append(
            Check(
                first.mode,
                first.profile,
                phase,
                metric,
                median(samples),
                TARGETS[target_key],
                samples,
            )
        )

    def outside(phase: str, key: str) -> Callable[[Run], float]:
        return lambda run: getattr(run.phases[phase].outside, key)

    def inside(phase: str, key: str) -> Callable[[Run], float]:
        return lambda run: getattr(run.phases[phase].inside, key)

    add("startup", "startup_seconds", lambda run: run.startup_seconds, "startup_seconds")
    for phase in PHASES:
        add(phase, "rss_bytes", outside(phase, "rss_bytes"), "rss_bytes")
        add(phase, "vms_bytes", outside(phase, "vms_bytes"), "vms_bytes")
        add(phase, "threads", outside(phase, "threads"), "threads")
        add(phase, "gc_objects", inside(phase, "gc_objects"), "gc_objects")
        if phase == "startup":
            add(
                phase,
                "first_triage_seconds",
                lambda run: run.requests.first_triage_seconds,
                "response_seconds",
            )
        else:
            add(
                phase,
                "first_rag_seconds",
                lambda run: run.requests.first_rag_seconds,
                "response_seconds",
            )
            add(
                phase,
                "warm_rag_median_seconds",
                lambda run: run.requests.warm_rag_median_seconds,
                "response_seconds",
            )
    return out


def tree_checks(groups: Sequence[Sequence[Run]]) -> list[Check]:
    """The isolated mode's process tree (the server and its workers) after the first RAG
    request, as a ratio of the eager single process's RSS (medians of each mode's runs), held
    against ``TARGETS["tree_rss_vs_eager"]`` (at most). Empty without both modes."""
    by_mode = {group[0].mode: group for group in groups if group[0].profile is None}
    if "eager" not in by_mode or "isolated" not in by_mode:
        return []

    def tree(run: Run) -> float:
        return float(run.phases["after_first_rag"].outside.tree_rss_bytes)

    eager = median([tree(run) for run in by_mode["eager"]])
    samples = tuple(tree(run) / eager for run in by_mode["isolated"])
    return [
        Check(
            "isolated",
            None,
            "after_first_rag",
            "tree_rss_vs_eager",
            median(samples),
            TARGETS["tree_rss_vs_eager"],
            samples,
            inclusive=True,
        )
    ]


def run_demo(
    app_dir: str | os.PathLike[str] | None = None,
    *,
    profile: str | None = None,
    modes: Sequence[str] = DEFAULT_MODES,
    warmup: bool = True,
    warm_requests: int = 5,
    repeat: int = 1,
    progress: Progress = no_progress,
) -> Document:
    """Run the app in each of ``modes`` one after the other (``repeat`` times: eager, lazy,
    eager, lazy, ...) and return the JSON document described in docs/demo.md. ``profile``
    applies to the modes that take one (lazy). Each target is judged on the median of the
    ``repeat`` runs of a mode. ``app_dir`` as :func:`~lazymed.demo.find_app_dir` takes it.

    Raises DemoSetupError when the app or its packages are missing, DemoError when a child
    fails, ValueError when ``repeat`` < 1 or a mode is unknown.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    for mode in modes:
        mode_env(mode, None)  # unknown modes fail before anything runs
    directory = find_app_dir(app_dir)
    if warmup:
        progress("warming the file cache (one untimed import of the heavy packages)")
        warm_file_cache(directory)
    runs: list[Run] = []
    for _ in range(repeat):
        for mode in modes:
            runs.append(
                measure_run(
                    directory,
                    mode,
                    profile=profile,
                    warm_requests=warm_requests,
                    progress=progress,
                )
            )
    groups = group_runs(runs)
    all_checks = [check for group in groups for check in checks(group)]
    all_checks += tree_checks(groups)
    summary = {}
    for group in groups:
        mine = [c for c in all_checks if (c.mode, c.profile) == (group[0].mode, group[0].profile)]
        summary[group[0].key] = {
            "met": sum(c.met for c in mine),
            "missed": sum(not c.met for c in mine),
        }
    identical = all(
        run.responses.rag_sha256 == runs[0].responses.rag_sha256
        and run.responses.triage_sha256 == runs[0].responses.triage_sha256
        for run in runs
    )
    agree = all(run.startup_agree and all(p.agree for p in run.phases.values()) for run in runs)
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
        "runs": [run.as_dict() for run in runs],
        "checks": [check.as_dict() for check in all_checks],
        "identical_responses": identical,
        "cross_checks_agree": agree,
        "summary": summary,
    }

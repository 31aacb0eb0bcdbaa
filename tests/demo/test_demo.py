"""``python -m lazymed demo``: run for real, its figures checked against our own psutil readings.

The demo runs once (``--json``, fresh interpreters, loopback HTTP) while this test samples every
child of the demo process with psutil, independently of the demo's own code. Each RSS, VMS and
thread figure the demo prints must match a sample this test took of the same pid at the same
moment. No timing is asserted: start-up and response times are only checked for shape.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from _json_schema import assert_type, documented_schema

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("google.cloud.storage", "firebase_admin", "supabase", "llama_index.core")
MIB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    pid: int
    unix_time: float
    rss_bytes: int
    vms_bytes: int
    threads: int


@dataclass
class DemoRun:
    returncode: int
    document: dict[str, Any]
    stderr: str
    samples: list[Sample]


def _sampler(parent: psutil.Process, stop: threading.Event, out: list[Sample]) -> None:
    """Sample every child of ``parent`` every ~10 ms until ``stop`` is set."""
    while not stop.is_set():
        try:
            children = parent.children()
        except psutil.NoSuchProcess:
            return
        for child in children:
            try:
                with child.oneshot():
                    memory = child.memory_info()
                    threads = child.num_threads()
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            out.append(Sample(child.pid, time.time(), memory.rss, memory.vms, threads))
        stop.wait(0.01)


def _run_demo(*args: str) -> DemoRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lazymed", "demo", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    samples: list[Sample] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sampler, args=(psutil.Process(proc.pid), stop, samples))
    sampler.start()
    try:
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        stop.set()
        sampler.join()
    assert proc.returncode in (0, 1), stderr[-4000:]
    return DemoRun(proc.returncode, json.loads(stdout), stderr, samples)


@pytest.fixture(scope="module")
def demo() -> DemoRun:
    # Progress stays on (plain lines: stderr is a pipe); two warm requests keep the run short.
    return _run_demo("--json", "--no-warmup", "--warm-requests", "2", "--modes", "eager,lazy")


def _close(a: int, b: int) -> bool:
    return abs(a - b) <= max(2 * MIB, 0.05 * max(a, b))


def _why_failed(run: DemoRun) -> str:
    """What a non-zero demo exit came from: the two verdicts and every cross-check disagreement
    (the demo's stderr holds only its epilogue)."""
    doc = run.document or {}
    disagreements = [
        (r.get("mode"), name, p)
        for r in doc.get("runs", [])
        for name, phase in r.get("phases", {}).items()
        for p in phase.get("disagreements", [])
    ]
    return (
        f"identical_responses={doc.get('identical_responses')} "
        f"cross_checks_agree={doc.get('cross_checks_agree')} disagreements={disagreements}\n"
        + run.stderr[-4000:]
    )


def test_demo_succeeds_and_prints_progress_on_stderr(demo: DemoRun) -> None:
    assert demo.returncode == 0, _why_failed(demo)
    assert "[lazymed demo] eager: starting a fresh interpreter" in demo.stderr
    assert "[lazymed demo] lazy: first RAG request" in demo.stderr


def test_json_document_has_the_documented_shape(demo: DemoRun) -> None:
    doc = demo.document
    assert doc["schema"] == "lazymed.demo/1"
    assert doc["units"] == {"memory": "bytes", "time": "seconds"}
    assert doc["warmup"] is False
    assert doc["repeat"] == 1
    assert doc["targets"] == {
        "startup_seconds": 5.0,
        "rss_bytes": 50_000_000,
        "vms_bytes": 200_000_000,
        "threads": 8,
        "gc_objects": 50_000,
        "response_seconds": 0.2,
        "tree_rss_vs_eager": 1.10,
    }
    assert [(r["mode"], r["profile"]) for r in doc["runs"]] == [("eager", None), ("lazy", None)]
    for run in doc["runs"]:
        assert set(run) == {
            "mode", "profile", "pid", "startup_seconds", "child_ready_after_seconds",
            "startup_agree", "phases", "requests", "responses", "exit_status",
            "services_ready_seconds",
        }  # fmt: skip
        assert run["services_ready_seconds"] is None  # only isolated mode waits for workers
        assert set(run["phases"]) == {"startup", "after_first_rag"}
        for phase in run["phases"].values():
            assert set(phase["outside"]) == {
                "rss_bytes", "vms_bytes", "threads", "unix_time", "tree_rss_bytes", "processes",
            }  # fmt: skip
            assert phase["outside"]["processes"] == 1  # no workers in these modes
            assert phase["outside"]["tree_rss_bytes"] == phase["outside"]["rss_bytes"]
            assert set(phase["inside"]) == {
                "rss_bytes", "vms_bytes", "threads", "gc_objects", "modules",
            }  # fmt: skip
        assert len(run["requests"]["warm_rag_seconds"]) == 2
        assert run["requests"]["first_rag_seconds"] > 0
        assert run["startup_seconds"] > 0
    assert doc["identical_responses"] is True
    assert doc["cross_checks_agree"] is True


def test_every_memory_and_thread_figure_matches_an_independent_psutil_sample(demo: DemoRun) -> None:
    for run in demo.document["runs"]:
        mine = [s for s in demo.samples if s.pid == run["pid"]]
        assert mine, f"never sampled pid {run['pid']}"
        for name, phase in run["phases"].items():
            for key in ("outside", "outside_after"):
                reading = phase[key]
                near = [s for s in mine if abs(s.unix_time - reading["unix_time"]) <= 0.5]
                assert near, f"{run['mode']} {name} {key}: no sample within 0.5 s"
                assert any(
                    _close(s.rss_bytes, reading["rss_bytes"])
                    and _close(s.vms_bytes, reading["vms_bytes"])
                    and s.threads == reading["threads"]
                    for s in near
                ), (run["mode"], name, key, reading, near[:5])


def test_startup_time_covers_what_this_test_saw_of_the_child(demo: DemoRun) -> None:
    # The demo's clock starts before Popen and stops at the first /healthz 200, just before the
    # "startup" reading. This test saw the pid alive no earlier than Popen, so the reported
    # start-up time cannot be shorter than "first sample -> startup reading" (0.2 s of slack for
    # the psutil reading that follows the health check).
    for run in demo.document["runs"]:
        first_seen = min(s.unix_time for s in demo.samples if s.pid == run["pid"])
        measured_at = run["phases"]["startup"]["outside"]["unix_time"]
        assert run["startup_seconds"] >= measured_at - first_seen - 0.2, run["mode"]


def test_the_childs_self_report_agrees_with_outside(demo: DemoRun) -> None:
    for run in demo.document["runs"]:
        for phase in run["phases"].values():
            inside, outside = phase["inside"], phase["outside"]
            assert _close(inside["rss_bytes"], outside["rss_bytes"])
            assert _close(inside["vms_bytes"], outside["vms_bytes"])
            assert inside["threads"] == outside["threads"]
            assert phase["agree"] is True and phase["disagreements"] == []
        ready_after = run["child_ready_after_seconds"]
        assert ready_after is not None
        assert run["startup_agree"] == (
            abs(run["startup_seconds"] - ready_after) <= 0.25 + 0.1 * run["startup_seconds"]
        )


def test_lazy_starts_smaller_than_eager(demo: DemoRun) -> None:
    eager, lazy = demo.document["runs"]
    e0, l0 = eager["phases"]["startup"], lazy["phases"]["startup"]
    assert l0["outside"]["rss_bytes"] < eager["phases"]["startup"]["outside"]["rss_bytes"]
    assert l0["inside"]["modules"] < e0["inside"]["modules"]
    assert l0["inside"]["gc_objects"] < e0["inside"]["gc_objects"]
    # The lazy app has started without running a heavy package; the first RAG request ran
    # llama-index and nothing else.
    assert e0["lazymed"] is None
    states = {name: rec["state"] for name, rec in l0["lazymed"]["modules"].items()}
    assert {n: states[n] for n in HEAVY} == dict.fromkeys(HEAVY, "lazy")
    after = lazy["phases"]["after_first_rag"]["lazymed"]["modules"]
    assert after["llama_index.core"]["state"] == "loaded"
    assert after["llama_index.core"]["load_seconds"] > 0
    assert [after[n]["state"] for n in HEAVY[:3]] == ["lazy", "lazy", "lazy"]
    # Loading llama-index grows the module count.
    assert lazy["phases"]["after_first_rag"]["inside"]["modules"] > l0["inside"]["modules"]


def test_both_modes_gave_the_same_answers(demo: DemoRun) -> None:
    eager, lazy = demo.document["runs"]
    assert eager["responses"] == lazy["responses"]
    assert lazy["responses"]["rag_top_note"] == "note-010"


def test_checks_are_the_measurements_against_the_targets(demo: DemoRun) -> None:
    doc = demo.document
    runs = {run["mode"]: run for run in doc["runs"]}
    seen = set()
    for check in doc["checks"]:
        run = runs[check["mode"]]
        phase = run["phases"][check["phase"]]
        metric = check["metric"]
        if metric in ("rss_bytes", "vms_bytes", "threads"):
            expected = phase["outside"][metric]
            target = doc["targets"][metric]
        elif metric == "gc_objects":
            expected = phase["inside"][metric]
            target = doc["targets"][metric]
        elif metric == "startup_seconds":
            expected = run["startup_seconds"]
            target = doc["targets"][metric]
        else:
            expected = run["requests"][metric]
            target = doc["targets"]["response_seconds"]
        assert check["value"] == expected, check
        assert check["target"] == target, check
        assert check["met"] is (expected < target), check
        seen.add((check["mode"], check["phase"], metric))
    assert len(seen) == len(doc["checks"]) == 2 * 12
    for mode, counts in doc["summary"].items():
        mine = [c for c in doc["checks"] if c["mode"] == mode]
        assert counts == {
            "met": sum(c["met"] for c in mine),
            "missed": sum(not c["met"] for c in mine),
        }


def test_table_shows_the_same_figures(demo: DemoRun) -> None:
    from lazymed.demo import render_plain, table_rows

    doc = demo.document
    text = render_plain(doc)
    eager, lazy = doc["runs"]
    rss = lazy["phases"]["startup"]["outside"]["rss_bytes"]
    assert f"{rss / MIB:,.1f} MiB" in text  # MiB, like lazymed profile
    assert f"{rss / 1e6:,.1f} MB" not in text.replace(f"{rss / MIB:,.1f} MiB", "")
    assert "< 47.7 MiB (50 MB)" in text and "< 190.7 MiB (200 MB)" in text
    assert "Memory in MiB (2^20 bytes)" in text.replace("\n  ", " ")
    assert "single run per mode" in text.replace("\n  ", " ")
    assert f"{eager['phases']['startup']['inside']['gc_objects']:,}" in text
    rows = {(row.section, row.label): row for row in table_rows(doc)}
    rss_row = rows[("after start-up", "RSS")]
    assert rss_row.met == (
        eager["phases"]["startup"]["outside"]["rss_bytes"] < 50e6,
        rss < 50e6,
    )
    assert rss_row.texts[1] in text
    table = text.split("\n\n")[1]  # title, table, notes
    assert table.count("  met") + table.count("  MISSED") == len(doc["checks"])


def test_rich_table_shows_the_same_marks(demo: DemoRun) -> None:
    from rich.console import Console  # the cli extra, installed by every tox env that tests

    from lazymed.demo import render_rich

    console = Console(record=True, width=140, color_system=None)
    render_rich(demo.document, console)
    text = console.export_text()
    lazy = demo.document["runs"][1]
    assert f"{lazy['phases']['startup']['inside']['modules']:,}" in text
    # "  met"/"  missed" (two spaces) only in the table's cells, not in the notes below it.
    assert text.count("  met") + text.count("  missed") == len(demo.document["checks"])


def test_profile_runs_the_lazy_app_under_it() -> None:
    from lazymed.demo import find_app_dir, measure_run

    run = measure_run(
        find_app_dir(REPO / "examples" / "medical_app"),
        "lazy",
        profile="development",
        warm_requests=1,
    )
    assert run.profile == "development"
    info = run.phases["startup"].lazymed
    assert info is not None and info["profile"] == "development"
    roles = {name: rec["role"] for name, rec in info["modules"].items()}
    assert [roles[n] for n in HEAVY] == ["disabled", "disabled", "disabled", "lazy"]
    assert run.responses.rag_top_note == "note-010"
    assert run.phases["startup"].agree is True


def test_missing_app_dir_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "lazymed", "demo", "--app-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert f"--app-dir {str(tmp_path)!r} is not the medical app" in done.stderr
    assert done.stdout == ""


# --------------------------------------------------------------------------- docs/demo.md


DOC = REPO / "docs" / "demo.md"
OPAQUE = ("summary", "runs[].phases.*.lazymed")  # objects keyed by mode or module name


def flatten(data: Any, prefix: str = "") -> dict[str, list[Any]]:
    """``{dotted key: [every value]}``; list items under ``key[]``, both phases under ``*``."""
    out: dict[str, list[Any]] = {}
    for key, value in data.items():
        name = "*" if prefix.endswith(".phases") else key
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(value, dict) and path not in OPAQUE:
            for sub, values in flatten(value, path).items():
                out.setdefault(sub, []).extend(values)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out.setdefault(path + "[]", []).append(value)
            for item in value:
                for sub, values in flatten(item, path + "[]").items():
                    out.setdefault(sub, []).extend(values)
        else:
            out.setdefault(path, []).append(value)
    return out


def test_json_matches_the_documented_schema(demo: DemoRun) -> None:
    schema = documented_schema(DOC)
    assert len(schema) > 50
    actual = flatten(demo.document)
    assert set(actual) == set(schema), set(actual) ^ set(schema)
    for key, kind in schema.items():
        for value in actual[key]:
            assert_type(key, kind, value)


# --------------------------------------------------------------------------- --repeat


@pytest.fixture(scope="module")
def repeated() -> DemoRun:
    return _run_demo(
        "--json", "--no-warmup", "--warm-requests", "1", "--repeat", "2", "--quiet",
        "--modes", "eager,lazy",
    )  # fmt: skip


def test_repeat_runs_each_mode_n_times_and_judges_the_median(repeated: DemoRun) -> None:
    from lazymed.demo import render_plain, table_rows

    doc = repeated.document
    assert repeated.returncode == 0, _why_failed(repeated)
    assert doc["repeat"] == 2
    assert [r["mode"] for r in doc["runs"]] == ["eager", "lazy", "eager", "lazy"]
    assert len(doc["checks"]) == 2 * 12 and len(doc["summary"]) == 2
    runs = {mode: [r for r in doc["runs"] if r["mode"] == mode] for mode in ("eager", "lazy")}
    for check in doc["checks"]:
        mine = runs[check["mode"]]
        if check["metric"] == "startup_seconds":
            samples = [r["startup_seconds"] for r in mine]
        elif check["metric"] in ("rss_bytes", "vms_bytes", "threads"):
            samples = [r["phases"][check["phase"]]["outside"][check["metric"]] for r in mine]
        elif check["metric"] == "gc_objects":
            samples = [r["phases"][check["phase"]]["inside"]["gc_objects"] for r in mine]
        else:
            samples = [r["requests"][check["metric"]] for r in mine]
        assert check["samples"] == samples
        assert check["value"] == pytest.approx((samples[0] + samples[1]) / 2)
        assert check["met"] is (check["value"] < check["target"])
    # The table has one column per mode, showing the medians.
    rows = {(row.section, row.label): row for row in table_rows(doc)}
    start = rows[("after start-up", "start-up time")]
    assert len(start.values) == 2
    eager_startups = [r["startup_seconds"] for r in runs["eager"]]
    assert start.values[0] == pytest.approx(sum(eager_startups) / 2)
    text = render_plain(doc)
    assert "eager (median of 2)" in text and "lazy (median of 2)" in text
    assert "the median of 2 runs per mode" in text.replace("\n  ", " ")


def test_repeat_must_be_positive(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "lazymed", "demo", "--repeat", "0"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "--repeat must be at least 1" in done.stderr

"""From the tracer's raw events to the report: self vs cumulative, the tracer's own cost
subtracted, the two passes matched, packages aggregated, suggestions chosen. Pure functions on
hand-made events, so every expected figure is known exactly."""

from __future__ import annotations

import json
import math
import runpy
import tomllib
from typing import Any

import pytest

from lazymed.profiler import ExistingConfig, Target, merged_lazy, suggestion_toml
from lazymed.profiler import _analysis as analysis
from lazymed.profiler._model import Overhead, Report
from lazymed.profiler._runner import TRACER_FILE

SITE = "/venv/lib/python3.11/site-packages"
STDLIB = "/usr/lib/python3.11"


def ev(
    name: str,
    parent: int,
    t0: float,
    t1: float | None,
    *,
    ov: tuple[float, float] = (0.0, 0.0),
    rss: tuple[int, int] = (0, 0),
    threads: tuple[int, int] = (1, 1),
    gc: tuple[int, int] = (0, 0),
    ovg: tuple[int, int] = (0, 0),
    mem: tuple[int, int] = (0, 0),
    ovm: tuple[int, int] = (0, 0),
    origin: str | None = None,
    error: str | None = None,
    importer: str | None = "<parent>",
    startup: bool = True,
    thread: int = 0,
) -> list[Any]:
    """One raw record in the tracer's layout. ``importer`` defaults to the enclosing import
    (``__main__`` at top level); ``startup`` False marks a run-time import."""
    rec: list[Any] = [None] * 27
    rec[0:4] = [name, parent, thread, f"/app/{name}.py:1"]
    rec[4:8] = [t0, t1, ov[0], ov[1]]
    rec[8:12] = [rss[0], rss[1], threads[0], threads[1]]
    rec[12:16] = [gc[0], gc[1], ovg[0], ovg[1]]
    rec[16:20] = [mem[0], mem[1], ovm[0], ovm[1]]
    rec[20:22] = [0, 0]
    origin = origin if origin is not None else f"/app/{name.replace('.', '/')}.py"
    rec[22:25] = [origin, origin.endswith(".so"), error]
    rec[25:27] = [importer, startup if parent < 0 else None]  # nested: inherited
    return rec


def fix_importers(events: list[list[Any]]) -> list[list[Any]]:
    """Resolve the "<parent>" importer placeholder: the enclosing event's name (its module body
    ran the statement), ``__main__`` at top level."""
    for rec in events:
        if rec[25] == "<parent>":
            rec[25] = events[rec[1]][0] if rec[1] >= 0 else "__main__"
    return events


def raw(events: list[list[Any]], **extra: Any) -> dict[str, Any]:
    snap = {"t": 0.0, "rss": 10, "threads": 1, "gc_exact": 100, "traced": 0, "tracer_seconds": 0.0}
    data: dict[str, Any] = {
        "raw_version": analysis.RAW_VERSION,
        "options": {"alloc": "0", "gc": "0"},
        "python": "3.11.7",
        "executable": "/usr/bin/python3",
        "exit_code": 0,
        "not_found": [],
        "exception": None,
        "startup_modules": 30,
        "start": snap,
        "end": {**snap, "t": 20.0, "tracer_seconds": 1.0},
        "peak_rss": 50,
        "stdlib_names": ["json", "re", "os"],
        "site_dirs": [SITE],
        "events": fix_importers(events),
    }
    data.update(extra)
    return data


def report(timing: list[list[Any]], memory: list[list[Any]] | None = None, **kw: Any) -> Report:
    ov = Overhead(
        profiled_seconds=2.0, plain_seconds=1.0, alloc_pass_seconds=None, tracer_seconds=1
    )
    return analysis.build_report(
        Target("code", "import app"),
        raw(timing),
        raw(memory) if memory is not None else None,
        ov,
        **kw,
    )


def test_self_is_cumulative_minus_children_and_tracer_cost_is_subtracted() -> None:
    # app [0, 10] contains lib [2, 5]; the tracer spent 1 s on lib's bookkeeping inside app.
    r = report(
        [
            ev("app", -1, 0.0, 10.0, ov=(0.0, 1.0), rss=(100, 1100), threads=(1, 3)),
            ev("lib", 0, 2.0, 5.0, ov=(0.5, 0.5), rss=(200, 700), threads=(1, 2)),
        ]
    )
    app, lib = r.module("app"), r.module("lib")
    assert lib.cumulative.seconds == 3.0 and lib.self_cost.seconds == 3.0
    assert app.cumulative.seconds == 9.0 and app.self_cost.seconds == 6.0
    assert app.cumulative.rss_bytes == 1000 and app.self_cost.rss_bytes == 500
    assert app.self_cost.threads == 1 and lib.self_cost.threads == 1
    assert lib.chain == ("__main__", "app") and lib.imported_by == "app"
    assert r.totals.seconds == 9.0
    assert r.run.import_seconds == 9.0
    assert r.run.seconds == 19.0  # 20 s window less 1 s of tracer bookkeeping
    # Without an allocation pass, bytes and objects are unknown, not zero.
    assert app.cumulative.alloc_bytes is None and app.cumulative.gc_objects is None
    assert r.totals.alloc_bytes is None


def test_allocation_pass_is_matched_by_name_and_occurrence() -> None:
    timing = [
        ev("app", -1, 0.0, 4.0),
        ev("opt", 0, 1.0, 1.5, error="ModuleNotFoundError"),
        ev("opt", 0, 2.0, 2.5, error="ModuleNotFoundError"),
        ev("lib", 0, 3.0, 3.5),
    ]
    memory = [
        ev("app", -1, 0, 9, mem=(0, 5000), ovm=(10, 110), gc=(0, 60), ovg=(0, 3)),
        ev("opt", 0, 1, 2, mem=(100, 150)),
        ev("opt", 0, 3, 4, mem=(200, 270), gc=(5, 9)),
        # "lib" was not imported in this pass: its figures stay unknown.
    ]
    r = report(timing, memory)
    app = r.module("app")
    assert app.cumulative.alloc_bytes == 4900  # 5000 less the tracer's own 100
    assert app.cumulative.gc_objects == 57
    opts = [m for m in r.modules if m.name == "opt"]
    assert [m.cumulative.alloc_bytes for m in opts] == [50, 70]
    assert [m.cumulative.gc_objects for m in opts] == [0, 4]
    assert r.module("lib").cumulative.alloc_bytes is None
    assert app.self_cost.alloc_bytes is None  # 4900 - 50 - 70 - unknown
    assert r.package("opt").failed == 2 and r.package("opt").modules == 0


def test_unfinished_imports_are_dropped_and_their_children_reattached() -> None:
    r = report(
        [
            ev("app", -1, 0.0, 10.0),
            ev("hung", 0, 1.0, None),
            ev("inner", 1, 2.0, 3.0),
        ]
    )
    assert [m.name for m in r.modules] == ["app", "inner"]
    assert r.module("inner").parent_id == 0
    assert r.module("app").self_cost.seconds == 9.0
    assert any("still running" in w for w in r.warnings)


def test_packages_count_outermost_imports_once() -> None:
    # a imports b (another package), which imports a.sub: a's cumulative must not count a.sub
    # twice; its self cost adds up the module self costs of a and a.sub.
    r = report(
        [
            ev("a", -1, 0.0, 10.0),
            ev("b", 0, 1.0, 6.0),
            ev("a.sub", 1, 2.0, 4.0),
            ev("c", -1, 11.0, 12.0),
        ]
    )
    a = r.package("a")
    assert a.cumulative.seconds == 10.0
    assert a.self_cost.seconds == (10.0 - 5.0) + 2.0
    assert a.modules == 2
    assert r.package("b").cumulative.seconds == 5.0
    assert [p.name for p in r.packages] == ["a", "b", "c"]
    assert r.totals.seconds == 11.0


def test_package_kinds() -> None:
    r = report(
        [
            ev("app", -1, 0, 1),
            ev("json", 0, 0.1, 0.2, origin=f"{STDLIB}/json/__init__.py"),
            ev("flask", 0, 0.3, 0.4, origin=f"{SITE}/flask/__init__.py"),
            ev("numpy", 0, 0.5, 0.6, origin="/other/dist-packages/numpy/__init__.py"),
            ev("ext", 0, 0.7, 0.8, origin=f"{SITE}/ext.cpython-311-x86_64-linux-gnu.so"),
        ]
    )
    kinds = {p.name: p.kind for p in r.packages}
    assert kinds == {
        "app": "first-party",
        "json": "stdlib",
        "flask": "third-party",
        "numpy": "third-party",
        "ext": "third-party",
    }
    assert r.package("ext").c_extensions == ("ext",)


def _suggestions(events: list[list[Any]], **kw: Any) -> dict[str, tuple[float, int]]:
    r = report(events, **kw)
    return {s.name: (s.cost.seconds, s.modules) for s in r.suggestions}


def test_suggestions_only_name_direct_third_party_imports() -> None:
    site = f"{SITE}/"
    events = [
        ev("app", -1, 0.0, 1.0),
        ev("heavy", 0, 0.0, 0.5, origin=site + "heavy/__init__.py"),
        ev("dep", 1, 0.1, 0.4, origin=site + "dep/__init__.py"),  # only via heavy
        ev("light", 0, 0.6, 0.601, origin=site + "light.py"),  # below 10 ms and 1 MiB
        ev("json", 0, 0.7, 0.9, origin=f"{STDLIB}/json/__init__.py"),  # stdlib
        ev("direct", -1, 2.0, 2.2, origin=site + "direct.py"),  # imported by the target itself
    ]
    assert _suggestions(events) == {"heavy": (0.5, 2), "direct": (pytest.approx(0.2), 1)}
    # Thresholds: with 1 ms everything third-party and direct qualifies.
    assert set(_suggestions(events, suggest_min_seconds=0.0005)) == {"heavy", "light", "direct"}


def test_suggestion_covers_submodules_with_one_name() -> None:
    site = f"{SITE}/"
    events = [
        ev("app", -1, 0.0, 1.0),
        ev("google", 0, 0.0, 0.001, origin=site + "google/__init__.py"),
        ev("google.cloud", 0, 0.001, 0.002, origin=site + "google/cloud/__init__.py"),
        ev("google.cloud.storage", 0, 0.01, 0.3, origin=site + "google/cloud/storage.py"),
        ev("pkg", 0, 0.3, 0.4, origin=site + "pkg/__init__.py"),
        ev("pkg.sub", 0, 0.4, 0.45, origin=site + "pkg/sub.py"),
    ]
    got = _suggestions(events)
    assert set(got) == {"google.cloud.storage", "pkg"}  # light parents skipped, pkg covers sub
    assert got["pkg"][0] == pytest.approx(0.15)
    r = report(events)
    toml = suggestion_toml(r)
    assert toml.index('"google.cloud.storage"') < toml.index('"pkg"')  # largest first


def test_raw_layout_is_the_tracers() -> None:
    tracer = runpy.run_path(TRACER_FILE, run_name="not_main")
    for name in dir(analysis):
        if name.startswith("F_"):
            assert tracer[name] == getattr(analysis, name), name
    assert tracer["RAW_VERSION"] == analysis.RAW_VERSION


def test_tracer_json_matches_the_json_module() -> None:
    tracer = runpy.run_path(TRACER_FILE, run_name="not_main")
    data = {
        "s": 'quote " backslash \\ newline \n unicode é ✓ \u2028',
        "n": [0, -3, 2**70, 1.5, 1e-9, True, False, None],
        "nested": {"k": [["a", 1], []]},
    }
    assert json.loads(tracer["_to_json"](data)) == data
    assert json.loads(tracer["_to_json"]([math.nan, math.inf])) == [None, None]


def test_incompatible_raw_version_is_refused() -> None:
    with pytest.raises(ValueError, match="tracer data version"):
        analysis.build_report(
            Target("code", "pass"),
            raw([], raw_version=99),
            None,
            Overhead(1.0, None, None, 0.0),
        )


def test_importer_is_appended_to_the_chain_and_start_up_is_inherited() -> None:
    site = f"{SITE}/"
    r = report(
        [
            ev("app", -1, 0.0, 1.0),
            # app's body calls httpx.Client(), which imports httpcore: httpx is the importer.
            ev("httpcore", 0, 0.1, 0.2, origin=site + "httpcore.py", importer="httpx._client"),
            # After all imports, a library called the program back, which imported lib.
            ev("lib", -1, 2.0, 3.0, origin=site + "lib.py", startup=False),
            ev("lib.dep", 2, 2.1, 2.2, origin=site + "lib/dep.py"),
        ]
    )
    core = r.module("httpcore")
    assert core.chain == ("__main__", "app", "httpx._client")
    assert core.imported_by == "httpx._client" and core.at_startup is True
    assert r.module("lib").at_startup is False
    assert r.module("lib.dep").at_startup is False  # inherited from the run-time import
    assert r.module("lib").chain == ("__main__",)
    assert r.suggestions == ()  # httpcore: a library's import; lib: made at run time


def test_suggestions_skip_configured_names_and_lazy_loads() -> None:
    site = f"{SITE}/"
    events = [
        ev("app", -1, 0.0, 1.0),
        ev("covered.sub", 0, 0.0, 0.1, origin=site + "covered/sub.py"),  # inside lazy 'covered'
        ev("crit", 0, 0.1, 0.2, origin=site + "crit/__init__.py"),  # critical
        ev("big", 0, 0.2, 0.3, origin=site + "big/__init__.py"),  # lazy 'big.part' inside it
        ev("free", 0, 0.3, 0.4, origin=site + "free.py"),
        ev("myapp", 0, 0.4, 0.5),  # first-party
        # Lazy first-party 'myapp.reports' loaded outside any import: what its body imports is
        # its dependency, although the importer is the program's own code.
        ev("dep", -1, 2.0, 2.5, origin=site + "dep.py", importer="myapp.reports"),
        ev("dep.inner", 6, 2.1, 2.2, origin=site + "dep/inner.py"),
    ]
    existing = ExistingConfig(
        installed=True, path="/p/pyproject.toml", profile=None,
        lazy=("covered", "myapp.reports"), critical=("crit", "big.part"),
    )  # fmt: skip
    got = {s.name for s in report(events, existing=existing).suggestions}
    assert got == {"free"}
    without = {s.name for s in report(events).suggestions}
    assert without == {"covered.sub", "crit", "big", "free", "dep"}


def test_merged_block_keeps_configured_names_and_says_where_it_goes() -> None:
    site = f"{SITE}/"
    events = [
        ev("app", -1, 0.0, 1.0),
        ev("pkg", 0, 0.0, 0.2, origin=site + "pkg/__init__.py"),
        ev("other", 0, 0.2, 0.3, origin=site + "other.py"),
    ]
    existing = ExistingConfig(
        installed=False, path="/p/pyproject.toml", profile="dev", lazy=("keep", "pkg.sub"),
        lazy_source="/p/pyproject.toml [tool.lazymed.profiles.dev]",
    )  # fmt: skip
    r = report(events, existing=existing)
    assert merged_lazy(r.suggestions, existing) == ["keep", "pkg", "other"]
    toml = suggestion_toml(r)
    assert tomllib.loads(toml) == {"lazy": ["keep", "pkg", "other"]}
    text = " ".join(line[2:] for line in toml.splitlines() if line.startswith("# "))
    assert "(pkg.sub now covered by a new name)" in text
    assert "replace `lazy = [...]` in /p/pyproject.toml [tool.lazymed.profiles.dev]" in text
    assert "did not run lazymed.install()" in text
    # Nothing new: the configured list, unchanged, still pasteable.
    quiet = suggestion_toml(report(events[:1], existing=existing))
    assert "Nothing to add" in quiet
    assert tomllib.loads(quiet) == {"lazy": ["keep", "pkg.sub"]}
    # No configuration at all: a whole table, as before.
    assert tomllib.loads(suggestion_toml(report(events)))["tool"]["lazymed"]["lazy"] == [
        "pkg",
        "other",
    ]

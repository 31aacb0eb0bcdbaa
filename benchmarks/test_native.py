"""Benchmark 7 — the native backend (PEP 810, Python 3.15+) beside the finder, and deep laziness.

Part A, per heavy package (flask, google.cloud.storage, firebase_admin, supabase,
llama_index.core), fresh interpreters alternating ``backend="finder"`` and ``backend="native"``:

* import phase: ``import lazymed; lazymed.install(lazy=[X], backend=...)`` + ``import X``
  (``install_ms`` and ``statement_ms`` apart);
* first use: the first ``X.attr``, which loads X;
* attribute access: ns per ``X.attr`` after the first use (a loop of 200,000 reads of the global
  in a function, best of 5).
Every run checks that X was deferred at the statement and loaded at the first use.

Part B, the five packages together after a real call of each (tests/real/_workloads.py: the
same offline workloads the real-package tests compare with eager CPython): eager, finder,
native and native with ``deep`` on all five; time from start to the end of the workloads, RSS
afterwards (read inside and outside the child: they must agree), modules loaded, and a digest of
the results, which must equal eager's.

No goal is asserted (timings are never pass/fail); ratios are recorded. Skipped before 3.15.
"""

from __future__ import annotations

import random
import statistics
import sys
from pathlib import Path
from typing import Any

import _bench
import pytest

pytestmark = pytest.mark.skipif(
    not hasattr(sys, "set_lazy_imports_filter"),
    reason="the native backend needs PEP 810 (Python 3.15+)",
)

REPO = Path(__file__).resolve().parent.parent

PART_A = """\
from time import perf_counter_ns as _clock
_t0 = _clock()
import lazymed
lazymed.install(lazy=[{name!r}], backend={backend!r})
_t1 = _clock()
import {name}
_t2 = _clock()
_deferred = not any(k.startswith({name!r} + ".") for k in _sys.modules)
_x = {name}.{attr}
_t3 = _clock()
_loaded = {name!r} in _sys.modules
def _loop(n):
    for _ in range(n):
        {name}.{attr}
_best = None
for _ in range(5):
    _a = _clock(); _loop(200000); _b = _clock()
    _best = (_b - _a) if _best is None else min(_best, _b - _a)
_st = lazymed.status()
_probe("used", install_ns=_t1 - _t0, statement_ns=_t2 - _t1, first_use_ns=_t3 - _t2,
       attr_ns=_best / 200000, deferred=_deferred, loaded=_loaded, backend=_st.backend)
"""


def part_a(env: dict[str, str], app: Path) -> dict[str, Any]:
    rng = random.Random(810)
    n = _bench.rounds(full=7, quick=1)
    out: dict[str, Any] = {}
    for name, attr in _bench.HEAVY:
        rows: dict[str, list[dict[str, Any]]] = {"finder": [], "native": []}
        for rnd in range(n + 1):  # round 0: warm-up (.pyc, page cache), not recorded
            order = ["finder", "native"]
            rng.shuffle(order)
            for backend in order:
                code = PART_A.format(name=name, attr=attr, backend=backend)
                reading = _bench.ChildRun(code, app, env).run(["used"]).readings["used"]
                v = reading.values
                assert v["deferred"] == "True" and v["loaded"] == "True", (name, backend, v)
                assert v["backend"] == backend
                assert reading.rss_disagreement <= _bench.RSS_AGREEMENT_BYTES
                if rnd:
                    rows[backend].append(
                        {k: float(v[k]) for k in ("install_ns", "statement_ns", "first_use_ns")}
                        | {"attr_ns": float(v["attr_ns"]), "rss": reading.rss_psutil}
                    )
        out[name] = {"rounds": n, "raw": rows, **_summarise_a(rows)}
    return out


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def _summarise_a(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    f, n = rows["finder"], rows["native"]
    return {
        "finder_install_ms": _bench.ms(_median(f, "install_ns")),
        "native_install_ms": _bench.ms(_median(n, "install_ns")),
        "finder_statement_us": round(_median(f, "statement_ns") / 1e3, 1),
        "native_statement_us": round(_median(n, "statement_ns") / 1e3, 1),
        "finder_first_use_ms": _bench.ms(_median(f, "first_use_ns")),
        "native_first_use_ms": _bench.ms(_median(n, "first_use_ns")),
        "first_use_ratio_native_finder": round(
            _median(n, "first_use_ns") / _median(f, "first_use_ns"), 3
        ),
        "finder_attr_ns": round(_median(f, "attr_ns"), 1),
        "native_attr_ns": round(_median(n, "attr_ns"), 1),
        "finder_rss_mib": _bench.mib(_median(f, "rss")),
        "native_rss_mib": _bench.mib(_median(n, "rss")),
    }


def _workload_program(data: dict[str, str], install: str | None) -> str:
    sys.path.insert(0, str(REPO))
    try:
        from tests.real._workloads import ALL
    finally:
        sys.path.remove(str(REPO))
    heavy = [w for w in ALL if w.registered in dict(_bench.HEAVY)]
    import textwrap

    lines = [
        "from time import perf_counter_ns as _clock",
        "_t0 = _clock()",
        f"DATA = {data!r}",
    ]
    if install is not None:
        lines += ["import lazymed", install]
    lines += [f"import {m}" for w in heavy for m in w.imports]
    lines.append("_t1 = _clock()")
    for w in heavy:
        lines.append(f"def use_{w.key}():")
        lines.append(textwrap.indent(textwrap.dedent(w.use).strip("\n"), "    "))
    lines.append("import json as _json, hashlib as _hashlib")
    lines.append(f"_results = {{{', '.join(f'{w.key!r}: use_{w.key}()' for w in heavy)}}}")
    lines.append("_t2 = _clock()")
    lines.append(
        "_digest = _hashlib.sha256(_json.dumps(_results, sort_keys=True).encode()).hexdigest()"
    )
    lines.append(
        '_probe("after", import_ns=_t1 - _t0, total_ns=_t2 - _t0, modules=len(_sys.modules), '
        "digest=_digest)"
    )
    return "\n".join(lines) + "\n"


def part_b(env: dict[str, str], app: Path, work: Path) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    try:
        from tests.real._workloads import write_service_account
    finally:
        sys.path.remove(str(REPO))
    data = write_service_account(work)
    names = [name for name, _ in _bench.HEAVY]
    installs: dict[str, str | None] = {
        "eager": None,
        "finder": f"lazymed.install(lazy={names!r})",
        "native": f"lazymed.install(lazy={names!r}, backend='native')",
        "deep": f"lazymed.install(lazy={names!r}, backend='native', deep={names!r})",
    }
    codes = {k: _workload_program(data, v) for k, v in installs.items()}
    rng = random.Random(15)
    n = _bench.rounds(full=5, quick=1)
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in installs}
    digests: dict[str, set[str]] = {k: set() for k in installs}
    for rnd in range(n + 1):
        order = list(installs)
        rng.shuffle(order)
        for which in order:
            reading = _bench.ChildRun(codes[which], app, env).run(["after"]).readings["after"]
            assert reading.rss_disagreement <= _bench.RSS_AGREEMENT_BYTES
            digests[which].add(reading.values["digest"])
            if rnd:
                rows[which].append(
                    {
                        "import_ns": float(reading.values["import_ns"]),
                        "total_ns": float(reading.values["total_ns"]),
                        "modules": int(reading.values["modules"]),
                        "rss": reading.rss_psutil,
                    }
                )
    # Same results as eager CPython in every run of every variant.
    assert all(d == digests["eager"] and len(d) == 1 for d in digests.values()), digests
    eager_total = _median(rows["eager"], "total_ns")
    summary = {
        which: {
            "import_ms": _bench.ms(_median(r, "import_ns")),
            "total_ms": _bench.ms(_median(r, "total_ns")),
            "total_vs_eager": round(_median(r, "total_ns") / eager_total, 3),
            "rss_mib": _bench.mib(_median(r, "rss")),
            "modules": int(_median(r, "modules")),
        }
        for which, r in rows.items()
    }
    return {"rounds": n, "summary": summary, "raw": rows}


def test_native_backend(benchmark: Any, record: Any) -> None:
    def campaign() -> dict[str, Any]:
        with _bench.workspace("native") as work:
            app = work / "app"
            app.mkdir()
            _bench.write_pyproject(app)
            env = _bench.child_env(work / "cache")
            return {"per_package": part_a(env, app), "workloads": part_b(env, app, work)}

    result = benchmark.pedantic(campaign, rounds=1, iterations=1)
    ratios = []
    for name, figures in result["per_package"].items():
        raw = figures["raw"]
        ratios.append(
            _bench.ratio(
                f"first use, native / finder: {name}",
                [r["first_use_ns"] for r in raw["native"]],
                [r["first_use_ns"] for r in raw["finder"]],
            )
        )
    raw_b = result["workloads"]["raw"]
    for which in ("finder", "native", "deep"):
        ratios.append(
            _bench.ratio(
                f"five workloads, {which} / eager: time",
                [r["total_ns"] for r in raw_b[which]],
                [r["total_ns"] for r in raw_b["eager"]],
            )
        )
        ratios.append(
            _bench.ratio(
                f"five workloads, {which} / eager: RSS",
                [r["rss"] for r in raw_b[which]],
                [r["rss"] for r in raw_b["eager"]],
            )
        )
    record("native", {"ratios": ratios, "targets": [], **result})
    for figures in result["per_package"].values():
        assert figures["native_statement_us"] > 0 and figures["finder_statement_us"] > 0

"""Benchmark 1 — start-up with five heavy packages: eager vs lazymed vs five other ways.

Each variant runs in a fresh interpreter; the variants alternate within every round (seeded
shuffle): 40 rounds of the import phase, the first 7 of which go on to the first use (``eager``
runs in those 7 only: its import phase is the full 1.5 s import).

In the child, the *import phase* is timed from just before the first statement of the variant
(``import lazymed``, ``import wrapt``, the recipe's ``import importlib.util`` ...) to just after
the last import statement. Then the child reports its RSS (``/proc/self/statm``) and blocks
while this process reads the same RSS with psutil and ``/proc/<pid>/status``; the figures must
agree. In first-use rounds the child then uses one attribute of every package (timed), checks
that every package really loaded and is a plain module, and reports RSS again.

Targets (full mode, reported, never asserted): lazymed's import phase within 1.10x of the stdlib
``LazyLoader`` recipe's, and its RSS after the import phase within +2 MiB of the recipe's.
"""

from __future__ import annotations

import random
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _bench
import pytest

NAMES = [name for name, _ in _bench.HEAVY]
BASELINE = "lazyloader_recipe"

RECIPE = _bench.LAZYLOADER_RECIPE


def _var(name: str) -> str:
    return "m_" + name.replace(".", "_")


def _statements() -> str:
    return "".join(f"import {name}\n" for name in NAMES)


def _calls(func: str, extra: Callable[[str], str] = lambda name: "") -> str:
    return "".join(f"{_var(n)} = {func}({n!r}{extra(n)})\n" for n in NAMES)


#: variant -> (import block, how the first-use block names each package's module)
VARIANTS: dict[str, tuple[str, Callable[[str], str]]] = {
    "nothing": ("pass\n", lambda name: ""),
    "eager": (_statements(), lambda name: name),
    "lazymed": (
        f"import lazymed\nlazymed.install(lazy={NAMES!r})\n" + _statements(),
        lambda name: name,
    ),
    "lazyloader_recipe": (RECIPE + _calls("lazy_import"), _var),
    "lazy_loader": (
        "import lazy_loader\n"
        + _calls("lazy_loader.load", lambda n: ", suppress_warning=True" if "." in n else ""),
        _var,
    ),
    "wrapt": ("import wrapt\n" + _calls("wrapt.lazy_import"), _var),
    "lazy_importer": (
        "from lazy_importer import lazy_importer\n"
        f"__lazy_modules__ = {set(NAMES)!r}\n"
        "with lazy_importer():\n" + textwrap.indent(_statements(), "    "),
        lambda name: name,
    ),
}


def child_code(variant: str, use: bool) -> str:
    """The source a child of ``variant`` runs after :data:`_bench.PROBE_PRELUDE`; with ``use``,
    it goes on to the first use of every package after the import-phase probe."""
    block, handle = VARIANTS[variant]
    code = (
        "from time import perf_counter_ns as _clock, process_time_ns as _cpu\n"
        f"_names = {NAMES!r}\n"
        "_n0 = len(_sys.modules)\n"
        "_c0 = _cpu()\n"
        "_t0 = _clock()\n"
        f"{block}"
        "_t1 = _clock()\n"
        "_c1 = _cpu()\n"
        # Whose body ran? A package whose __init__ ran has submodules in sys.modules. Reading the
        # keys touches no module object.
        "def _bodies():\n"
        "    _keys = list(_sys.modules)\n"
        "    return ','.join(n for n in _names if any(k.startswith(n + '.') for k in _keys))\n"
        "_probe('import', import_ns=_t1 - _t0, import_cpu_ns=_c1 - _c0, modules_before=_n0,"
        " modules_after=len(_sys.modules), bodies_run=_bodies())\n"
    )
    if not use:
        return code
    if variant == "nothing":
        statements = "pass\n"
    else:
        statements = "".join(f"_x = {handle(n)}.{attr}\n" for n, attr in _bench.HEAVY)
    return (
        code + "_c2 = _cpu()\n"
        "_t2 = _clock()\n"
        f"{statements}"
        "_t3 = _clock()\n"
        "_c3 = _cpu()\n"
        "_plain = all(type(_sys.modules.get(n)) is type(_sys) for n in _names)\n"
        "_probe('used', first_use_ns=_t3 - _t2, first_use_cpu_ns=_c3 - _c2,"
        " modules_after=len(_sys.modules),"
        " bodies_run=_bodies(), plain_modules=_plain)\n"
    )


def measure() -> dict[str, Any]:
    """Alternate the variants for ``n_import`` rounds (after a warm-up round); the first
    ``n_use`` rounds go on to the first use, and only those include ``eager`` (whose import
    phase *is* the full import: 1.5 s a run, and no ratio's baseline)."""
    n_import = _bench.rounds(full=40, quick=1)
    n_use = min(n_import, _bench.rounds(full=7, quick=1))
    imports: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    uses: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    rng = random.Random(1)
    with _bench.workspace("startup") as work:
        app = work / "app"
        app.mkdir()
        _bench.write_pyproject(app)  # empty [tool.lazymed]: ends lazymed's config walk here
        env = _bench.child_env(work / "cache")
        # Round 0 warms .pyc files, the page cache and lazymed's config cache (not recorded).
        for rnd in range(n_import + 1):
            with_use = 0 < rnd <= n_use
            order = [v for v in VARIANTS if with_use or v != "eager"]
            rng.shuffle(order)
            for variant in order:
                tags = ["import", "used"] if with_use else ["import"]
                run = _bench.ChildRun(child_code(variant, with_use), app, env).run(tags)
                if rnd == 0:
                    continue
                imports[variant].append(_import_row(run))
                if with_use:
                    uses[variant].append(_use_row(run))
    anomalies: list[str] = []
    for variant in VARIANTS:
        for row in imports[variant]:
            if variant not in ("nothing", "eager") and row["bodies_run_at_import"]:
                anomalies.append(
                    f"{variant}: import phase ran {row['bodies_run_at_import']} (not deferred)"
                )
        for row in uses[variant]:
            if variant != "nothing" and row["bodies_run_after_use"] != ",".join(NAMES):
                anomalies.append(f"{variant}: after first use only {row['bodies_run_after_use']}")
            if variant != "nothing" and not row["plain_modules"]:
                anomalies.append(f"{variant}: a loaded module is not a plain types.ModuleType")
    return {
        "imports": imports,
        "uses": uses,
        "anomalies": sorted(set(anomalies)),
        "rounds": n_import,
        "use_rounds": n_use,
    }


def _import_row(run: _bench.ChildRun) -> dict[str, Any]:
    imp = run.readings["import"]
    return {
        "import_ns": int(imp.values["import_ns"]),
        "import_cpu_ns": int(imp.values["import_cpu_ns"]),
        "process_to_imported_ns": run.wall_to_ready_ns["import"],
        "modules_after_import": int(imp.values["modules_after"]),
        "bodies_run_at_import": imp.values["bodies_run"],
        "rss_import_self": imp.rss_self,
        "rss_import_psutil": imp.rss_psutil,
        "rss_import_proc": imp.rss_proc_status,
        "hwm_import_self": imp.hwm_self,
        "hwm_import_proc": imp.hwm_proc_status,
        "rss_disagreement": imp.rss_disagreement,
    }


def _use_row(run: _bench.ChildRun) -> dict[str, Any]:
    used = run.readings["used"]
    return {
        "first_use_ns": int(used.values["first_use_ns"]),
        "first_use_cpu_ns": int(used.values["first_use_cpu_ns"]),
        "modules_after_use": int(used.values["modules_after"]),
        "bodies_run_after_use": used.values["bodies_run"],
        "plain_modules": used.values["plain_modules"] == "True",
        "rss_used_self": used.rss_self,
        "rss_used_psutil": used.rss_psutil,
        "hwm_used_proc": used.hwm_proc_status,
        "rss_disagreement": used.rss_disagreement,
    }


def analyse(measured: dict[str, Any]) -> dict[str, Any]:
    """Medians per variant, ratios against the LazyLoader recipe, targets."""
    imports: dict[str, list[dict[str, Any]]] = measured["imports"]
    uses: dict[str, list[dict[str, Any]]] = measured["uses"]

    def col(variant: str, key: str, rows: dict[str, list[dict[str, Any]]] = imports) -> list[float]:
        return [float(r[key]) for r in rows[variant]]

    def med(values: list[float]) -> float:
        return _bench.summary(values)["median"]

    base_t = col(BASELINE, "import_ns")
    base_rss = col(BASELINE, "rss_import_self")
    variants: dict[str, Any] = {}
    for variant in VARIANTS:
        t = col(variant, "import_ns")
        rss = col(variant, "rss_import_self")
        variants[variant] = {
            "import_ms": {k: _ms_or_n(k, v) for k, v in _bench.summary(t).items()},
            "import_cpu_ms": _bench.ms(med(col(variant, "import_cpu_ns"))),
            "process_start_to_imported_ms": _bench.ms(med(col(variant, "process_to_imported_ns"))),
            "rss_after_import_mib": _bench.mib(med(rss)),
            "rss_after_import_psutil_mib": _bench.mib(med(col(variant, "rss_import_psutil"))),
            "peak_rss_after_import_mib": _bench.mib(med(col(variant, "hwm_import_proc"))),
            "modules_after_import": int(med(col(variant, "modules_after_import"))),
            "first_use_ms": _bench.ms(med(col(variant, "first_use_ns", uses))),
            "first_use_cpu_ms": _bench.ms(med(col(variant, "first_use_cpu_ns", uses))),
            "first_use_rounds": len(uses[variant]),
            "rss_after_first_use_mib": _bench.mib(med(col(variant, "rss_used_self", uses))),
            "modules_after_first_use": int(med(col(variant, "modules_after_use", uses))),
            "import_time_ratio_vs_recipe": round(med(t) / med(base_t), 3),
            "import_cpu_ratio_vs_recipe": round(
                med(col(variant, "import_cpu_ns")) / med(col(BASELINE, "import_cpu_ns")), 3
            ),
            "rss_delta_vs_recipe_mib": _bench.mib(med(rss) - med(base_rss)),
            "max_rss_disagreement_bytes": int(
                max(col(variant, "rss_disagreement") + col(variant, "rss_disagreement", uses))
            ),
        }
    lm = variants["lazymed"]
    targets = [
        _bench.target(
            "lazymed import phase / LazyLoader recipe",
            lm["import_time_ratio_vs_recipe"],
            1.10,
            "x",
            ci=_bench.ratio_ci(col("lazymed", "import_ns"), base_t),
            cpu_ratio=lm["import_cpu_ratio_vs_recipe"],
            paired_ratio=_bench.paired_median_ratio(col("lazymed", "import_ns"), base_t),
        ),
        _bench.target(
            "lazymed RSS after import phase - LazyLoader recipe",
            lm["rss_delta_vs_recipe_mib"],
            2.0,
            "MiB",
        ),
    ]
    return {
        "description": "Import phase of flask, google.cloud.storage, firebase_admin, supabase, "
        "llama_index.core in a fresh interpreter, per way of importing; then first use of one "
        "attribute of each.",
        "baseline": BASELINE,
        "rounds": measured["rounds"],
        "use_rounds": measured["use_rounds"],
        "variants": variants,
        "targets": targets,
        "anomalies": measured["anomalies"],
        "raw": {"imports": imports, "uses": uses},
    }


def _ms_or_n(key: str, value: float) -> float:
    return value if key == "n" else _bench.ms(value)


def test_startup(benchmark: Any, record: Callable[[str, dict[str, Any]], Path]) -> None:
    measured = benchmark.pedantic(measure, rounds=1, iterations=1)
    result = analyse(measured)
    record("startup", result)
    # Sanity, in every mode (targets are reported, never asserted):
    for variant in VARIANTS:
        imports, uses = measured["imports"][variant], measured["uses"][variant]
        assert imports and uses, f"no measurement for {variant}"
        for row in imports + uses:
            assert row["rss_disagreement"] <= _bench.RSS_AGREEMENT_BYTES, (
                f"{variant}: child's RSS disagrees with psutil / /proc by "
                f"{row['rss_disagreement']} bytes",
                row,
            )
        for row in imports:
            assert row["import_ns"] > 0 and row["rss_import_self"] > 4 * _bench.MIB, row
        for row in uses:
            assert row["first_use_ns"] > 0, (variant, row)
            if variant != "nothing":
                # The first use really loaded all five packages: otherwise the numbers are void.
                assert row["bodies_run_after_use"] == ",".join(NAMES), (variant, row)
    v = result["variants"]
    # Deferring must show: the eager start-up loads far more modules than the recipe's.
    assert v["eager"]["modules_after_import"] > v[BASELINE]["modules_after_import"] + 500
    assert v["eager"]["rss_after_import_mib"] > v[BASELINE]["rss_after_import_mib"] + 20


@pytest.fixture(scope="module", autouse=True)
def _heavy_packages_present() -> None:
    """The benchmark needs the real packages (tox extra ``real``); say so plainly if absent."""
    import importlib.util

    missing = [n for n in NAMES if importlib.util.find_spec(n.split(".")[0]) is None]
    assert not missing, f"install the heavy packages (extra 'real'): missing {missing}"

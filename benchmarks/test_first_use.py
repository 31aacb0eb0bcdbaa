"""Benchmark 4 — the first use of a lazy module vs the eager import of the same module.

For each workload, fresh interpreters alternate between:

* eager:   ``import lazymed; lazymed.install(lazy=[]); lazymed.uninstall()`` (untimed: so that
  the standard-library modules lazymed's set-up loads are there on both sides), then time
  ``import X`` + one attribute access ``X.attr``;
* lazymed: ``import lazymed; lazymed.install(lazy=[X])``; ``import X`` (timed apart, reported as
  ``import_statement_ms``); then time the first ``X.attr``, which loads X.

The ratio compares the two timed regions (medians). The lazy load has lazymed's finder on
``sys.meta_path`` for every import X makes, so this is where a slow ``find_spec`` shows. RSS after
the timed region is read inside and outside the child (they must agree) and compared too.

Workloads: a synthetic heavy package generated into a temp dir (40 submodules, each importing a
few stdlib modules and defining functions, classes and a table; always), ``flask`` (always) and
``llama_index.core`` (full mode).

Target (full mode, reported, never asserted): first use <= 1.05x the eager import.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _bench

SYNTHETIC = "lzbench_heavy"
STDLIB = ("decimal", "fractions", "json", "csv", "dataclasses", "enum", "string", "textwrap")


def write_synthetic(root: Path, submodules: int = 40) -> None:
    """Write the package ``lzbench_heavy`` under ``root``; its ``__init__`` imports every
    submodule and exposes ``TOTAL``."""
    pkg = root / SYNTHETIC
    pkg.mkdir()
    names = [f"mod{i:02d}" for i in range(submodules)]
    init = "".join(f"from . import {n}\n" for n in names)
    init += "TOTAL = " + " + ".join(f"{n}.TOTAL" for n in names) + "\n"
    (pkg / "__init__.py").write_text(init, encoding="utf-8")
    for i, n in enumerate(names):
        lines = [f"import {STDLIB[i % len(STDLIB)]}\n"]
        lines += [f"def f{j}(x):\n    return x * {j} + {i}\n" for j in range(120)]
        lines += [
            f"class C{j}:\n    a = {j}\n    def m(self):\n        return self.a\n"
            for j in range(25)
        ]
        lines.append(f"TABLE = {{k: str(k * {i}) for k in range(3000)}}\n")
        lines.append("TOTAL = sum(len(v) for v in TABLE.values())\n")
        (pkg / f"{n}.py").write_text("".join(lines), encoding="utf-8")


# Both sides import lazymed and run install() before the timed region, so the standard-library
# modules lazymed's own set-up loads are loaded on both sides; the eager side then uninstalls
# (and checks that no lazymed finder is left on sys.meta_path). Whether X's body has run is read
# from sys.modules' keys (a package whose __init__ ran has submodules there): that touches no
# module object.
COMMON = """\
from time import perf_counter_ns as _clock, process_time_ns as _cpu
import lazymed
def _ran(name):
    return any(k.startswith(name + ".") for k in _sys.modules)
"""

EAGER = (
    COMMON
    + """\
lazymed.install(lazy=[])
lazymed.uninstall()
_finder_left = any("lazymed" in type(f).__module__ for f in _sys.meta_path)
_before = len(_sys.modules)
_c0 = _cpu()
_t0 = _clock()
import {name}
_x = {name}.{attr}
_t1 = _clock()
_c1 = _cpu()
_probe("used", timed_ns=_t1 - _t0, timed_cpu_ns=_c1 - _c0, import_statement_ns=0,
       deferred=not _finder_left, plain=True, modules_before=_before, modules=len(_sys.modules))
"""
)

LAZY = (
    COMMON
    + """\
lazymed.install(lazy=[{name!r}])
_t0 = _clock()
import {name}
_t1 = _clock()
_deferred = not _ran({name!r})
_before = len(_sys.modules)
_c2 = _cpu()
_t2 = _clock()
_x = {name}.{attr}
_t3 = _clock()
_c3 = _cpu()
_probe("used", timed_ns=_t3 - _t2, timed_cpu_ns=_c3 - _c2, import_statement_ns=_t1 - _t0,
       deferred=_deferred, plain=type(_sys.modules[{name!r}]) is type(_sys), modules_before=_before,
       modules=len(_sys.modules))
"""
)


def workloads() -> list[tuple[str, str, int]]:
    """(module, attribute, rounds) for this run."""
    out = [(SYNTHETIC, "TOTAL", _bench.rounds(full=15, quick=3))]
    out.append(("flask", "Flask", _bench.rounds(full=15, quick=2)))
    if not _bench.QUICK:
        out.append(("llama_index.core", "VectorStoreIndex", _bench.rounds(full=9, quick=1)))
    return out


def measure() -> dict[str, Any]:
    rng = random.Random(4)
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with _bench.workspace("first-use") as work:
        app = work / "app"
        app.mkdir()
        _bench.write_pyproject(app)
        write_synthetic(app)  # the child's cwd is on sys.path ('' for -c)
        env = _bench.child_env(work / "cache")
        for name, attr, n in workloads():
            rows: dict[str, list[dict[str, Any]]] = {"eager": [], "lazymed": []}
            codes = {
                "eager": EAGER.format(name=name, attr=attr),
                "lazymed": LAZY.format(name=name, attr=attr),
            }
            for rnd in range(n + 1):  # round 0: warm-up (.pyc, page cache), not recorded
                order = ["eager", "lazymed"]
                rng.shuffle(order)
                for which in order:
                    reading = _bench.ChildRun(codes[which], app, env).run(["used"]).readings["used"]
                    if rnd == 0:
                        continue
                    v = reading.values
                    rows[which].append(
                        {
                            "timed_ns": int(v["timed_ns"]),
                            "timed_cpu_ns": int(v["timed_cpu_ns"]),
                            "import_statement_ns": int(v["import_statement_ns"]),
                            "deferred": v["deferred"] == "True",
                            "plain": v["plain"] == "True",
                            "modules": int(v["modules"]),
                            "modules_before": int(v["modules_before"]),
                            "rss": reading.rss_psutil,
                            "rss_disagreement": reading.rss_disagreement,
                        }
                    )
            raw[name] = rows
    return {"raw": raw}


def analyse(m: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, dict[str, list[dict[str, Any]]]] = m["raw"]
    per: dict[str, Any] = {}
    targets = []
    anomalies = []
    for name, rows in raw.items():
        eager = [r["timed_ns"] for r in rows["eager"]]
        lazy = [r["timed_ns"] for r in rows["lazymed"]]
        me = _bench.summary(eager)["median"]
        ml = _bench.summary(lazy)["median"]
        rss_e = _bench.summary([r["rss"] for r in rows["eager"]])["median"]
        rss_l = _bench.summary([r["rss"] for r in rows["lazymed"]])["median"]
        ratio = ml / me
        cpu_e = [r["timed_cpu_ns"] for r in rows["eager"]]
        cpu_l = [r["timed_cpu_ns"] for r in rows["lazymed"]]
        cpu_ratio = _bench.summary(cpu_l)["median"] / _bench.summary(cpu_e)["median"]
        paired = _bench.paired_median_ratio(lazy, eager)
        per[name] = {
            "rounds": len(eager),
            "eager_import_ms": _bench.ms(me),
            "eager_iqr_ms": _bench.ms(_bench.summary(eager)["iqr"]),
            "lazymed_first_use_ms": _bench.ms(ml),
            "lazymed_iqr_ms": _bench.ms(_bench.summary(lazy)["iqr"]),
            "lazymed_import_statement_ms": _bench.ms(
                _bench.summary([r["import_statement_ns"] for r in rows["lazymed"]])["median"]
            ),
            "ratio": round(ratio, 4),
            "cpu_ratio": round(cpu_ratio, 4),
            "paired_median_ratio": round(paired, 4),
            "eager_cpu_ms": _bench.ms(_bench.summary(cpu_e)["median"]),
            "lazymed_first_use_cpu_ms": _bench.ms(_bench.summary(cpu_l)["median"]),
            "rss_eager_mib": _bench.mib(rss_e),
            "rss_lazymed_mib": _bench.mib(rss_l),
            "rss_delta_mib": _bench.mib(rss_l - rss_e),
            "modules_eager": rows["eager"][0]["modules"],
            "modules_lazymed": rows["lazymed"][0]["modules"],
            "modules_before_timed_eager": rows["eager"][0]["modules_before"],
            "modules_before_timed_lazymed": rows["lazymed"][0]["modules_before"],
        }
        targets.append(
            _bench.target(
                f"first use of lazy {name} / eager import",
                ratio,
                1.05,
                "x",
                ci=_bench.ratio_ci(lazy, eager),
                cpu_ratio=cpu_ratio,
                paired_ratio=paired,
            )
        )
        if not all(r["deferred"] for r in rows["eager"]):
            anomalies.append("uninstall() left a lazymed finder on sys.meta_path")
        if not all(r["deferred"] for r in rows["lazymed"]):
            anomalies.append(f"{name}: `import` under lazymed ran the module (not deferred)")
        if not all(r["plain"] for r in rows["lazymed"]):
            anomalies.append(f"{name}: not a plain types.ModuleType after first use")
    return {
        "description": "Time of the first attribute access of a lazy module (which loads it) "
        "vs `import X` + one access, eager; fresh interpreters, alternating.",
        "workloads": per,
        "targets": targets,
        "anomalies": anomalies,
        "raw": raw,
    }


def test_first_use(benchmark: Any, record: Callable[[str, dict[str, Any]], Path]) -> None:
    measured = benchmark.pedantic(measure, rounds=1, iterations=1)
    result = analyse(measured)
    record("first_use", result)
    for name, rows in measured["raw"].items():
        for which, series in rows.items():
            assert series, (name, which)
            for r in series:
                assert r["timed_ns"] > 0, (name, which, r)
                assert r["rss_disagreement"] <= _bench.RSS_AGREEMENT_BYTES, (name, which, r)
        # Both sides loaded the same package: a first use that loaded nothing would be void.
        assert abs(rows["lazymed"][0]["modules"] - rows["eager"][0]["modules"]) < 40, rows
        # ... and started from (almost) the same set of loaded modules.
        before = rows["lazymed"][0]["modules_before"] - rows["eager"][0]["modules_before"]
        assert abs(before) < 10, rows

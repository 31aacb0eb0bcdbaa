"""Benchmark 3 — attribute access on a lazy module after it has loaded vs a plain module.

Three identical synthetic modules (generated into a temp directory) in one fresh interpreter:
``plain`` imported eagerly, ``lazymed`` imported under ``lazymed.install(lazy=[...])`` and
``recipe`` imported with the stdlib ``LazyLoader`` recipe (for reference). Each lazy module is
loaded by a first attribute access; then ``timeit`` measures ``m.VALUE`` for each module, the
three alternating, best of ``repeats`` (the timeit convention), in ns per access. That is
repeated in several fresh interpreters; the reported figures are the medians over them.

``gross`` ns include timeit's loop and the global lookup of ``m`` (as in DESIGN.md's table);
``net`` subtracts timeit of ``pass`` from the same interpreter.

Target (full mode, reported, never asserted): lazymed <= 1.05x plain (gross).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _bench

MODULE_BODY = "VALUE = 1\n" + "".join(f"def f{i}():\n    return {i}\n" for i in range(100))

CHILD = """\
import timeit
_sys.path.insert(0, {moddir!r})
import lazymed
lazymed.install(lazy=["lzbench_attr_lazy"])
{recipe}
import lzbench_attr_plain as plain
import lzbench_attr_lazy as lazymed_mod
recipe = lazy_import("lzbench_attr_recipe")
_deferred = lazymed.status().module("lzbench_attr_lazy").state == "lazy"
_x = lazymed_mod.VALUE + recipe.VALUE  # first use: both lazy modules load here
_mt = type(_sys)
_probe(
    "loaded",
    deferred=_deferred,
    lazymed_type_plain=type(lazymed_mod) is _mt,
    lazymed_same_object=lazymed_mod is _sys.modules["lzbench_attr_lazy"],
    recipe_type_plain=type(recipe) is _mt,
)
_mods = {{"plain": plain, "lazymed": lazymed_mod, "recipe": recipe}}
_timers = {{k: timeit.Timer("m.VALUE", globals={{"m": m}}) for k, m in _mods.items()}}
_timers["empty"] = timeit.Timer("pass")
_best = {{k: float("inf") for k in _timers}}
_keys = list(_timers)
for _r in range({repeats}):
    for _k in _keys[_r % 4:] + _keys[:_r % 4]:
        _best[_k] = min(_best[_k], _timers[_k].timeit({number}) / {number} * 1e9)
_probe("timed", **{{k: repr(v) for k, v in _best.items()}})
"""


def measure() -> dict[str, Any]:
    children = _bench.rounds(full=7, quick=1)
    repeats = 3 if _bench.QUICK else 7
    number = 200_000 if _bench.QUICK else 2_000_000
    per_child: list[dict[str, Any]] = []
    with _bench.workspace("attr") as work:
        moddir = work / "mods"
        moddir.mkdir()
        for name in ("lzbench_attr_plain", "lzbench_attr_lazy", "lzbench_attr_recipe"):
            (moddir / f"{name}.py").write_text(MODULE_BODY, encoding="utf-8")
        app = work / "app"
        app.mkdir()
        _bench.write_pyproject(app)
        env = _bench.child_env(work / "cache")
        code = CHILD.format(
            moddir=str(moddir), recipe=_bench.LAZYLOADER_RECIPE, repeats=repeats, number=number
        )
        for i in range(children + 1):  # the first child writes the .pyc files: not recorded
            run = _bench.ChildRun(code, app, env).run(["loaded", "timed"])
            if i == 0:
                continue
            loaded, timed = run.readings["loaded"], run.readings["timed"]
            row: dict[str, Any] = {k: float(v) for k, v in timed.values.items()}
            row.update({k: v == "True" for k, v in loaded.values.items()})
            row["rss_disagreement"] = max(loaded.rss_disagreement, timed.rss_disagreement)
            per_child.append(row)
    return {"children": children, "repeats": repeats, "number": number, "rows": per_child}


def analyse(m: dict[str, Any]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = m["rows"]
    gross = {k: statistics.median(r[k] for r in rows) for k in ("plain", "lazymed", "recipe")}
    empty = statistics.median(r["empty"] for r in rows)
    net = {k: statistics.median(r[k] - r["empty"] for r in rows) for k in gross}
    ratio = gross["lazymed"] / gross["plain"]
    anomalies = []
    for key, what in (
        ("deferred", "lazymed ran the module before its first use"),
        ("lazymed_type_plain", "lazymed module is not types.ModuleType after loading"),
        ("lazymed_same_object", "the name bound by `import` is not sys.modules' object"),
    ):
        if not all(r[key] for r in rows):
            anomalies.append(what)
    return {
        "description": "ns per `m.VALUE` (timeit, best of repeats, median over fresh "
        "interpreters) on a loaded lazy module vs a plain module.",
        "children": m["children"],
        "repeats": m["repeats"],
        "number": m["number"],
        "gross_ns": {k: round(v, 2) for k, v in gross.items()},
        "timeit_empty_ns": round(empty, 2),
        "net_ns": {k: round(v, 2) for k, v in net.items()},
        "ratio_lazymed_vs_plain": round(ratio, 4),
        "ratio_recipe_vs_plain": round(gross["recipe"] / gross["plain"], 4),
        "net_ratio_lazymed_vs_plain": round(net["lazymed"] / net["plain"], 4)
        if net["plain"] > 0
        else None,
        "targets": [
            _bench.target(
                "loaded lazy module attribute access / plain module",
                ratio,
                1.05,
                "x",
                ci=_bench.ratio_ci([r["lazymed"] for r in rows], [r["plain"] for r in rows])
                if len(rows) > 1
                else None,
                paired_ratio=_bench.paired_median_ratio(
                    [r["lazymed"] for r in rows], [r["plain"] for r in rows]
                ),
            )
        ],
        "anomalies": anomalies,
        "raw": rows,
    }


def test_attribute_access(benchmark: Any, record: Callable[[str, dict[str, Any]], Path]) -> None:
    measured = benchmark.pedantic(measure, rounds=1, iterations=1)
    result = analyse(measured)
    record("attribute_access", result)
    assert measured["rows"]
    for row in measured["rows"]:
        for key in ("plain", "lazymed", "recipe", "empty"):
            assert 0 < row[key] < 10_000, (key, row)  # ns per access: positive, not absurd
        assert row["plain"] > row["empty"], row
        assert row["rss_disagreement"] <= _bench.RSS_AGREEMENT_BYTES, row

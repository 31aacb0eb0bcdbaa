"""Write the results section of benchmarks/README.md from benchmarks/results/*.json.

Usage::

    python benchmarks/summarize.py            # full-mode results -> README.md
    python benchmarks/summarize.py --quick    # show quick-mode results (stdout only)
    python benchmarks/summarize.py --check    # exit 1 if README.md is not up to date

Only the text between ``<!-- results:start -->`` and ``<!-- results:end -->`` is replaced.
Standard library only: it reads JSON and writes Markdown.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
START = "<!-- results:start -->"
END = "<!-- results:end -->"
MIB = 1 << 20
ORDER = (
    "startup",
    "install_overhead",
    "attribute_access",
    "first_use",
    "medical_app",
    "profile_overhead",
    "submodule_laziness",
    "memory_monitor",
    "leak_detector",
    "isolate",
    "eviction",
    "arena_cap",
    "max_threads",
    "prefork",
    "web",
)
VARIANT_LABELS = {
    "nothing": "nothing imported (floor)",
    "eager": "eager `import`",
    "lazymed": "**lazymed** `install(lazy=[...])` + `import`",
    "lazyloader_recipe": "stdlib `LazyLoader` recipe (baseline)",
    "lazy_loader": "`lazy_loader.load`",
    "wrapt": "`wrapt.lazy_import`",
    "lazy_importer": "`lazy-importer` (`with lazy_importer():`)",
}


def load(results: Path) -> dict[str, dict[str, Any]]:
    """Every ``<name>.json`` of ``results`` that is a known benchmark, by name."""
    out: dict[str, dict[str, Any]] = {}
    for name in ORDER:
        path = results / f"{name}.json"
        if path.is_file():
            out[name] = json.loads(path.read_text(encoding="utf-8"))
    return out


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def _signed(x: float) -> str:
    return f"{x:+.2f}"


def targets_section(data: dict[str, dict[str, Any]]) -> list[str]:
    rows = []
    for name in ORDER:
        for t in data.get(name, {}).get("targets", []):
            ci = t.get("ci95")
            rows.append(
                [
                    f"`{name}`",
                    t["name"],
                    f"{t['measured']} {t['unit']}",
                    f"{_comparison(t)} {t['limit']} {t['unit']}",
                    "met" if t["met"] else "**missed**",
                    f"{ci[0]} to {ci[1]}" if ci else "-",
                    _ci_verdict(ci, t["limit"], strict=_comparison(t) == "<"),
                    _opt(t.get("paired_median_ratio")),
                    _opt(t.get("cpu_time_ratio")),
                ]
            )
    return _table(
        [
            "benchmark",
            "target",
            "measured (ratio of medians)",
            "goal",
            "",
            "95% CI (bootstrap)",
            "CI vs goal",
            "paired median ratio",
            "CPU-time ratio",
        ],
        rows,
    )


def _comparison(t: dict[str, Any]) -> str:
    """The goal's comparison: "≤" unless the target says "<" (the user's story's targets) or
    ">=" (a share that must be reached, as a stop's memory returned)."""
    return {"<": "<", ">=": "≥"}.get(t.get("comparison", ""), "≤")


def _ci_verdict(ci: Sequence[float] | None, limit: float, strict: bool = False) -> str:
    """Whether the verdict survives the noise: the whole 95% interval on one side of the goal
    (``strict``: the goal is ``< limit``)."""
    if not ci:
        return "-"
    if ci[1] < limit or (ci[1] == limit and not strict):
        return "below"
    if ci[0] > limit or (ci[0] == limit and strict):
        return "above"
    return "straddles (noise)"


def ratios_section(data: dict[str, dict[str, Any]]) -> list[str]:
    """The ratios recorded without a goal (lazy/eager, profiler overhead), one row each."""
    rows = []
    for name in ORDER:
        for r in data.get(name, {}).get("ratios", []):
            ci = r["ci95"]
            rows.append(
                [
                    f"`{name}`",
                    r["name"],
                    f"{r['measured']} x",
                    f"{ci[0]} to {ci[1]}",
                    _opt(r.get("paired_median_ratio")),
                    _opt(r.get("cpu_time_ratio")),
                ]
            )
    if not rows:
        return []
    return [
        "",
        "### Ratios (recorded, no goal)",
        "",
        *_table(
            [
                "benchmark",
                "ratio",
                "measured (ratio of medians)",
                "95% CI (bootstrap)",
                "paired median ratio",
                "CPU-time ratio",
            ],
            rows,
        ),
    ]


def _opt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}x"


def startup_section(doc: dict[str, Any]) -> list[str]:
    rows = []
    for variant, v in doc["variants"].items():
        rows.append(
            [
                VARIANT_LABELS.get(variant, variant),
                _fmt(v["import_ms"]["median"]),
                _fmt(v["import_ms"]["iqr"]),
                f"{v['import_time_ratio_vs_recipe']:.2f}x",
                _fmt(v["rss_after_import_mib"], 1),
                _signed(v["rss_delta_vs_recipe_mib"]),
                v["modules_after_import"],
                _fmt(v["first_use_ms"], 0),
                _fmt(v["rss_after_first_use_mib"], 1),
            ]
        )
    out = [
        f"### 1. Start-up: flask + google.cloud.storage + firebase_admin + supabase + "
        f"llama_index.core ({doc['rounds']} rounds, first use in {doc['use_rounds']}; medians)",
        "",
    ]
    out += _table(
        [
            "variant",
            "import phase ms",
            "IQR ms",
            "time vs recipe",
            "RSS MiB",
            "RSS Δ vs recipe MiB",
            "modules",
            "first use ms",
            "RSS after use MiB",
        ],
        rows,
    )
    worst = max(v["max_rss_disagreement_bytes"] for v in doc["variants"].values())
    out += [
        "",
        f"RSS is the child's own `/proc/self/statm`; psutil and `/proc/<pid>/status` read from "
        f"this process agreed within {worst / 1024:.0f} KiB in every run.",
    ]
    return out


def install_section(doc: dict[str, Any]) -> list[str]:
    w = doc["wall_ms"]
    rows = [
        [
            "`python -c pass`",
            _fmt(w["pass"]["median"]),
            _fmt(w["pass"]["iqr"]),
            _fmt(doc["cpu_ms"]["pass"]),
            _fmt(doc["peak_rss_mib"]["pass"]),
        ],
        [
            '`python -c "import lazymed; lazymed.install()"`',
            _fmt(w["install"]["median"]),
            _fmt(w["install"]["iqr"]),
            _fmt(doc["cpu_ms"]["install"]),
            _fmt(doc["peak_rss_mib"]["install"]),
        ],
    ]
    if "install_kw" in w:  # results from before the keyword form lack it
        rows.append(
            [
                "the same with the four names as `install(lazy=..., from_import=...)` keywords",
                _fmt(w["install_kw"]["median"]),
                _fmt(w["install_kw"]["iqr"]),
                _fmt(doc["cpu_ms"]["install_kw"]),
                "",
            ]
        )
    out = [
        f"### 2. `install()` with a pyproject config vs a bare interpreter "
        f"({doc['pairs']} alternating pairs, {doc['memory_runs']} memory runs each, medians)",
        "",
    ]
    out += _table(["command", "wall ms", "IQR ms", "CPU ms", "peak RSS (VmHWM) MiB"], rows)
    out += [
        "",
        f"Ratio {doc['wall_ratio']:.3f}x wall (+{doc['wall_added_ms']:.2f} ms), "
        f"{doc['cpu_ratio']:.3f}x CPU, {_signed(doc['peak_rss_delta_mib'])} MiB peak RSS. "
        f"First run with an empty config cache (TOML parsed, cache written): "
        f"{doc['cold_first_install_run_ms']:.1f} ms.",
    ]
    if "keywords_wall_ratio" in doc:
        out[-1] += (
            f" Keywords: {doc['keywords_wall_ratio']:.3f}x wall, "
            f"{doc['keywords_cpu_ratio']:.3f}x CPU (the validator stays unimported)."
        )
    return out


def attribute_section(doc: dict[str, Any]) -> list[str]:
    g, n = doc["gross_ns"], doc["net_ns"]
    rows = [
        ["plain module", _fmt(g["plain"]), _fmt(n["plain"]), "1.00x"],
        [
            "lazymed module, loaded",
            _fmt(g["lazymed"]),
            _fmt(n["lazymed"]),
            f"{doc['ratio_lazymed_vs_plain']:.3f}x",
        ],
        [
            "`LazyLoader` recipe module, loaded",
            _fmt(g["recipe"]),
            _fmt(n["recipe"]),
            f"{doc['ratio_recipe_vs_plain']:.3f}x",
        ],
    ]
    out = [
        f"### 3. Attribute access `m.VALUE` after loading (timeit best of {doc['repeats']} x "
        f"{doc['number']:,}, median of {doc['children']} interpreters)",
        "",
    ]
    out += _table(["module", "ns/access", "net ns (minus empty loop)", "vs plain"], rows)
    return out


def first_use_section(doc: dict[str, Any]) -> list[str]:
    rows = []
    for name, w in doc["workloads"].items():
        rows.append(
            [
                f"`{name}`",
                w["rounds"],
                _fmt(w["eager_import_ms"], 1),
                _fmt(w["lazymed_first_use_ms"], 1),
                f"{w['ratio']:.3f}x",
                _fmt(w["lazymed_import_statement_ms"], 3),
                _signed(w["rss_delta_mib"]),
            ]
        )
    out = ["### 4. First use of a lazy module vs its eager import (medians)", ""]
    out += _table(
        [
            "module",
            "rounds",
            "eager import ms",
            "lazy first use ms",
            "ratio",
            "lazy `import` statement ms",
            "RSS Δ MiB",
        ],
        rows,
    )
    return out


def _when(doc: dict[str, Any]) -> str:
    env = doc["environment"]
    return (
        f"Measured {doc['created']} ({doc['mode']} mode, `{doc['command']}`); load average "
        f"{env.get('load_average_start')} at the start of that run, "
        f"{env.get('load_average_end')} at the end."
    )


def _story_cell(stats: dict[str, Any], unit: str, has_target: bool) -> str:
    median = stats["median"]
    digits = 0 if unit in ("threads", "objects", "modules") or median >= 1000 else 2
    if unit == "ms" and median < 10:
        digits = 1
    text = f"{_fmt(median, digits)} {unit}"
    if not has_target:
        return text
    return f"{text} {'met' if stats['met'] else '**missed**'}"


def medical_app_section(doc: dict[str, Any]) -> list[str]:
    rows = []
    for f in doc["figures"].values():
        limit = f["target"]
        has = limit is not None
        ratio = f["lazy_over_eager"]
        rows.append(
            [
                f["label"],
                f"< {limit:,g} {f['unit']}" if has else "",
                _story_cell(f["eager"], f["unit"], has),
                _story_cell(f["lazy"], f["unit"], has),
                "-" if ratio is None else f"{ratio:.2f}x",
            ]
        )
    out = [
        f"### 5. Reference medical app (`examples/medical_app`), eager vs lazymed "
        f"({doc['rounds']} alternating pairs, {doc['warm_requests']} warm RAG requests a run; "
        "medians)",
        "",
    ]
    out += _table(["figure", "target (story)", "eager", "lazy", "lazy/eager"], rows)
    x = doc["cross_checks"]
    out += [
        "",
        "Start-up: spawn to the first `GET /healthz` 200, client side; it agreed with the child's "
        f"own clock (process start to listening) in {x['startup_agrees_with_childs_clock']}. "
        "RSS, VMS and threads: psutil on the child's pid from this process (MB = 10^6 bytes); the "
        "child's own `/proc/self/status` agreed "
        + (
            "in every phase of every run"
            if x["memory_and_threads_agree_in_every_phase"]
            else "NOT in every phase (see anomalies)"
        )
        + f" (largest RSS gap {x['max_rss_gap_inside_vs_psutil_bytes'] / 1024:.0f} KiB). "
        "gc objects (after `gc.collect()`) and modules: reported by the child. Responses: "
        "client side over loopback; "
        + (
            "byte-identical in both modes in every run."
            if x["identical_responses"]
            else "they DIFFERED between runs."
        )
        + " The lazy app's first RAG request pays for the deferred import of `llama_index.core` "
        f"({doc['lazy_llama_index_load_seconds_median']:.2f} s as `lazymed.status()` reports it, "
        "median).",
        "",
        _when(doc),
    ]
    return out


def profile_overhead_section(doc: dict[str, Any]) -> list[str]:
    w, cpu, plain = doc["wall_ms"], doc["cpu_ms"], doc["wall_ms"]["plain"]["median"]
    labels = {
        "plain": f'plain run: `python -c "{"; ".join(doc["target_imports"])}"`',
        "timing_pass": "profiler timing pass (tracer), timed here",
        "command": "`python -m lazymed profile --json --modules "
        f"{doc['target']}` (allocation pass, timing pass, plain run, report)",
    }
    rows = [
        [
            labels[v],
            _fmt(w[v]["median"], 1),
            _fmt(w[v]["iqr"], 1),
            _fmt(cpu[v], 1),
            f"{w[v]['median'] / plain:.3f}x",
        ]
        for v in ("plain", "timing_pass", "command")
    ]
    out = [
        f"### 6. `lazymed profile` overhead: `--modules {doc['target']}` "
        f"({doc['modules_imported']} modules; {doc['rounds']} rounds, shuffled order; medians)",
        "",
    ]
    out += _table(["run", "wall ms", "IQR ms", "CPU ms", "vs plain"], rows)
    t, rep, agree = doc["timing_pass"], doc["reported_ms"], doc["agreement"]
    out += [
        "",
        f"As the profiler reports it (`overhead` in its JSON): timing pass "
        f"{_fmt(rep['timing_pass'], 1)} ms, plain run {_fmt(rep['plain_run'], 1)} ms, "
        f"ratio {t['ratio_reported']['ratio_of_medians']:.3f}x (median of the reports "
        f"{t['ratio_reported']['median_of_reports']:.3f}x, IQR {t['ratio_reported']['iqr']:.3f}); "
        f"allocation pass {doc['alloc_pass_ratio_reported']:.2f}x the plain run; tracer "
        f"bookkeeping {_fmt(rep['tracer_bookkeeping'], 1)} ms (already subtracted from its "
        "figures). "
        f"Timed here: {t['ratio_timed_here']:.3f}x. The profiler's plain run is "
        f"{agree['profiler_plain_run_over_timed_here']:.3f}x the one timed here, its timing pass "
        f"{agree['profiler_timing_pass_over_timed_here']:.3f}x; reading the tracer's report adds "
        f"{_fmt(t['harness_ms'], 1)} ms to the interval timed here.",
        "",
        _when(doc),
    ]
    return out


def submodule_laziness_section(doc: dict[str, Any]) -> list[str]:
    static = doc["static_reading_all_pairs"]
    out = [
        "### 7. `import pkg.sub` with `pkg` lazy, over every installed distribution",
        "",
        f"Static reading (no interpreter started) over all {static['python_pairs']} pure-Python "
        f"(package, submodule) pairs: {static['predicted_lazy']} stay lazy "
        f"({100 * static['predicted_lazy_share']:.1f} %). Fresh interpreters, {doc['sample']}: "
        f"{doc['stay_lazy']} of {doc['python_pairs']} pure-Python pairs stay lazy "
        f"({100 * doc['stay_lazy_share']:.1f} %); {doc['c_extension_pairs']} C-extension "
        f"submodule pair(s), {doc['imported_at_startup']} of a package imported at start-up "
        f"(a `.pth` file) and {doc['eager_import_fails']} pair(s) whose eager import fails "
        "(missing optional dependencies) not counted. Final state after first use equal to "
        f"eager CPython's: {doc['pairs_counted'] - len(doc['state_mismatches'])} of "
        f"{doc['pairs_counted']}.",
        "",
    ]
    rows = [
        [f"`{r['submodule']}`", r["outcome"], (r.get("reason") or "").rpartition(": ")[0][-90:]]
        for r in doc["not_lazy"]
    ]
    if rows:
        out += _table(["pair run early (sample)", "why", "lazymed's reason (file:line)"], rows)
        out.append("")
    reasons = list(static["run_early_reasons"].items())
    if reasons:
        out += _table(
            ["static reading: what runs packages early (all pairs)", "pairs"],
            [[f"`{k[:100]}`", v] for k, v in reasons],
        )
        out.append("")
    out.append(_when(doc))
    return out


def memory_monitor_section(doc: dict[str, Any]) -> list[str]:
    """The governor's monitor: CPU share at 1 s and RSS cost."""
    d = doc
    rows = [
        ["CPU share, psutil from outside, minus idle", f"{d['cpu_share_percent_outside']} %"],
        ["CPU share, process_time() inside, minus idle", f"{d['cpu_share_percent_inside']} %"],
        ["CPU per reading (`step()`, mean of 200)", f"{d['step_cpu_ms']} ms"],
        ["`snapshot()` (full reading with gc objects)", f"{d['snapshot_cpu_ms']} ms"],
        ["gc-tracked objects in the child", f"{d['gc_objects']:,}"],
        ["RSS of `import lazymed.memory`", f"{d['rss_import_cost_mib']} MiB"],
        ["RSS of the running monitor", f"{d['rss_monitor_cost_mib']} MiB"],
        ["RSS inside vs outside, max difference", f"{d['rss_inside_vs_outside_max_bytes']} B"],
    ]
    return [
        f"### 8. Memory governor monitor at `interval_s = 1` ({d['rounds']} rounds of "
        f"{d['sleep_seconds']:g} s, idle vs monitor, medians)",
        "",
        *_table(["figure", "value"], rows),
    ]


def leak_detector_section(doc: dict[str, Any]) -> list[str]:
    """The leak detector on a synthetic clock and in one real run."""
    d = doc
    flag = f"{d['time_to_flag_10mb_min_s']:g} s / {d['time_to_flag_10mb_min_after_warmup_s']:g} s"
    real = d["real_leak_flagged_after_s"]
    rows = [
        ["10 MB/min leak: flagged after start / after warm-up", flag],
        ["1 MB/min leak: flagged after start", f"{d['time_to_flag_1mb_min_s']:g} s"],
        ["24 h flat, and +80 MB step then flat: alarms", str(d["false_alarms_flat_and_step_24h"])],
        ["5 min ramp then 2 h flat: alarms per run", str(d["ramp_then_flat"]["alarms_per_run"])],
        ["24 h sawtooth (50 MB cache filled, cleared): alarms", str(d["sawtooth_alarms_per_run"])],
        ["real child leaking 600 MB/min: flagged after", "-" if real is None else f"{real:.1f} s"],
        ["real child flat for 12 s: alarms", str(d["real_flat_alarms"])],
    ]
    return [
        "### 9. Leak detector (defaults: warm-up 120 s, window 600 s, 10 MB/h, r2 0.8; "
        "synthetic clock with 1 s readings; real run with a 6 s window)",
        "",
        *_table(["scenario", "result"], rows),
    ]


def isolate_section(doc: dict[str, Any]) -> list[str]:
    trips, cold, stop = doc["round_trip"], doc["cold_start"], doc["stop"]
    rows = [
        [
            f"{label} (`svc.echo(x)`, {trips[key]['calls_per_block']} calls a block)",
            _fmt(trips[key]["isolated_us"]["median"], 1),
            _fmt(trips[key]["in_process_us"]["median"], 3),
            f"{trips[key]['ratio']:,}x",
        ]
        for key, label in (("small", "31-byte str"), ("1mib", "1 MiB bytes"))
    ]
    out = ["### 7. `lazymed.isolate`: call, cold start, stop (medians)", ""]
    out += _table(["round trip", "isolated µs", "in-process µs", "ratio"], rows)
    out += [""]
    out += _table(
        ["cold start (first call on a stopped service)", "median s", "min s", "max s"],
        [
            [
                m,
                _fmt(cold[m]["seconds"]["median"], 3),
                _fmt(cold[m]["seconds"]["min"], 3),
                _fmt(cold[m]["seconds"]["max"], 3),
            ]
            for m in ("spawn", "forkserver")
        ],
    )
    demo = doc.get("demo")
    if demo:
        fig = demo["after_first_rag_medians"]
        eager_tree = fig["eager"]["tree_rss_bytes"]
        out += [
            "",
            f"`lazymed demo`, eager vs lazy vs isolated ({demo['repeat']} run(s) per mode, "
            "medians; the server process after the first RAG request, and its process tree):",
            "",
        ]
        out += _table(
            ["mode", "RSS MiB", "VMS MiB", "threads", "gc objects", "first RAG ms",
             "warm RAG ms", "tree RSS MiB", "tree / eager"],
            [
                [
                    mode,
                    _fmt(f["rss_bytes"] / MIB, 1),
                    _fmt(f["vms_bytes"] / MIB, 1),
                    f"{f['threads']:g}",
                    f"{f['gc_objects']:,.0f}",
                    _fmt(f["first_rag_seconds"] * 1000, 1),
                    _fmt(f["warm_rag_seconds"] * 1000, 1),
                    _fmt(f["tree_rss_bytes"] / MIB, 1),
                    f"{f['tree_rss_bytes'] / eager_tree:.2f}x",
                ]
                for mode, f in fig.items()
            ],
        )  # fmt: skip
    rep = stop["report"]
    out += [
        "",
        f"`stop()` of {stop['worker']}: worker RSS {rep['worker_rss_bytes'] / MIB:.1f} MiB "
        f"(USS {(rep['worker_uss_bytes'] or 0) / MIB:.1f} MiB); process tree "
        f"{rep['tree_rss_before_bytes'] / MIB:.1f} -> {rep['tree_rss_after_bytes'] / MIB:.1f} MiB: "
        f"{rep['returned_bytes'] / MIB:.1f} MiB returned, "
        f"{stop['returned_share_of_worker_rss']:.1%} of the worker's RSS (goal >= 95 %). Read "
        f"again independently around the stop: {stop['outside_returned_bytes'] / MIB:.1f} MiB.",
        "",
        _when(doc),
    ]
    return out


def eviction_section(doc: dict[str, Any]) -> list[str]:
    rows = []
    for tree, t in doc["trees"].items():
        share = t.get("traced_freed_share")
        rows.append(
            [
                tree,
                "yes" if all(t["evicted"]) else "no (put back)",
                t["modules"],
                _fmt(t.get("traced_by_load_mib"), 1) if share is not None else "-",
                f"{share:.1%}" if share is not None else "-",
                _fmt(t["freed_uss_mib"], 1),
                _fmt(t["rss_drop_psutil_mib"], 1),
                _fmt(t["seconds"], 2),
            ]
        )
    out = [
        f"### 9. `lazymed.evict()`: a synthetic pure-Python tree nobody holds, and "
        f"llama_index.core ({doc['rounds']} rounds; medians)",
        "",
    ]
    out += _table(
        [
            "tree (run)",
            "evicted",
            "modules",
            "traced by its load MiB",
            "traced given back",
            "USS given back MiB (report)",
            "RSS drop MiB (psutil, outside)",
            "evict() s",
        ],
        rows,
    )
    held = [t for t in doc["trees"].values() if not all(t["evicted"])]
    if held:
        out += ["", "Why a tree stayed (the report's `holders`):", ""]
        out += [f"- {h}" for h in held[0]["holders"][:4]]
    out += ["", _when(doc)]
    return out


def arena_cap_section(doc: dict[str, Any]) -> list[str]:
    rows = [
        [v, _fmt(t["vms_growth_mib"], 1), _fmt(t["rss_growth_mib"], 1), t["mallopt"]]
        for v, t in doc["variants"].items()
    ]
    out = [
        f"### 10. VMS of 32 threads that allocate and exit, with and without "
        f"`malloc_arena_max = 2` ({doc['rounds']} rounds; medians)",
        "",
    ]
    out += _table(["variant", "VMS growth MiB", "RSS growth MiB (psutil)", "mallopt"], rows)
    return [*out, "", _when(doc)]


def max_threads_section(doc: dict[str, Any]) -> list[str]:
    rows = [
        [
            v,
            t["threads_at_start"],
            t["threads_after_requests"],
            _fmt(t["rss_after_requests_mib"], 1),
        ]
        for v, t in doc["variants"].items()
    ]
    out = [
        f"### 11. Threads of the reference app after /triage and /rag, {doc['cores']} cores "
        f"({doc['rounds']} rounds; most seen)",
        "",
    ]
    out += _table(["variant", "threads at start", "threads after", "RSS MiB"], rows)
    return [*out, "", _when(doc)]


def prefork_section(doc: dict[str, Any]) -> list[str]:
    rows = [
        [
            v,
            _fmt(t["startup_s"], 2),
            _fmt(t["total_pss_start_mib"], 1),
            _fmt(t["total_pss_after_mib"], 1),
            _fmt(t["master_pss_after_mib"], 1),
            _fmt(t["workers_pss_after_mib"], 1),
        ]
        for v, t in doc["variants"].items()
    ]
    out = [
        f"### 12. `gunicorn --preload -w 4`: PSS once every worker used the five SDKs "
        f"({doc['rounds']} rounds; medians)",
        "",
    ]
    out += _table(
        [
            "variant",
            "start-up s",
            "total PSS at start MiB",
            "total PSS after use MiB",
            "master MiB",
            "4 workers MiB",
        ],
        rows,
    )
    return [*out, "", _when(doc)]


def web_section(doc: dict[str, Any]) -> list[str]:
    lat = doc["latency"]
    out = [
        "### 14. The /memory endpoints under gunicorn (medical app, lazy, 2 workers): latency "
        "and a soak",
        "",
        f"Latency: {next(iter(lat.values()))['n']} requests per endpoint from 2 client threads "
        "in a second process, a new connection per request.",
        "",
    ]
    out += _table(
        ["endpoint", "p50 ms", "p99 ms", "max ms"],
        [
            [k, _fmt(v["p50_ms"], 1), _fmt(v["p99_ms"], 1), _fmt(v["max_ms"], 1)]
            for k, v in lat.items()
        ],
    )
    soak = doc["soak"]
    warm = soak["warmup"]
    fills = ", ".join(f"{name} {_fmt(sec, 0)} s" for name, sec in warm["fill_seconds"].items())
    env = ", ".join(f"`{k}={v}`" for k, v in warm["environment"].items())
    out += [
        "",
        f"Soak (3 app requests to 1 /memory/stats; each worker's RSS read with psutil every "
        f"{soak['step']} requests). Warm-up: {warm['requests']:,} requests "
        f"({warm['seconds']} s), until every bounded structure was full: at least "
        f"{_fmt(warm['min_seconds'], 0)} s from the configuration in use ({fills}; set by {env}), "
        f"at least {warm['gc_full_collections_required']} full collections of the garbage "
        "collector's oldest generation in every worker, and each worker's web history at "
        "capacity and leak window spanning its length, checked from outside. Then "
        f"{soak['requests']:,} measured requests ({soak['seconds']} s): slope of RSS per 1k "
        "requests with its 95 % CI, by least squares (t) and by Theil-Sen (the verdict: "
        "page-quantised RSS fools the least-squares interval). The memory plan's 24-hour "
        "no-leak criterion, scaled down to one run.",
        "",
    ]
    out += _table(
        [
            "worker",
            "RSS first MiB",
            "RSS last MiB",
            "max - min KiB",
            "least squares KiB / 1k (95 % CI)",
            "Theil-Sen KiB / 1k (95 % CI)",
            "full gc during",
            "leak?",
        ],
        [
            [
                pid,
                _fmt(s["rss_first_mib"], 3),
                _fmt(s["rss_last_mib"], 3),
                s["rss_max_minus_min_kib"],
                f"{_fmt(s['kib_per_1k_requests'], 3)} ({s['ci95'][0]} to {s['ci95'][1]})",
                f"{_fmt(s['theil_sen_kib_per_1k_requests'], 3)} "
                f"({s['theil_sen_ci95'][0]} to {s['theil_sen_ci95'][1]})",
                s["gc_full_collections_during"],
                "**yes**" if s["leak"] else "no",
            ]
            for pid, s in soak["slopes"].items()
        ],
    )
    return [*out, "", _when(doc)]


SECTIONS = {
    "startup": startup_section,
    "install_overhead": install_section,
    "attribute_access": attribute_section,
    "first_use": first_use_section,
    "medical_app": medical_app_section,
    "profile_overhead": profile_overhead_section,
    "submodule_laziness": submodule_laziness_section,
    "memory_monitor": memory_monitor_section,
    "leak_detector": leak_detector_section,
    "isolate": isolate_section,
    "eviction": eviction_section,
    "arena_cap": arena_cap_section,
    "max_threads": max_threads_section,
    "prefork": prefork_section,
    "web": web_section,
}


def render(data: dict[str, dict[str, Any]]) -> str:
    """The Markdown between the markers (without them)."""
    if not data:
        return "_No results yet: run the suite (see above)._\n"
    any_doc = next(iter(data.values()))
    env = any_doc["environment"]
    modes = sorted({d["mode"] for d in data.values()})
    commands = sorted({d["command"] for d in data.values()})
    created = sorted(d["created"] for d in data.values())
    lines = [
        "_Generated by `python benchmarks/summarize.py` from `benchmarks/results/*.json`; "
        "do not edit by hand._",
        "",
        f"- Made by: {', '.join(f'`{c}`' for c in commands)} ({'/'.join(modes)} mode), "
        f"{created[0]} to {created[-1]}",
        f"- Python {env['python']} ({env['implementation']}), {env['platform']}",
        f"- CPU: {env['cpu']}, {env['cpus_usable']} usable of {env['cpus']} cores "
        f"(shared with other work), {env['memory_total_mib']:,} MiB RAM; load average "
        f"{env.get('load_average_start')} at the start, {env.get('load_average_end')} at the end "
        "(1, 5, 15 min; above 2 the cores were oversubscribed and wall times noisy)",
        f"- lazymed {env['versions'].get('lazymed') or '(source tree)'} at "
        f"{env.get('lazymed_commit') or 'unknown commit'}; "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v and k != "lazymed"),
        "",
        "### Targets",
        "",
        *targets_section(data),
        *ratios_section(data),
    ]
    anomalies = [(n, a) for n in ORDER for a in data.get(n, {}).get("anomalies", [])]
    if anomalies:
        lines += ["", "Anomalies seen while measuring:", ""]
        lines += [f"- `{n}`: {a}" for n, a in anomalies]
    number = 0
    for name in ORDER:
        if name in data:
            number += 1
            section = SECTIONS[name](data[name])
            # Sections are numbered in ORDER here, whatever number their heading was written
            # with, so a new benchmark's section never needs the others renumbered.
            section[0] = re.sub(r"^### \d+\. ", f"### {number}. ", section[0])
            lines += ["", *section]
    return "\n".join(lines) + "\n"


def splice(readme: str, body: str) -> str:
    """``readme`` with the text between the markers replaced by ``body``.

    Raises ValueError when the markers are missing."""
    if START not in readme or END not in readme:
        raise ValueError(f"README lacks the {START} / {END} markers")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{body}{END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, help="directory of the JSON results")
    parser.add_argument("--readme", type=Path, default=HERE / "README.md")
    parser.add_argument("--quick", action="store_true", help="render results/quick to stdout")
    parser.add_argument("--check", action="store_true", help="exit 1 if the README is stale")
    args = parser.parse_args(argv)
    results: Path = args.results or (HERE / "results" / "quick" if args.quick else HERE / "results")
    body = render(load(results))
    if args.quick:
        sys.stdout.write(body)
        return 0
    readme_path: Path = args.readme
    old = readme_path.read_text(encoding="utf-8")
    new = splice(old, body)
    if args.check:
        if new != old:
            print(f"{readme_path} is not up to date: run python benchmarks/summarize.py")
            return 1
        return 0
    readme_path.write_text(new, encoding="utf-8")
    print(f"wrote {readme_path} from {results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""summarize.py renders the JSON the benchmarks wrote, and only rewrites between its markers.

Runs on this session's results when the benchmarks ran before it (pytest runs this file last),
else on the committed full-mode results in benchmarks/results/.
"""

from __future__ import annotations

from pathlib import Path

import _bench
import summarize


def _results_dir() -> Path:
    here = _bench.results_dir()
    if all((here / f"{n}.json").is_file() for n in summarize.ORDER):
        return here
    return _bench.RESULTS_DIR


def test_render_shows_every_benchmark_and_target() -> None:
    results = _results_dir()
    data = summarize.load(results)
    assert set(data) == set(summarize.ORDER), f"missing results in {results}: run the suite"
    body = summarize.render(data)
    for heading in (
        "### 1. Start-up",
        "### 2. `install()`",
        "### 3. Attribute",
        "### 4. First",
        "### 5. Reference medical app",
        "### 6. `lazymed profile` overhead",
        "### 7. `import pkg.sub`",
        "### 8. Memory governor monitor",
        "### 9. Leak detector",
        "### Ratios (recorded, no goal)",
    ):
        assert heading in body
    for doc in data.values():
        for t in doc["targets"]:
            assert f"{t['measured']} {t['unit']}" in body, t
            assert ("met" if t["met"] else "**missed**") in body
        for r in doc.get("ratios", []):
            assert f"| {r['name']} | {r['measured']} x |" in body, r
    app = data["medical_app"]["figures"]["startup"]
    assert f"{app['lazy_over_eager']:.2f}x" in body
    assert f"< {app['target']:,g} s" in body
    lm = data["startup"]["variants"]["lazymed"]
    assert f"{lm['import_time_ratio_vs_recipe']:.2f}x" in body


def test_splice_replaces_only_between_markers() -> None:
    readme = f"intro\n{summarize.START}\nold table\n{summarize.END}\noutro\n"
    new = summarize.splice(readme, "new table\n")
    assert new == f"intro\n{summarize.START}\nnew table\n{summarize.END}\noutro\n"
    assert summarize.splice(new, "new table\n") == new


def test_committed_readme_matches_committed_results() -> None:
    text = (_bench.BENCH_DIR / "README.md").read_text(encoding="utf-8")
    assert text.count(summarize.START) == 1 and text.count(summarize.END) == 1
    rewritten_now = any(p.parent == _bench.RESULTS_DIR for p in _bench.RECORDED)
    if rewritten_now:
        return  # a full run just replaced the JSON: tox runs summarize.py right after pytest
    body = summarize.render(summarize.load(_bench.RESULTS_DIR))
    assert summarize.splice(text, body) == text, (
        "benchmarks/README.md is stale: run python benchmarks/summarize.py"
    )

"""``lazymed demo``'s epilogue: the lazy medical app with the /memory endpoints, its report
saved; the RSS it reports agrees with psutil read from outside."""

from __future__ import annotations

from pathlib import Path

from lazymed.demo._web import ENDPOINTS, save_report

from ._servers import APP_DIR


def test_save_report(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    saved = save_report(APP_DIR, out)
    assert saved["path"] == str(out) and saved["endpoints"] == list(ENDPOINTS)
    page = out.read_text()
    assert '<svg id="chart"' in page and 'id="modules"' in page
    assert "llama_index.core" in page, "the RAG request loaded the lazy index module"
    assert abs(saved["rss_bytes"] - saved["outside_rss_bytes"]) / saved["outside_rss_bytes"] < 0.1

"""/memory/report in headless Chromium (Debian's ``chromium``): served by the medical app under
gunicorn, the page's DOM holds the chart and the tables, and a screenshot is kept
(``UPDATE_REPORT_PNG=1`` writes it to docs/img/report.png, the README's picture)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx

from . import _servers
from ._tools import debian_tool
from .conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _chromium(chromium: str, *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", f"--user-data-dir={tmp / 'profile'}", *args]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=180)


def test_report_in_headless_chromium(tmp_path: Path) -> None:
    chromium = debian_tool("chromium", "chromium")
    port = _servers.free_port()
    # public_stats: a browser sends no bearer token (loopback_only still holds, from the file)
    env = _servers.server_env(TOKEN, LAZYMED_WEB__PUBLIC_STATS="true")
    with _servers.gunicorn(port, env, tmp_path / "gunicorn.log", workers=1):
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as c:
            for _ in range(5):  # some history for the chart, an action chain, a lazy load
                c.get("/memory/stats")
                c.post("/vitals/news2", json={"respiratory_rate": 18, "spo2": 97,
                       "on_oxygen": False, "systolic_bp": 120, "heart_rate": 70,
                       "consciousness": "A", "temperature": 37.0})  # fmt: skip
                c.get("/reports/p1/r1/url")
            assert c.post("/memory/optimize", headers=AUTH).status_code == 200
            assert c.post("/memory/optimize").status_code == 401, "optimize still needs the token"
        dom = _chromium(chromium, "--dump-dom", f"{base}/memory/report", tmp=tmp_path)
        assert dom.returncode == 0, dom.stderr[-2000:]
        page = dom.stdout
        assert '<svg id="chart"' in page and "series-rss_bytes" in page
        for table in ("targets", "modules", "actions"):
            assert f'<table id="{table}"' in page, table
        assert "google.cloud.storage" in page and "<script" not in page
        shot = tmp_path / "report.png"
        done = _chromium(chromium, f"--screenshot={shot}", "--window-size=1100,1900",
                         "--hide-scrollbars", f"{base}/memory/report", tmp=tmp_path)  # fmt: skip
        assert done.returncode == 0 and shot.stat().st_size > 10_000, done.stderr[-2000:]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("UPDATE_REPORT_PNG") == "1":
        target = _servers.ROOT / "docs" / "img" / "report.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)

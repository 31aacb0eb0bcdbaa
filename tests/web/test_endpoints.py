"""The endpoints through the WSGI middleware (called directly, no server): every status code,
every security rule, the documented JSON schema, the report and the metrics."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil
import pytest

from lazymed._errors import ConfigError
from lazymed.web import WebSettings, settings
from lazymed.web.wsgi import LazyMedMiddleware
from tests._json_schema import assert_type, documented_schema

from .conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the app"]


def call(
    mw: LazyMedMiddleware,
    path: str,
    method: str = "GET",
    query: str = "",
    remote: str = "127.0.0.1",
    **extra: str,
) -> tuple[int, dict[str, str], bytes]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REMOTE_ADDR": remote,
        "SCRIPT_NAME": "",
        **extra,
    }
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(headers)

    body = b"".join(mw(environ, start_response))
    return seen["status"], seen["headers"], body


def mw(**kw: Any) -> LazyMedMiddleware:
    kw.setdefault("enabled", True)
    kw.setdefault("sample_interval_s", 0)
    return LazyMedMiddleware(app, **kw)


def test_off_unless_enabled() -> None:
    off = LazyMedMiddleware(app)
    assert off.state.settings.enabled is False
    status, _, body = call(off, "/memory/stats", **AUTH)
    assert (status, body) == (200, b"the app")


def test_other_paths_reach_the_app() -> None:
    m = mw()
    assert call(m, "/")[2] == b"the app"
    assert call(m, "/memoryx/stats")[2] == b"the app"


@pytest.mark.parametrize("path", ["/memory/stats", "/memory/report", "/memory/metrics"])
def test_get_needs_the_token_unless_public(path: str) -> None:
    m = mw()
    status, headers, _ = call(m, path)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert call(m, path, HTTP_AUTHORIZATION="Bearer wrong")[0] == 403
    assert call(m, path, HTTP_AUTHORIZATION=f"Basic {TOKEN}")[0] == 403
    assert call(m, path, HTTP_AUTHORIZATION="Bearer ")[0] == 403
    assert call(m, path, **AUTH)[0] == 200
    assert call(mw(public_stats=True), path)[0] == 200


def test_optimize_always_needs_the_token() -> None:
    m = mw(public_stats=True)
    assert call(m, "/memory/optimize", "POST")[0] == 401
    assert call(m, "/memory/optimize", "POST", HTTP_AUTHORIZATION="Bearer nope")[0] == 403
    status, _, body = call(m, "/memory/optimize", "POST", **AUTH)
    assert status == 200
    report = json.loads(body)
    assert report["trigger"] == "optimize" and report["actions"]
    assert report["rss_freed_bytes"] == max(
        0, report["rss_before_bytes"] - report["rss_after_bytes"]
    )


def test_no_token_configured_means_nobody_gets_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAZYMED_WEB_TOKEN")
    m = mw()
    assert call(m, "/memory/optimize", "POST", HTTP_AUTHORIZATION="Bearer ")[0] == 403
    assert call(m, "/memory/stats", HTTP_AUTHORIZATION="Bearer anything")[0] == 403


def test_token_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TOKEN", "other-secret")
    m = mw(token_env="OPS_TOKEN")
    assert call(m, "/memory/stats", **AUTH)[0] == 403
    assert call(m, "/memory/stats", HTTP_AUTHORIZATION="Bearer other-secret")[0] == 200


def test_loopback_only() -> None:
    m = mw(loopback_only=True)
    assert call(m, "/memory/stats", remote="10.1.2.3", **AUTH)[0] == 403
    assert call(m, "/memory/stats", remote="", **AUTH)[0] == 403
    assert call(m, "/memory/stats", remote="::1", **AUTH)[0] == 200
    assert call(m, "/memory/stats", remote="::ffff:127.0.0.1", **AUTH)[0] == 200
    assert call(mw(), "/memory/stats", remote="10.1.2.3", **AUTH)[0] == 200


def test_optimize_is_rate_limited_with_retry_after() -> None:
    m = mw(optimize_interval_s=30)
    assert call(m, "/memory/optimize", "POST", **AUTH)[0] == 200
    status, headers, body = call(m, "/memory/optimize", "POST", **AUTH)
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 30
    assert json.loads(body)["status"] == 429


def test_optimize_is_serialised() -> None:
    m = mw(optimize_interval_s=0)
    with m.state.optimize_lock:  # one is running
        status, headers, _ = call(m, "/memory/optimize", "POST", **AUTH)
    assert status == 429 and headers["Retry-After"] == "1"
    assert call(m, "/memory/optimize", "POST", **AUTH)[0] == 200


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/memory/stats", "GET"),
        ("GET", "/memory/optimize", "POST"),
        ("DELETE", "/memory/report", "GET"),
        ("PUT", "/memory/metrics", "GET"),
    ],
)
def test_wrong_method_is_405(method: str, path: str, allow: str) -> None:
    status, headers, _ = call(mw(), path, method, **AUTH)
    assert status == 405 and headers["Allow"] == allow


def test_bad_inputs_are_4xx_never_500() -> None:
    m = mw()
    cases = [
        (dict(path="/memory/nothing"), 404),
        (dict(path="/memory/optimize", method="POST", CONTENT_LENGTH="10000000"), 413),
        (dict(path="/memory/optimize", method="POST", CONTENT_LENGTH="abc"), 400),
        (dict(path="/memory/stats", query="x=1"), 400),
        (dict(path="/memory/stats", query="a" * 300), 400),
        (dict(path="/memory/optimize", method="POST", query="level=huge"), 400),
        (dict(path="/memory/optimize", method="POST", query="level=gc&level=gc"), 400),
        (dict(path="/memory/report", query="format=pdf"), 400),
        (dict(path="/memory/stats", HTTP_ACCEPT="text/html"), 406),
        (dict(path="/memory/stats", HTTP_ACCEPT="application/json;q=0"), 406),
        (dict(path="/memory/stats", HTTP_ACCEPT="garbage"), 400),
        (dict(path="/memory/stats", HTTP_ACCEPT="application/json;q=x"), 400),
        (dict(path="/memory/stats", HTTP_ACCEPT="*/*;q=2"), 400),
        (dict(path="/memory/metrics", HTTP_ACCEPT="application/json"), 406),
    ]
    for kwargs, expected in cases:
        status, headers, body = call(m, **{**kwargs, **AUTH})  # type: ignore[arg-type]
        assert status == expected, (kwargs, status, body)
        data = json.loads(body)
        assert data["status"] == expected and data["error"]
        assert headers["Content-Type"] == "application/json"


def test_an_internal_failure_is_logged_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    from lazymed import memory

    def broken() -> None:
        raise RuntimeError("secret detail /etc/passwd")

    monkeypatch.setattr(memory, "snapshot", broken)
    status, _, body = call(mw(), "/memory/stats", **AUTH)
    assert status == 500
    assert b"secret" not in body and b"Traceback" not in body and b"passwd" not in body


def _stats_schema(tmp_path: Path) -> dict[str, str]:
    # docs/web.md's schema table only (the helper reads to the end of the file).
    text = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    start = text.index("<!-- schema-table")
    section = tmp_path / "schema.md"
    section.write_text(text[start : text.index("\n#", start)])
    return documented_schema(section)


def test_stats_match_the_documented_schema_and_psutil(tmp_path: Path) -> None:
    status, headers, body = call(mw(), "/memory/stats", **AUTH)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    data = json.loads(body)
    schema = _stats_schema(tmp_path)
    for key, kind in schema.items():
        value: Any = data
        for part in key.split("."):
            value = value[part]
        assert_type(key, kind, value)
    assert set(data) == {k for k in schema if "." not in k}, "every top-level key documented"
    outside = psutil.Process().memory_info().rss
    assert abs(data["process"]["rss_bytes"] - outside) / outside < 0.05


def test_stats_include_isolated_services_when_isolate_is_used() -> None:
    import lazymed.isolate  # noqa: F401  (used by this process: status() is served)

    data = json.loads(call(mw(), "/memory/stats", **AUTH)[2])
    assert data["services"] == []


def test_report_html_has_chart_tables_and_no_script() -> None:
    m = mw()
    for _ in range(3):
        call(m, "/memory/stats", **AUTH)
    status, headers, body = call(m, "/memory/report", **AUTH)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    page = body.decode()
    assert '<svg id="chart"' in page and 'class="series-rss_bytes"' in page
    assert 'class="series-vms_bytes"' in page and 'class="series-threads"' in page
    for table in ("targets", "events", "modules", "services", "actions"):
        assert f'id="{table}"' in page
    assert "<script" not in page.lower()
    assert not re.search(r"(src|href)=\"?https?:", page), "nothing loaded from elsewhere"


def test_report_json_is_the_same_data() -> None:
    m = mw()
    status, headers, body = call(m, "/memory/report", HTTP_ACCEPT="application/json", **AUTH)
    assert status == 200 and headers["Content-Type"] == "application/json"
    data = json.loads(body)
    assert set(data) == {"snapshot", "history", "targets"}
    assert data["targets"][0]["name"] == "RSS vs budget"
    assert data["history"][-1]["rss_bytes"] == data["snapshot"]["process"]["rss_bytes"]
    assert call(m, "/memory/report", query="format=json", **AUTH)[1]["Content-Type"] == (
        "application/json"
    )


def test_report_escapes_what_it_shows(tmp_path: Path) -> None:
    from lazymed import memory

    kept = memory.cache(max_mb=1, name="<script>alert(1)</script>")  # caches are weakly listed
    page = call(mw(), "/memory/report", **AUTH)[2].decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
    del kept


def test_metrics_agree_with_the_snapshot_and_psutil() -> None:
    from lazymed import memory

    pages = memory.cache(max_mb=2, name="pages")
    m = mw()
    call(m, "/memory/optimize", "POST", **AUTH)  # clears caches: fill after it
    pages["k"] = "v" * 1000
    status, headers, body = call(m, "/memory/metrics", **AUTH)
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=")
    from prometheus_client.parser import text_string_to_metric_families

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(body.decode())
        for s in fam.samples
    }
    rss = samples[("lazymed_rss_bytes", ())]
    assert abs(rss - psutil.Process().memory_info().rss) / rss < 0.05
    assert samples[("lazymed_level", ())] in (0, 1, 2, 3)
    assert samples[("lazymed_threshold_bytes", (("threshold", "warning"),))] == 100 * 1024 * 1024
    assert samples[("lazymed_cache_bytes", (("cache", "pages"),))] > 1000
    assert ("lazymed_freed_bytes_total", ()) in samples
    assert ("lazymed_vms_bytes", ()) in samples


def test_metrics_openmetrics_when_asked() -> None:
    status, headers, body = call(
        mw(), "/memory/metrics", HTTP_ACCEPT="application/openmetrics-text", **AUTH
    )
    assert status == 200 and headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


def test_no_response_contains_secrets_env_or_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_PASSWORD", "hunter2-db-password")
    monkeypatch.setattr(sys, "argv", ["app.py", "--api-key=argv-secret-123"])
    m = mw(optimize_interval_s=0)
    bodies = [
        call(m, p, meth, HTTP_ACCEPT=a, **AUTH)[2]
        for p, meth, a in [
            ("/memory/stats", "GET", "*/*"),
            ("/memory/report", "GET", "text/html"),
            ("/memory/report", "GET", "application/json"),
            ("/memory/metrics", "GET", "*/*"),
            ("/memory/optimize", "POST", "*/*"),
            ("/memory/stats", "GET", "text/html"),
        ]
    ]
    for body in bodies:
        for secret in (TOKEN, "hunter2-db-password", "argv-secret-123", "DATABASE_PASSWORD"):
            assert secret.encode() not in body


def test_the_token_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    m = mw()
    call(m, "/memory/stats", HTTP_AUTHORIZATION="Bearer wrong-token-zz")
    call(m, "/memory/stats", **AUTH)
    assert TOKEN not in caplog.text and "wrong-token-zz" not in caplog.text


def test_sampler_thread_fills_the_history() -> None:
    import time

    m = LazyMedMiddleware(app, enabled=True, sample_interval_s=0.05)
    try:
        m.state.touch()
        deadline = time.monotonic() + 10
        while len(m.state.history_points()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(m.state.history_points()) >= 3
    finally:
        m.state.close()


def test_history_is_bounded() -> None:
    m = mw(history=5)
    for _ in range(8):
        call(m, "/memory/stats", **AUTH)
    assert len(m.state.history_points()) == 5


# -- configuration -------------------------------------------------------------------------
def test_config_file_and_keywords(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lazymed.web]\nenabled = true\nprefix = "/ops/mem"\npublic_stats = true\n'
    )
    monkeypatch.chdir(tmp_path)
    s = settings()
    assert (s.enabled, s.prefix, s.public_stats) == (True, "/ops/mem", True)
    assert settings(public_stats=False).public_stats is False
    m = LazyMedMiddleware(app, sample_interval_s=0)
    assert call(m, "/ops/mem/stats")[0] == 200
    assert call(m, "/memory/stats")[2] == b"the app"


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ('prefix = "memory"', r"pyproject.toml.*\[tool.lazymed.web\] key 'prefix'.*hint"),
        ('prefix = "/memory/"', r"key 'prefix'"),
        ("prefix = 1", r"\[tool.lazymed.web\] key 'prefix': expected a string"),
        ('token_env = "my token"', r"key 'token_env'.*environment variable name"),
        ("enabled = 3", r"\[tool.lazymed.web\] key 'enabled'"),
        ("optimize_interval_s = -1", r"key 'optimize_interval_s'"),
        ("public_stat = true", r"public_stat.*public_stats"),
    ],
)
def test_bad_config_names_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, match: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.lazymed.web]\n{body}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=match):
        settings()


def test_bad_keyword_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"keyword arguments of lazymed\.web key 'loopback_only'"):
        settings(loopback_only="yes")
    with pytest.raises(ConfigError, match="unknown"):
        settings(prefx="/m")


def test_settings_type_is_public() -> None:
    assert isinstance(settings(), WebSettings)

"""The reference medical app under real servers on 127.0.0.1: gunicorn (2 workers, lazymed's
hooks, prometheus-client multiprocess mode) and the ASGI variant under uvicorn. Every endpoint
and every security rule over HTTP; figures checked against psutil read from this process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from . import _servers
from .conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRETS = (TOKEN, "hunter2-db-password", "DATABASE_PASSWORD")


def _metrics(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/memory/metrics", headers=AUTH)
    assert r.status_code == 200, r.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(r.text)
        for s in fam.samples
    }


def _worker_pids(master: int) -> set[int]:
    return {c.pid for c in psutil.Process(master).children()}


@pytest.fixture(scope="module")
def gunicorn_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("gunicorn")
    mp = tmp / "prom"
    mp.mkdir()
    port = _servers.free_port()
    env = _servers.server_env(TOKEN, PROMETHEUS_MULTIPROC_DIR=str(mp))
    with (
        _servers.gunicorn(port, env, tmp / "gunicorn.log") as proc,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        yield {"client": client, "master": proc.pid, "mp": mp, "log": tmp / "gunicorn.log"}


def _stats_by_pid(client: httpx.Client, want: int = 2) -> dict[int, dict[str, Any]]:
    """/memory/stats from ``want`` different workers. Sync workers take connections in turn once
    they are up; on a loaded machine the second one may still be booting, so ask until it
    answers (bounded: 60 s)."""
    seen: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + 60
    while len(seen) < want and time.monotonic() < deadline:
        r = client.get("/memory/stats", headers={**AUTH, "Connection": "close"})
        assert r.status_code == 200, r.text
        data = r.json()
        if data["pid"] in seen:
            time.sleep(0.02)  # let a booting worker reach accept()
        seen[data["pid"]] = data
    return seen


def test_gunicorn_every_endpoint_on_both_workers(gunicorn_app: dict[str, Any]) -> None:
    client: httpx.Client = gunicorn_app["client"]
    stats = _stats_by_pid(client)  # both workers up and answering
    workers = _worker_pids(gunicorn_app["master"])
    assert len(workers) == 2
    assert set(stats) == workers, "each worker answers with its own figures"
    for pid, data in stats.items():
        assert data["monitor_running"] is True, "the monitor runs in each worker (post_fork)"
        outside = psutil.Process(pid).memory_info().rss
        assert abs(data["process"]["rss_bytes"] - outside) / outside < 0.10
        assert {m["name"] for m in data["modules"]} >= {"supabase", "firebase_admin"}
    assert client.get("/healthz").json()["status"] == "ok", "the app's own endpoints still work"
    report = client.get("/memory/report", headers=AUTH)
    assert report.status_code == 200 and '<svg id="chart"' in report.text
    assert 'id="modules"' in report.text and "<script" not in report.text
    as_json = client.get("/memory/report", headers={**AUTH, "Accept": "application/json"})
    assert set(as_json.json()) == {"snapshot", "history", "targets"}
    opt = client.post("/memory/optimize", headers=AUTH)
    assert opt.status_code == 200 and opt.json()["trigger"] == "optimize"


def test_gunicorn_security_rules_over_http(gunicorn_app: dict[str, Any]) -> None:
    client: httpx.Client = gunicorn_app["client"]
    for path in ("/memory/stats", "/memory/report", "/memory/metrics"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.post("/memory/optimize").status_code == 401
    assert client.post("/memory/optimize", headers={"Authorization": "Bearer x"}).status_code == 403
    r = client.get("/memory/optimize", headers=AUTH)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    assert client.post("/memory/stats", headers=AUTH).status_code == 405
    assert client.post("/memory/optimize", headers=AUTH, content=b"x" * 100_000).status_code == 413
    assert client.get("/memory/stats?pretty=1", headers=AUTH).status_code == 400
    assert client.get("/memory/stats", headers={**AUTH, "Accept": "text/html"}).status_code == 406
    assert client.get("/memory/nope", headers=AUTH).status_code == 404
    # rate limit: per worker, so one worker answers 429 at the latest on its second request
    statuses = [client.post("/memory/optimize", headers={**AUTH, "Connection": "close"})
                for _ in range(4)]  # fmt: skip
    limited = [r for r in statuses if r.status_code == 429]
    assert limited and all(int(r.headers["Retry-After"]) >= 1 for r in limited)
    assert {r.status_code for r in statuses} <= {200, 429}


def test_gunicorn_responses_hold_no_secrets(gunicorn_app: dict[str, Any]) -> None:
    client: httpx.Client = gunicorn_app["client"]
    bodies = [
        client.get("/memory/stats", headers=AUTH).content,
        client.get("/memory/report", headers=AUTH).content,
        client.get("/memory/report", headers={**AUTH, "Accept": "application/json"}).content,
        client.get("/memory/metrics", headers=AUTH).content,
        client.get("/memory/stats", headers={"Authorization": "Bearer wrong"}).content,
    ]
    for body in bodies:
        for secret in SECRETS:
            assert secret.encode() not in body
    assert TOKEN not in gunicorn_app["log"].read_text()


def test_gunicorn_metrics_per_worker_and_dead_worker_cleanup(gunicorn_app: dict[str, Any]) -> None:
    client: httpx.Client = gunicorn_app["client"]
    master = gunicorn_app["master"]
    mp: Path = gunicorn_app["mp"]
    _stats_by_pid(client)  # both workers have sampled
    workers = _worker_pids(master)
    deadline = time.monotonic() + 30
    while True:  # each worker's sampler writes its gauges (sample_interval_s = 2)
        samples = _metrics(client)
        pids = {int(dict(k[1])["pid"]) for k in samples if k[0] == "lazymed_rss_bytes"}
        if pids == workers or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert pids == workers, "per-worker RSS gauges (liveall) for every live worker"
    for pid in workers:
        value = samples[("lazymed_rss_bytes", (("pid", str(pid)),))]
        assert abs(value - psutil.Process(pid).memory_info().rss) / value < 0.25
    assert ("lazymed_freed_bytes_total", ()) in samples
    victim = min(workers)
    psutil.Process(victim).kill()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        files = [p.name for p in mp.iterdir()]
        replaced = _worker_pids(master) - workers
        if replaced and not any(f.endswith(f"_{victim}.db") for f in files):
            break
        time.sleep(0.2)
    assert not any(f.endswith(f"_{victim}.db") for f in files), files
    samples = _metrics(client)
    pids = {int(dict(k[1])["pid"]) for k in samples if k[0] == "lazymed_rss_bytes"}
    assert victim not in pids


@pytest.fixture(scope="module")
def uvicorn_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    tmp = tmp_path_factory.mktemp("uvicorn")
    port = _servers.free_port()
    with (
        _servers.uvicorn(port, _servers.server_env(TOKEN), tmp / "uvicorn.log"),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        yield client


def test_uvicorn_asgi_every_endpoint(uvicorn_app: httpx.Client) -> None:
    c = uvicorn_app
    stats = c.get("/memory/stats", headers=AUTH)
    assert stats.status_code == 200
    pid = stats.json()["pid"]
    outside = psutil.Process(pid).memory_info().rss
    assert abs(stats.json()["process"]["rss_bytes"] - outside) / outside < 0.10
    assert c.get("/memory/report", headers=AUTH).text.count("<svg") == 1
    metrics = c.get("/memory/metrics", headers=AUTH)
    assert metrics.status_code == 200 and "lazymed_rss_bytes " in metrics.text
    assert c.post("/memory/optimize", headers=AUTH).status_code == 200
    vitals = {"respiratory_rate": 18, "spo2": 97, "on_oxygen": False, "systolic_bp": 120,
              "heart_rate": 70, "consciousness": "A", "temperature": 37.0}  # fmt: skip
    news2 = c.post("/vitals/news2", json=vitals)
    assert news2.status_code == 200 and news2.json()["total"] == 0, news2.text
    assert c.get("/healthz").json()["mode"] == "asgi"


def test_uvicorn_asgi_security_rules(uvicorn_app: httpx.Client) -> None:
    c = uvicorn_app
    assert c.get("/memory/stats").status_code == 401
    assert c.get("/memory/metrics", headers={"Authorization": "Bearer no"}).status_code == 403
    assert c.post("/memory/optimize").status_code == 401
    assert c.put("/memory/stats", headers=AUTH).status_code == 405
    assert c.post("/memory/optimize", headers=AUTH, content=b"x" * 100_000).status_code == 413
    assert c.get("/memory/report?format=xml", headers=AUTH).status_code == 400
    first = c.post("/memory/optimize", headers=AUTH)
    second = c.post("/memory/optimize", headers=AUTH)
    assert 429 in (first.status_code, second.status_code)
    for r in (first, second, c.get("/memory/stats", headers=AUTH)):
        for secret in SECRETS:
            assert secret.encode() not in r.content

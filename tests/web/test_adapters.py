"""The Flask extension's conventions and the ASGI middleware in process (the WSGI one is
exercised by test_endpoints.py); no adapter imports another's framework."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from typing import Any

import pytest
from flask import Flask

from lazymed.web.asgi import LazyMedASGIMiddleware
from lazymed.web.flask import LazyMed

from .conftest import TOKEN
from .test_endpoints import call

AUTH = {"Authorization": f"Bearer {TOKEN}"}
WSGI_AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def get(app: Flask, path: str, method: str = "GET", **extra: str) -> tuple[int, bytes]:
    # The Flask app called as WSGI directly (flask.testing reads werkzeug's distribution
    # metadata, which some other tests of the suite leave unfindable).
    wsgi = {
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
    }
    status, _, body = call(app, path, method, **wsgi, **extra)  # type: ignore[arg-type]
    return status, body


def make_app() -> Flask:
    app = Flask("t")

    @app.get("/")
    def index() -> str:
        return "app"

    return app


def test_flask_factory_pattern_state_in_extensions() -> None:
    ext = LazyMed(enabled=True, sample_interval_s=0)
    one, two = make_app(), make_app()
    two.config["LAZYMED_WEB"] = {"prefix": "/ops/memory"}
    ext.init_app(one)
    ext.init_app(two)
    assert not hasattr(ext, "app"), "state per app, never self.app"
    assert one.extensions["lazymed"].settings.prefix == "/memory"
    assert two.extensions["lazymed"].settings.prefix == "/ops/memory"
    assert "lazymed" in one.blueprints
    assert get(one, "/memory/stats", **WSGI_AUTH)[0] == 200
    assert get(two, "/ops/memory/stats", **WSGI_AUTH)[0] == 200
    assert get(two, "/memory/stats", **WSGI_AUTH)[0] == 404
    assert get(one, "/") == (200, b"app")


def test_flask_disabled_registers_nothing() -> None:
    app = make_app()
    LazyMed(app)
    assert "lazymed" not in app.blueprints
    assert get(app, "/memory/stats", **WSGI_AUTH)[0] == 404


def test_flask_rules_through_the_blueprint() -> None:
    app = make_app()
    LazyMed(app, enabled=True, sample_interval_s=0)
    assert get(app, "/memory/stats")[0] == 401
    assert get(app, "/memory/stats", "POST", **WSGI_AUTH)[0] == 405
    assert get(app, "/memory/stats", "OPTIONS", **WSGI_AUTH)[0] == 405
    assert get(app, "/memory/other/thing", **WSGI_AUTH)[0] == 404
    big = {"CONTENT_LENGTH": "70000", **WSGI_AUTH}
    assert get(app, "/memory/optimize", "POST", **big)[0] == 413
    status, body = get(app, "/memory/report", HTTP_ACCEPT="application/json", **WSGI_AUTH)
    assert status == 200 and set(json.loads(body)) == {"snapshot", "history", "targets"}


Reply = tuple[int, dict[str, str], bytes]


def _asgi(
    mw: LazyMedASGIMiddleware,
    method: str,
    path: str,
    headers: dict[str, str],
    query: bytes = b"",
    client: tuple[str, int] = ("127.0.0.1", 5000),
) -> Reply:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": client,
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(mw(scope, receive, send))
    start = sent[0]
    return (
        start["status"],
        {k.decode(): v.decode() for k, v in start["headers"]},
        b"".join(m.get("body", b"") for m in sent[1:]),
    )


async def inner(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"inner"})


def test_asgi_middleware() -> None:
    mw = LazyMedASGIMiddleware(inner, enabled=True, sample_interval_s=0, loopback_only=True)
    status, headers, body = _asgi(mw, "GET", "/memory/stats", AUTH)
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body)["pid"] > 0
    assert _asgi(mw, "GET", "/memory/stats", {})[0] == 401
    assert _asgi(mw, "GET", "/memory/stats", AUTH, client=("192.0.2.7", 1))[0] == 403
    assert _asgi(mw, "POST", "/memory/optimize", {**AUTH, "content-length": "999999"})[0] == 413
    assert _asgi(mw, "GET", "/other", {})[2] == b"inner"
    off = LazyMedASGIMiddleware(inner)
    assert _asgi(off, "GET", "/memory/stats", AUTH)[2] == b"inner"


def test_asgi_passes_lifespan_and_websockets_through() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    mw = LazyMedASGIMiddleware(app, enabled=True, sample_interval_s=0)
    asyncio.run(mw({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    asyncio.run(mw({"type": "websocket", "path": "/memory/stats"}, None, None))  # type: ignore[arg-type]
    assert seen == ["lifespan", "websocket"]


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("lazymed.web.wsgi", ("flask", "prometheus_client", "werkzeug")),
        ("lazymed.web.asgi", ("flask", "prometheus_client", "starlette")),
        ("lazymed.web", ("flask", "prometheus_client", "lazymed.memory")),
        ("lazymed.web.flask", ("prometheus_client", "starlette")),
    ],
)
def test_no_adapter_imports_another_framework(module: str, forbidden: tuple[str, ...]) -> None:
    code = f"import sys, {module}; print([m for m in {forbidden!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_import_lazymed_does_not_import_web() -> None:
    code = "import sys, lazymed; lazymed.install(); print('lazymed.web' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

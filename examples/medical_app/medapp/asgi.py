"""An ASGI variant of the app's light endpoints for uvicorn (``uvicorn medapp.asgi:app``):
a plain ASGI callable (no framework) serving ``GET /healthz`` and ``POST /vitals/news2``, behind
lazymed's ASGI middleware for the /memory endpoints. It shows the middleware in front of any
ASGI application (FastAPI and Starlette apps take it the same way)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from medapp.boot import boot

boot()

from lazymed.web.asgi import LazyMedASGIMiddleware  # noqa: E402
from medapp import vitals  # noqa: E402

Message = MutableMapping[str, Any]
_MAX_BODY = 64 * 1024


async def _send_json(send: Callable[[Message], Awaitable[None]], status: int, data: Any) -> None:
    body = json.dumps(data, sort_keys=True).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def medapp(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path, method = scope["path"], scope["method"]
    if path == "/healthz" and method == "GET":
        await _send_json(send, 200, {"status": "ok", "mode": "asgi"})
        return
    if path == "/vitals/news2" and method == "POST":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > _MAX_BODY:
                await _send_json(send, 413, {"error": "body too large"})
                return
            if not message.get("more_body"):
                break
        try:
            signs = vitals.VitalSigns.from_mapping(json.loads(body or b"null"))
        except ValueError as exc:
            await _send_json(send, 400, {"error": "bad_request", "message": str(exc)})
            return
        await _send_json(send, 200, vitals.news2(signs).as_dict())
        return
    await _send_json(send, 404, {"error": "not_found"})


app = LazyMedASGIMiddleware(medapp)

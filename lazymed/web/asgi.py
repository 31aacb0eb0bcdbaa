"""A plain ASGI middleware serving the /memory endpoints in front of any ASGI application
(FastAPI, Starlette, ...; none is imported)::

    from lazymed.web.asgi import LazyMedASGIMiddleware
    app = LazyMedASGIMiddleware(app, enabled=True)
    # FastAPI: app.add_middleware(LazyMedASGIMiddleware, enabled=True)

The endpoints run in a worker thread (``asyncio.to_thread``): a snapshot reads /proc and an
optimize runs gc, which must not block the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._endpoints import Request, WebState, handle
from ._settings import WebSettings, resolve

__all__ = ["LazyMedASGIMiddleware"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class LazyMedASGIMiddleware:
    """ASGI middleware: HTTP requests under the prefix are answered by lazymed; everything
    else (other paths, websockets, lifespan) goes to ``app``. A body is never read: a
    declared ``Content-Length`` over ``max_body_bytes`` is 413 before anything runs."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        *,
        settings: WebSettings | None = None,
        **keywords: Any,
    ) -> None:
        self.app = app
        self.state = WebState(settings or resolve(**keywords))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        self.state.touch()
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())
        }
        raw = headers.get("content-length")
        try:
            length = int(raw) if raw else None
        except ValueError:
            length = -1
        client = scope.get("client")
        request = Request(
            method=scope.get("method", "GET"),
            path=(scope.get("root_path") or "") + scope.get("path", ""),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            remote_addr=client[0] if client else None,
            content_length=length,
        )
        state = self.state
        prefix = state.settings.prefix
        if not state.settings.enabled or not (
            request.path == prefix or request.path.startswith(prefix + "/")
        ):
            await self.app(scope, receive, send)
            return
        response = await asyncio.to_thread(handle, state, request)
        if response is None:
            await self.app(scope, receive, send)
            return
        status, out, body = response
        out = [*out, ("Content-Length", str(len(body)))]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out],
            }
        )
        await send(
            {"type": "http.response.body", "body": b"" if request.method == "HEAD" else body}
        )

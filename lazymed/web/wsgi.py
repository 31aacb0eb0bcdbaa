"""A plain WSGI middleware serving the /memory endpoints in front of any WSGI application
(no framework imported)::

    from lazymed.web.wsgi import LazyMedMiddleware
    app = LazyMedMiddleware(app, enabled=True)        # or [tool.lazymed.web] enabled = true
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._endpoints import Request, WebState, handle
from ._settings import WebSettings, resolve

__all__ = ["LazyMedMiddleware", "request_from_environ"]

_STATUS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Content Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def request_from_environ(environ: dict[str, Any]) -> Request:
    """The endpoints' :class:`Request` from a WSGI environ (PEP 3333)."""
    headers = {
        k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
    }
    length: int | None
    raw = environ.get("CONTENT_LENGTH") or ""
    try:
        length = int(raw) if raw else None
    except ValueError:
        length = -1
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    path = (environ.get("SCRIPT_NAME") or "") + (environ.get("PATH_INFO") or "")
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        query=environ.get("QUERY_STRING") or "",
        headers=headers,
        remote_addr=environ.get("REMOTE_ADDR"),
        content_length=length,
    )


class LazyMedMiddleware:
    """WSGI middleware: requests under the prefix are answered by lazymed, every other
    request goes to ``app`` unchanged. Settings: ``[tool.lazymed.web]`` plus the keyword
    arguments (``settings=`` a ready :class:`WebSettings` instead). Raises ConfigError for a
    bad setting."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        settings: WebSettings | None = None,
        **keywords: Any,
    ) -> None:
        self.app = app
        self.state = WebState(settings or resolve(**keywords))

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        self.state.touch()
        response = handle(self.state, request_from_environ(environ))
        if response is None:
            return self.app(environ, start_response)
        status, headers, body = response
        headers = [*headers, ("Content-Length", str(len(body)))]
        start_response(f"{status} {_STATUS.get(status, 'Error')}", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

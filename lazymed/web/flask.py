"""The Flask extension (Flask's extension conventions: ``LazyMed(app)`` or
``LazyMed().init_app(app)``; per-app state in ``app.extensions["lazymed"]``, never on the
extension object; a blueprint registered by ``init_app`` under the prefix)::

    from lazymed.web.flask import LazyMed
    LazyMed(app)                      # [tool.lazymed.web] or app.config["LAZYMED_WEB"] or keywords
"""

from __future__ import annotations

from typing import Any

try:
    from flask import Blueprint, Flask, Response, current_app, request
except ModuleNotFoundError as _exc:
    raise ModuleNotFoundError(
        f"lazymed.web.flask needs Flask: pip install 'lazymed[flask]' (missing: {_exc.name})",
        name=_exc.name,
    ) from _exc

from ._endpoints import ENDPOINTS, Request, WebState, handle
from ._settings import resolve

__all__ = ["LazyMed"]


class LazyMed:
    """Flask extension for the /memory endpoints. Keyword arguments override
    ``[tool.lazymed.web]``; ``app.config["LAZYMED_WEB"]`` (a dict of the same keys) overrides
    both for that app. Raises ConfigError for a bad setting."""

    def __init__(self, app: Flask | None = None, **keywords: Any) -> None:
        self._keywords = keywords
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Resolve the settings, keep the state in ``app.extensions["lazymed"]`` and, when
        enabled, register the blueprint ``lazymed`` at the prefix."""
        keywords = {**self._keywords, **dict(app.config.get("LAZYMED_WEB") or {})}
        state = WebState(resolve(**keywords))
        app.extensions["lazymed"] = state
        if not state.settings.enabled:
            return
        blueprint = Blueprint("lazymed", __name__, url_prefix=state.settings.prefix)
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        for name in ENDPOINTS:
            blueprint.add_url_rule(f"/{name}", name, _view, methods=methods)
        blueprint.add_url_rule("/<path:rest>", "other", _view, methods=methods)
        app.register_blueprint(blueprint)
        app.before_request(state.touch)


def _view(**_: Any) -> Response:
    state: WebState = current_app.extensions["lazymed"]
    headers = {k.lower(): v for k, v in request.headers.items()}
    out = handle(
        state,
        Request(
            method=request.method,
            path=request.path,
            query=request.query_string.decode("latin-1"),
            headers=headers,
            remote_addr=request.remote_addr,
            content_length=request.content_length,
        ),
    )
    assert out is not None  # the blueprint only routes paths under the prefix
    status, hdrs, body = out
    return Response(body, status=status, headers=hdrs)

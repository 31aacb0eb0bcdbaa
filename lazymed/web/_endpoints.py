"""The /memory endpoints, once, as plain functions: a :class:`Request` in, a ``(status,
headers, body)`` tuple out. The Flask, WSGI and ASGI adapters only translate to and from this.

Over the public API only: ``lazymed.memory.snapshot()`` / ``optimize()`` and
``lazymed.isolate.status()`` (isolate only when this process uses or configures it).
Security rules (docs/web.md): nothing is served unless enabled; POST optimize always needs the
bearer token; GETs too unless ``public_stats``; optional loopback-only; responses carry data
from the snapshot only (no environment, argv, credentials, file contents or tracebacks).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from ._settings import WebSettings

__all__ = ["ENDPOINTS", "Request", "Response", "WebState", "handle"]

_log = logging.getLogger("lazymed.web")

Response = tuple[int, list[tuple[str, str]], bytes]

#: endpoint -> allowed method
ENDPOINTS = {"stats": "GET", "optimize": "POST", "report": "GET", "metrics": "GET"}
_QUERY: dict[str, dict[str, tuple[str, ...]]] = {
    "stats": {},
    "metrics": {},
    "report": {"format": ("html", "json")},
    "optimize": {"level": ("warning", "critical", "emergency")},
}
_MAX_QUERY = 256
_MAX_ACCEPT = 1024
_JSON = "application/json"
_HTML = "text/html; charset=utf-8"
_SECURITY_HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
]
# The report has no script at all and loads nothing from elsewhere.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'"


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """What the endpoints need of a request. ``path`` without the query string; ``headers``
    with lower-case names; ``remote_addr`` the peer's IP (None: unknown, treated as not
    loopback); ``content_length`` in bytes (None: not given)."""

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    remote_addr: str | None = None
    content_length: int | None = None


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


class WebState:
    """Per-application state (kept in ``app.extensions["lazymed"]`` by the Flask extension, in
    the middleware object otherwise): settings, the optimize lock and rate limit, the sampled
    history the report charts, and the running total of freed bytes."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self.optimize_lock = threading.Lock()
        self.last_optimize = -math.inf  # time.monotonic() of the last optimize run
        self.history: collections.deque[dict[str, Any]] = collections.deque(maxlen=settings.history)
        self.freed_bytes_total = 0
        self._seen_reports: dict[tuple[Any, ...], None] = {}  # insertion-ordered, bounded
        self._lock = threading.Lock()
        self._sampler_pid = 0
        if settings.enabled and not os.environ.get(settings.token_env):
            _log.warning(
                "lazymed.web: %s is not set: POST %s/optimize%s will answer 403",
                settings.token_env,
                settings.prefix,
                "" if settings.public_stats else " and every GET",
            )

    # -- token ---------------------------------------------------------------------------
    def token_ok(self, given: str) -> bool:
        """Constant-time comparison of hashes (no length oracle); the token is read from the
        environment each time (rotation without restart) and never logged or kept."""
        expected = os.environ.get(self.settings.token_env, "")
        if not expected:
            return False
        return hmac.compare_digest(_digest(given), _digest(expected))

    # -- data ----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """``lazymed.memory.snapshot().as_dict()`` with ``services`` from
        ``lazymed.isolate.status()`` when this process uses isolation; records one history
        point and counts freed bytes of chain reports not seen before."""
        from .. import memory

        data = memory.snapshot().as_dict()
        services = _services()
        if services is not None:
            data["services"] = services
        proc = data.get("process") or {}
        with self._lock:
            self.history.append(
                {
                    "wall": data.get("wall"),
                    "rss_bytes": proc.get("rss_bytes"),
                    "vms_bytes": proc.get("vms_bytes"),
                    "threads": proc.get("threads"),
                }
            )
            for report in data.get("actions") or ():
                self._count(report)
        if _multiprocess():  # this worker's gauges in prometheus-client's files
            from ._metrics import update_multiprocess

            update_multiprocess(self, data)
        return data

    def _count(self, report: Mapping[str, Any]) -> None:
        # Chain reports are identified by start time, level and trigger; the snapshot keeps the
        # last 16, so remembering 64 keys is enough to count each once.
        key = (report.get("started_at"), report.get("level"), report.get("trigger"))
        if key in self._seen_reports:
            return
        self._seen_reports[key] = None
        while len(self._seen_reports) > 64:
            del self._seen_reports[next(iter(self._seen_reports))]
        self.freed_bytes_total += int(report.get("rss_freed_bytes") or 0)

    def touch(self) -> None:
        """Start this process's sampler thread if it is not running here (threads do not
        survive fork: a gunicorn worker starts its own on its first request). It takes a
        snapshot every ``sample_interval_s`` (the report's chart; worker gauges)."""
        if not self.settings.enabled or self.settings.sample_interval_s <= 0:
            return
        pid = os.getpid()
        if self._sampler_pid == pid:
            return
        with self._lock:
            if self._sampler_pid == pid:
                return
            self._sampler_pid = pid
        thread = threading.Thread(target=self._sample_loop, name="lazymed-web-sampler", daemon=True)
        thread.start()

    def close(self) -> None:
        """Stop the sampler thread (it ends within one ``sample_interval_s``)."""
        self._sampler_pid = -1

    def _sample_loop(self) -> None:
        pid = os.getpid()
        while self._sampler_pid == pid:
            try:
                self.snapshot()
            except Exception:  # keep sampling; the endpoints report their own errors
                _log.exception("lazymed.web: sampling failed")
            time.sleep(self.settings.sample_interval_s)

    def history_points(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.history)


def _multiprocess() -> bool:
    # prometheus-client's multiprocess mode (it also reads the older lower-case name)
    names = ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")
    return any(os.environ.get(n) for n in names)


def _services() -> list[dict[str, Any]] | None:
    # Only when this process uses isolation (imported it, or configures services): the web
    # layer may import isolate, never the reverse.
    if "lazymed.isolate" not in sys.modules:
        from .._registry import REGISTRY

        cfg = REGISTRY.config
        if cfg is None or not cfg.isolate:
            return None
    from .. import isolate

    return [dataclasses.asdict(s) for s in isolate.status()]


# -- responses -----------------------------------------------------------------------------
def _json(status: int, data: object, extra: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(data, default=str, allow_nan=False, separators=(",", ":")).encode()
    headers = [("Content-Type", _JSON), *_SECURITY_HEADERS, *(extra or [])]
    return status, headers, body


def _error(status: int, message: str, extra: list[tuple[str, str]] | None = None) -> Response:
    return _json(status, {"error": message, "status": status}, extra)


def _is_loopback(addr: str | None) -> bool:
    if not addr:
        return False
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _media_ranges(accept: str) -> list[str] | None:
    """Media types of an Accept header without parameters, q=0 entries dropped;
    None if it does not parse."""
    out = []
    for part in accept.split(","):
        bits = [b.strip() for b in part.split(";")]
        media = bits[0].lower()
        if not media:
            continue
        if media.count("/") != 1 or any(c.isspace() for c in media):
            return None
        q = 1.0
        for param in bits[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    return None
                if not 0 <= q <= 1:
                    return None
        if q > 0:
            out.append(media)
    return out


def _negotiate(accept: str | None, offers: tuple[str, ...]) -> str | bool | None:
    """The first of ``offers`` (media types) that ``accept`` takes, in the client's order;
    False for an Accept header that does not parse, None when nothing matches."""
    if accept is None or not accept.strip():
        return offers[0]
    if len(accept) > _MAX_ACCEPT:
        return False
    ranges = _media_ranges(accept)
    if ranges is None:
        return False
    for media in ranges:
        kind = media.split("/")[0]
        for offer in offers:
            if media in (offer, "*/*", f"{offer.split('/')[0]}/*") and (
                media != "*/*" or kind == "*"
            ):
                return offer
    return None


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ""
    return token.strip()


def handle(state: WebState, request: Request) -> Response | None:
    """Answer ``request`` if its path is under the prefix, else None (the application's).
    Errors are JSON ``{"error", "status"}`` with 4xx statuses; an unexpected failure is logged
    and answered 500 with no detail (never a traceback)."""
    settings = state.settings
    if not settings.enabled:
        return None
    prefix = settings.prefix
    if request.path != prefix and not request.path.startswith(prefix + "/"):
        return None
    try:
        return _handle(state, request)
    except Exception:
        _log.exception("lazymed.web: %s %s failed", request.method, request.path)
        return _error(500, "internal error (logged on the server)")


def _handle(state: WebState, request: Request) -> Response:
    settings = state.settings
    name = request.path[len(settings.prefix) :].strip("/")
    if name not in ENDPOINTS:
        return _error(404, f"no such endpoint; try {', '.join(ENDPOINTS)} under {settings.prefix}")
    method = request.method.upper()
    allowed = ENDPOINTS[name]
    if method != allowed:
        return _error(405, f"{name} takes {allowed}", [("Allow", allowed)])
    if settings.loopback_only and not _is_loopback(request.remote_addr):
        return _error(403, "loopback_only: only connections from this host are served")
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        return _error(413, f"body over {settings.max_body_bytes} bytes")
    if request.content_length is not None and request.content_length < 0:
        return _error(400, "bad Content-Length")
    if name == "optimize" or not settings.public_stats:
        token = _bearer(request.headers)
        challenge = [("WWW-Authenticate", 'Bearer realm="lazymed"')]
        if token is None:
            return _error(401, "a bearer token is required (Authorization: Bearer ...)", challenge)
        if not token or not state.token_ok(token):
            return _error(403, "token rejected", challenge)
    if len(request.query) > _MAX_QUERY:
        return _error(400, f"query string over {_MAX_QUERY} characters")
    try:
        pairs = parse_qsl(request.query, keep_blank_values=True, strict_parsing=bool(request.query))
    except ValueError:
        return _error(400, "query string does not parse")
    params: dict[str, str] = {}
    for key, value in pairs:
        choices = _QUERY[name].get(key)
        if choices is None:
            known = ", ".join(_QUERY[name]) or "none"
            return _error(400, f"unknown query parameter for {name} (accepted: {known})")
        if value not in choices or key in params:
            return _error(400, f"{key} must be one of {', '.join(choices)}, given once")
        params[key] = value
    accept = request.headers.get("accept")
    if name == "report":
        offers: tuple[str, ...] = ("text/html", _JSON)
        if params.get("format") == "json":
            offers = (_JSON,)
        elif params.get("format") == "html":
            offers = ("text/html",)
    elif name == "metrics":
        offers = ("text/plain", "application/openmetrics-text")
    else:
        offers = (_JSON,)
    chosen = _negotiate(accept, offers)
    if chosen is False:
        return _error(400, "Accept header does not parse")
    if chosen is None:
        return _error(406, f"{name} is served as {' or '.join(offers)}")
    if name == "stats":
        return _json(200, state.snapshot())
    if name == "optimize":
        return _optimize(state, params.get("level"))
    if name == "metrics":
        from ._metrics import render

        content_type, body = render(state, openmetrics=chosen != "text/plain")
        return 200, [("Content-Type", content_type), *_SECURITY_HEADERS], body
    from ._report import render_html, report_data

    data = report_data(state)
    if chosen == _JSON:
        return _json(200, data)
    headers = [("Content-Type", _HTML), ("Content-Security-Policy", _CSP), *_SECURITY_HEADERS]
    return 200, headers, render_html(data).encode()


def _optimize(state: WebState, level: str | None) -> Response:
    """One chain at a time (a second request while one runs: 429), and at most one per
    ``optimize_interval_s`` (429 with Retry-After in whole seconds)."""
    from .. import memory

    if not state.optimize_lock.acquire(blocking=False):
        return _error(429, "an optimize is running", [("Retry-After", "1")])
    try:
        now = time.monotonic()
        wait = state.last_optimize + state.settings.optimize_interval_s - now
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            return _error(429, f"rate limited: retry in {retry} s", [("Retry-After", retry)])
        state.last_optimize = now
        report = memory.optimize(level).as_dict()
    finally:
        state.optimize_lock.release()
    with state._lock:
        state._count(report)
    return _json(200, report)

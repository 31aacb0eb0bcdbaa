"""The Flask application: light clinical endpoints in front, heavy services behind.

Endpoints (JSON in, JSON out):

* ``GET  /healthz``: liveness, mode and profile
* ``POST /vitals/news2``: the NEWS2 score of one set of vitals
* ``POST /triage``: triage level from age, complaint, pain and vitals
* ``GET  /reports/<patient_id>/<report_id>/url``: Cloud Storage public and signed URLs
* ``POST /auth/custom-token``: a Firebase custom token for a clinician
* ``GET  /patients/<patient_id>/encounters``: the Supabase query for a patient's encounters
* ``POST /rag``: retrieval over the local index of clinical notes
* ``GET  /services``: which services this deployment enables
* ``GET  /_demo/introspect`` (only with ``introspect_endpoint=True``): the process's own RSS,
  VMS, threads, gc objects and modules

Errors are JSON too: 400 ``{"error": "bad_request", "message"}`` for invalid input, 503
``{"error": "service_unavailable", ...}`` for a service whose module lazymed disabled.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

import lazymed
from medapp import boot, introspect, triage, vitals
from medapp.services import identity, knowledge, records, reports

SERVICES = (reports, identity, records, knowledge)


def _unavailable(module: str, service: str) -> ResponseReturnValue:
    profile = lazymed.status().profile
    where = f"lazymed profile {profile!r}" if profile else "the lazymed configuration"
    return (
        jsonify(
            error="service_unavailable",
            service=service,
            module=module,
            profile=profile,
            message=f"{service} is disabled in this deployment: {where} lists {module!r} "
            "in disabled_modules",
        ),
        503,
    )


def requires(module: str, service: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Answer 503 instead of calling the view when lazymed has ``module`` disabled."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not lazymed.enabled(module):
                return _unavailable(module, service)
            try:
                return view(*args, **kwargs)
            except lazymed.DisabledModuleError:  # belt and braces: enabled() said yes
                return _unavailable(module, service)

        return wrapper

    return decorate


def _isolated_search(question: str, top_k: int) -> dict[str, Any]:
    """:func:`knowledge.search` run in the isolated ``rag`` worker; the worker's ValueError
    (bad input) is raised here as itself, so the answer is the same 400 as in-process."""
    import lazymed.isolate

    try:
        result: dict[str, Any] = lazymed.isolate.service(knowledge.ISOLATED_SERVICE).search(
            question, top_k=top_k
        )
    except lazymed.isolate.ServiceError as exc:
        if isinstance(exc.__cause__, ValueError):
            raise exc.__cause__ from None
        raise
    return result


def _json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    return data


def create_app(*, introspect_endpoint: bool | None = None) -> Flask:
    """Build the application.

    ``introspect_endpoint`` adds ``GET /_demo/introspect`` (default: env
    ``MEDICAL_APP_INTROSPECT=1``); leave it off in anything but a demo.
    """
    if introspect_endpoint is None:
        introspect_endpoint = os.environ.get("MEDICAL_APP_INTROSPECT") == "1"
    app = Flask("medapp")
    app.json.sort_keys = True  # type: ignore[attr-defined]  # DefaultJSONProvider attribute

    @app.errorhandler(ValueError)
    def bad_request(exc: ValueError) -> ResponseReturnValue:
        return jsonify(error="bad_request", message=str(exc)), 400

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        if boot.mode() == "isolated":  # and whether the warm RAG worker is up yet
            import lazymed.isolate

            states = {s.name: s.state for s in lazymed.isolate.status(rss=False)}
            return jsonify(status="ok", mode=boot.mode(), profile=boot.profile(), isolated=states)
        return jsonify(status="ok", mode=boot.mode(), profile=boot.profile())

    @app.post("/vitals/news2")
    def news2() -> ResponseReturnValue:
        return jsonify(vitals.news2(vitals.VitalSigns.from_mapping(_json_body())).as_dict())

    @app.post("/triage")
    def triage_view() -> ResponseReturnValue:
        return jsonify(triage.triage_request(_json_body()).as_dict())

    @app.get("/reports/<patient_id>/<report_id>/url")
    @requires(reports.MODULE, reports.SERVICE)
    def report_url(patient_id: str, report_id: str) -> ResponseReturnValue:
        minutes = request.args.get("minutes", default=15, type=int)
        return jsonify(reports.report_urls(patient_id, report_id, minutes=minutes))

    @app.post("/auth/custom-token")
    @requires(identity.MODULE, identity.SERVICE)
    def custom_token() -> ResponseReturnValue:
        data = _json_body()
        uid, role = data.get("uid"), data.get("role")
        if not isinstance(uid, str) or not isinstance(role, str):
            raise ValueError("uid and role must be strings")
        return jsonify(identity.custom_token(uid, role))

    @app.get("/patients/<patient_id>/encounters")
    @requires(records.MODULE, records.SERVICE)
    def encounters(patient_id: str) -> ResponseReturnValue:
        limit = request.args.get("limit", default=20, type=int)
        return jsonify(records.encounters_query(patient_id, limit=limit))

    @app.post("/rag")
    @requires(knowledge.MODULE, knowledge.SERVICE)
    def rag() -> ResponseReturnValue:
        data = _json_body()
        question, top_k = data.get("question"), data.get("top_k", 3)
        if not isinstance(question, str):
            raise ValueError("question must be a string")
        if isinstance(top_k, bool) or not isinstance(top_k, int):
            raise ValueError(f"top_k must be a whole number, got {top_k!r}")
        if boot.mode() == "isolated":
            return jsonify(_isolated_search(question, top_k))
        return jsonify(knowledge.search(question, top_k=top_k))

    @app.get("/services")
    def services() -> ResponseReturnValue:
        return jsonify(
            {
                service.MODULE: {
                    "service": service.SERVICE,
                    "enabled": lazymed.enabled(service.MODULE),
                }
                for service in SERVICES
            }
        )

    if introspect_endpoint:

        @app.get("/_demo/introspect")
        def introspect_view() -> ResponseReturnValue:
            return jsonify(introspect.snapshot())

    return app

"""Run by test_medical_app_modes.py in a fresh interpreter: ``_medapp_child.py MODE [PROFILE]``.

Boots the medical app eager, lazy (optionally under a lazymed profile) or isolated, calls every
endpoint with Flask's test client and prints one JSON document: for each request its status, JSON
body, a SHA-256 of the raw body, the lazymed state of each registered module and which
*marker* submodules are in sys.modules.
A marker is a submodule that only a real execution of its package imports, so it tells from
outside lazymed whether the package has run.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

MARKERS = {
    "google.cloud.storage": "google.cloud.storage.client",
    "firebase_admin": "firebase_admin.credentials",
    "supabase": "supabase._sync.client",
    "llama_index.core": "llama_index.core.indices",
}


def _ran(name: str) -> bool:
    """Whether module ``name``'s code has run: exec() puts ``__builtins__`` in its namespace.
    A lazy module is in sys.modules before it runs (``from pkg import sub`` binds it)."""
    module = sys.modules.get(name)
    return module is not None and "__builtins__" in vars(module)


VITALS = {
    "respiratory_rate": 24,
    "spo2": 93,
    "on_oxygen": False,
    "systolic_bp": 96,
    "heart_rate": 118,
    "consciousness": "C",
    "temperature": 38.9,
}
REQUESTS: list[tuple[str, str, str, Any]] = [
    ("healthz", "GET", "/healthz", None),
    ("services", "GET", "/services", None),
    ("news2", "POST", "/vitals/news2", VITALS),
    ("news2-bad", "POST", "/vitals/news2", {**VITALS, "spo2": 140}),
    (
        "triage",
        "POST",
        "/triage",
        {"age": 81, "complaint": "confusion and fever", "vitals": VITALS},
    ),
    ("triage-bad", "POST", "/triage", {"age": -1, "complaint": "x"}),
    ("reports", "GET", "/reports/p-001/r-9/url?minutes=10", None),
    ("reports-bad", "GET", "/reports/p-001/r..9/url", None),
    ("records", "GET", "/patients/p-001/encounters?limit=5", None),
    ("token", "POST", "/auth/custom-token", {"uid": "clinician-42", "role": "nurse"}),
    ("token-bad", "POST", "/auth/custom-token", {"uid": "clinician-42", "role": "surgeon-king"}),
    ("rag", "POST", "/rag", {"question": "wasp sting with low blood pressure, which drug first?"}),
    (
        "rag-2",
        "POST",
        "/rag",
        {"question": "older woman confused with fever and urine infection", "top_k": 2},
    ),
    ("rag-bad", "POST", "/rag", {"question": "asthma", "top_k": 50}),
]


def main() -> None:
    mode = sys.argv[1]
    profile = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    from medapp.boot import boot

    boot(lazy=mode == "lazy", profile=profile, isolated=mode == "isolated")
    from medapp.app import create_app

    import lazymed

    def observe() -> dict[str, Any]:
        status = lazymed.status()
        return {
            "states": {m.name: m.state for m in status.modules} if status.installed else None,
            "markers": {pkg: _ran(marker) for pkg, marker in MARKERS.items()},
        }

    client = create_app(introspect_endpoint=False).test_client()
    after_import = observe()
    results = []
    for name, method, path, body in REQUESTS:
        response = client.open(path, method=method, json=body)
        results.append(
            {
                "name": name,
                "status": response.status_code,
                "json": response.get_json(),
                "sha256": hashlib.sha256(response.get_data()).hexdigest(),
                **observe(),
            }
        )
    from medapp.credentials import public_key_pem

    print(
        json.dumps(
            {
                "mode": mode,
                "profile": profile,
                "after_import": after_import,
                "results": results,
                "public_key_pem": public_key_pem(),
            }
        )
    )


if __name__ == "__main__":
    main()

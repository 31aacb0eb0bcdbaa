"""The medical app in fresh interpreters: eager, lazy, lazy under the development profile, and
isolated (RAG in a lazymed.isolate worker).

Every endpoint must answer the same JSON in both modes (signed URLs and tokens carry a
timestamp: they are verified cryptographically instead and compared without it); the lazy app
must not run a heavy package before a request needs it; the development profile answers 503 for
the services it disables. Nothing leaves the machine: the children's HTTP(S) proxies point at a
closed loopback port.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

# Imported once, before the autouse fixture's per-test sys.modules snapshot: a second import of
# cryptography's Python modules in a later test makes its Rust side reject the new classes
# ("Expected instance of hashes.HashAlgorithm").
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REPO = Path(__file__).resolve().parents[2]
APP_DIR = REPO / "examples" / "medical_app"
CHILD = Path(__file__).with_name("_medapp_child.py")
HEAVY = ("google.cloud.storage", "firebase_admin", "supabase", "llama_index.core")
USES = {
    "reports": "google.cloud.storage",
    "records": "supabase",
    "token": "firebase_admin",
    "rag": "llama_index.core",
}


def _run_child(mode: str, profile: str | None = None) -> dict[str, Any]:
    from lazymed.demo import child_env

    env = child_env(os.environ, {}, [APP_DIR, REPO])
    done = subprocess.run(
        [sys.executable, str(CHILD), mode, profile or ""],
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    document: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return document


@pytest.fixture(scope="module")
def eager() -> dict[str, Any]:
    return _run_child("eager")


@pytest.fixture(scope="module")
def lazy() -> dict[str, Any]:
    return _run_child("lazy")


@pytest.fixture(scope="module")
def development() -> dict[str, Any]:
    return _run_child("lazy", "development")


def _by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["name"]: result for result in document["results"]}


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify(public_key_pem: str, signature: bytes, message: bytes) -> None:
    """Raise cryptography's InvalidSignature unless ``signature`` is RS256 over ``message``."""
    key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def _check_token(document: dict[str, Any]) -> dict[str, Any]:
    """Verify the Firebase custom token's RS256 signature; return its claims."""
    body = _by_name(document)["token"]["json"]
    header_b64, payload_b64, signature_b64 = body["token"].split(".")
    _verify(
        document["public_key_pem"],
        _b64url(signature_b64),
        f"{header_b64}.{payload_b64}".encode("ascii"),
    )
    claims: dict[str, Any] = json.loads(_b64url(payload_b64))
    assert claims["uid"] == "clinician-42"
    assert claims["claims"] == {"role": "nurse"}
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["iss"] == claims["sub"] == "medapp-backend@medapp-demo.iam.gserviceaccount.com"
    return {k: v for k, v in claims.items() if k not in ("iat", "exp")}


def _check_signed_url(document: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the V4 string-to-sign and verify the URL's signature; return its stable parts."""
    body = _by_name(document)["reports"]["json"]
    url = urllib.parse.urlsplit(body["signed_url"])
    pairs = url.query.split("&")
    signature = next(p.split("=", 1)[1] for p in pairs if p.startswith("X-Goog-Signature="))
    canonical_query = "&".join(p for p in pairs if not p.startswith("X-Goog-Signature="))
    params = dict(urllib.parse.parse_qsl(url.query))
    canonical_request = "\n".join(
        ["GET", url.path, canonical_query, f"host:{url.netloc}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    scope = params["X-Goog-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            params["X-Goog-Date"],
            scope,
            hashlib.sha256(canonical_request.encode("ascii")).hexdigest(),
        ]
    )
    _verify(document["public_key_pem"], bytes.fromhex(signature), string_to_sign.encode("ascii"))
    assert params["X-Goog-Expires"] == "600"
    assert url.path == "/medapp-reports/patients/p-001/reports/r-9.pdf"
    stable = {k: v for k, v in body.items() if k != "signed_url"}
    stable["signed_url_params"] = sorted(
        k for k in params if k not in ("X-Goog-Date", "X-Goog-Signature", "X-Goog-Credential")
    )
    return stable


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    """Every response, with the two timestamped bodies replaced by their verified stable parts
    and /healthz's mode field dropped."""
    out = {}
    for name, result in _by_name(document).items():
        body = result["json"]
        if name == "token":
            body = _check_token(document)
        elif name == "reports":
            body = _check_signed_url(document)
        elif name == "healthz":
            body = {k: v for k, v in body.items() if k != "mode"}
        out[name] = (result["status"], body)
    return out


def test_both_modes_answer_every_endpoint_identically(
    eager: dict[str, Any], lazy: dict[str, Any]
) -> None:
    assert _comparable(eager) == _comparable(lazy)
    statuses = {name: status for name, (status, _) in _comparable(lazy).items()}
    assert statuses == {
        "healthz": 200,
        "services": 200,
        "news2": 200,
        "news2-bad": 400,
        "triage": 200,
        "triage-bad": 400,
        "reports": 200,
        "reports-bad": 400,
        "records": 200,
        "token": 200,
        "token-bad": 400,
        "rag": 200,
        "rag-2": 200,
        "rag-bad": 400,
    }
    assert _by_name(eager)["healthz"]["json"]["mode"] == "eager"
    assert _by_name(lazy)["healthz"]["json"]["mode"] == "lazy"


def test_endpoint_results_are_the_expected_ones(lazy: dict[str, Any]) -> None:
    results = _by_name(lazy)
    assert results["news2"]["json"]["total"] == 12
    assert results["triage"]["json"]["level"] == 1
    assert results["rag"]["json"]["results"][0]["note_id"] == "note-010"
    assert "adrenaline" in results["rag"]["json"]["results"][0]["excerpt"].lower()
    assert results["rag"]["json"]["corpus_size"] == 30
    assert results["rag-2"]["json"]["results"][0]["note_id"] == "note-001"
    assert len(results["rag-2"]["json"]["results"]) == 2
    assert results["records"]["json"] == {
        "method": "GET",
        "sent": False,
        "table": "encounters",
        "url": "https://medapp-demo.supabase.co/rest/v1/encounters?"
        "select=id%2Cstarted_at%2Ctriage_level%2Cnews2_total&patient_id=eq.p-001"
        "&order=started_at.desc&limit=5",
    }
    assert results["reports"]["json"]["public_url"] == (
        "https://storage.googleapis.com/medapp-reports/patients/p-001/reports/r-9.pdf"
    )
    assert "top_k=50 is outside 1-10" in results["rag-bad"]["json"]["message"]


def test_eager_mode_runs_every_package_at_import(eager: dict[str, Any]) -> None:
    assert eager["after_import"]["states"] is None  # lazymed not installed
    assert all(eager["after_import"]["markers"].values())


def test_lazy_mode_runs_each_package_only_when_a_request_needs_it(lazy: dict[str, Any]) -> None:
    states = lazy["after_import"]["states"]
    assert {name: states[name] for name in HEAVY} == dict.fromkeys(HEAVY, "lazy")
    assert states["medapp.triage"] == states["medapp.vitals"] == "loaded"
    assert not any(lazy["after_import"]["markers"].values())
    loaded: set[str] = set()
    for result in lazy["results"]:
        package = USES.get(result["name"])
        if package is not None:
            loaded.add(package)
        ran = {name for name, present in result["markers"].items() if present}
        # A package has run exactly when a request has used it (the "-bad" requests are
        # rejected by validation before any SDK call).
        assert ran == loaded, result["name"]
        assert {n for n in HEAVY if result["states"][n] == "loaded"} == loaded, result["name"]


def test_development_profile_answers_503_for_disabled_services(development: dict[str, Any]) -> None:
    results = _by_name(development)
    for name, module in (
        ("reports", "google.cloud.storage"),
        ("records", "supabase"),
        ("token", "firebase_admin"),
    ):
        assert results[name]["status"] == 503, name
        body = results[name]["json"]
        assert body["error"] == "service_unavailable"
        assert body["module"] == module
        assert body["profile"] == "development"
        assert (
            f"lazymed profile 'development' lists '{module}' in disabled_modules" in body["message"]
        )
    assert results["services"]["json"] == {
        "firebase_admin": {"enabled": False, "service": "clinician sign-in (Firebase Admin)"},
        "google.cloud.storage": {
            "enabled": False,
            "service": "report storage (Google Cloud Storage)",
        },
        "llama_index.core": {
            "enabled": True,
            "service": "clinical knowledge retrieval (llama-index)",
        },
        "supabase": {"enabled": False, "service": "patient records (Supabase)"},
    }
    # What stays enabled works, and the disabled packages never ran.
    assert results["rag"]["status"] == results["triage"]["status"] == 200
    assert results["rag"]["json"]["results"][0]["note_id"] == "note-010"
    final = development["results"][-1]
    assert {n: final["states"][n] for n in HEAVY} == {
        "google.cloud.storage": "disabled",
        "firebase_admin": "disabled",
        "supabase": "disabled",
        "llama_index.core": "loaded",
    }
    assert final["markers"] == {
        "google.cloud.storage": False,
        "firebase_admin": False,
        "supabase": False,
        "llama_index.core": True,
    }


# --------------------------------------------------------------------------- isolated mode
# RAG served by a lazymed.isolate worker (profile "isolated"): byte for byte as in-process, and
# llama-index never runs in the server process.


@pytest.fixture(scope="module")
def isolated() -> dict[str, Any]:
    return _run_child("isolated")


def test_isolated_rag_answers_are_byte_identical_to_in_process(
    eager: dict[str, Any], isolated: dict[str, Any]
) -> None:
    for name in ("rag", "rag-2", "rag-bad"):
        mine, theirs = _by_name(isolated)[name], _by_name(eager)[name]
        assert (mine["status"], mine["sha256"]) == (theirs["status"], theirs["sha256"]), name
    assert _by_name(isolated)["rag-bad"]["status"] == 400


def test_every_other_endpoint_answers_as_in_process(
    eager: dict[str, Any], isolated: dict[str, Any]
) -> None:
    mine, theirs = _comparable(isolated), _comparable(eager)
    status, health = mine.pop("healthz")
    assert status == 200 and health["profile"] == "isolated" and health["status"] == "ok"
    assert health["isolated"]["rag"] in ("starting", "running")  # warm start under way or done
    theirs.pop("healthz")
    assert mine == theirs
    assert _by_name(isolated)["healthz"]["json"]["mode"] == "isolated"


def test_llama_index_never_runs_in_the_server_process(isolated: dict[str, Any]) -> None:
    for result in isolated["results"]:
        assert result["markers"]["llama_index.core"] is False, result["name"]
        assert result["states"]["llama_index.core"] == "lazy", result["name"]

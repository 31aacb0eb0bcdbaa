"""Fixtures of the real-package tests: a generated service-account key and the run cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ._workloads import RunCache


@pytest.fixture(scope="session")
def service_account(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A freshly generated RSA service-account key file (never valid anywhere: offline tests).

    Returns ``{"sa_key_path": str, "sa_public_pem": str}`` for the snippets' ``DATA``.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    account = {
        "type": "service_account",
        "project_id": "lazymed-test",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": private_pem,
        "client_email": "svc@lazymed-test.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path: Path = tmp_path_factory.mktemp("service-account") / "service-account.json"
    path.write_text(json.dumps(account), encoding="utf-8")
    return {"sa_key_path": str(path), "sa_public_pem": public_pem}


@pytest.fixture(scope="session")
def real_runs(
    tmp_path_factory: pytest.TempPathFactory, service_account: dict[str, Any]
) -> RunCache:
    """Every (workloads, mode) snippet runs once per session, on first request."""
    return RunCache(tmp_path_factory.mktemp("real-runs"), service_account)

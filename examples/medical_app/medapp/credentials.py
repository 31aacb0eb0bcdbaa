"""A service-account key generated in memory, so Firebase and Cloud Storage can sign offline.

Nothing here is a real credential: the RSA key is generated once per process and never leaves it,
the project and e-mail are made up, and no token is ever exchanged with Google. Signing a
custom token or a V4 signed URL is a local RSA operation.
"""

from __future__ import annotations

import functools
from typing import Any

PROJECT_ID = "medapp-demo"
CLIENT_EMAIL = f"medapp-backend@{PROJECT_ID}.iam.gserviceaccount.com"


@functools.cache
def service_account_info() -> dict[str, Any]:
    """The service-account JSON (as a dict) with a fresh 2048-bit RSA private key.

    Generated on first call (about 50 ms) and cached for the life of the process.
    """
    # Imported here, not at module level: only the services that sign need it.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return {
        "type": "service_account",
        "project_id": PROJECT_ID,
        "private_key_id": "0" * 40,
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def public_key_pem() -> str:
    """The PEM public key matching :func:`service_account_info` (for verifying what we sign)."""
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(
        service_account_info()["private_key"].encode("ascii"), password=None
    )
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )

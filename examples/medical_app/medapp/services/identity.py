"""Clinician sign-in tokens with Firebase Admin, minted offline.

``firebase_admin`` is initialised (as a named app) from the generated service-account key;
``create_custom_token`` signs a JWT locally. Nothing is sent to Firebase.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import firebase_admin
from firebase_admin import auth, credentials

from medapp.credentials import service_account_info

MODULE = "firebase_admin"
SERVICE = "clinician sign-in (Firebase Admin)"
APP_NAME = "medapp"
ROLES = ("nurse", "physician", "pharmacist", "admin")
_UID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@functools.cache
def _app() -> firebase_admin.App:
    return firebase_admin.initialize_app(
        credentials.Certificate(service_account_info()), name=APP_NAME
    )


def custom_token(uid: str, role: str) -> dict[str, Any]:
    """A Firebase custom token for clinician ``uid`` with claim ``{"role": role}``.

    Returns ``{"uid", "role", "token", "expires_in_seconds"}``; the token is an RS256 JWT
    (Firebase custom tokens live one hour). Raises ValueError for a bad uid or unknown role.
    """
    if not _UID.match(uid):
        raise ValueError(f"uid must be 1-128 letters, digits, '_' or '-', got {uid!r}")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    token = auth.create_custom_token(uid, {"role": role}, app=_app())
    return {
        "uid": uid,
        "role": role,
        "token": token.decode("ascii"),
        "expires_in_seconds": 3600,
    }

"""Report files in Google Cloud Storage: public and V4 signed URLs, built offline.

The public URL comes from an anonymous client; the signed URL is signed locally with the
generated service-account key (``medapp.credentials``). No request is sent to Google.
"""

from __future__ import annotations

import datetime
import functools
import re
from typing import Any

from google.cloud import storage

from medapp.credentials import CLIENT_EMAIL, PROJECT_ID, service_account_info

MODULE = "google.cloud.storage"
SERVICE = "report storage (Google Cloud Storage)"
BUCKET = "medapp-reports"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@functools.cache
def _anonymous_client() -> storage.Client:
    return storage.Client.create_anonymous_client()


@functools.cache
def _signing_client() -> storage.Client:
    return storage.Client.from_service_account_info(service_account_info(), project=PROJECT_ID)


def report_urls(patient_id: str, report_id: str, *, minutes: int = 15) -> dict[str, Any]:
    """URLs for ``gs://medapp-reports/patients/<patient_id>/reports/<report_id>.pdf``.

    Returns ``{"bucket", "object", "public_url", "signed_url", "expires_in_seconds",
    "signed_by"}``; the signed URL is a GET V4 URL valid for ``minutes`` (1-60).
    Raises ValueError for an id that is not 1-64 letters, digits, ``_`` or ``-``.
    """
    for name, value in (("patient_id", patient_id), ("report_id", report_id)):
        if not _ID.match(value):
            raise ValueError(f"{name} must be 1-64 letters, digits, '_' or '-', got {value!r}")
    if not 1 <= minutes <= 60:
        raise ValueError(f"minutes={minutes} is outside 1-60")
    name = f"patients/{patient_id}/reports/{report_id}.pdf"
    public_url = _anonymous_client().bucket(BUCKET).blob(name).public_url
    signed_url = (
        _signing_client()
        .bucket(BUCKET)
        .blob(name)
        .generate_signed_url(
            version="v4", expiration=datetime.timedelta(minutes=minutes), method="GET"
        )
    )
    return {
        "bucket": BUCKET,
        "object": name,
        "public_url": public_url,
        "signed_url": signed_url,
        "expires_in_seconds": minutes * 60,
        "signed_by": CLIENT_EMAIL,
    }

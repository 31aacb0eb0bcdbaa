"""Encounter records in Supabase (PostgREST): queries built, never sent.

The client is created with a made-up project URL and key. :func:`encounters_query` builds the
same request builder a real handler would ``.execute()`` and returns the request it would send.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import supabase

MODULE = "supabase"
SERVICE = "patient records (Supabase)"
SUPABASE_URL = "https://medapp-demo.supabase.co"
SUPABASE_KEY = "sb_publishable_medapp_demo_not_a_real_key"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@functools.cache
def _client() -> supabase.Client:
    return supabase.create_client(SUPABASE_URL, SUPABASE_KEY)


def encounters_query(patient_id: str, *, limit: int = 20) -> dict[str, Any]:
    """The PostgREST request for a patient's latest ``limit`` (1-100) encounters.

    Returns ``{"table", "method", "url", "sent": False}``. Raises ValueError for a bad id or
    limit.
    """
    if not _ID.match(patient_id):
        raise ValueError(f"patient_id must be 1-64 letters, digits, '_' or '-', got {patient_id!r}")
    if not 1 <= limit <= 100:
        raise ValueError(f"limit={limit} is outside 1-100")
    builder = (
        _client()
        .table("encounters")
        .select("id,started_at,triage_level,news2_total")
        .eq("patient_id", patient_id)
        .order("started_at", desc=True)
        .limit(limit)
    )
    request = builder.request
    return {
        "table": "encounters",
        "method": request.http_method,
        "url": f"{request.path}?{request.params}",
        "sent": False,
    }

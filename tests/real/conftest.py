"""Fixtures of the real-package tests: a generated service-account key and the run cache."""

from __future__ import annotations

from typing import Any

import pytest

from ._workloads import RunCache, write_service_account


@pytest.fixture(scope="session")
def service_account(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A freshly generated RSA service-account key file (never valid anywhere: offline tests).

    Returns ``{"sa_key_path": str, "sa_public_pem": str}`` for the snippets' ``DATA``.
    """
    return write_service_account(tmp_path_factory.mktemp("service-account"))


@pytest.fixture(scope="session")
def real_runs(
    tmp_path_factory: pytest.TempPathFactory, service_account: dict[str, Any]
) -> RunCache:
    """Every (workloads, mode) snippet runs once per session, on first request."""
    return RunCache(tmp_path_factory.mktemp("real-runs"), service_account)

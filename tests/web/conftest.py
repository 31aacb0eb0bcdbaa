"""Fixtures for the web layer: a token in the environment, no monitor left running."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TOKEN = "t0ken-for-tests-only-7f3a"


@pytest.fixture(autouse=True)
def web_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The token in LAZYMED_WEB_TOKEN, the working directory without a pyproject.toml, no
    multiprocess directory; the governor at its defaults, its monitor stopped afterwards."""
    monkeypatch.setenv("LAZYMED_WEB_TOKEN", TOKEN)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("prometheus_multiproc_dir", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    from lazymed import memory

    memory.configure({})  # the governor's defaults, whatever an earlier test configured
    yield
    isolate = sys.modules.get("lazymed.isolate")
    if isolate is not None:  # a test that used isolation: its action and provider go (as in
        for remove in isolate._registered:  # tests/isolate/conftest.py)
            remove()
        isolate._registered.clear()
    memory = sys.modules.get("lazymed.memory")
    if memory is not None:
        memory.stop()

"""``lazymed demo --modes eager,deep`` (Python 3.15+): the reference app under the native
backend with deep laziness (profile ``deep`` of examples/medical_app/pyproject.toml), run for
real beside eager. Same responses as eager; fewer modules and less memory after the first RAG
request (the figures are psutil's, read from outside the server and checked by the harness
against the server's own /proc readings). No timing is asserted."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not hasattr(sys, "set_lazy_imports_filter"),
    reason="the deep mode needs PEP 810 (Python 3.15+; this is "
    f"{sys.version_info.major}.{sys.version_info.minor})",
)


def test_deep_mode_answers_as_eager_with_less_loaded() -> None:
    from lazymed.demo import find_app_dir, measure_run

    app = find_app_dir(REPO / "examples" / "medical_app")
    eager = measure_run(app, "eager", warm_requests=1)
    lazy = measure_run(app, "lazy", warm_requests=1)
    deep = measure_run(app, "deep", warm_requests=1)
    assert deep.responses == eager.responses  # byte-identical triage and RAG answers
    info = deep.phases["startup"].lazymed
    assert info is not None and info["profile"] == "deep"
    for run in (eager, lazy, deep):
        assert run.phases["startup"].agree is True and run.phases["after_first_rag"].agree is True
    after = {r.mode: r.phases["after_first_rag"] for r in (eager, lazy, deep)}
    assert after["deep"].inside.modules < after["lazy"].inside.modules
    assert after["deep"].outside.rss_bytes < after["lazy"].outside.rss_bytes

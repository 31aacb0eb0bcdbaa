"""lazymed.web: the /memory endpoints (stats, optimize, report, metrics) for Flask, WSGI and
ASGI applications, Prometheus alert rules, gunicorn multiprocess clean-up.

A layer above ``lazymed.memory`` (and ``lazymed.isolate`` when the process uses it); imported
only when used, and it imports no web framework itself: ``lazymed.web.flask`` imports Flask,
``lazymed.web.wsgi`` and ``lazymed.web.asgi`` import nothing beyond the standard library, and
``/metrics`` imports prometheus-client (the ``web`` extra) on first use. Full reference:
docs/web.md.

- :class:`WebSettings` / :func:`settings`: ``[tool.lazymed.web]`` with keyword overrides.
- :func:`alert_rules_path`: the shipped Prometheus alert rules (``alerts.yml``).
- :func:`child_exit`: gunicorn hook removing a dead worker's prometheus-client files.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from ._settings import WebSettings, resolve

__all__ = ["WebSettings", "alert_rules_path", "child_exit", "settings"]


def settings(**keywords: Any) -> WebSettings:
    """``[tool.lazymed.web]`` of the installed config (else the project's pyproject.toml) with
    ``keywords`` on top. Raises ConfigError naming the file or keyword and the key."""
    return resolve(**keywords)


def alert_rules_path() -> str:
    """Path of the Prometheus alert rules shipped with lazymed (``lazymed/web/alerts.yml``;
    thresholds: the governor's defaults, 100/200/500 MiB RSS, 500 MiB VMS)."""
    return str(resources.files(__package__).joinpath("alerts.yml"))


def child_exit(server: object, worker: Any) -> None:
    """gunicorn ``child_exit(server, worker)`` hook (in the master): with
    ``PROMETHEUS_MULTIPROC_DIR`` set, ``mark_process_dead(worker.pid)`` and removal of every
    ``.db`` file of a worker that is gone (``mark_process_dead`` alone leaves them to pile
    up: client_python#367). Does nothing outside multiprocess mode."""
    from ._metrics import cleanup_dead, multiprocess_dir

    if multiprocess_dir() is not None:
        cleanup_dead(dead=int(getattr(worker, "pid", 0)) or None)

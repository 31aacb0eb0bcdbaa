"""gunicorn config hooks: load ``[tool.lazymed.startup] prefork`` modules in the master before it
forks, freeze them for the garbage collector, and warm the ``warm`` list in each worker.

In ``gunicorn.conf.py``::

    from lazymed.integrations.gunicorn import post_fork, pre_fork, when_ready

gunicorn itself is not imported (the hooks only receive its objects). With ``--preload`` the
application (and its ``lazymed.install()``) is imported in the master first; without it the
hooks call ``lazymed.install()`` there themselves, which reads the same pyproject.toml.
Measured with ``gunicorn --preload -w 4``: see benchmarks/README.md (pre-fork).
"""

from __future__ import annotations

import gc

from .. import _startup, install
from .._registry import is_installed

__all__ = ["post_fork", "pre_fork", "when_ready"]


def _ensure_installed() -> None:
    if not is_installed():
        install()


def when_ready(server: object) -> None:
    """gunicorn ``when_ready(server)``, in the master once it listens and before it forks:
    loads the ``prefork`` modules (lazy ones run now) and calls ``gc.freeze()`` so the workers
    share those pages instead of copying them when their collector runs. Raises the import error
    of a prefork module (gunicorn then stops: a broken dependency should fail at start-up)."""
    _ensure_installed()
    _startup.prefork()


def pre_fork(server: object, worker: object) -> None:
    """gunicorn ``pre_fork(server, worker)``: the same as :func:`when_ready` if it has not run
    (idempotent), then ``gc.freeze()`` right before the fork, as the ``gc.freeze`` docs advise,
    so objects the master made since are shared too."""
    if not _startup._prefork_done:
        when_ready(server)
    gc.freeze()


def post_fork(server: object, worker: object) -> None:
    """gunicorn ``post_fork(server, worker)``, in the new worker: starts the ``warm`` list's
    background load (threads do not survive ``fork()``, so a master's warm-up would not reach
    the workers). Does nothing without a ``warm`` list."""
    _ensure_installed()
    _startup.warm()

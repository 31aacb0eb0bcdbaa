"""gunicorn settings for the medical app: ``gunicorn -c gunicorn.conf.py medapp.wsgi:app``.

Memory plan (docs/operations.md): 2 sync workers of 1 thread each, recycled after
MEDAPP_MAX_REQUESTS requests (0: never); the application is loaded in the master
(``preload_app``) so lazymed installs once, ``gc.freeze()`` runs before each fork and the
workers share those pages; each worker starts its own memory monitor (threads do not survive
fork). With PROMETHEUS_MULTIPROC_DIR set, ``child_exit`` removes a dead worker's metric files.
"""

import gc
import os

from lazymed.web import child_exit  # noqa: F401  (gunicorn calls hooks by name)

try:  # lazymed's start-up hooks ([tool.lazymed.startup] prefork/warm + gc.freeze)
    from lazymed.integrations import gunicorn as _startup_hooks
except ImportError:  # a lazymed without lazymed.integrations: gc.freeze only
    _startup_hooks = None

bind = os.environ.get("MEDAPP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("MEDAPP_WORKERS", "2"))
threads = 1
worker_class = "sync"
preload_app = True
max_requests = int(os.environ.get("MEDAPP_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
timeout = 30
graceful_timeout = 10


def on_starting(server):
    # A fresh multiprocess directory: files of a previous run would be merged into scrapes.
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path and os.path.isdir(path):
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))


def when_ready(server):
    if _startup_hooks is not None:
        _startup_hooks.when_ready(server)


def pre_fork(server, worker):
    if _startup_hooks is not None:
        _startup_hooks.pre_fork(server, worker)
    else:
        gc.freeze()


def post_fork(server, worker):
    if _startup_hooks is not None:
        _startup_hooks.post_fork(server, worker)
    import lazymed.memory

    lazymed.memory.start()  # this worker's monitor: levels, actions, leak detector

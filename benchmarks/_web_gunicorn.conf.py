"""gunicorn settings of benchmark 15 (test_web.py): examples/medical_app/gunicorn.conf.py as it
is, plus one observer the soak's warm-up waits on.

Each worker counts the collections of the garbage collector's oldest generation since it was
forked, in ``$BENCH_GC_DIR/<pid>`` (a ``gc.callbacks`` entry that acts on generation 2 only: a
few times per 10k requests here). Why the soak needs it: after ``gc.freeze()`` in the master
(``pre_fork``), a worker's first full collection waits until the objects promoted to the oldest
generation exceed a quarter of the master's long-lived count (CPython's rule for generation 2),
about 8,000 requests per worker in this app; until then the reference cycles that reach that
generation (one per request from werkzeug's URL matcher, ``StateMachineMatcher.match``'s
recursive closure) pile up in fresh pages, and RSS steps up by tens of KiB. After that the freed
blocks are reused; the garbage of each cycle (~22k requests per worker) sets a high-water mark
that still rises by a page or a few over the next ~6 cycles, then stays flat.
"""

import gc
import os
from pathlib import Path

_APP_CONF = Path(os.environ["BENCH_APP_DIR"]) / "gunicorn.conf.py"
exec(compile(_APP_CONF.read_text(), str(_APP_CONF), "exec"))
_app_post_fork = post_fork  # type: ignore[name-defined]  # noqa: F821  (the app's hook)


def post_fork(server, worker):  # type: ignore[no-untyped-def]
    _app_post_fork(server, worker)
    path = os.path.join(os.environ["BENCH_GC_DIR"], str(os.getpid()))
    inherited = gc.get_stats()[2]["collections"]  # the master's, copied by fork

    def write() -> None:
        with open(path + ".tmp", "w") as fh:
            fh.write(str(gc.get_stats()[2]["collections"] - inherited))
        os.replace(path + ".tmp", path)  # the reader never sees a half-written file

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            write()

    write()
    gc.callbacks.append(on_gc)

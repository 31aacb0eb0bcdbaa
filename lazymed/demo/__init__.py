"""The measuring harness behind ``lazymed demo``: the reference medical app started in each mode
(eager, lazy, ...) in a fresh interpreter serving on ``127.0.0.1``, measured side by side.

The demo is the app's HTTP client and its outside observer:

* **start-up time**: from just before the child is spawned to its first ``GET /healthz`` 200;
* **RSS, VMS, threads**: ``psutil`` on the child's pid, read from this process, cross-checked
  against what the child reads from its own ``/proc/self/status`` (``GET /_demo/introspect``);
* **gc objects, modules**: reported by the child (``len(gc.get_objects())`` after
  ``gc.collect()``, ``len(sys.modules)``): nothing outside a process can count them;
* **response times**: around the client's HTTP call, for the first triage request, the first
  RAG request and the median of the next warm RAG requests.

Figures are taken after start-up and again after the first RAG request and held against
:data:`TARGETS`; each is met or missed from the measurement, nothing else.

:func:`measure_run` measures one run (a :class:`Run`); :func:`run_demo` runs every mode
(:data:`MODES`, one table: a new mode is one entry) and returns the ``lazymed.demo/1`` JSON
document (docs/demo.md); :func:`render_plain`, :func:`render_rich` and :func:`table_rows` render
it. :func:`find_app_dir` finds the app (it ships with the source, not the wheel).

A feature layer above the core; it needs ``psutil`` (a dependency of lazymed) and, for
:func:`render_rich`, ``rich`` (the ``cli`` extra). Imported only by ``lazymed demo``.
"""

from lazymed.demo._app import APP_ENV, HEAVY_MODULES, find_app_dir
from lazymed.demo._child import ChildError, ChildServer, Reading, Response, child_env
from lazymed.demo._measure import (
    STEPS_PER_RUN,
    checks,
    group_runs,
    measure_run,
    run_demo,
    warm_file_cache,
)
from lazymed.demo._model import (
    MB,
    MIB,
    PHASES,
    SCHEMA,
    TARGETS,
    Check,
    DemoError,
    DemoSetupError,
    Document,
    InsideReading,
    OutsideReading,
    Phase,
    Progress,
    Requests,
    Responses,
    Run,
)
from lazymed.demo._modes import DEFAULT_MODES, MODES, Mode
from lazymed.demo._render import Row, footnotes, render_plain, render_rich, table_rows

__all__ = [
    "APP_ENV",
    "DEFAULT_MODES",
    "HEAVY_MODULES",
    "MB",
    "MIB",
    "MODES",
    "PHASES",
    "SCHEMA",
    "STEPS_PER_RUN",
    "TARGETS",
    "Check",
    "ChildError",
    "ChildServer",
    "DemoError",
    "DemoSetupError",
    "Document",
    "InsideReading",
    "Mode",
    "OutsideReading",
    "Phase",
    "Progress",
    "Reading",
    "Requests",
    "Response",
    "Responses",
    "Row",
    "Run",
    "checks",
    "child_env",
    "find_app_dir",
    "footnotes",
    "group_runs",
    "measure_run",
    "render_plain",
    "render_rich",
    "run_demo",
    "table_rows",
    "warm_file_cache",
]

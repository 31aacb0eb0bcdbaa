"""What ``lazymed scan`` does, as a library: find the statements that defeat laziness, by
static analysis (``ast``); nothing is imported or run.

* :func:`scan_source` scans one file's source, :func:`scan_paths` every ``*.py`` file under
  some paths; each returns :class:`Finding` s (kinds in :data:`KINDS`, documented in
  docs/check-and-scan.md), :func:`scan_paths` inside a :class:`ScanResult`.
* :func:`config_for` is the configuration a scan of some paths reads (as ``install()`` would);
  :func:`render_text` and :func:`report_json` render a result (schema ``lazymed.scan/1``).

Profilers use it too: :func:`scan_source` tells whether the code that imports a module uses it
at import time, in which case deferring it saves nothing.

A feature layer above the core: it imports the core and the standard library only.
"""

from lazymed.scan._files import SKIP_DIRS, config_for, iter_files, scan_paths
from lazymed.scan._model import KINDS, Finding, ParseError, ScanResult
from lazymed.scan._render import SCHEMA, render_text, report_json
from lazymed.scan._scanner import NO_LOAD_ATTRIBUTES, covering, module_name_for, scan_source

__all__ = [
    "KINDS",
    "NO_LOAD_ATTRIBUTES",
    "SCHEMA",
    "SKIP_DIRS",
    "Finding",
    "ParseError",
    "ScanResult",
    "config_for",
    "covering",
    "iter_files",
    "module_name_for",
    "render_text",
    "report_json",
    "scan_paths",
    "scan_source",
]

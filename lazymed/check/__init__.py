"""What ``lazymed check`` does, as a library: validate the configuration and resolve every
registered name without importing it.

* :func:`resolve` finds where a dotted name would be imported from (kind, origin, C extension
  files, a "did you mean" for a missing one) by walking the path finders: nothing is imported,
  not even parent packages.
* :func:`distribution_hint` explains a pip distribution name written where a module name
  belongs (``llama-index-core`` -> ``llama_index.core``); :func:`config_error_hints` does so for
  the names a :class:`~lazymed.ConfigError` rejected (its ``rejected`` field).
* :func:`load_configs` loads the effective configuration and the file's other profiles;
  :func:`check` judges them and the file's other profiles and returns a
  :class:`Report` of :class:`Problem` s; :func:`render_text` and :func:`report_json` render it
  (schema ``lazymed.check/1``, documented in docs/check-and-scan.md).

A feature layer above the core: it imports the core and the standard library only
(``importlib_metadata`` for distribution hints, on use).
"""

from lazymed._typos import close_matches, edit_distance
from lazymed.check._distributions import (
    config_error_hints,
    distribution_hint,
    distribution_modules,
    distribution_text,
)
from lazymed.check._problems import (
    ROLES,
    ModuleReport,
    Problem,
    Report,
    Role,
    check,
    load_configs,
    source_kind,
)
from lazymed.check._render import SCHEMA, render_text, report_json
from lazymed.check._resolve import STARTUP_PROBE, Resolution, resolve, startup_modules

__all__ = [
    "ROLES",
    "SCHEMA",
    "STARTUP_PROBE",
    "ModuleReport",
    "Problem",
    "Report",
    "Resolution",
    "Role",
    "check",
    "close_matches",
    "config_error_hints",
    "distribution_hint",
    "distribution_modules",
    "distribution_text",
    "edit_distance",
    "load_configs",
    "render_text",
    "report_json",
    "resolve",
    "source_kind",
    "startup_modules",
]

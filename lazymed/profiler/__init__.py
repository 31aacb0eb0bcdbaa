"""Import-cost profiler behind ``lazymed profile``.

:func:`profile` runs a target (script, ``-m`` module, ``-c`` code or a list of modules) in fresh
interpreters with a tracer on the import system and returns a :class:`Report`: per module and per
top-level package, self and cumulative import time, RSS growth, Python-allocated bytes
(tracemalloc), gc-tracked objects, threads started, C extensions and the import chain, plus the
tracer's measured overhead and a suggested ``[tool.lazymed]`` block (merged with the target's own
configuration when it has one). :func:`render_text`,
:func:`report_json` and :func:`render_html` turn a report into the three outputs (the rich view
lives in ``lazymed.profiler._rich``, imported only when rich is used).

This package is an integration layer: it uses the standard library only, and nothing of it is
loaded in the profiled process (the tracer file is executed there by path).
"""

from lazymed.profiler._html import render_html
from lazymed.profiler._json import SCHEMA, SCHEMA_VERSION, report_dict, report_json
from lazymed.profiler._model import (
    Cost,
    ExistingConfig,
    ModuleCost,
    Overhead,
    PackageCost,
    Report,
    RunInfo,
    Suggestion,
    Target,
)
from lazymed.profiler._runner import (
    ProfileError,
    ProfileInterrupted,
    TargetNotFoundError,
    existing_config,
    profile,
)
from lazymed.profiler._suggest import merged_lazy, suggestion_toml, toml_block
from lazymed.profiler._text import render_text

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "Cost",
    "ExistingConfig",
    "ModuleCost",
    "Overhead",
    "PackageCost",
    "ProfileError",
    "ProfileInterrupted",
    "Report",
    "RunInfo",
    "Suggestion",
    "Target",
    "TargetNotFoundError",
    "existing_config",
    "merged_lazy",
    "profile",
    "render_html",
    "render_text",
    "report_dict",
    "report_json",
    "suggestion_toml",
    "toml_block",
]

"""``lazymed scan``: find statements that defeat laziness, by static analysis (``ast``).

Usage::

    python -m lazymed scan [PATH ...] [--config PATH] [--profile NAME] [--json]

Reads the lazy names from the configuration (as ``install()`` would; a name covers its
submodules), parses every ``*.py`` file under the given paths (default: the working directory;
``.venv``-style and hidden directories, ``site-packages``, ``__pycache__`` and
``node_modules`` are skipped) and reports code that loads a lazy module while a module is being
imported, which makes the lazy import pointless:

``from-import``
    ``from X import name`` of a lazy X at module level while ``from_import = "eager"`` (and
    ``from X import *``, or a from-import in a class body, in any mode).
``decorator``, ``class-base``, ``default-argument``, ``annotation``, ``module-level``,
``class-body``
    an attribute of a lazy module used where it is evaluated at import time: a decorator
    (``@X.route``), a base class or class keyword (``class A(X.Base)``), a default argument
    value, an annotation evaluated at ``def`` time (not with ``from __future__ import
    annotations``), any other module-level statement (``C = X.f()``), or a class body.
``import-time-call``
    a lazy module imported or used inside a function that runs at import time anyway: called
    (or used as a decorator, or instantiated, for a class's ``__init__``) from module level.

Code under ``if TYPE_CHECKING:`` and ``if __name__ == "__main__":`` is not import-time code and
is skipped; a module inside a lazy package may use that same package freely (it runs when the
package loads anyway). Relative imports are resolved from the file's package (found by walking up
the directories that hold an ``__init__.py``).

Exit status: 0 no findings; 1 findings (or files that cannot be parsed); 2 usage error (a path
that does not exist, a configuration error, no lazy names configured). See
docs/check-and-scan.md for the JSON schema (``lazymed.scan/1``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from lazymed.cli._common import USAGE_STATUS, UsageError, add_config_options, config_error_text
from lazymed.cli._common import error as _print_error

PROG = "lazymed scan"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``scan`` on the top-level parser's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "scan",
        help="find statements that defeat laziness (static AST scan)",
        description=(
            "Statically scan Python files for code that loads a lazy module while modules are "
            "being imported (eager from-imports, decorators, base classes, default values, "
            "annotations, module-level calls, functions called at import time). Nothing is "
            "imported or run. Exit status: 0 clean, 1 findings, 2 usage error."
        ),
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files and directories to scan (default: the working directory)",
    )
    add_config_options(parser, start="the first PATH up, else from the working directory")
    return parser


def run(args: argparse.Namespace) -> int:
    """Scan and print the findings. Returns the exit status (see module doc)."""
    from lazymed._errors import ConfigError
    from lazymed.scan import config_for, render_text, report_json, scan_paths

    paths: list[str] = list(args.paths) or [os.curdir]
    try:
        for path in paths:
            if not os.path.exists(path):
                raise UsageError(f"no such file or directory: {path}")
        first = paths[0] if os.path.isdir(paths[0]) else os.path.dirname(paths[0]) or os.curdir
        try:
            cfg = config_for(paths, args.config, profile=args.profile)
        except ConfigError as exc:
            raise UsageError(config_error_text(exc)[0]) from None
        if not cfg.lazy:
            where = cfg.path or (
                f"no pyproject.toml with [tool.lazymed] above {first} or the working directory"
            )
            raise UsageError(
                f"no lazy modules configured ({where}): add lazy = [...] to [tool.lazymed], "
                "or pass --config PATH"
            )
        try:
            result = scan_paths(paths, cfg.lazy, cfg.from_import)
        except FileNotFoundError as exc:  # removed while we ran
            raise UsageError(str(exc)) from None
    except UsageError as exc:
        _print_error(PROG, str(exc))
        return USAGE_STATUS
    if args.json:
        print(json.dumps(report_json(result, cfg), indent=2))
    else:
        sys.stdout.write(render_text(result, cfg))
    return result.exit_status

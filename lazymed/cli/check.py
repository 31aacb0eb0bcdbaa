"""``lazymed check``: validate ``[tool.lazymed]`` and resolve every registered name, importing none.

Usage::

    python -m lazymed check [--config PATH] [--profile NAME] [--json] [--strict]

What it does:

* loads the configuration exactly as ``lazymed.install()`` would (file, active profile,
  ``LAZYMED_*`` environment variables, defaults) and prints every effective setting with where
  its value came from; every other profile of the file is loaded too, so a broken profile or a
  misspelt name in a profile is caught without activating it;
* resolves each registered name (``lazy``, ``critical``, ``disabled_modules``) by walking
  :class:`importlib.machinery.PathFinder` over ``sys.path`` (plus the config file's directory and
  its ``src/``) and each parent's ``submodule_search_locations``. Nothing is imported: not the
  name, not its parent packages (``importlib.util.find_spec("a.b")`` would import ``a``);
* reports, per name: found or not, kind (package, namespace package, module, extension module,
  built-in, frozen), where, the C extension files it contains (its own files only: what it
  imports when it loads may bring more, which ``lazymed profile`` shows), whether a fresh
  interpreter has it imported at start-up already (before any ``install()`` could run: ``.pth``
  files, ``sitecustomize``), and whether it belongs to the standard library;
* for a name that is not found, suggests a plausible close name (same number of components,
  resolving completely) or, when the name is a pip distribution's (``llama-index-core``,
  ``pyyaml``), the modules that distribution installs;
* lists problems, each with a fix.

Exit status: 0 no errors (warnings allowed); 1 errors found, or warnings with ``--strict``;
2 usage or configuration error (the configuration cannot be loaded, or a ``LAZYMED_*``
variable such as ``LAZYMED_DISABLE`` has a bad value: whatever ``install()`` would raise
ConfigError for). See docs/check-and-scan.md for every problem code and the JSON schema
(``lazymed.check/1``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lazymed.cli._common import USAGE_STATUS, add_config_options, config_error_text

PROG = "lazymed check"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``check`` on the top-level parser's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="validate [tool.lazymed] and resolve every registered name",
        description=(
            "Validate the lazymed configuration, print every effective setting with where it "
            "came from, and resolve every registered module name without importing it: found "
            "or not, package or module, namespace package, C extensions, imported at "
            "interpreter start-up, standard library. Exit status: 0 fine, 1 problems found, "
            "2 configuration or usage error."
        ),
    )
    add_config_options(parser)
    parser.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the check and print the report. Returns the exit status (see module doc)."""
    from lazymed._errors import ConfigError
    from lazymed.check import SCHEMA, check, load_configs, render_text, report_json

    try:
        cfg, others, profile_problems, disabled = load_configs(args.config, profile=args.profile)
    except ConfigError as exc:
        text, hints = config_error_text(exc)
        print(f"{PROG}: {text}", file=sys.stderr)
        if args.json:
            doc: dict[str, object] = {"schema": SCHEMA, "config_error": str(exc)}
            if hints:
                doc["hints"] = hints
            doc["summary"] = {"exit_status": USAGE_STATUS}
            print(json.dumps(doc, indent=2))
        return USAGE_STATUS
    report = check(cfg, others, disabled=disabled)
    report.problems[:0] = profile_problems
    if args.json:
        print(json.dumps(report_json(report, args.strict), indent=2))
    else:
        sys.stdout.write(render_text(report, args.strict))
    return report.exit_status(args.strict)

"""What every ``lazymed`` subcommand shares: the usage error, the ``--config``/``--profile``/
``--json`` options and the way errors and hints are printed."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lazymed._errors import ConfigError

#: Exit status for a usage or configuration error (argparse's own).
USAGE_STATUS = 2

_CONFIG_HELP = (
    "the pyproject.toml to read (default: $LAZYMED_CONFIG, else the nearest one with "
    "[tool.lazymed] from {start} up)"
)


class UsageError(Exception):
    """Bad command line or configuration (exit status 2)."""


def add_config_options(
    parser: argparse.ArgumentParser, *, start: str = "the working directory", json: bool = True
) -> None:
    """Add ``--config PATH``, ``--profile NAME`` and (when ``json``) ``--json``. ``start`` says
    where the search for pyproject.toml begins, for the help text."""
    parser.add_argument("--config", metavar="PATH", help=_CONFIG_HELP.format(start=start))
    parser.add_argument(
        "--profile", metavar="NAME", help="activate this profile (default: $LAZYMED_PROFILE)"
    )
    if json:
        parser.add_argument("--json", action="store_true", help="print a JSON document instead")


def error(prog: str, message: str) -> None:
    """``PROG: error: message`` on stderr, the way argparse reports."""
    print(f"{prog}: error: {message}", file=sys.stderr)


def config_error_text(exc: ConfigError) -> tuple[str, list[dict[str, object]]]:
    """``configuration error: ...`` followed by one ``hint:`` line per hint (a pip distribution
    name written where a module name belongs, say), and the hints themselves
    (:func:`lazymed.check.config_error_hints`)."""
    from lazymed.check import config_error_hints  # reads distribution metadata: on errors only

    hints = config_error_hints(exc)
    text = f"configuration error: {exc}" + "".join(f"\n  hint: {h['message']}" for h in hints)
    return text, hints

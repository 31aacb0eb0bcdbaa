"""The ``lazymed`` command line: ``python -m lazymed SUBCOMMAND`` or the ``lazymed`` script.

Each subcommand lives in its own module under :mod:`lazymed.cli` and exposes two functions:

* ``add_parser(subparsers) -> argparse.ArgumentParser`` registers the subcommand;
* ``run(args: argparse.Namespace) -> int`` runs it and returns the process exit status.

Subcommand modules are imported only when needed, so ``python -m lazymed check`` does not pay
for the profiler or the demo.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

# name -> (module under lazymed.cli, one-line help). Order is the order shown by --help.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "run the reference medical app eager and lazy, side by side"),
    "profile": ("profile", "measure what each import costs: time, memory, objects, threads"),
    "check": ("check", "validate [tool.lazymed] and resolve every registered name"),
    "scan": ("scan", "find statements that defeat laziness (static AST scan)"),
}


def _available() -> dict[str, tuple[str, str]]:
    """The subcommands whose module is present in this installation."""
    found = {}
    for name, (modname, helptext) in SUBCOMMANDS.items():
        if importlib.util.find_spec(f"lazymed.cli.{modname}") is not None:
            found[name] = (modname, helptext)
    return found


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="lazymed",
        description="Lazy imports, protected critical modules and measured memory.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for modname, _help in _available().values():
        module = importlib.import_module(f"lazymed.cli.{modname}")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Returns the exit status (0 success, 1 problems found, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    modname = _available()[args.command][0]
    module = importlib.import_module(f"lazymed.cli.{modname}")
    status: int = module.run(args)
    return status

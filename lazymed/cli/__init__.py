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
import os
import sys
from collections.abc import Sequence

from lazymed import __version__

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
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for modname, _help in _available().values():
        module = importlib.import_module(f"lazymed.cli.{modname}")
        module.add_parser(sub)
    return parser


#: Exit status when the reader of our output went away (``lazymed check --json | head``).
BROKEN_PIPE_STATUS = 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Returns the exit status (0 success, 1 problems found, 2 usage error; each
    subcommand documents its own).

    When standard output is a pipe whose reader has gone (``| head``), the command stops
    quietly with status 1, as the Python documentation recommends for SIGPIPE
    (https://docs.python.org/3/library/signal.html#note-on-sigpipe): no traceback, and stdout
    pointed at ``os.devnull`` so that the interpreter's final flush does not fail again.
    """
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    modname = _available()[args.command][0]
    module = importlib.import_module(f"lazymed.cli.{modname}")
    try:
        status: int = module.run(args)
        sys.stdout.flush()  # a broken pipe shows here, while we can still handle it
    except BrokenPipeError:
        _discard_stdout()
        return BROKEN_PIPE_STATUS
    return status


def _discard_stdout() -> None:
    """Point stdout at ``os.devnull``: what is still buffered for the closed pipe is dropped."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor behind sys.stdout
        pass

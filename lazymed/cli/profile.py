"""``lazymed profile``: what each import of a program costs, and what to make lazy.

Usage (options come before the target; everything after the target goes to it)::

    python -m lazymed profile [OPTIONS] script.py [ARG ...]
    python -m lazymed profile [OPTIONS] -m package.module [ARG ...]
    python -m lazymed profile [OPTIONS] -c "code" [ARG ...]
    python -m lazymed profile [OPTIONS] --modules a,b,c

Exit status: 0 the target ran and exited 0 (or ``--duration`` ended it); 1 the target failed
(the report is still printed) or the tracer could not write its report; 2 usage error, missing
script or module; 130 interrupted by Ctrl-C (SIGINT), 143 by SIGTERM (the report of what was
traced until then is printed when there is one).
See docs/profile.md for the options, the figures, profiling a server and the JSON schema.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from lazymed.cli._common import UsageError
from lazymed.cli._common import error as _print_error

if TYPE_CHECKING:  # the profiler is imported by run() only: `lazymed --help` must stay cheap
    from lazymed.profiler import Report, Target

PROG = "lazymed profile"
# Table rankings (lazymed.profiler._table.SORT_KEYS; a test keeps the two in step).
SORT_CHOICES = ("alloc", "objects", "rss", "self", "time")
#: Exit status per stop signal (128 + its number, as a shell reports it).
STOP_STATUS = {"SIGINT": 130, "SIGTERM": 143}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``profile`` on the top-level parser's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "profile",
        help="measure what each import costs: time, memory, objects, threads",
        description=(
            "Run a Python program in fresh interpreters with a tracer on the import system and "
            "report, per module and per top-level package, import time, RSS growth, "
            "Python-allocated bytes, gc objects, threads, C extensions and the import chain. "
            "The target runs up to three times: allocation pass (tracemalloc), timing pass "
            "(its output is shown) and a plain run to measure the tracer's overhead. "
            "The suggested lazy list is merged with the target's own [tool.lazymed]. "
            "For a server, profile its start-up: --modules myapp.app; or run it with "
            "--duration SECONDS, or with --no-alloc --no-baseline and stop it once it serves "
            "(Ctrl-C, or SIGTERM): the report of what was traced is printed (exit status 130, "
            "143 for SIGTERM). See docs/profile.md."
        ),
        usage=(
            "%(prog)s [options] (script.py [arg ...] | -m module [arg ...] | -c code [arg ...] "
            "| --modules a,b,c)"
        ),
    )
    target = parser.add_argument_group("target (exactly one)")
    target.add_argument("script", nargs="?", help="a script file, directory or zip to run")
    target.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    target.add_argument(
        "-m",
        dest="module",
        nargs=argparse.REMAINDER,
        metavar="MODULE",
        help="run a library module as a script, like python -m (arguments follow)",
    )
    target.add_argument(
        "-c",
        dest="code",
        nargs=argparse.REMAINDER,
        metavar="CODE",
        help="run code given as a string, like python -c (arguments follow)",
    )
    target.add_argument(
        "--modules", metavar="A,B,C", help="import these modules, in order, and nothing else"
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--json",
        action="store_true",
        help="print the report as JSON on stdout instead of tables (the target's stdout goes "
        "to stderr)",
    )
    out.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    out.add_argument("--top", type=int, default=20, metavar="N", help="rows per table (20)")
    out.add_argument(
        "--sort", choices=SORT_CHOICES, default="time", help="ranking of the tables (time)"
    )
    out.add_argument(
        "--plain", action="store_true", help="plain text tables even when rich is installed"
    )
    runs = parser.add_argument_group("runs")
    runs.add_argument(
        "--no-alloc",
        action="store_true",
        help="skip the allocation pass: no allocated bytes or gc objects, one run fewer",
    )
    runs.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the plain run: the tracer's overhead is not measured",
    )
    runs.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="alternate N timing passes and N plain runs and keep the fastest of each (1); "
        "steadier overhead figures on a busy machine",
    )
    runs.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="end each run of the target after SECONDS (SIGINT to its process group), for "
        "servers that never exit on their own; the report is complete, exit status 0",
    )
    runs.add_argument(
        "--python",
        metavar="EXE",
        default=None,
        help="interpreter to profile with (default: this one)",
    )
    sugg = parser.add_argument_group("suggestion")
    sugg.add_argument(
        "--min-ms",
        type=float,
        metavar="MS",
        default=10.0,
        help="suggest a package when it costs at least this many ms (10)...",
    )
    sugg.add_argument(
        "--min-mib",
        type=float,
        default=1.0,
        metavar="MIB",
        help="...or at least this many MiB of RSS (1)",
    )
    return parser


def target_from_args(args: argparse.Namespace) -> Target:
    """The :class:`Target` the command line names. Raises :class:`UsageError`."""
    from lazymed.profiler import Target

    given = [
        name
        for name, value in (
            ("script", args.script),
            ("-m", args.module),
            ("-c", args.code),
            ("--modules", args.modules),
        )
        if value is not None
    ]
    if not given:
        raise UsageError("no target: give a script, -m MODULE, -c CODE or --modules A,B,C")
    if len(given) > 1:
        raise UsageError(f"one target only, got {' and '.join(given)}")
    if args.module is not None:
        if not args.module or not args.module[0]:
            raise UsageError("-m needs a module name")
        return Target("module", args.module[0], tuple(args.module[1:]))
    if args.code is not None:
        if not args.code:
            raise UsageError("-c needs code")
        return Target("code", args.code[0], tuple(args.code[1:]))
    if args.modules is not None:
        names = [n.strip() for n in args.modules.split(",") if n.strip()]
        if not names:
            raise UsageError("--modules needs at least one module name")
        bad = [n for n in names if not all(part.isidentifier() for part in n.split("."))]
        if bad:
            raise UsageError(f"not a module name: {', '.join(bad)}")
        return Target("modules", ",".join(names))
    return Target("script", args.script, tuple(args.args))


def _print_terminal(report: Report, args: argparse.Namespace) -> None:
    if not args.plain:
        try:
            from lazymed.profiler._rich import render_rich
        except ImportError:  # rich is optional (the ``cli`` extra): plain text instead
            pass
        else:
            render_rich(report, top=args.top, sort=args.sort)
            return
    from lazymed.profiler import render_text

    sys.stdout.write(render_text(report, top=args.top, sort=args.sort))


def _error(message: str) -> None:
    _print_error(PROG, message)


def run(args: argparse.Namespace) -> int:
    """Profile the target and print the report. Returns the exit status (see module doc)."""
    from lazymed.profiler import ProfileError, profile

    try:
        target = target_from_args(args)
        if args.top < 1:
            raise UsageError("--top must be at least 1")
        if args.repeat < 1:
            raise UsageError("--repeat must be at least 1")
        if args.duration is not None and not args.duration > 0:
            raise UsageError("--duration must be a positive number of seconds")
    except UsageError as exc:
        _error(str(exc))
        return 2
    sys.stdout.flush()
    try:
        report = profile(
            target,
            python=args.python,
            alloc=not args.no_alloc,
            baseline=not args.no_baseline,
            repeat=args.repeat,
            stdout=2 if args.json else None,  # keep our stdout pure JSON
            suggest_min_seconds=args.min_ms / 1000,
            suggest_min_rss=int(args.min_mib * (1 << 20)),
            duration=args.duration,
        )
    except ProfileError as exc:  # TargetNotFoundError (2), ProfileInterrupted (130, 143) included
        _error(str(exc))
        return exc.exit_status
    except KeyboardInterrupt:  # before or after the runs (profile() handles it while they run)
        _error("interrupted")
        return 130
    except OSError as exc:  # the interpreter given by --python cannot be started
        _error(f"cannot run {args.python or sys.executable}: {exc}")
        return 2
    # The runs are over and everything they started is gone: a late SIGTERM (a `timeout` that
    # fired just now) must not cut the report short; it is printed and the command exits.
    if threading.current_thread() is not threading.main_thread():
        return _finish(report, args)
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        return _finish(report, args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _finish(report: Report, args: argparse.Namespace) -> int:
    """Write the report (HTML, JSON or tables) and return the exit status."""
    from lazymed.profiler import render_html, report_json

    status = 0 if report.run.exit_code == 0 else 1
    if args.html:
        try:
            with open(args.html, "w", encoding="utf-8") as f:
                f.write(render_html(report, sort=args.sort))
        except OSError as exc:
            _error(f"cannot write {args.html}: {exc}")
            status = 1
        else:
            print(f"{PROG}: HTML report written to {args.html}", file=sys.stderr)
    if args.json:
        sys.stdout.write(report_json(report) + "\n")
    else:
        _print_terminal(report, args)
    if report.run.not_found:
        _error("no module named " + ", ".join(repr(n) for n in report.run.not_found))
        return 2
    if report.run.interrupted:
        signal_name = report.run.stopped_by or "SIGINT"
        how = "Ctrl-C" if signal_name == "SIGINT" else signal_name
        print(
            f"{PROG}: interrupted ({how}): the report covers what the target imported until then",
            file=sys.stderr,
        )
        return STOP_STATUS.get(signal_name, 130)
    if report.run.stopped_by == "duration":
        print(
            f"{PROG}: stopped the target after --duration {args.duration:g} s (SIGINT); it "
            f"exited with status {report.run.exit_code}",
            file=sys.stderr,
        )
        return status if args.html and status else 0
    if report.run.exit_code != 0:
        print(f"{PROG}: the target exited with status {report.run.exit_code}", file=sys.stderr)
    return status

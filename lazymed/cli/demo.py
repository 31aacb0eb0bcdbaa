"""``lazymed demo``: the reference medical app started eager and lazy, measured side by side.

A launcher: the harness is :mod:`lazymed.demo` (see its docstring and docs/demo.md). This module
parses the command line, shows progress and prints the table or the ``lazymed.demo/1`` JSON
document.

Exit status: 0 when every run completed, the cross-checks agree and the responses are identical
(missed targets are reported, not failed); 1 otherwise; 2 for a usage error or when the app or
its packages cannot be found.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the harness (psutil) is imported by run() only
    from lazymed.demo import Document, Progress

PROG = "lazymed demo"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``demo`` on the ``lazymed`` command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run the reference medical app eager, lazy and isolated, side by side",
        description=(
            "Start examples/medical_app eager and with lazymed, each in a fresh interpreter "
            "serving on 127.0.0.1, and compare start-up time, RSS, VMS, threads, gc objects, "
            "modules and response times against the targets."
        ),
    )
    parser.add_argument(
        "--json", action="store_true", help="print the lazymed.demo/1 JSON document"
    )
    parser.add_argument(
        "--profile", metavar="NAME", help="run the lazy app under this lazymed profile"
    )
    parser.add_argument(
        "--modes",
        metavar="M,M",
        default="eager,lazy,isolated",
        help="the modes to run, in order (default eager,lazy,isolated: plain imports; "
        "lazymed; lazymed with the RAG index in a lazymed.isolate worker)",
    )
    parser.add_argument(
        "--app-dir",
        metavar="PATH",
        help="the medical app (default: $LAZYMED_DEMO_APP, else ./examples/medical_app or the "
        "working directory, else the source checkout lazymed runs from)",
    )
    parser.add_argument(
        "--warm-requests",
        type=int,
        default=5,
        metavar="N",
        help="warm RAG requests timed (default 5)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each mode N times (eager, lazy, eager, lazy, ...) and judge the targets on "
        "the median of each mode (default 1: single samples)",
    )
    parser.add_argument(
        "--no-warmup", action="store_true", help="skip the untimed import that warms the file cache"
    )
    parser.add_argument(
        "--report",
        metavar="PATH",
        default=None,
        help="where to save the lazy app's /memory/report page, served by one more lazy run "
        "with lazymed's web endpoints on (default: lazymed-demo-report.html in the temporary "
        "directory)",
    )
    parser.add_argument(
        "--no-report", action="store_true", help="skip that last run and the saved report"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def _no_progress(message: str) -> None:
    return None


def _progress_reporter(quiet: bool, total: int) -> tuple[Progress, Callable[[], None]]:
    """A progress callback on stderr (rich on a terminal, plain lines otherwise) and its closer."""
    if quiet:
        return _no_progress, lambda: None
    if sys.stderr.isatty():
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import (
                Progress as Bar,
            )
        except ImportError:
            pass
        else:
            bar = Bar(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            task = bar.add_task("lazymed demo", total=total)
            bar.start()

            def rich_step(message: str) -> None:
                bar.update(task, description=message, advance=1)

            return rich_step, bar.stop

    def plain_step(message: str) -> None:
        print(f"[lazymed demo] {message}", file=sys.stderr, flush=True)

    return plain_step, lambda: None


def run(args: argparse.Namespace) -> int:
    """Run the demo; print the table (or JSON). Exit status as in the module docstring."""
    if args.warm_requests < 1:
        print(f"{PROG}: --warm-requests must be at least 1", file=sys.stderr)
        return 2
    if args.repeat < 1:
        print(f"{PROG}: --repeat must be at least 1", file=sys.stderr)
        return 2
    from lazymed.demo import MODES, STEPS_PER_RUN, DemoError, DemoSetupError, run_demo

    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    unknown = [m for m in modes if m not in MODES]
    if not modes or unknown:
        print(
            f"{PROG}: --modes: unknown mode(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(MODES)}",
            file=sys.stderr,
        )
        return 2
    total = len(modes) * args.repeat * STEPS_PER_RUN + (0 if args.no_warmup else 1)
    progress, close = _progress_reporter(args.quiet, total)
    try:
        result = run_demo(
            args.app_dir,
            profile=args.profile,
            modes=modes,
            warmup=not args.no_warmup,
            warm_requests=args.warm_requests,
            repeat=args.repeat,
            progress=progress,
        )
    except DemoError as exc:
        close()
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, DemoSetupError) else 1
    close()
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_table(result)
    ok = result["identical_responses"] and result["cross_checks_agree"]
    if not args.no_report:
        ok = _web_epilogue(result, args) and ok
    return 0 if ok else 1


def _web_epilogue(result: Document, args: argparse.Namespace) -> bool:
    """The lazy app with the /memory endpoints once more; its report saved (lines on stdout
    after the table, on stderr with --json so the JSON stays one document)."""
    from pathlib import Path

    from lazymed.demo import DemoError
    from lazymed.demo._web import save_report

    out = sys.stderr if args.json else sys.stdout
    try:
        import tempfile

        target = args.report or str(Path(tempfile.gettempdir()) / "lazymed-demo-report.html")
        saved = save_report(Path(result["app_dir"]), Path(target).resolve())
    except (DemoError, OSError) as exc:
        print(f"{PROG}: /memory/report not saved: {exc}", file=sys.stderr)
        return False
    mib = 1024 * 1024
    print(
        f"\nlazymed.web: the lazy app served {', '.join(saved['endpoints'])} (docs/web.md);\n"
        f"  /memory/stats: level {saved['level']}, RSS {saved['rss_bytes'] / mib:.1f} MiB "
        f"(psutil from outside: {saved['outside_rss_bytes'] / mib:.1f} MiB)\n"
        f"  its /memory/report saved to {saved['path']} (open it in a browser)",
        file=out,
    )
    return True


def _print_table(result: Document) -> None:
    """rich on a terminal when rich is installed, plain text otherwise (pipes, files, CI logs)."""
    from lazymed.demo import render_plain, render_rich

    if sys.stdout.isatty():
        try:
            from rich.console import Console
        except ImportError:
            pass
        else:
            render_rich(result, Console())
            return
    print(render_plain(result))

"""Run the target in fresh interpreters (allocation pass, timing pass, plain run) and collect
what the tracer wrote."""

from __future__ import annotations

import itertools
import json
import marshal
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from lazymed.profiler._analysis import build_report, existing_from_raw
from lazymed.profiler._model import ExistingConfig, Overhead, Report, Target

TRACER_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_tracer.py")

# Runs the tracer as module "_lazymed_tracer" without binding any name in __main__. argv[1] is
# the tracer's source file, or its code object marshalled by this interpreter (same version
# only; it spares the child compiling the source, ~10 ms a run).
BOOT = (
    "__import__('builtins').exec("
    "__import__('marshal').loads(open(__import__('sys').argv[1],'rb').read())"
    " if __import__('sys').argv[1].endswith('.marshal') else "
    "compile(open(__import__('sys').argv[1],'rb').read(),__import__('sys').argv[1],'exec'),"
    "{'__name__':'_lazymed_tracer','__file__':"
    + repr(TRACER_FILE)
    + ",'__builtins__':__import__('builtins')})"
)

Stream = int | IO[Any] | None


class ProfileError(Exception):
    """The profile could not be made. ``exit_status`` is what the CLI exits with (1)."""

    exit_status = 1


class TargetNotFoundError(ProfileError):
    """The script file, or the module to run or import, does not exist (CLI exit status 2)."""

    exit_status = 2


class ProfileInterrupted(ProfileError):
    """Ctrl-C (SIGINT) stopped the target before the tracer could write anything (CLI exit
    status 130). When it could, :func:`profile` returns the partial report instead."""

    exit_status = 130


#: Seconds a target may take to exit after Ctrl-C before it is sent SIGINT itself (it may not
#: have received the terminal's), and then before it is killed (its report is then lost).
INTERRUPT_FORWARD_AFTER = 1.0
INTERRUPT_GRACE = 10.0


class _ChildInterrupted(Exception):
    """Ctrl-C reached the parent while a child ran; the child has ended since."""

    def __init__(self, returncode: int, seconds: float) -> None:
        super().__init__(returncode, seconds)
        self.returncode = returncode
        self.seconds = seconds


@dataclass(frozen=True)
class ChildRun:
    """One child interpreter: its exit status, wall seconds measured by the parent, peak RSS in
    bytes from ``wait4`` (None where unavailable) and the tracer's raw data (None for a plain run
    or when the tracer could not write); ``interrupted`` when Ctrl-C stopped it."""

    returncode: int
    seconds: float
    maxrss_bytes: int | None
    raw: dict[str, Any] | None
    interrupted: bool = False


def spawn(
    cmd: list[str],
    *,
    cwd: str | None,
    env: Mapping[str, str] | None,
    stdin: Stream = None,
    stdout: Stream = None,
    stderr: Stream = None,
) -> tuple[int, float, int | None]:
    """Run ``cmd`` to completion: (exit status, wall seconds, peak RSS bytes or None)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
    )
    try:
        if hasattr(os, "wait4"):
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, seconds, usage.ru_maxrss * 1024  # KiB on Linux
        proc.wait()
        return proc.returncode, time.perf_counter() - start, None
    except KeyboardInterrupt:
        code = _end_after_interrupt(proc)
        raise _ChildInterrupted(code, time.perf_counter() - start) from None
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
        raise


def _end_after_interrupt(proc: subprocess.Popen[bytes]) -> int:
    """Let a child that Ctrl-C interrupted end by itself, so its tracer writes what it saw.

    A Ctrl-C typed in a terminal reaches the child too; a SIGINT sent to this process alone
    does not, so the child is sent one after :data:`INTERRUPT_FORWARD_AFTER` seconds. It is
    killed after :data:`INTERRUPT_GRACE` seconds, or at once on a second Ctrl-C. Returns its
    exit status."""
    began = time.perf_counter()
    forwarded = False
    try:
        while True:
            code = proc.poll()
            if code is not None:
                return code
            waited = time.perf_counter() - began
            if not forwarded and waited >= INTERRUPT_FORWARD_AFTER:
                proc.send_signal(signal.SIGINT)
                forwarded = True
            if waited >= INTERRUPT_GRACE:
                proc.kill()
                return proc.wait()
            time.sleep(0.02)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise


_run_numbers = itertools.count()


def tracer_code(workdir: str, python: str) -> str:
    """The file to give the child as the tracer: its code marshalled into ``workdir`` when
    ``python`` is this interpreter (marshal is version-specific), else the source file."""
    if os.path.realpath(python) != os.path.realpath(sys.executable):
        return TRACER_FILE
    with open(TRACER_FILE, "rb") as f:
        code = compile(f.read(), TRACER_FILE, "exec")
    path = os.path.join(workdir, "tracer.marshal")
    with open(path, "wb") as f:
        f.write(marshal.dumps(code))
    return path


def traced_run(
    target: Target,
    *,
    python: str,
    workdir: str,
    tracer: str = TRACER_FILE,
    alloc: bool,
    gc_objects: bool = True,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    stdin: Stream = None,
    stdout: Stream = None,
    stderr: Stream = None,
) -> ChildRun:
    """Run ``target`` once under the tracer (with tracemalloc when ``alloc``, counting gc
    objects when ``gc_objects``); the raw report goes through a file in ``workdir``."""
    out = os.path.join(workdir, f"raw-{next(_run_numbers)}.json")
    options = f"alloc={int(alloc)},gc={int(gc_objects)}"
    cmd = [python, "-c", BOOT, tracer, out, options, target.kind, target.value, *target.args]
    interrupted = False
    try:
        code, seconds, maxrss = spawn(
            cmd, cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr
        )
    except _ChildInterrupted as exc:
        code, seconds, maxrss, interrupted = exc.returncode, exc.seconds, None, True
    raw = None
    if os.path.exists(out):
        with open(out, encoding="utf-8") as f:
            raw = json.load(f)
        os.unlink(out)
    return ChildRun(code, seconds, maxrss, raw, interrupted)


def plain_run(
    target: Target, *, python: str, cwd: str | None = None, env: Mapping[str, str] | None = None
) -> ChildRun:
    """Run ``target`` once without the tracer, output discarded (the overhead baseline)."""
    try:
        code, seconds, maxrss = spawn(
            [python, *target.python_args()],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except _ChildInterrupted as exc:
        return ChildRun(exc.returncode, exc.seconds, None, None, interrupted=True)
    return ChildRun(code, seconds, maxrss, None)


def _timing_passes(
    target: Target,
    *,
    python: str,
    workdir: str,
    tracer: str,
    repeat: int,
    baseline: bool,
    cwd: str | None,
    env: Mapping[str, str] | None,
    stdout: Stream,
    stderr: Stream,
) -> tuple[list[tuple[ChildRun, dict[str, Any]]], list[ChildRun], str | None]:
    """``repeat`` timing passes alternating with plain runs (when ``baseline``); only the first
    timing pass shows the target's output. Stops at Ctrl-C: the third value then says during
    which run, ``"timing"`` (the first timing pass: it is the only one kept), ``"later"`` (a
    later timing pass, dropped) or ``"plain"``; else None. Raises as :func:`profile`
    documents."""
    timings: list[tuple[ChildRun, dict[str, Any]]] = []
    plains: list[ChildRun] = []
    for i in range(max(1, repeat)):
        first = i == 0
        timing = traced_run(
            target,
            python=python,
            workdir=workdir,
            tracer=tracer,
            alloc=False,
            gc_objects=False,
            cwd=cwd,
            env=env,
            stdin=None if first else subprocess.DEVNULL,
            stdout=stdout if first else subprocess.DEVNULL,
            stderr=stderr if first else subprocess.DEVNULL,
        )
        if timing.interrupted and timings:  # complete passes before it: report those
            return timings, plains, "later"
        if timing.raw is None:
            if timing.interrupted:
                raise ProfileInterrupted(_NOTHING_TRACED)
            raise ProfileError(
                f"the target exited with status {timing.returncode} before the tracer could "
                "write its report (os._exit() or a crash of the interpreter)"
            )
        if timing.interrupted:
            return [(timing, timing.raw)], plains, "timing"  # the one that saw the Ctrl-C
        if first:
            not_found = timing.raw.get("not_found", [])
            requested = target.value.split(",") if target.kind == "modules" else [target.value]
            if target.kind in ("module", "modules") and len(not_found) == len(requested):
                raise TargetNotFoundError(
                    "no module named " + ", ".join(repr(n) for n in not_found)
                )
        timings.append((timing, timing.raw))
        if baseline:
            plain = plain_run(target, python=python, cwd=cwd, env=env)
            if plain.interrupted:
                return timings, plains, "plain"
            plains.append(plain)
    return timings, plains, None


_NOTHING_TRACED = "interrupted before the tracer could write anything"


def existing_config(target: Target, cwd: str | None = None) -> tuple[ExistingConfig | None, str]:
    """The ``[tool.lazymed]`` configuration ``lazymed.install()`` would read for ``target``: the
    nearest pyproject.toml with that table above the script's directory, else above ``cwd``
    (this process's ``LAZYMED_*`` variables apply). Returns ``(config or None, warning or "")``;
    an unreadable configuration gives None and a warning."""
    from lazymed._config import load_config  # the core: standard library only
    from lazymed._errors import ConfigError

    base = os.path.abspath(cwd or os.getcwd())
    starts = [base]
    if target.kind == "script":
        starts.insert(0, os.path.dirname(os.path.join(base, target.value)))
    try:
        for start in starts:
            cfg = load_config(start_dir=start)
            if cfg.path is not None:
                break
    except ConfigError as exc:
        return None, f"the target's lazymed configuration cannot be read ({exc}): not merged"
    if cfg.path is None and not (cfg.lazy or cfg.critical or cfg.disabled_modules):
        return None, ""
    return (
        ExistingConfig(
            installed=False,
            path=cfg.path,
            profile=cfg.profile,
            lazy=cfg.lazy,
            critical=cfg.critical,
            disabled_modules=cfg.disabled_modules,
            lazy_source=cfg.describe("lazy"),
        ),
        "",
    )


def profile(
    target: Target,
    *,
    python: str | None = None,
    alloc: bool = True,
    baseline: bool = True,
    repeat: int = 1,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    stdout: Stream = None,
    stderr: Stream = None,
    suggest_min_seconds: float = 0.010,
    suggest_min_rss: int = 1 << 20,
) -> Report:
    """Profile ``target`` in fresh interpreters of ``python`` (default: this one).

    Runs, in this order: the allocation pass (tracer + tracemalloc + gc object counts, output
    discarded; it gives the ``alloc_bytes`` and ``gc_objects`` figures and is skipped when
    ``alloc`` is false, leaving them None), the timing pass (tracer only; its output goes to
    ``stdout`` and ``stderr``, default inherited; it gives time, RSS and threads), and the plain
    run (no tracer, output discarded; skipped when ``baseline`` is false) that measures the
    tracer's overhead. The target therefore runs up to three times; the two traced passes are
    matched module by module (name and occurrence). With ``repeat`` > 1 the timing pass and the
    plain run alternate ``repeat`` times (only the first timing pass's output is shown); the
    fastest timing pass is reported and the overhead compares the fastest of each.

    The suggestion is merged with the target's own lazymed configuration: the one it installed,
    else the one :func:`existing_config` finds.

    Ctrl-C (KeyboardInterrupt in this process) stops the passes: the child that was running is
    given time to exit (its tracer then writes what it saw) and the report covers what was
    traced until then (``report.run.interrupted``; interrupted during the allocation pass, the
    times come from that slower pass, as a warning says).

    Raises :class:`TargetNotFoundError` when the script does not exist or when the module to run
    (``-m``) or every module to import does not exist, :class:`ProfileInterrupted` when Ctrl-C
    came before the tracer wrote anything, and :class:`ProfileError` when the tracer wrote
    nothing (the target ended the interpreter with ``os._exit`` or crashed it).
    A target that raises or exits non-zero still yields a report (``report.run.exit_code``).
    """
    python = python or sys.executable
    if target.kind == "script":
        path = os.path.join(cwd or os.getcwd(), target.value)
        if not os.path.exists(path):
            raise TargetNotFoundError(f"can't open file {target.value!r}: no such file")
    warnings = []
    with tempfile.TemporaryDirectory(prefix="lazymed-profile-") as workdir:
        tracer = tracer_code(workdir, python)
        alloc_run = None
        if alloc:
            alloc_run = traced_run(
                target,
                python=python,
                workdir=workdir,
                tracer=tracer,
                alloc=True,
                gc_objects=True,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        if alloc_run is not None and alloc_run.interrupted:
            if alloc_run.raw is None:
                raise ProfileInterrupted(_NOTHING_TRACED)
            plains: list[ChildRun] = []
            interrupted: str | None = "alloc"
            timings = [(alloc_run, alloc_run.raw)]
            warnings.append(
                "interrupted (Ctrl-C) during the allocation pass, the first of the runs: times "
                "come from that pass, slowed by tracemalloc (compare them with each other "
                "only); no timing pass or plain run was made (--no-alloc makes the timing pass "
                "the first run)"
            )
        else:
            timings, plains, interrupted = _timing_passes(
                target,
                python=python,
                workdir=workdir,
                tracer=tracer,
                repeat=repeat,
                baseline=baseline,
                cwd=cwd,
                env=env,
                stdout=stdout,
                stderr=stderr,
            )
    if interrupted == "plain":
        warnings.append("interrupted (Ctrl-C) during the plain run: the overhead is not measured")
    elif interrupted == "later":
        warnings.append(
            f"interrupted (Ctrl-C) during timing pass {len(timings) + 1}: the report comes from "
            f"the {len(timings)} complete one(s)"
        )
    elif interrupted:
        warnings.append(
            "interrupted (Ctrl-C): the report covers the imports made until the target stopped"
        )
    timing, raw = min(timings, key=lambda r: r[0].seconds)  # the least disturbed run
    if interrupted in ("alloc", "timing"):
        timing, raw = timings[-1]
    plain = min(plains, key=lambda r: r.seconds) if plains else None
    overhead = Overhead(
        profiled_seconds=timing.seconds,
        plain_seconds=None if plain is None else plain.seconds,
        alloc_pass_seconds=None if alloc_run is None else alloc_run.seconds,
        tracer_seconds=float(raw["end"]["tracer_seconds"]),
        runs=len(timings),
    )
    if alloc_run is not None and alloc_run.raw is None:
        warnings.append("the allocation pass wrote no report: allocation figures are missing")
    if plain is not None and plain.returncode != timing.returncode and not interrupted:
        warnings.append(
            f"the plain run exited with {plain.returncode}, the profiled run with "
            f"{timing.returncode}: the overhead ratio compares different runs"
        )
    existing = existing_from_raw(raw)
    if existing is None:
        existing, problem = existing_config(target, cwd)
        if problem:
            warnings.append(problem)
    return build_report(
        target,
        raw,
        None if alloc_run is None else alloc_run.raw,
        overhead,
        outside_peak_rss=timing.maxrss_bytes,
        suggest_min_seconds=suggest_min_seconds,
        suggest_min_rss=suggest_min_rss,
        warnings=warnings,
        existing=existing,
        interrupted=interrupted is not None,
    )

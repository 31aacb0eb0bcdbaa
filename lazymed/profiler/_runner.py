"""Run the target in fresh interpreters (allocation pass, timing pass, plain run) and collect
what the tracer wrote."""

from __future__ import annotations

import itertools
import json
import marshal
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from lazymed.profiler._analysis import build_report
from lazymed.profiler._model import Overhead, Report, Target

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


@dataclass(frozen=True)
class ChildRun:
    """One child interpreter: its exit status, wall seconds measured by the parent, peak RSS in
    bytes from ``wait4`` (None where unavailable) and the tracer's raw data (None for a plain run
    or when the tracer could not write)."""

    returncode: int
    seconds: float
    maxrss_bytes: int | None
    raw: dict[str, Any] | None


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
    except BaseException:
        if proc.returncode is None:
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
    code, seconds, maxrss = spawn(cmd, cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr)
    raw = None
    if os.path.exists(out):
        with open(out, encoding="utf-8") as f:
            raw = json.load(f)
        os.unlink(out)
    return ChildRun(code, seconds, maxrss, raw)


def plain_run(
    target: Target, *, python: str, cwd: str | None = None, env: Mapping[str, str] | None = None
) -> ChildRun:
    """Run ``target`` once without the tracer, output discarded (the overhead baseline)."""
    code, seconds, maxrss = spawn(
        [python, *target.python_args()],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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
) -> tuple[list[tuple[ChildRun, dict[str, Any]]], list[ChildRun]]:
    """``repeat`` timing passes alternating with plain runs (when ``baseline``); only the first
    timing pass shows the target's output. Raises as :func:`profile` documents."""
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
        if timing.raw is None:
            raise ProfileError(
                f"the target exited with status {timing.returncode} before the tracer could "
                "write its report (os._exit() or a crash of the interpreter)"
            )
        if first:
            not_found = timing.raw.get("not_found", [])
            requested = target.value.split(",") if target.kind == "modules" else [target.value]
            if target.kind in ("module", "modules") and len(not_found) == len(requested):
                raise TargetNotFoundError(
                    "no module named " + ", ".join(repr(n) for n in not_found)
                )
        timings.append((timing, timing.raw))
        if baseline:
            plains.append(plain_run(target, python=python, cwd=cwd, env=env))
    return timings, plains


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

    Raises :class:`TargetNotFoundError` when the script does not exist or when the module to run
    (``-m``) or every module to import does not exist, and :class:`ProfileError` when the tracer
    wrote nothing (the target ended the interpreter with ``os._exit`` or crashed it).
    A target that raises or exits non-zero still yields a report (``report.run.exit_code``).
    """
    python = python or sys.executable
    if target.kind == "script":
        path = os.path.join(cwd or os.getcwd(), target.value)
        if not os.path.exists(path):
            raise TargetNotFoundError(f"can't open file {target.value!r}: no such file")
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
        timings, plains = _timing_passes(
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
    timing, raw = min(timings, key=lambda r: r[0].seconds)  # the least disturbed run
    plain = min(plains, key=lambda r: r.seconds) if plains else None
    overhead = Overhead(
        profiled_seconds=timing.seconds,
        plain_seconds=None if plain is None else plain.seconds,
        alloc_pass_seconds=None if alloc_run is None else alloc_run.seconds,
        tracer_seconds=float(raw["end"]["tracer_seconds"]),
        runs=len(timings),
    )
    warnings = []
    if alloc_run is not None and alloc_run.raw is None:
        warnings.append("the allocation pass wrote no report: allocation figures are missing")
    if plain is not None and plain.returncode != timing.returncode:
        warnings.append(
            f"the plain run exited with {plain.returncode}, the profiled run with "
            f"{timing.returncode}: the overhead ratio compares different runs"
        )
    return build_report(
        target,
        raw,
        None if alloc_run is None else alloc_run.raw,
        overhead,
        outside_peak_rss=timing.maxrss_bytes,
        suggest_min_seconds=suggest_min_seconds,
        suggest_min_rss=suggest_min_rss,
        warnings=warnings,
    )

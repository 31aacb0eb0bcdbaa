"""Run the target in fresh interpreters (allocation pass, timing pass, plain run) and collect
what the tracer wrote."""

from __future__ import annotations

import contextlib
import itertools
import json
import marshal
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
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
    """Ctrl-C (SIGINT) or SIGTERM stopped the target before the tracer could write anything
    (CLI exit status 130 for SIGINT, 143 for SIGTERM). When it could, :func:`profile` returns
    the partial report instead."""

    exit_status = 130

    def __init__(self, message: str, signal_name: str = "SIGINT") -> None:
        super().__init__(message)
        self.signal_name = signal_name
        self.exit_status = STOP_SIGNALS.get(signal_name, 130)


#: Seconds a target that shares our terminal may take to exit after Ctrl-C before it is sent
#: SIGINT itself (it may not have received the terminal's), and seconds any stopped target may
#: take to exit before its process group is killed (its report is then lost).
INTERRUPT_FORWARD_AFTER = 1.0
INTERRUPT_GRACE = 10.0

#: The signals that stop a profile (the partial report is made), and the exit status of each.
STOP_SIGNALS = {"SIGINT": 130, "SIGTERM": 143}


class _Stop(BaseException):
    """A stop request reached this process while a child ran: ``reason`` is ``"SIGINT"``,
    ``"SIGTERM"`` or ``"duration"`` (``--duration`` ran out)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _ChildInterrupted(Exception):
    """A stop request reached the parent while a child ran; the child has ended since."""

    def __init__(self, returncode: int, seconds: float, reason: str) -> None:
        super().__init__(returncode, seconds, reason)
        self.returncode = returncode
        self.seconds = seconds
        self.reason = reason


#: A repeat of the signal that started a stop, within this many seconds, is the same request:
#: ``timeout`` sends SIGTERM to its child and then to its whole process group, so the profiler
#: receives it twice at once. Later, a repeat means "kill now", like a second Ctrl-C.
REPEAT_WINDOW = 1.0
_first_stop: dict[str, float] = {}


def _raise_stop(signum: int, frame: object) -> None:
    name = signal.Signals(signum).name
    now = time.monotonic()
    began = _first_stop.get(name)
    if began is not None and now - began < REPEAT_WINDOW:
        return  # the same request delivered twice
    _first_stop.setdefault(name, now)
    raise _Stop(name)


def _raise_duration(signum: int, frame: object) -> None:
    raise _Stop("duration")


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """While inside, SIGINT and SIGTERM raise a stop request in this process (main thread only;
    elsewhere nothing changes). Installed even where SIGINT was ignored (a ``cmd &`` in a
    script): that way the children start with SIGINT at its default, so the SIGINT we forward
    to them ends them. The previous handlers are restored on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    _first_stop.clear()
    for sig in previous:
        signal.signal(sig, _raise_stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        _first_stop.clear()


@dataclass(frozen=True)
class ChildRun:
    """One child interpreter: its exit status, wall seconds measured by the parent, peak RSS in
    bytes from ``wait4`` (None where unavailable) and the tracer's raw data (None for a plain run
    or when the tracer could not write); ``interrupted`` when SIGINT or SIGTERM stopped it,
    ``stopped_by`` the reason (``"SIGINT"``, ``"SIGTERM"``, or ``"duration"`` for a run ended
    after ``duration`` seconds, which is not an interruption)."""

    returncode: int
    seconds: float
    maxrss_bytes: int | None
    raw: dict[str, Any] | None
    interrupted: bool = False
    stopped_by: str | None = None


def _own_group(stdin: Stream) -> bool:
    """Whether the child gets a process group of its own, which lets a stop kill everything it
    started. Not when it reads our terminal: a background process group reading it would be
    stopped by SIGTTIN (the terminal's Ctrl-C then reaches it directly, as before)."""
    if stdin is not None:
        return True
    try:
        return not os.isatty(0)
    except (OSError, ValueError):
        return True


def spawn(
    cmd: list[str],
    *,
    cwd: str | None,
    env: Mapping[str, str] | None,
    stdin: Stream = None,
    stdout: Stream = None,
    stderr: Stream = None,
    duration: float | None = None,
    reports: bool = True,
) -> tuple[int, float, int | None]:
    """Run ``cmd`` to completion: (exit status, wall seconds, peak RSS bytes or None).
    ``reports``: the child writes a report at exit (the tracer); else (the plain run) a child
    that ignores SIGINT is killed at a stop request rather than after the grace period.

    The child runs in a process group of its own (see :func:`_own_group`). A stop request
    (:class:`_Stop`: SIGINT or SIGTERM under :func:`stop_signals`, or ``duration`` seconds
    elapsed) ends it as :func:`_end_after_interrupt` describes and raises
    :class:`_ChildInterrupted`."""
    group = _own_group(stdin)
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        process_group=0 if group else None,
    )
    timer = duration is not None and threading.current_thread() is threading.main_thread()
    previous_alarm: Any = None
    try:
        if timer:
            previous_alarm = signal.signal(signal.SIGALRM, _raise_duration)
            signal.setitimer(signal.ITIMER_REAL, max(duration or 0.0, 0.001))
        elif duration is not None:  # no SIGALRM outside the main thread: poll until then
            try:
                proc.wait(duration)
            except subprocess.TimeoutExpired:
                raise _Stop("duration") from None
            return proc.returncode, time.perf_counter() - start, None
        if hasattr(os, "wait4"):
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, seconds, usage.ru_maxrss * 1024  # KiB on Linux
        proc.wait()
        return proc.returncode, time.perf_counter() - start, None
    except (_Stop, KeyboardInterrupt) as exc:
        reason = exc.reason if isinstance(exc, _Stop) else "SIGINT"
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
        code = _end_after_interrupt(proc, group=group, reason=reason, reports=reports)
        raise _ChildInterrupted(code, time.perf_counter() - start, reason) from None
    except BaseException:
        if proc.returncode is None:
            _kill_group(proc, group)
        raise
    finally:
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_alarm or signal.SIG_DFL)


def _kill_group(proc: subprocess.Popen[bytes], group: bool) -> None:
    """SIGKILL the child's process group (every process it started that is still in it; the
    group outlives its leader while members remain), or the child alone when it shares ours;
    reap the child."""
    try:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        elif proc.poll() is None:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    if proc.returncode is None:
        proc.wait()


def _end_after_interrupt(
    proc: subprocess.Popen[bytes], *, group: bool, reason: str, reports: bool = True
) -> int:
    """Let a child that a stop request interrupted end by itself, so its tracer writes what it
    saw, then kill what is left of its process group.

    The child is sent SIGINT: to its whole process group at once when it has one; when it shares
    our terminal, a Ctrl-C there reached it already, so it is sent one only after
    :data:`INTERRUPT_FORWARD_AFTER` seconds (at once for SIGTERM or ``duration``). It is killed
    after :data:`INTERRUPT_GRACE` seconds, or at once on a second stop request, or at once when
    it writes no report (``reports`` false: the plain run) and ignores SIGINT (a target started
    with it ignored, where no handler of ours reset it at exec: ``cmd &``, or a thread). Returns
    its exit status."""
    began = time.perf_counter()
    forwarded = deaf = False
    try:
        while True:
            code = proc.poll()
            if code is not None:
                _kill_group(proc, group)  # what it started and left behind (workers, reloaders)
                return code
            waited = time.perf_counter() - began
            if not forwarded and (group or reason != "SIGINT" or waited >= INTERRUPT_FORWARD_AFTER):
                # (Read before sending: the tracer itself ignores SIGINT while it writes.)
                deaf = not reports and _ignores_sigint(proc.pid)
                try:
                    if group:
                        os.killpg(proc.pid, signal.SIGINT)
                    else:
                        proc.send_signal(signal.SIGINT)
                except (ProcessLookupError, PermissionError):
                    pass
                forwarded = True
            if waited >= INTERRUPT_GRACE or deaf:
                _kill_group(proc, group)
                return proc.returncode
            time.sleep(0.02)
    except BaseException:
        _kill_group(proc, group)
        raise


def _ignores_sigint(pid: int) -> bool:
    """Whether process ``pid`` ignores SIGINT (``SigIgn`` in ``/proc/PID/status``; False where
    that cannot be read)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"SigIgn:"):
                    return bool(int(line.split()[1], 16) >> (signal.SIGINT - 1) & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


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
    duration: float | None = None,
) -> ChildRun:
    """Run ``target`` once under the tracer (with tracemalloc when ``alloc``, counting gc
    objects when ``gc_objects``); the raw report goes through a file in ``workdir``."""
    out = os.path.join(workdir, f"raw-{next(_run_numbers)}.json")
    options = f"alloc={int(alloc)},gc={int(gc_objects)}"
    cmd = [python, "-c", BOOT, tracer, out, options, target.kind, target.value, *target.args]
    interrupted, stopped_by = False, None
    try:
        code, seconds, maxrss = spawn(
            cmd, cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr, duration=duration
        )
    except _ChildInterrupted as exc:
        code, seconds, maxrss, stopped_by = exc.returncode, exc.seconds, None, exc.reason
        interrupted = exc.reason != "duration"
    raw = None
    if os.path.exists(out):
        with open(out, encoding="utf-8") as f:
            raw = json.load(f)
        os.unlink(out)
    return ChildRun(code, seconds, maxrss, raw, interrupted, stopped_by)


def plain_run(
    target: Target,
    *,
    python: str,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    duration: float | None = None,
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
            duration=duration,
            reports=False,
        )
    except _ChildInterrupted as exc:
        interrupted = exc.reason != "duration"
        return ChildRun(exc.returncode, exc.seconds, None, None, interrupted, exc.reason)
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
    duration: float | None = None,
) -> tuple[list[tuple[ChildRun, dict[str, Any]]], list[ChildRun], str | None]:
    """``repeat`` timing passes alternating with plain runs (when ``baseline``); only the first
    timing pass shows the target's output. Stops at SIGINT or SIGTERM: the third value then says
    during which run, ``"timing"`` (the first timing pass: it is the only one kept), ``"later"``
    (a later timing pass, dropped) or ``"plain"``, and which signal, as ``"run:SIGNAL"``; else
    None. Raises as :func:`profile` documents."""
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
            duration=duration,
        )
        if timing.interrupted and timings:  # complete passes before it: report those
            return timings, plains, f"later:{timing.stopped_by}"
        if timing.raw is None:
            if timing.interrupted:
                raise ProfileInterrupted(_NOTHING_TRACED, timing.stopped_by or "SIGINT")
            if timing.stopped_by == "duration":
                raise ProfileError(
                    f"the target did not exit within {INTERRUPT_GRACE:g} s of the SIGINT sent "
                    "when --duration ran out and was killed: its tracer wrote nothing"
                )
            raise ProfileError(
                f"the target exited with status {timing.returncode} before the tracer could "
                "write its report (os._exit() or a crash of the interpreter)"
            )
        if timing.interrupted:
            return [(timing, timing.raw)], plains, f"timing:{timing.stopped_by}"  # saw the stop
        if first:
            not_found = timing.raw.get("not_found", [])
            requested = target.value.split(",") if target.kind == "modules" else [target.value]
            if target.kind in ("module", "modules") and len(not_found) == len(requested):
                raise TargetNotFoundError(
                    "no module named " + ", ".join(repr(n) for n in not_found)
                )
        timings.append((timing, timing.raw))
        if baseline:
            plain = plain_run(target, python=python, cwd=cwd, env=env, duration=duration)
            if plain.interrupted:
                return timings, plains, f"plain:{plain.stopped_by}"
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
            from_import=cfg.from_import,
        ),
        "",
    )


def _passes(
    target: Target,
    *,
    python: str,
    alloc: bool,
    baseline: bool,
    repeat: int,
    cwd: str | None,
    env: Mapping[str, str] | None,
    stdout: Stream,
    stderr: Stream,
    duration: float | None,
    warnings: list[str],
) -> tuple[list[tuple[ChildRun, dict[str, Any]]], list[ChildRun], str | None, ChildRun | None]:
    """Every run :func:`profile` makes, in a temporary directory removed afterwards, under
    :func:`stop_signals`: ``(timings, plains, interrupted, alloc_run)`` (``interrupted`` as
    :func:`_timing_passes` says, or ``"alloc:SIGNAL"``)."""
    with stop_signals(), tempfile.TemporaryDirectory(prefix="lazymed-profile-") as workdir:
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
                duration=duration,
            )
        if alloc_run is not None and alloc_run.interrupted:
            if alloc_run.raw is None:
                raise ProfileInterrupted(_NOTHING_TRACED, alloc_run.stopped_by or "SIGINT")
            plains: list[ChildRun] = []
            interrupted: str | None = f"alloc:{alloc_run.stopped_by}"
            timings = [(alloc_run, alloc_run.raw)]
            warnings.append(
                f"interrupted ({_stop_text(alloc_run.stopped_by)}) during the allocation pass, "
                "the first of the runs: times come from that pass, slowed by tracemalloc "
                "(compare them with each other only); no timing pass or plain run was made "
                "(--no-alloc makes the timing pass the first run)"
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
                duration=duration,
            )
    return timings, plains, interrupted, alloc_run


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
    duration: float | None = None,
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

    SIGINT (Ctrl-C) or SIGTERM to this process stops the passes (while :func:`profile` runs
    in the main thread, it handles both): the child that was running is sent SIGINT (to its
    whole process group), given :data:`INTERRUPT_GRACE` seconds to exit (its tracer then writes
    what it saw), and then whatever is left of its process group is killed; the temporary
    directory is removed. The report covers what was traced until then
    (``report.run.interrupted``, ``report.run.stopped_by`` names the signal; interrupted during
    the allocation pass, the times come from that slower pass, as a warning says).

    ``duration`` (seconds, for servers that never exit) ends each run of the target that way
    after that long; such a run counts as complete (``report.run.stopped_by == "duration"``).

    Raises :class:`TargetNotFoundError` when the script does not exist or when the module to run
    (``-m``) or every module to import does not exist, :class:`ProfileInterrupted` when Ctrl-C
    (or SIGTERM) came before the tracer wrote anything, ValueError for a ``duration`` that is not
    positive, and :class:`ProfileError` when the tracer wrote
    nothing (the target ended the interpreter with ``os._exit`` or crashed it).
    A target that raises or exits non-zero still yields a report (``report.run.exit_code``).
    """
    python = python or sys.executable
    if target.kind == "script":
        path = os.path.join(cwd or os.getcwd(), target.value)
        if not os.path.exists(path):
            raise TargetNotFoundError(f"can't open file {target.value!r}: no such file")
    if duration is not None and duration <= 0:
        raise ValueError(f"duration must be positive, got {duration}")
    warnings: list[str] = []
    try:
        timings, plains, interrupted, alloc_run = _passes(
            target,
            python=python,
            alloc=alloc,
            baseline=baseline,
            repeat=repeat,
            cwd=cwd,
            env=env,
            stdout=stdout,
            stderr=stderr,
            duration=duration,
            warnings=warnings,
        )
    except (_Stop, KeyboardInterrupt) as exc:  # between two runs, or a second stop request
        reason = exc.reason if isinstance(exc, _Stop) else "SIGINT"
        raise ProfileInterrupted(_NOTHING_TRACED, reason) from None
    where, _, reason = (interrupted or "").partition(":")
    stop = _stop_text(reason)
    if where == "plain":
        warnings.append(f"interrupted ({stop}) during the plain run: the overhead is not measured")
    elif where == "later":
        warnings.append(
            f"interrupted ({stop}) during timing pass {len(timings) + 1}: the report comes from "
            f"the {len(timings)} complete one(s)"
        )
    elif where == "timing":
        warnings.append(
            f"interrupted ({stop}): the report covers the imports made until the target stopped"
        )
    timing, raw = min(timings, key=lambda r: r[0].seconds)  # the least disturbed run
    if where in ("alloc", "timing"):
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
    if duration is not None and plain is not None:
        warnings.append(
            f"--duration {duration:g} s ended every run: the overhead compares runs of a fixed "
            "length, so it says little (profile the start-up alone for that)"
        )
    elif plain is not None and plain.returncode != timing.returncode and not interrupted:
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
        stopped_by=reason or ("duration" if timing.stopped_by == "duration" else None),
    )


def _stop_text(reason: str | None) -> str:
    """How a stop reason reads in a warning: Ctrl-C for SIGINT, else the signal's name."""
    return "Ctrl-C" if reason in ("SIGINT", None, "") else str(reason)

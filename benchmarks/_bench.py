"""Shared machinery of the lazymed benchmark suite (imported by the ``test_*.py`` benchmarks).

Every measurement runs in a fresh interpreter started with ``sys.executable``. A child reports
its own figures as ``key=value`` lines on stdout; when it prints ``READY <tag>`` it blocks on
stdin, and the parent (this process) reads the child's memory from outside — ``psutil`` and
``/proc/<pid>/status`` — before letting it go on. Every RSS figure in the results is therefore
measured twice, from inside and from outside the child, and the two must agree.

Why not ``getrusage``: on Linux a child's ``ru_maxrss`` (from ``wait4`` or ``RUSAGE_CHILDREN``)
includes the parent's high-water mark when the child was started with ``vfork`` + ``exec``, as
``subprocess`` and ``os.posix_spawn`` do (``exec`` folds the old address space's peak into the
process's ``maxrss``). Started from a 200 MB parent, ``python -c pass`` reports 216 MB there and
9 MB in ``VmHWM``. Peak RSS here is therefore always ``VmHWM`` read from ``/proc``.

Units: times in nanoseconds (``*_ns``) or milliseconds (``*_ms``), memory in bytes (``*_bytes``)
or MiB (``*_mib``, 1 MiB = 1,048,576 bytes).
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import random
import resource
import shlex
import shutil
import site
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import psutil

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
MIB = 1024 * 1024
PAGE_SIZE = resource.getpagesize()
#: Load average when the suite started (other work on the machine makes timings noisy).
LOAD_AT_START = [round(x, 2) for x in os.getloadavg()]

#: env BENCH_QUICK=1: few repetitions and small workloads, for CI (well under 2 minutes).
QUICK = os.environ.get("BENCH_QUICK", "").strip().lower() not in ("", "0", "false", "no")

#: Inside and outside RSS readings taken while the child is blocked may differ by at most this:
#: the child warms its /proc reads up before, so they agree to the page in practice.
RSS_AGREEMENT_BYTES = 256 * 1024

#: The real heavy packages of the start-up benchmark, each with an attribute whose first use
#: loads it: (module, attribute).
HEAVY: tuple[tuple[str, str], ...] = (
    ("flask", "Flask"),
    ("google.cloud.storage", "Client"),
    ("firebase_admin", "initialize_app"),
    ("supabase", "create_client"),
    ("llama_index.core", "VectorStoreIndex"),
)


#: The ``lazy_import`` recipe exactly as the importlib documentation gives it
#: ("Implementing lazy imports"), with the imports it needs.
LAZYLOADER_RECIPE = textwrap.dedent(
    """\
    import importlib.util
    import sys


    def lazy_import(name):
        spec = importlib.util.find_spec(name)
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)
        return module
    """
)


def rounds(full: int, quick: int) -> int:
    """Repetitions for this run: ``quick`` in quick mode, else ``full``; env
    ``BENCH_ROUNDS`` overrides both (an int >= 1)."""
    override = os.environ.get("BENCH_ROUNDS")
    if override:
        return max(1, int(override))
    return quick if QUICK else full


def results_dir() -> Path:
    """Where result JSON goes: ``benchmarks/results/`` (full mode) or
    ``benchmarks/results/quick/`` (quick mode, so CI smoke runs never overwrite real numbers);
    env ``BENCH_RESULTS`` overrides."""
    override = os.environ.get("BENCH_RESULTS")
    if override:
        return Path(override)
    return RESULTS_DIR / "quick" if QUICK else RESULTS_DIR


# --------------------------------------------------------------------------- environment


def lazymed_root() -> Path:
    """The directory that holds the ``lazymed`` package this run measures.

    Raises ImportError when lazymed cannot be imported (install it, or set PYTHONPATH)."""
    spec = importlib.util.find_spec("lazymed")  # locates it without running it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "lazymed is not importable: install it or put the repository on PYTHONPATH"
        )
    return Path(next(iter(spec.submodule_search_locations))).resolve().parent


def _default_sys_path() -> set[str]:
    paths = set(site.getsitepackages())
    paths.add(site.getusersitepackages())
    return {os.path.realpath(p) for p in paths}


#: Interpreter settings that would change what a child does at start-up (extra imports,
#: tracing, no .pyc): removed so every child runs exactly the command measured.
_PERTURBING_ENV = frozenset(
    {
        "PYTHONSTARTUP",
        "PYTHONPROFILEIMPORTTIME",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONWARNINGS",
        "PYTHONDEVMODE",
        "PYTHONTRACEMALLOC",
        "PYTHONVERBOSE",
        "PYTHONMALLOC",
        "PYTHONMALLOCSTATS",
        "PYTHONINSPECT",
        "PYTHONASYNCIODEBUG",
        "PYTHONNODEBUGRANGES",
        "PYTHONFAULTHANDLER",
    }
)


def child_env(cache_home: Path) -> dict[str, str]:
    """The environment of every measured child.

    The parent's environment without ``LAZYMED_*`` (so LAZYMED_DISABLE, LAZYMED_CONFIG, ... of
    the caller cannot change what is measured) and without start-up-changing ``PYTHON*``
    settings (``PYTHONWARNINGS``, ``PYTHONDEVMODE``, ...), with ``XDG_CACHE_HOME`` pointed at a
    directory of this run (lazymed's config cache lives there), and ``lazymed``'s directory on
    ``PYTHONPATH`` when it is not installed in site-packages. Every variant of a benchmark gets
    the same environment, so ``PYTHONPATH`` costs the baseline as much as lazymed.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LAZYMED_") and k not in _PERTURBING_ENV
    }
    env["XDG_CACHE_HOME"] = str(cache_home)
    root = str(lazymed_root())
    if os.path.realpath(root) not in _default_sys_path():
        parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if root not in parts:
            env["PYTHONPATH"] = os.pathsep.join([root, *parts])
    return env


@contextmanager
def workspace(prefix: str) -> Iterator[Path]:
    """A temporary directory for one benchmark (children's cwd, config cache, synthetic
    modules); removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"lazymed-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_pyproject(directory: Path, lazy: Sequence[str] = ()) -> Path:
    """Write ``directory/pyproject.toml`` with a ``[tool.lazymed]`` table naming ``lazy``.

    An empty table still ends lazymed's walk up the directory tree here, so no unrelated
    pyproject.toml above (the repository's, when tox puts TMPDIR inside it) is read."""
    names = ", ".join(json.dumps(n) for n in lazy)
    text = (
        '[project]\nname = "lazymed-bench-app"\nversion = "0"\n\n'
        f"[tool.lazymed]\nlazy = [{names}]\n"
    )
    path = directory / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- child processes

#: Code every probing child runs first: ``_probe(tag)`` reports the child's own RSS and peak RSS
#: (``/proc/self/statm`` and ``/proc/self/status``, read with builtins only: no import that
#: would change what is measured), then blocks until the parent has read them from outside.
PROBE_PRELUDE = textwrap.dedent(
    f"""\
    import sys as _sys


    def _read():
        _hwm = 0
        with open("/proc/self/status") as _f:
            for _line in _f:
                if _line.startswith("VmHWM:"):
                    _hwm = int(_line.split()[1]) * 1024
        with open("/proc/self/statm") as _f:
            _rss = int(_f.read().split()[1]) * {PAGE_SIZE}
        return _rss, _hwm


    def _probe(tag, **values):
        _rss, _hwm = _read()
        _out = _sys.__stdout__
        for _k, _v in values.items():
            _out.write(f"{{tag}}.{{_k}}={{_v}}\\n")
        _out.write(f"{{tag}}.rss_self={{_rss}}\\n{{tag}}.hwm_self={{_hwm}}\\nREADY {{tag}}\\n")
        _out.flush()
        _sys.stdin.readline()


    _read()  # the first read allocates ~190 KiB of buffers: do it before anything is measured
    """
)


#: A child still running after this many seconds is killed (a hang must fail, not stall CI).
CHILD_TIMEOUT_S = 300.0


def _watchdog(proc: subprocess.Popen[Any]) -> threading.Timer:
    timer = threading.Timer(CHILD_TIMEOUT_S, proc.kill)
    timer.daemon = True
    timer.start()
    return timer


class ChildFailed(RuntimeError):
    """A measured child exited non-zero or broke the READY protocol."""


@dataclass
class ProbeReading:
    """The figures of one ``_probe(tag)`` call: the child's own values and outside readings."""

    values: dict[str, str]
    rss_self: int
    hwm_self: int
    rss_psutil: int
    rss_proc_status: int
    hwm_proc_status: int

    @property
    def rss_disagreement(self) -> int:
        """Largest difference (bytes) between the child's RSS and the two outside readings."""
        return max(
            abs(self.rss_self - self.rss_psutil),
            abs(self.rss_self - self.rss_proc_status),
            abs(self.hwm_self - self.hwm_proc_status),
        )


def _proc_status(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0]) * 1024
    return out


@dataclass
class ChildRun:
    """A child interpreter that speaks the READY protocol (see :data:`PROBE_PRELUDE`)."""

    code: str
    cwd: Path
    env: Mapping[str, str]
    readings: dict[str, ProbeReading] = field(default_factory=dict)
    started_ns: int = 0
    wall_to_ready_ns: dict[str, int] = field(default_factory=dict)

    def run(self, tags: Sequence[str]) -> ChildRun:
        """Run the child; for each tag in order, wait for ``READY tag``, read its memory from
        outside, then let it continue. Raises ChildFailed with the child's stderr."""
        with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as err:
            self.started_ns = time.perf_counter_ns()
            proc = subprocess.Popen(
                [sys.executable, "-c", PROBE_PRELUDE + self.code],
                cwd=self.cwd,
                env=dict(self.env),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                bufsize=1,
            )
            assert proc.stdin is not None and proc.stdout is not None
            watchdog = _watchdog(proc)
            try:
                for tag in tags:
                    self.readings[tag] = self._await(proc, tag, err)
                    proc.stdin.write("\n")
                    proc.stdin.flush()
                proc.stdin.close()
                rest = proc.stdout.read()
                code = proc.wait(timeout=300)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            finally:
                watchdog.cancel()
            if code != 0 or rest.strip():
                raise ChildFailed(
                    f"child exited {code}; stdout {rest!r}; stderr:\n{_tail(err)}"
                    f"\ncode:\n{self.code}"
                )
        return self

    def _await(self, proc: subprocess.Popen[str], tag: str, err: IO[str]) -> ProbeReading:
        assert proc.stdout is not None
        values: dict[str, str] = {}
        prefix = f"{tag}."
        while True:
            line = proc.stdout.readline()
            if not line:
                proc.wait()
                raise ChildFailed(
                    f"child exited {proc.returncode} before READY {tag}; stderr:\n{_tail(err)}"
                    f"\ncode:\n{self.code}"
                )
            line = line.rstrip("\n")
            if line == f"READY {tag}":
                break
            if line.startswith(prefix) and "=" in line:
                key, _, value = line[len(prefix) :].partition("=")
                values[key] = value
        self.wall_to_ready_ns[tag] = time.perf_counter_ns() - self.started_ns
        # The child is blocked on stdin now: read it from outside.
        rss_psutil = psutil.Process(proc.pid).memory_info().rss
        status = _proc_status(proc.pid)
        return ProbeReading(
            values=values,
            rss_self=int(values.pop("rss_self")),
            hwm_self=int(values.pop("hwm_self")),
            rss_psutil=rss_psutil,
            rss_proc_status=status["VmRSS"],
            hwm_proc_status=status["VmHWM"],
        )


def _tail(err: IO[str], limit: int = 4000) -> str:
    err.seek(0)
    text = err.read()
    return text[-limit:]


@dataclass
class Timed:
    """Wall and CPU time of one plain child run (no probe), from the parent."""

    wall_ns: int
    cpu_ns: int


def run_timed(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    stdout: IO[Any] | None = None,
) -> Timed:
    """Run ``argv`` exactly as given and time it from outside: wall clock around
    start-to-reaped, CPU time (user + system) from ``wait4`` (the child and the children it
    waited for). Its stdout is discarded, or written to ``stdout`` (a file). Raises ChildFailed."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as err:
        start = time.perf_counter_ns()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if stdout is None else stdout,
            stderr=err,
        )
        watchdog = _watchdog(proc)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter_ns() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        watchdog.cancel()
        if proc.returncode != 0:
            raise ChildFailed(
                f"{list(argv)!r} exited {proc.returncode} (killed after {CHILD_TIMEOUT_S:.0f} s "
                f"if -9); stderr:\n{_tail(err)}"
            )
    cpu = round((usage.ru_utime + usage.ru_stime) * 1e9)
    return Timed(wall_ns=wall, cpu_ns=cpu)


# --------------------------------------------------------------------------- statistics


def summary(values: Sequence[float]) -> dict[str, float | int]:
    """median, min, max, interquartile range and count of ``values`` (same unit as input)."""
    data = sorted(values)
    if len(data) >= 4:
        q = statistics.quantiles(data, n=4)
        iqr = q[2] - q[0]
    else:
        iqr = data[-1] - data[0]
    return {
        "median": statistics.median(data),
        "min": data[0],
        "max": data[-1],
        "iqr": iqr,
        "n": len(data),
    }


def paired_median_ratio(num: Sequence[float], den: Sequence[float]) -> float:
    """Median of ``num[i] / den[i]``: runs made next to each other share the machine's load."""
    return statistics.median(a / b for a, b in zip(num, den, strict=True))


def ratio_ci(
    num: Sequence[float], den: Sequence[float], resamples: int = 2000
) -> tuple[float, float]:
    """95% bootstrap interval of median(num) / median(den) (seeded: reproducible)."""
    rng = random.Random(810)
    out = []
    for _ in range(resamples):
        a = statistics.median(rng.choices(num, k=len(num)))
        b = statistics.median(rng.choices(den, k=len(den)))
        out.append(a / b if b else float("inf"))
    out.sort()
    return out[int(0.025 * len(out))], out[min(len(out) - 1, int(0.975 * len(out)))]


def median_ci(values: Sequence[float], resamples: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of median(values) (seeded: reproducible)."""
    rng = random.Random(810)
    out = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return out[int(0.025 * len(out))], out[min(len(out) - 1, int(0.975 * len(out)))]


def target(
    name: str,
    measured: float,
    limit: float,
    unit: str,
    ci: tuple[float, float] | None = None,
    note: str = "",
    cpu_ratio: float | None = None,
    paired_ratio: float | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """One target line for the results: ``met`` is ``measured <= limit`` (never asserted), or
    ``measured < limit`` with ``strict`` (then the entry says ``"comparison": "<"``).

    ``cpu_ratio`` (the same ratio on CPU time) and ``paired_ratio`` (median of the ratios of
    runs made next to each other) are the noise-robust cross-checks shown beside it."""
    entry: dict[str, Any] = {
        "name": name,
        "measured": round(measured, 4),
        "limit": limit,
        "unit": unit,
        "met": measured < limit if strict else measured <= limit,
    }
    if strict:
        entry["comparison"] = "<"
    if ci is not None:
        entry["ci95"] = [round(ci[0], 4), round(ci[1], 4)]
    if cpu_ratio is not None:
        entry["cpu_time_ratio"] = round(cpu_ratio, 4)
    if paired_ratio is not None:
        entry["paired_median_ratio"] = round(paired_ratio, 4)
    if note:
        entry["note"] = note
    return entry


# --------------------------------------------------------------------------- results


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(BENCH_DIR), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(BENCH_DIR), "status", "--porcelain", "--", ":/lazymed"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout.strip()
    return out.stdout.strip() + ("+dirty" if dirty else "")


def environment() -> dict[str, Any]:
    """Python version and the machine this run measured (recorded in every result file)."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "memory_total_mib": round(psutil.virtual_memory().total / MIB),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "lazymed_path": str(lazymed_root()),
        "lazymed_commit": _git_commit(),
        "versions": {
            d: _version(d)
            for d in (
                "lazymed",
                "lazy-loader",
                "lazy-importer",
                "wrapt",
                "psutil",
                "pytest-benchmark",
                "flask",
                "google-cloud-storage",
                "firebase-admin",
                "supabase",
                "llama-index-core",
            )
        },
    }


#: Result files written by this process (this pytest session), in order.
RECORDED: list[Path] = []


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write ``results_dir()/<name>.json`` (pretty, stable key order) and return its path.

    ``payload`` holds the benchmark's own figures; this adds name, mode, timestamp, the
    command that made it and :func:`environment`."""
    out_dir = results_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "benchmark": name,
        "mode": "quick" if QUICK else "full",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command(),
        **payload,
        "environment": environment(),
    }
    doc["environment"]["load_average_end"] = doc["environment"].pop("load_average")
    doc["environment"]["load_average_start"] = LOAD_AT_START
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    RECORDED.append(path)
    return path


def ratio(
    name: str,
    num: Sequence[float],
    den: Sequence[float],
    cpu_num: Sequence[float] | None = None,
    cpu_den: Sequence[float] | None = None,
    note: str = "",
    paired: bool = True,
) -> dict[str, Any]:
    """A ratio recorded without a goal: median(num) / median(den) with the same cross-checks
    as :func:`target` (95% bootstrap interval; with ``paired``, ``num[i]`` and ``den[i]`` are
    runs made next to each other and the median of their ratios is added; the same ratio on
    CPU time when given)."""
    measured = statistics.median(num) / statistics.median(den)
    entry: dict[str, Any] = {"name": name, "measured": round(measured, 4), "unit": "x"}
    low, high = ratio_ci(num, den)
    entry["ci95"] = [round(low, 4), round(high, 4)]
    if paired:
        entry["paired_median_ratio"] = round(paired_median_ratio(num, den), 4)
    if cpu_num is not None and cpu_den is not None:
        entry["cpu_time_ratio"] = round(statistics.median(cpu_num) / statistics.median(cpu_den), 4)
    if note:
        entry["note"] = note
    return entry


def command() -> str:
    """The command that made this run's numbers: env ``BENCH_COMMAND`` (tox sets it),
    else the pytest command line, with BENCH_* settings in front."""
    given = os.environ.get("BENCH_COMMAND")
    if given:
        return given
    flags = [f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("BENCH_")]
    return shlex.join([*flags, "pytest", *sys.argv[1:]])


def ms(ns: float) -> float:
    """Nanoseconds to milliseconds, rounded to 3 decimals."""
    return round(ns / 1e6, 3)


def mib(n: float) -> float:
    """Bytes to MiB, rounded to 3 decimals."""
    return round(n / MIB, 3)

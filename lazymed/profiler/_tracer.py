"""Child side of ``lazymed profile``: run a target with a tracer on the import system.

This file is never imported by the parent. :mod:`lazymed.profiler._runner` executes its source in
a fresh interpreter (``python -c BOOT THIS_FILE OUT OPTIONS MODE TARGET [ARG ...]``), so that
nothing of ``lazymed`` is loaded in the profiled process. For the same reason it uses only
modules that are already loaded when the interpreter starts, plus built-in ones (``gc``,
``_thread``, ``_tracemalloc``, ``_imp``, ``_signal``, ``atexit``): a module the tracer imported
before the target would look free to the target. ``json`` is imported only after the target has
finished.

How it measures. ``importlib._bootstrap._find_and_load(name, import_)`` is what every import
statement, ``__import__`` and ``importlib.import_module`` call when ``name`` is not yet in
``sys.modules``; the tracer replaces it with a wrapper that reads, before and after the real
call (finding + loading + executing the module, including everything it imports):

* ``time.perf_counter()`` -- seconds;
* ``/proc/self/statm`` and ``/proc/self/task`` (kept-open descriptors) -- resident set size and
  the number of OS threads (native thread pools included);
* with option ``alloc=1`` (the allocation pass): ``_tracemalloc.get_traced_memory()`` -- bytes
  allocated through Python's allocators -- and ``_tracemalloc.get_tracemalloc_memory()``,
  tracemalloc's own memory. tracemalloc slows imports several-fold, so the timing pass runs
  without it;
* with option ``gc=1`` (also the allocation pass, it costs ~0.1 ms per import on a large heap):
  the number of objects tracked by the garbage collector, i.e. ``len(gc.get_objects())``,
  computed as ``len(gc.get_objects(0)) + len(gc.get_objects(1))`` plus the size of the oldest
  generation, re-counted only after a collection of generation >= 1 has changed it (a
  ``gc.callbacks`` hook marks it stale). Objects of the oldest generation freed by reference
  counting between two such collections are seen at the next re-count. ``gc.get_count()`` was
  rejected: it counts allocator calls, not objects (free-list reuse is not counted, frees are
  clamped at 0) and ignores objects the collector later untracks -- off by 2x on real imports.

The tracer's own work (bookkeeping, ``/proc`` reads, re-counting) is accumulated in ``_OV``; each
event records the accumulator at its start and end so the parent subtracts the tracer's cost
from every figure. When ``import a.b.c`` needs ``a`` and ``a.b`` the wrapper imports the parents
first, so each is recorded as imported by the same statement rather than nested in ``a.b.c``.
Imports run concurrently by several threads are recorded per thread, but process-wide figures
(RSS, objects, bytes) of overlapping imports cannot be told apart.

Each event also records who asked for it (:func:`_origin`): the ``__name__`` of the module whose
code ran the import statement (runpy's and lazymed's functions looked through) and, for an
outermost import, whether it was made at start-up (the program's main flow) or at run time (code
a library called back, such as a request handler, or another thread).
"""

import _imp
import _thread
import _tracemalloc
import gc
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType, TracebackType

# Raw event record layout (a list per import; the parent reads it by these indexes).
F_NAME = 0  # dotted module name
F_PARENT = 1  # index of the enclosing event in the same thread, -1 at top level
F_THREAD = 2  # 0 for the main thread, else the thread ident
F_WHERE = 3  # "file:line" of the import statement, or None
F_T0, F_T1, F_OVT0, F_OVT1 = 4, 5, 6, 7  # perf_counter, tracer-seconds accumulator
F_RSS0, F_RSS1, F_THR0, F_THR1 = 8, 9, 10, 11  # bytes (-1 unknown), OS threads
F_GC0, F_GC1, F_OVG0, F_OVG1 = 12, 13, 14, 15  # gc-tracked objects, tracer-objects accumulator
F_MEM0, F_MEM1, F_OVM0, F_OVM1 = 16, 17, 18, 19  # traced bytes, tracer-bytes accumulator
F_TM0, F_TM1 = 20, 21  # tracemalloc's own memory (bytes)
F_ORIGIN = 22  # module.__spec__.origin after the import, or None
F_EXT = 23  # True when origin is a C extension (shared library)
F_ERROR = 24  # exception class name when the import raised, else None
F_IMPORTER = 25  # __name__ of the module whose code ran the import statement, None: the target
F_STARTUP = 26  # outermost import: True at start-up, False at run time; nested: None
F_SIZE = 27

RAW_VERSION = 2

_perf = time.perf_counter
_signal = __import__("_signal")  # built in (no stubs): signal.signal without importing signal
_traced = _tracemalloc.get_traced_memory
_tm_own = _tracemalloc.get_tracemalloc_memory
_get_objects = gc.get_objects
_get_ident = _thread.get_ident
_MAIN_THREAD = _get_ident()
_PID = os.getpid()
_SELF_FILE = __file__
_EXT_SUFFIXES = tuple(_imp.extension_suffixes())
_IMPORTLIB_DIR = os.sep + "importlib" + os.sep
_STDLIB_DIR = os.path.dirname(os.path.realpath(os.__file__))
# Top-level packages whose frames are looked through when attributing an import: runpy runs the
# -m target, lazymed runs lazy modules' code and imports critical modules for the program.
_TRANSPARENT = ("runpy", "lazymed")
_USER_FILES: dict[str, bool] = {}
_LIB_DIRS: list[str] = []

# Tracer's own cost: [seconds, traced bytes, gc-tracked objects].
_OV: list[float] = [0.0, 0.0, 0.0]
# Cached size of the oldest gc generation and whether it is stale.
_G2: list[int] = [0, 1]
_EVENTS: list[list[object]] = []
_STACKS: dict[int, list[int]] = {}
_CLAIMS: dict[str, int] = {}
_STATE: dict[str, object] = {"gc": True, "orig": None}

try:  # kept open: a pread/fstat costs ~5 us where opening /proc/self/stat again costs ~15
    _STATM_FD = os.open("/proc/self/statm", os.O_RDONLY)
    _TASK_FD = os.open("/proc/self/task", os.O_RDONLY | os.O_DIRECTORY)
except OSError:  # not Linux: no RSS, Python threads only
    _STATM_FD = _TASK_FD = -1
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _stat() -> tuple[int, int]:
    """(resident set size in bytes or -1, number of OS threads) of this process.

    RSS is the second field of /proc/self/statm (pages); the thread count is the link count of
    /proc/self/task minus 2 (one directory per thread), cheaper than parsing /proc/self/stat.
    """
    if _STATM_FD < 0:
        return -1, _thread._count() + 1
    rss = int(os.pread(_STATM_FD, 128, 0).split()[1]) * _PAGE
    return rss, os.fstat(_TASK_FD).st_nlink - 2


def _gc_live() -> int:
    """Objects tracked by the collector, as ``len(gc.get_objects())`` (see module docstring)."""
    if not _STATE["gc"]:
        return 0
    if _G2[1]:
        _G2[0] = len(_get_objects(2))
        _G2[1] = 0
    return len(_get_objects(0)) + len(_get_objects(1)) + _G2[0]


def _on_gc(phase: str, info: dict[str, int]) -> None:
    """gc.callbacks hook: a run of generation >= 1 changes the oldest generation's size."""
    if phase == "stop" and info.get("generation", 2) >= 1:
        _G2[1] = 1


def _user_file(filename: str) -> bool:
    """Whether code from ``filename`` is the profiled program's own (first-party): not in the
    standard library, not in a site-packages/dist-packages or site directory, not frozen.
    Pseudo-files such as ``<string>`` (``-c`` code) count as the program's own. Cached."""
    known = _USER_FILES.get(filename)
    if known is not None:
        return known
    if filename.startswith("<"):
        mine = not filename.startswith("<frozen")
    else:
        real = os.path.realpath(filename)
        parts = real.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts:
            mine = False
        else:
            if not _LIB_DIRS:
                _LIB_DIRS.extend(d + os.sep for d in [*_site_dirs(), _STDLIB_DIR] if d)
            mine = not real.startswith(tuple(_LIB_DIRS))
    _USER_FILES[filename] = mine
    return mine


def _origin(nested: bool) -> tuple[str | None, str | None, bool | None]:
    """Who asked for the import being recorded: ``(where, importer, at_startup)``.

    ``where`` is ``file:line`` of the statement (importlib frames and the tracer skipped).
    ``importer`` is the ``__name__`` of the module whose code ran it. For an outermost import
    the functions of runpy and lazymed are looked through (a lazy module's load, or
    ``install()`` importing a critical module, is attributed to the code that triggered it;
    their module bodies still count); None when it is the target's own entry (``--modules``).

    ``at_startup`` is None for an import made while another one runs (``nested``: it inherits
    that one's). For an outermost import it is True when the statement ran in the program's
    main flow -- the script's top level, the program's own functions it calls, library calls
    made from there -- and False at run time: when a library function called the program's code
    back (a server's request handler, a CLI framework's command, a callback), or in another
    thread or at exit (the walk never reaches the tracer's entry).
    """
    frame: FrameType | None = sys._getframe(2)
    where: str | None = None
    importer: str | None = None
    named = False
    inner_is_user = False
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        if filename == _SELF_FILE:
            if code.co_name != "_traced_find_and_load":  # the tracer's entry: the main flow
                return where, importer, None if nested else True
            frame = frame.f_back
            continue
        if filename.startswith("<frozen importlib") or _IMPORTLIB_DIR in filename:
            frame = frame.f_back
            continue
        if where is None:
            where = f"{filename}:{frame.f_lineno}"
        name = frame.f_globals.get("__name__")
        if not isinstance(name, str):
            name = None
        top = "" if name is None else name.partition(".")[0]
        if nested or top not in _TRANSPARENT or code.co_name == "<module>":
            if not named:
                importer, named = name, True
                if nested:
                    return where, importer, None
            user = _user_file(filename)
            if inner_is_user and not user:  # a library called the program back: run time
                return where, importer, False
            inner_is_user = user
        frame = frame.f_back
    return where, importer, None if nested else False


def _traced_find_and_load(name: str, import_: "Callable[[str], object]") -> object:
    """Replacement for ``importlib._bootstrap._find_and_load`` recording one event per load."""
    orig: Callable[[str, Callable[[str], object]], object] = _STATE["orig"]  # type: ignore[assignment]
    modules = sys.modules
    if name in modules:
        return orig(name, import_)
    parent = name.rpartition(".")[0]
    if parent and parent not in modules:
        import_(parent)  # recorded as its own event, imported by the same statement
        if name in modules:  # importing the parent imported name as well
            return orig(name, import_)
    ident = _get_ident()
    if _CLAIMS.setdefault(name, ident) != ident:  # another thread is loading it: we only wait
        return orig(name, import_)
    ta = _perf()
    ma = _traced()[0]
    stack = _STACKS.get(ident)
    if stack is None:
        stack = _STACKS[ident] = []
    rec: list[object] = [None] * F_SIZE
    rec[F_NAME] = name
    rec[F_PARENT] = stack[-1] if stack else -1
    rec[F_THREAD] = 0 if ident == _MAIN_THREAD else ident
    rec[F_WHERE], rec[F_IMPORTER], rec[F_STARTUP] = _origin(bool(stack))
    stack.append(len(_EVENTS))
    _EVENTS.append(rec)
    rec[F_RSS0], rec[F_THR0] = _stat()
    rec[F_GC0] = _gc_live()
    _OV[2] += 1  # the record list is one gc-tracked object created in the importer's window
    _OV[1] += _traced()[0] - ma
    rec[F_OVG0] = _OV[2]
    rec[F_OVM0] = _OV[1]
    rec[F_TM0] = _tm_own()
    rec[F_MEM0] = _traced()[0]
    t0 = _perf()
    _OV[0] += t0 - ta
    rec[F_OVT0] = _OV[0]
    rec[F_T0] = t0
    try:
        return orig(name, import_)
    except BaseException as exc:
        rec[F_ERROR] = type(exc).__name__
        raise
    finally:
        t1 = _perf()
        rec[F_OVT1] = _OV[0]
        m1 = _traced()[0]
        rec[F_MEM1] = m1
        rec[F_OVM1] = _OV[1]
        rec[F_TM1] = _tm_own()
        rec[F_GC1] = _gc_live()
        rec[F_OVG1] = _OV[2]
        rec[F_RSS1], rec[F_THR1] = _stat()
        rec[F_T1] = t1  # last of the readings: a record with F_T1 set is complete
        spec = getattr(modules.get(name), "__spec__", None)
        origin = getattr(spec, "origin", None)
        if isinstance(origin, str):
            rec[F_ORIGIN] = origin
            rec[F_EXT] = origin.endswith(_EXT_SUFFIXES)
        stack.pop()
        if _CLAIMS.get(name) == ident:
            del _CLAIMS[name]
        _OV[1] += _traced()[0] - m1
        _OV[0] += _perf() - t1


def _snapshot() -> dict[str, float]:
    """Process-wide readings at one instant (run start and end)."""
    rss, threads = _stat()
    return {
        "t": _perf(),
        "rss": rss,
        "threads": threads,
        "gc_exact": len(_get_objects()),
        "traced": _traced()[0],
        "tracemalloc_own": _tm_own(),
        "tracer_seconds": _OV[0],
    }


def _peak_rss() -> int:
    """VmHWM of this process in bytes, -1 when unknown."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return -1


def _lazymed_status() -> object:
    """Registered modules as ``lazymed.status()`` reports them, when the target installed it."""
    lazymed = sys.modules.get("lazymed")
    status_fn = getattr(lazymed, "status", None)
    if status_fn is None:
        return None
    try:
        status = status_fn()
        if not getattr(status, "installed", False):
            return None
        keys = (
            "name",
            "role",
            "state",
            "load_seconds",
            "rss_growth_bytes",
            "imported_at",
            "first_used_at",
            "error",
        )
        return [{k: getattr(m, k, None) for k in keys} for m in status.modules]
    except Exception as exc:  # a broken or half-written core must not lose the profile
        return {"error": f"{type(exc).__name__}: {exc}"}


def _lazymed_config() -> object:
    """The configuration lazymed runs with in the target (names per role, config file, profile,
    ``from_import``, where ``lazy`` came from), None when the target did not install lazymed.
    Read through the public ``lazymed.status()`` only: its ``lazy``, ``critical``,
    ``disabled_modules`` and ``sources``; a lazymed whose ``status()`` lacks them (older) gives
    the outermost registered names per role and no source."""
    lazymed = sys.modules.get("lazymed")
    status_fn = getattr(lazymed, "status", None)
    if status_fn is None:
        return None
    try:
        status = status_fn()
        if not getattr(status, "installed", False):
            return None
        records = [(m.name, m.role) for m in status.modules]
        out: dict[str, object] = {
            "path": getattr(status, "config_path", None),
            "profile": getattr(status, "profile", None),
            "from_import": getattr(status, "from_import", None),
        }
        for key, role in (
            ("lazy", "lazy"),
            ("critical", "critical"),
            ("disabled_modules", "disabled"),
        ):
            names = getattr(status, key, None)
            if names is None:  # from the records: registered names not inside another one
                mine = [n for n, r in records if r == role]
                names = [n for n in mine if not any(n.startswith(o + ".") for o in mine)]
            out[key] = [str(n) for n in names]
        sources = getattr(status, "sources", None)
        out["lazy_source"] = sources.get("lazy") if isinstance(sources, dict) else None
        return out
    except Exception as exc:  # a broken or half-written core must not lose the profile
        return {"error": f"{type(exc).__name__}: {exc}"}


def _site_dirs() -> list[str]:
    site = sys.modules.get("site")
    dirs: list[str] = []
    try:
        dirs.extend(site.getsitepackages())  # type: ignore[union-attr]
        dirs.append(site.getusersitepackages())  # type: ignore[union-attr]
    except Exception:  # -S or a site module without these helpers
        pass
    return [os.path.realpath(d) for d in dirs if isinstance(d, str)]


class _Run:
    """What the target did, filled in by :func:`main` and written by :func:`_dump`."""

    def __init__(self, out: str, options: dict[str, str], mode: str, target: str) -> None:
        self.out = out
        self.options = options
        self.mode = mode
        self.target = target
        self.exit_code = 0
        self.not_found: list[str] = []
        self.exception: str | None = None
        self.startup_modules = 0
        self.start: dict[str, float] = {}
        self.end: dict[str, float] = {}

    def dump(self) -> None:
        """Write the raw report (atexit: after the target's threads and atexit handlers)."""
        if os.getpid() != _PID:  # a forked child of the target: not ours to write
            return
        # The program is over: a late Ctrl-C (or the parent's SIGINT) must not lose the report.
        try:  # noqa: SIM105 (contextlib is not loaded at start-up: the tracer must not import it)
            _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
        except (ValueError, OSError):  # not the main thread
            pass
        bootstrap = sys.modules["_frozen_importlib"]
        if getattr(bootstrap, "_find_and_load", None) is _traced_find_and_load:
            setattr(bootstrap, "_find_and_load", _STATE["orig"])  # noqa: B010
        if _on_gc in gc.callbacks:
            gc.callbacks.remove(_on_gc)
        final = _snapshot()
        data = {
            "raw_version": RAW_VERSION,
            "mode": self.mode,
            "target": self.target,
            "options": self.options,
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "pid": _PID,
            "exit_code": self.exit_code,
            "not_found": self.not_found,
            "exception": self.exception,
            "startup_modules": self.startup_modules,
            "modules_at_exit": len(sys.modules),
            "start": self.start,
            "end": self.end or final,
            "final": final,
            "peak_rss": _peak_rss(),
            "page_size": _PAGE,
            "stdlib_names": sorted(sys.stdlib_module_names),
            "site_dirs": _site_dirs(),
            "lazymed_status": _lazymed_status(),
            "lazymed_config": _lazymed_config(),
            "events": _EVENTS,
        }
        tmp = self.out + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(_to_json(data))
        os.replace(tmp, self.out)


def _to_json(obj: object) -> str:
    """Serialise the raw report. Not ``json``: importing it (and ``re``, ``enum``) after the
    target would cost a small target more than the rest of the tracer; ``_json``, a C module,
    quotes strings."""
    from _json import encode_basestring_ascii as quote

    def enc(o: object) -> str:
        if o is None:
            return "null"
        if o is True:
            return "true"
        if o is False:
            return "false"
        if isinstance(o, int):
            return int.__repr__(o)
        if isinstance(o, float):
            return float.__repr__(o) if o - o == 0 else "null"  # NaN and inf are not JSON
        if isinstance(o, str):
            return quote(o)
        if isinstance(o, dict):
            return "{" + ",".join(quote(str(k)) + ":" + enc(v) for k, v in o.items()) + "}"
        if isinstance(o, list | tuple):
            return "[" + ",".join(enc(v) for v in o) + "]"
        return quote(repr(o))

    return enc(obj)


def _print_exception(exc: BaseException) -> None:
    """Print like the interpreter would, without the tracer's own frame."""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == _SELF_FILE:
        tb = tb.tb_next
    sys.excepthook(type(exc), exc.with_traceback(tb), tb)  # the hook prints __traceback__


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def _run_target(run: _Run, args: list[str]) -> None:
    """Run the target as ``python`` would, in the ``__main__`` namespace."""
    main_dict = sys.modules["__main__"].__dict__
    if run.mode == "script":
        path = run.target
        is_dir = os.path.isdir(path)
        head = b""
        if not is_dir:
            with open(path, "rb") as f:
                head = f.read(4)
        if is_dir or head == b"PK\x03\x04":  # directory or zip application
            import runpy

            sys.path[0] = path
            getattr(runpy, "_run_module_as_main")("__main__", alter_argv=False)  # noqa: B009
            return
        with open(path, "rb") as f:
            source = f.read()
        path = os.path.abspath(path)  # as python does for __main__.__file__ since 3.9
        external = sys.modules["_frozen_importlib_external"]
        main_dict["__file__"] = path
        main_dict["__cached__"] = None
        main_dict["__loader__"] = external.SourceFileLoader("__main__", path)
        exec(compile(source, path, "exec"), main_dict)
    elif run.mode == "code":
        exec(compile(run.target, "<string>", "exec"), main_dict)
    elif run.mode == "module":
        runpy = sys.modules["runpy"]
        util = sys.modules["importlib.util"]
        try:
            spec = util.find_spec(run.target)
        except ModuleNotFoundError as exc:
            if exc.name and (run.target + ".").startswith(exc.name + "."):
                run.not_found.append(run.target)
                return
            raise
        if spec is None:
            run.not_found.append(run.target)
            return
        getattr(runpy, "_run_module_as_main")(run.target, alter_argv=True)  # noqa: B009
    elif run.mode == "modules":
        for name in run.target.split(","):
            try:
                __import__(name)
            except ModuleNotFoundError as exc:
                if exc.name and (name + ".").startswith(exc.name + "."):
                    run.not_found.append(name)
                    continue
                raise


def main() -> None:
    """Entry point in the child: ``sys.argv`` is ``['-c', THIS_FILE, OUT, OPTIONS, MODE, TARGET,
    *ARGS]``; OPTIONS is ``key=value`` pairs joined by commas (``alloc=1,gc=1``)."""
    _, _, out, raw_options, mode, target, *args = sys.argv
    options = dict(item.split("=", 1) for item in raw_options.split(",") if item)
    run = _Run(out, options, mode, target)
    if mode == "script":
        sys.argv = [target, *args]
        sys.path[0] = os.path.dirname(os.path.realpath(target))
    elif mode == "module":
        sys.argv = ["-m", *args]
        sys.path[0] = os.getcwd()
        # What `python -m` itself loads (through runpy) before the module runs.
        import importlib.util  # noqa: F401
        import runpy  # noqa: F401
    else:
        sys.argv = ["-c", *args]
        sys.path[0] = ""
    import atexit

    atexit.register(run.dump)
    if _signal.getsignal(_signal.SIGINT) is _signal.SIG_IGN:
        # Started with SIGINT ignored (the profiler ran in a thread, or under `cmd &` with no
        # handler of its own to reset it at exec): the profiler ends a run (Ctrl-C, SIGTERM,
        # --duration) by sending SIGINT, so the target must take it as Python normally does.
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    _STATE["gc"] = options.get("gc", "1") == "1"
    if options.get("alloc") == "1":
        _tracemalloc.start(int(options.get("frames", "1")))
    if _STATE["gc"]:
        gc.callbacks.append(_on_gc)
    run.startup_modules = len(sys.modules)
    run.start = _snapshot()
    bootstrap = sys.modules["_frozen_importlib"]
    _STATE["orig"] = getattr(bootstrap, "_find_and_load")  # noqa: B009
    setattr(bootstrap, "_find_and_load", _traced_find_and_load)  # noqa: B010
    try:
        _run_target(run, args)
    except SystemExit as exc:
        run.exit_code = _exit_code(exc)
        run.end = _snapshot()
        raise
    except KeyboardInterrupt as exc:
        # Ctrl-C: a second one (the parent forwards SIGINT when the terminal's did not reach
        # us) must not interrupt the report being written at exit.
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
        run.exception = "KeyboardInterrupt"
        run.exit_code = 130
        run.end = _snapshot()
        _print_exception(exc)
        raise SystemExit(130) from None
    except BaseException as exc:
        run.exception = f"{type(exc).__name__}: {exc}"
        run.exit_code = 1
        run.end = _snapshot()
        _print_exception(exc)
        raise SystemExit(1) from None
    run.end = _snapshot()
    if run.not_found:
        run.exit_code = 1
        missing = ", ".join(run.not_found)
        print(f"{sys.executable}: No module named {missing}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "_lazymed_tracer":
    main()

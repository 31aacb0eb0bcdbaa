"""Finding ``pyproject.toml`` and reading its ``[tool.lazymed]`` table through a parse cache.

``tomllib`` costs ~10 ms to import, so the parsed ``[tool.lazymed]`` table (and, once validated,
its validated form) is cached with :mod:`marshal`, keyed by the file's path, size, mtime, ctime
and inode (as CPython validates bytecode caches) and by ``repr(SCHEMA)``; a hit costs one ``stat``
and one read. Core layer: standard library only, on the install path.
"""

import marshal
import os
import sys

from ._keys import SCHEMA

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._errors import ConfigError


def config_error(message: str) -> "ConfigError":
    """A ConfigError with ``message``. Imports :mod:`lazymed._errors` only on this error path:
    one file less on the install path (~0.1 ms of a ~24 ms start)."""
    from ._errors import ConfigError

    return ConfigError(message)


_CACHE_VERSION = 2
# A parse-cache entry: (raw [tool.lazymed] table, validated tables or None, stamp, cache file)
Entry = tuple[object, object, object, "str | None"]


def find(start_dir: str | None) -> tuple[str | None, Entry | None]:
    """The nearest ``pyproject.toml`` holding a ``[tool.lazymed]`` table, and its cache entry.

    Walks up from ``start_dir``; by default from the directory of the ``__main__`` script (and of
    its symlink target), then from the working directory, as ruff does for ``[tool.ruff]``.
    Returns ``(None, None)`` when there is none. Raises ConfigError for an unreadable or invalid
    file met on the way.
    """
    starts: list[str] = []
    if start_dir is not None:
        starts.append(os.path.abspath(start_dir))
    else:
        main = sys.modules.get("__main__")
        main_file = getattr(main, "__file__", None)
        if isinstance(main_file, str) and main_file:
            starts.append(os.path.dirname(os.path.abspath(main_file)))
            # A symlinked script (/usr/local/bin/app -> /srv/proj/bin/run.py): Python runs the
            # project's code from the link's target, so its config is found from there too.
            starts.append(os.path.dirname(os.path.realpath(main_file)))
        starts.append(os.getcwd())
    seen: set[str] = set()
    for start in starts:
        directory = start
        while directory not in seen:
            seen.add(directory)
            candidate = os.path.join(directory, "pyproject.toml")
            if os.path.isfile(candidate):
                entry = read(candidate)
                if isinstance(entry[0], dict):
                    return candidate, entry
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
    return None, None


def _cache_file(path: str) -> str | None:
    root = os.environ.get("LAZYMED_CACHE_DIR")
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "lazymed")
    if not root:
        return None
    # FNV-1a over the path: stable across runs (hash() is salted) and needs no hashlib import.
    h = 0xCBF29CE484222325
    for byte in path.encode("utf-8", "surrogateescape"):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return os.path.join(root, f"{h:016x}.marshal")


def read(path: str) -> Entry:
    """``(raw table, validated tables or None, stamp, cache file)`` of ``path``."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise config_error(f"{path}: cannot read the configuration file: {exc.strerror}") from None
    # The schema is part of the key: validated tables cached by another version stay unused.
    # ctime too: `cp -p` keeps size, mtime and inode, but nothing in user space sets ctime back.
    stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, repr(SCHEMA))
    cache = _cache_file(path)
    if cache is not None:
        try:
            with open(cache, "rb") as fh:
                version, cached_path, cached_stamp, table, validated = marshal.loads(fh.read())
            if version == _CACHE_VERSION and cached_path == path and cached_stamp == stamp:
                return table, validated, stamp, cache
        except (OSError, ValueError, EOFError, TypeError):
            pass  # missing, stale or corrupt cache: parse the file
    table = _parse(path)
    _store(path, stamp, table, None, cache)
    return table, None, stamp, cache


def _store(path: str, stamp: object, table: object, validated: object, cache: str | None) -> None:
    if cache is not None:
        _write_cache(cache, (_CACHE_VERSION, path, stamp, table, validated))


def validated_tables(
    path: str, label: str, entry: Entry | None = None
) -> tuple[dict[str, object], dict[str, dict[str, object]]]:
    """The validated base table and profiles of ``path``, from the cache when it has them
    (validation runs once per file version, not once per start)."""
    table, validated, stamp, cache = read(path) if entry is None else entry
    if validated is None:
        from ._validate import validate_document  # a cache miss only: off the install path

        validated = validate_document(table if isinstance(table, dict) else {}, label)
        _store(path, stamp, table, validated, cache)
    return validated  # type: ignore[return-value]


def _parse(path: str) -> dict[str, object] | None:
    import tomllib  # only on a cache miss: ~10 ms

    try:
        with open(path, "rb") as fh:
            document = tomllib.load(fh)
    except OSError as exc:
        raise config_error(f"{path}: cannot read the configuration file: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise config_error(f"{path}: invalid TOML: {exc}") from None
    tool = document.get("tool")
    if not isinstance(tool, dict) or "lazymed" not in tool:
        return None
    table = tool["lazymed"]
    if not isinstance(table, dict):
        raise config_error(
            f"{path}: [tool.lazymed] must be a table, got {type(table).__name__} {table!r}"
        )
    return table


def _write_cache(cache: str, payload: tuple[object, ...]) -> None:
    try:
        data = marshal.dumps(payload)  # type: ignore[arg-type]  # checked at run time
    except ValueError:
        return  # e.g. a TOML datetime: validation rejects it anyway; just do not cache
    tmp = f"{cache}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, cache)  # atomic: concurrent starts never read half a file
    except OSError:
        try:  # noqa: SIM105 - contextlib is not loaded at start-up; keep this path import-free
            os.unlink(tmp)
        except OSError:
            pass

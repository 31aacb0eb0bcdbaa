"""``[tool.lazymed]``: find it, read it (with a parse cache), validate it, layer it.

Layers, lowest first: defaults < the file's ``[tool.lazymed]`` < the active profile
``[tool.lazymed.profiles.NAME]`` < environment variables ``LAZYMED_*`` < ``install()`` keywords.
Tables merge key by key; everything else (lists, strings, numbers) replaces.

Core layer: standard library only, and cheap. ``tomllib`` costs ~10 ms to import, so the parsed
``[tool.lazymed]`` table is cached with :mod:`marshal`, keyed by the file's path, size, mtime,
ctime and inode (as CPython validates bytecode caches); a hit costs one ``stat`` and one read.
"""

import marshal
import os
import sys

from ._errors import ConfigError
from ._keys import DEFAULTS, ENV_PREFIX, FALSE_WORDS, RESERVED_ENV, SCHEMA, TRUE_WORDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


_CACHE_VERSION = 2
# A parse-cache entry: (raw [tool.lazymed] table, validated tables or None, stamp, cache file)
Entry = tuple[object, object, object, "str | None"]


class Config:
    """The effective configuration: every layer applied and validated.

    ``table`` is the merged ``[tool.lazymed]`` without ``profiles`` (lists as tuples);
    ``sources`` maps each dotted key of ``table`` to where its value came from.
    """

    __slots__ = ("path", "profile", "profiles", "sources", "table")

    def __init__(
        self,
        path: str | None,
        profile: str | None,
        profiles: tuple[str, ...],
        table: dict[str, object],
        sources: dict[str, str],
    ) -> None:
        self.path = path
        self.profile = profile
        self.profiles = profiles
        self.table = table
        self.sources = sources

    def _modules(self, key: str) -> tuple[str, ...]:
        value = self.table[key]
        assert isinstance(value, tuple)
        return value

    @property
    def lazy(self) -> tuple[str, ...]:
        """Dotted names registered lazy (each covers its submodules)."""
        return self._modules("lazy")

    @property
    def critical(self) -> tuple[str, ...]:
        """Dotted names imported at ``install()``, in order."""
        return self._modules("critical")

    @property
    def disabled_modules(self) -> tuple[str, ...]:
        """Dotted names switched off (each covers its submodules)."""
        return self._modules("disabled_modules")

    @property
    def from_import(self) -> str:
        """``"eager"`` or ``"deferred"``."""
        return str(self.table["from_import"])

    @property
    def backend(self) -> str:
        """``"finder"`` (the default), ``"native"`` (PEP 810, Python 3.15+) or ``"auto"``."""
        return str(self.table["backend"])

    @property
    def deep(self) -> tuple[str, ...]:
        """Registered lazy packages whose own imports are lazy too (native backend only)."""
        return self._modules("deep")

    def describe(self, key: str) -> str:
        """Where ``key`` of the effective table came from, for error messages."""
        return self.sources.get(key, "default")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return (self.path, self.profile, self.table) == (other.path, other.profile, other.table)

    __hash__ = None  # type: ignore[assignment]  # mutable container of settings

    def __repr__(self) -> str:
        return f"Config(path={self.path!r}, profile={self.profile!r}, table={self.table!r})"


# --------------------------------------------------------------------------- discovery


def find_pyproject(start_dir: str | None = None) -> tuple[str | None, dict[str, object] | None]:
    """The nearest ``pyproject.toml`` holding a ``[tool.lazymed]`` table, and that table.

    Walks up from ``start_dir``; by default from the directory of the ``__main__`` script (and of
    its symlink target), then from the working directory, as ruff does for ``[tool.ruff]``.
    Returns ``(None, None)`` when there is none. Raises ConfigError for an unreadable or invalid
    file met on the way.
    """
    path, entry = _find(start_dir)
    table = None if entry is None else entry[0]
    return path, table if isinstance(table, dict) else None


def _find(start_dir: str | None) -> tuple[str | None, Entry | None]:
    """Like :func:`find_pyproject`, returning the cache entry instead of the table."""
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
                entry = _read(candidate)
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


def _read(path: str) -> Entry:
    """``(raw table, validated tables or None, stamp, cache file)`` of ``path``."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror}") from None
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


def _validated(
    path: str, label: str, entry: Entry | None = None
) -> tuple[dict[str, object], dict[str, dict[str, object]]]:
    """The validated base table and profiles of ``path``, from the cache when it has them
    (validation runs once per file version, not once per start)."""
    table, validated, stamp, cache = _read(path) if entry is None else entry
    if validated is None:
        from ._validate import validate_document

        validated = validate_document(table if isinstance(table, dict) else {}, label)
        _store(path, stamp, table, validated, cache)
    return validated  # type: ignore[return-value]


def _parse(path: str) -> dict[str, object] | None:
    import tomllib  # only on a cache miss: ~10 ms

    try:
        with open(path, "rb") as fh:
            document = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    tool = document.get("tool")
    if not isinstance(tool, dict) or "lazymed" not in tool:
        return None
    table = tool["lazymed"]
    if not isinstance(table, dict):
        raise ConfigError(
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


def merge(base: dict[str, object], top: "Mapping[str, object]") -> dict[str, object]:
    """``top`` over ``base``: tables (dicts) merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in top.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge(old, value)
        else:
            out[key] = value
    return out


def _record_sources(
    sources: dict[str, str], table: "Mapping[str, object]", origin: str, prefix: str = ""
) -> None:
    for key, value in table.items():
        if isinstance(value, dict):
            _record_sources(sources, value, origin, f"{prefix}{key}.")
        else:
            sources[f"{prefix}{key}"] = origin


# --------------------------------------------------------------------------- environment


def env_flag(name: str, environ: "Mapping[str, str]") -> bool:
    """Boolean environment variable: 1/true/yes/on or 0/false/no/off/empty (any case).
    Raises ConfigError naming the variable for anything else."""
    raw = environ.get(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ConfigError(
        f"environment variable {name}={raw!r}: expected 1/true/yes/on or 0/false/no/off"
    )


# --------------------------------------------------------------------------- loading


def load_config(
    config: str | os.PathLike[str] | None = None,
    *,
    profile: str | None = None,
    overrides: "Mapping[str, object] | None" = None,
    start_dir: str | None = None,
    environ: "Mapping[str, str] | None" = None,
) -> "Config":
    """Read, validate and layer the configuration.

    ``config`` (else ``$LAZYMED_CONFIG``) names the file, else the nearest pyproject.toml with a
    ``[tool.lazymed]`` table is used (see :func:`find_pyproject`); ``profile`` (else
    ``$LAZYMED_PROFILE``) activates ``[tool.lazymed.profiles.NAME]``; ``overrides`` are the
    ``install()`` keywords (``None`` values are ignored). Raises ConfigError naming the file,
    table and key, profile, variable or keyword that is wrong.
    """
    env = os.environ if environ is None else environ
    if config is None and env.get("LAZYMED_CONFIG"):
        config = env["LAZYMED_CONFIG"]
        origin_hint = " (from LAZYMED_CONFIG)"
    else:
        origin_hint = ""
    if config is not None:
        path: str | None = os.path.abspath(os.fspath(config))
        assert path is not None
        entry: Entry | None
        try:
            entry = _read(path)
        except ConfigError as exc:
            if not origin_hint:
                raise
            raise ConfigError(f"{exc}{origin_hint}") from None
        if not isinstance(entry[0], dict):
            raise ConfigError(f"{path}{origin_hint}: no [tool.lazymed] table in this file")
    else:
        path, entry = _find(start_dir)

    label = path if path is not None else "<no pyproject.toml>"
    table, profiles = _validated(path, label, entry) if path is not None else ({}, {})

    sources: dict[str, str] = {}
    _record_sources(sources, table, f"{label} [tool.lazymed]")

    active = profile if profile is not None else (env.get("LAZYMED_PROFILE") or None)
    if active is not None:
        if active not in profiles:
            defined = ", ".join(sorted(profiles)) or "none"
            via = "install(profile=...)" if profile is not None else "LAZYMED_PROFILE"
            raise ConfigError(
                f"unknown profile {active!r} (from {via}); profiles defined in {label}: {defined}"
            )
        table = merge(table, profiles[active])
        _record_sources(sources, profiles[active], f"{label} [tool.lazymed.profiles.{active}]")

    from_env: dict[str, object] = {}
    if any(k.startswith(ENV_PREFIX) and k not in RESERVED_ENV for k in env):
        from ._validate import env_overrides

        from_env = env_overrides(env)
    table = merge(table, from_env)
    for key, value in from_env.items():
        if isinstance(value, dict):
            for sub in value:
                sources[f"{key}.{sub}"] = f"environment {ENV_PREFIX}{key.upper()}__{sub.upper()}"
        else:
            sources[key] = f"environment {ENV_PREFIX}{key.upper()}"

    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if given:
        if "profiles" in given:
            raise ConfigError("install(profiles=...): profiles can only be defined in the file")
        from ._validate import validate_table

        kw_table = validate_table(given, SCHEMA, "install() keyword")
        table = merge(table, kw_table)
        _record_sources(sources, kw_table, "install() keyword")

    table = merge(DEFAULTS, table)
    result = Config(path, active, tuple(sorted(profiles)), table, sources)
    _check_roles(result)
    return result


def _covers(outer: str, inner: str) -> bool:
    return inner == outer or inner.startswith(outer + ".")


def _check_roles(cfg: "Config") -> None:
    """Cross-key rules: no name both lazy and critical, or both disabled and critical."""
    for name in cfg.critical:
        for lazy in cfg.lazy:
            if _covers(lazy, name):
                raise ConfigError(
                    f"{name!r} is critical ({cfg.describe('critical')}) but "
                    + (
                        f"also lazy ({cfg.describe('lazy')})"
                        if lazy == name
                        else f"inside lazy {lazy!r} ({cfg.describe('lazy')}): importing it at "
                        f"install() would run {lazy!r}"
                    )
                    + "; a module is either loaded at start-up or deferred, not both"
                )
        for off in cfg.disabled_modules:
            if _covers(off, name):
                raise ConfigError(
                    f"{name!r} is critical ({cfg.describe('critical')}) but "
                    + (
                        f"also disabled ({cfg.describe('disabled_modules')})"
                        if off == name
                        else f"inside disabled {off!r} ({cfg.describe('disabled_modules')})"
                    )
                    + "; a critical module must be importable at start-up"
                )


def check_module_name(name: object, where: str) -> str:
    """``name`` if it is a dotted module name (``a.b_c.d``); else ConfigError naming ``where``."""
    if isinstance(name, str) and name and all(part.isidentifier() for part in name.split(".")):
        return name
    from ._validate import check_module_name as explain  # raises with the full message

    return explain(name, where)

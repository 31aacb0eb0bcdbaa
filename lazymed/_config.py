"""``[tool.lazymed]``: find it, read it (with a parse cache), validate it, layer it.

Layers, lowest first: defaults < the file's ``[tool.lazymed]`` < the active profile
``[tool.lazymed.profiles.NAME]`` < environment variables ``LAZYMED_*`` < ``install()`` keywords.
Tables merge key by key; everything else (lists, strings, numbers) replaces.

Core layer: standard library only, and cheap. ``tomllib`` costs ~10 ms to import, so the parsed
``[tool.lazymed]`` table is cached with :mod:`marshal`, keyed by the file's path, size, mtime and
inode (as CPython validates bytecode caches); a cache hit costs one ``stat`` and one small read.
"""

from __future__ import annotations

import marshal
import os
import sys

from ._errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    Kind = tuple[object, ...]
    Schema = dict[str, Kind]

ENV_PREFIX = "LAZYMED_"
#: Environment variables with a meaning of their own (not setting overrides).
RESERVED_ENV = {
    "LAZYMED_CONFIG": "path of the pyproject.toml to read",
    "LAZYMED_DISABLE": "1/true/yes/on: install() does nothing, every import stays eager",
    "LAZYMED_PROFILE": "name of the profile to activate",
    "LAZYMED_CACHE_DIR": "where parsed configs are cached (empty: no cache)",
}

# A kind is a tuple whose first item names it; validators below interpret them.
MODULES: Kind = ("modules",)
# The schema of [tool.lazymed]. Later layers (memory, startup, web, isolate) add sub-tables as
# ("table", {key: kind}) entries; profiles and environment overrides pick them up automatically.
SCHEMA: Schema = {
    "lazy": MODULES,
    "critical": MODULES,
    "from_import": ("choice", ("eager", "deferred")),
    "disabled_modules": MODULES,
}
DEFAULTS: dict[str, object] = {
    "lazy": (),
    "critical": (),
    "from_import": "eager",
    "disabled_modules": (),
}
_CACHE_VERSION = 1
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


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
                table = read_table(candidate)
                if table is not None:
                    return candidate, table
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


def read_table(path: str) -> dict[str, object] | None:
    """The ``[tool.lazymed]`` table of the TOML file ``path`` (``None`` if it has none).

    Served from the marshal cache when the file's size, mtime and inode are unchanged.
    Raises ConfigError naming the file when it cannot be read or is not valid TOML.
    """
    path = os.path.abspath(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror}") from None
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
    cache = _cache_file(path)
    if cache is not None:
        try:
            with open(cache, "rb") as fh:
                version, cached_path, cached_stamp, table = marshal.loads(fh.read())
            if version == _CACHE_VERSION and cached_path == path and cached_stamp == stamp:
                return table  # type: ignore[no-any-return]
        except (OSError, ValueError, EOFError, TypeError):
            pass  # missing, stale or corrupt cache: parse the file
    table = _parse(path)
    if cache is not None:
        _write_cache(cache, (_CACHE_VERSION, path, stamp, table))
    return table


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


def _write_cache(cache: str, payload: tuple[int, str, tuple[int, int, int], object]) -> None:
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


# --------------------------------------------------------------------------- validation


def _suggest(word: str, choices: Iterable[str]) -> str:
    import difflib  # error path only

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _unknown_key(
    where: str, key: str, schema: Mapping[str, object], extra: tuple[str, ...] = ()
) -> ConfigError:
    keys = sorted([*schema, *extra])
    return ConfigError(
        f"{where}: unknown key {key!r}.{_suggest(key, keys)} Valid keys: {', '.join(keys)}."
    )


def check_module_name(name: object, where: str) -> str:
    """``name`` if it is a dotted module name (``a.b_c.d``); else ConfigError naming ``where``."""
    if not isinstance(name, str):
        raise ConfigError(f"{where}: module names must be strings, got {name!r}")
    parts = name.split(".")
    if not name or not all(part.isidentifier() for part in parts):
        raise ConfigError(
            f"{where}: {name!r} is not a dotted module name (like 'google.cloud.storage'; "
            "no relative names, spaces or empty parts)"
        )
    return name


def _validate_value(value: object, kind: Kind, where: str) -> object:
    tag = kind[0]
    if tag == "modules":
        if not isinstance(value, list | tuple):
            raise ConfigError(
                f"{where}: expected a list of module names, got {type(value).__name__} {value!r}"
            )
        names: list[str] = []
        for item in value:
            name = check_module_name(item, where)
            if name in names:
                raise ConfigError(f"{where}: {name!r} is listed twice")
            names.append(name)
        return tuple(names)
    if tag == "choice":
        choices = kind[1]
        assert isinstance(choices, tuple)
        if value not in choices:
            options = ", ".join(repr(c) for c in choices)
            raise ConfigError(f"{where}: expected one of {options}, got {value!r}")
        return value
    if tag == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tag == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {type(value).__name__} {value!r}")
        return value
    if tag in ("int", "number"):
        ok_types = (int,) if tag == "int" else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_types):
            expected = "an integer" if tag == "int" else "a number"
            raise ConfigError(f"{where}: expected {expected}, got {value!r}")
        low = kind[1] if len(kind) > 1 else None
        if isinstance(low, int | float) and value < low:
            raise ConfigError(f"{where}: must be >= {low}, got {value!r}")
        return value
    if tag == "table":
        sub = kind[1]
        assert isinstance(sub, dict)
        return validate_table(value, sub, where)
    raise AssertionError(f"unknown schema kind {tag!r}")  # pragma: no cover - schema bug


def validate_table(
    table: object, schema: Schema, where: str, extra: tuple[str, ...] = ()
) -> dict[str, object]:
    """A validated copy of ``table`` (lists become tuples). Raises ConfigError naming ``where``
    and the key, listing the valid keys (``schema``'s and ``extra``) for an unknown one."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {type(table).__name__} {table!r}")
    out: dict[str, object] = {}
    for key, value in table.items():
        kind = schema.get(key)
        if kind is None:
            raise _unknown_key(where, key, schema, extra)
        if kind[0] == "table" and where.endswith("]"):
            sub_where = f"{where[:-1]}.{key}]"
        else:
            sub_where = f"{where} key {key!r}"
        out[key] = _validate_value(value, kind, sub_where)
    return out


def merge(base: dict[str, object], top: Mapping[str, object]) -> dict[str, object]:
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
    sources: dict[str, str], table: Mapping[str, object], origin: str, prefix: str = ""
) -> None:
    for key, value in table.items():
        if isinstance(value, dict):
            _record_sources(sources, value, origin, f"{prefix}{key}.")
        else:
            sources[f"{prefix}{key}"] = origin


# --------------------------------------------------------------------------- environment


def env_flag(name: str, environ: Mapping[str, str]) -> bool:
    """Boolean environment variable: 1/true/yes/on or 0/false/no/off/empty (any case).
    Raises ConfigError naming the variable for anything else."""
    raw = environ.get(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(
        f"environment variable {name}={raw!r}: expected 1/true/yes/on or 0/false/no/off"
    )


def _env_names(schema: Schema) -> dict[str, tuple[str, ...]]:
    names: dict[str, tuple[str, ...]] = {}
    for key, kind in schema.items():
        if kind[0] == "table":
            sub = kind[1]
            assert isinstance(sub, dict)
            for subkey in sub:
                names[f"{ENV_PREFIX}{key.upper()}__{subkey.upper()}"] = (key, subkey)
        else:
            names[f"{ENV_PREFIX}{key.upper()}"] = (key,)
    return names


def _parse_env_value(name: str, raw: str, kind: Kind) -> object:
    tag = kind[0]
    if tag == "modules":
        return [item.strip() for item in raw.split(",") if item.strip()]
    if tag == "bool":
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ConfigError(f"environment variable {name}={raw!r}: expected true or false")
    if tag in ("int", "number"):
        try:
            return int(raw)
        except ValueError:
            if tag == "number":
                try:
                    return float(raw)
                except ValueError:
                    pass
        raise ConfigError(f"environment variable {name}={raw!r}: expected a number")
    return raw.strip()


def env_overrides(environ: Mapping[str, str], schema: Schema = SCHEMA) -> dict[str, object]:
    """The settings given as ``LAZYMED_<KEY>`` / ``LAZYMED_<TABLE>__<KEY>`` variables, validated.

    Raises ConfigError naming the variable for a bad value, and for any unknown ``LAZYMED_*``
    variable (listing the valid ones): a typo is never silently ignored.
    """
    names = _env_names(schema)
    table: dict[str, object] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        path = names.get(name)
        if path is None:
            valid = sorted([*names, *RESERVED_ENV])
            raise ConfigError(
                f"unknown environment variable {name}.{_suggest(name, valid)} "
                f"Valid lazymed variables: {', '.join(valid)}."
            )
        kind = schema[path[0]]
        if len(path) == 2:
            sub = kind[1]
            assert isinstance(sub, dict)
            kind = sub[path[1]]
        value = _validate_value(
            _parse_env_value(name, raw, kind), kind, f"environment variable {name}"
        )
        if len(path) == 2:
            inner = table.setdefault(path[0], {})
            assert isinstance(inner, dict)
            inner[path[1]] = value
        else:
            table[path[0]] = value
    return table


# --------------------------------------------------------------------------- loading


def load_config(
    config: str | os.PathLike[str] | None = None,
    *,
    profile: str | None = None,
    overrides: Mapping[str, object] | None = None,
    start_dir: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
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
        try:
            raw = read_table(path)
        except ConfigError as exc:
            if not origin_hint:
                raise
            raise ConfigError(f"{exc}{origin_hint}") from None
        if raw is None:
            raise ConfigError(f"{path}{origin_hint}: no [tool.lazymed] table in this file")
    else:
        path, raw = find_pyproject(start_dir)
    raw = {} if raw is None else dict(raw)

    label = path if path is not None else "<no pyproject.toml>"
    raw_profiles = raw.pop("profiles", {})
    table = validate_table(raw, SCHEMA, f"{label}: [tool.lazymed]", extra=("profiles",))
    if not isinstance(raw_profiles, dict):
        raise ConfigError(
            f"{label}: [tool.lazymed.profiles] must be a table of tables, got {raw_profiles!r}"
        )
    profiles: dict[str, dict[str, object]] = {}
    for name, ptable in raw_profiles.items():
        where = f"{label}: [tool.lazymed.profiles.{name}]"
        if not isinstance(ptable, dict):
            raise ConfigError(f"{where}: a profile must be a table, got {ptable!r}")
        if "profiles" in ptable:
            raise ConfigError(f"{where}: profiles cannot be nested")
        profiles[name] = validate_table(ptable, SCHEMA, where)

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
        kw_table = validate_table(given, SCHEMA, "install() keyword")
        table = merge(table, kw_table)
        _record_sources(sources, kw_table, "install() keyword")

    table = merge(DEFAULTS, table)
    result = Config(path, active, tuple(sorted(profiles)), table, sources)
    _check_roles(result)
    return result


def _covers(outer: str, inner: str) -> bool:
    return inner == outer or inner.startswith(outer + ".")


def _check_roles(cfg: Config) -> None:
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

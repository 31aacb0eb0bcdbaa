"""The configuration: the file, its parse cache, and the layers over it.

* **File** — finding ``pyproject.toml`` and reading its table through a parse cache (``tomllib``
  costs ~10 ms to import): the parsed table, and once validated its validated form with the
  defaults it was validated against, are cached with :mod:`marshal`, keyed by the file's path,
  size, mtime, ctime and inode (as CPython validates bytecode caches), by lazymed's version and
  by the bytes of :mod:`lazymed._schema`'s source; a hit costs one ``stat`` and two small reads.
* **Layers**, lowest first: defaults < the file's ``[tool.lazymed]`` < the active profile
  ``[tool.lazymed.profiles.NAME]`` < environment variables ``LAZYMED_*`` < ``install()``
  keywords. Tables merge key by key; everything else (lists, strings, numbers) replaces.
* The ``LAZYMED_*`` names with a meaning of their own and the boolean words.

On the install path, where each extra file costs ~0.1 ms (about 1 % of a bare ``python -c
pass`` here: docs/architecture.md), so the file and the layering are read in one import, and
what a start-up with a cached configuration does not need stays out: the schema
(:mod:`lazymed._schema`) is read only on a cache miss, for ``LAZYMED_*`` overrides, without a
configuration file or to check ``isolate`` tables; validation (:mod:`lazymed._validate`) only
on a cache miss, for environment overrides or keywords that need it, or to explain an error.
Core layer: standard library only.
"""

import marshal
import os
import sys

# On the install path: annotations that would build objects when each def runs (X | None,
# tuple[...]) are written as strings, which cost nothing there (3.11-3.13 evaluate them eagerly).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._errors import ConfigError

# =========================================================================== names
ENV_PREFIX = "LAZYMED_"
#: Environment variables with a meaning of their own (not setting overrides).
RESERVED_ENV = {
    "LAZYMED_CONFIG": "path of the pyproject.toml to read",
    "LAZYMED_DISABLE": "1/true/yes/on: install() does nothing, every import stays eager",
    "LAZYMED_PROFILE": "name of the profile to activate",
    "LAZYMED_CACHE_DIR": "where parsed configs are cached (empty: no cache)",
    "LAZYMED_WEB_TOKEN": "bearer token of the /memory endpoints ([tool.lazymed.web] token_env)",
}

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")

# install() keywords that _plainly_valid accepts without reading the schema: module lists, and
# choices with their options (tests/config/test_config.py checks these against lazymed._schema).
KEYWORD_MODULES = ("lazy", "critical", "disabled_modules", "deep")
KEYWORD_CHOICES = {"from_import": ("eager", "deferred"), "backend": ("finder", "native", "auto")}


# =========================================================================== file


def config_error(message: str) -> "ConfigError":
    """A ConfigError with ``message``. Imports :mod:`lazymed._errors` only on this error path:
    one file less on the install path (~0.1 ms of a ~24 ms start)."""
    from ._errors import ConfigError

    return ConfigError(message)


_CACHE_VERSION = 4
# A parse-cache entry: (raw [tool.lazymed] table, validated or None, stamp, cache file); validated
# is (base table, {profile: table}, defaults).
Entry = tuple[object, object, object, "str | None"]
Validated = tuple["dict[str, object]", "dict[str, dict[str, object]]", "dict[str, object]"]
_SCHEMA_FILE = os.path.join(os.path.dirname(__file__), "_schema.py")


def _schema_stamp() -> object:
    """What identifies the rules cached tables were validated with, without importing them:
    lazymed's version (a release that changes the validator changes it) and the bytes of the
    schema's source (~7 KB, one read), so installs of the same version share entries and any
    edit of the schema is a miss, even one that keeps size and mtime. Without a source (a
    sourceless or zipped install), the schema's data as marshal bytes (format 2: equal data,
    equal bytes). Validation rules edited without a version change (a development checkout) need
    the cache emptied: ``LAZYMED_CACHE_DIR=`` or remove its directory."""
    version = getattr(sys.modules.get(__package__ or ""), "__version__", None)
    try:
        with open(_SCHEMA_FILE, "rb") as fh:
            return (version, fh.read())
    except OSError:
        from . import _schema

        return (version, _schema_data(_schema.SCHEMA, _schema.DEFAULTS))


def _schema_data(schema: object, defaults: object) -> bytes:
    return marshal.dumps((schema, defaults), 2)  # type: ignore[arg-type]  # dicts of tuples, str


def _validated_with(stamp: object) -> bool:
    """Whether the schema module this process imported is the one ``stamp`` (a
    :func:`_schema_stamp`) names. Checked on a cache miss before validated tables are stored: a
    process that imported an older schema before an in-place upgrade, or ran a stale ``.pyc``,
    must not file its result under the new file's key. Compares data: the loaded module's with
    that of the source the key holds, run apart (~1 ms, on a miss only)."""
    from . import _schema

    # (The version in the stamp is this process's own: only the schema part can disagree.)
    data = stamp[1] if isinstance(stamp, tuple) and len(stamp) == 2 else None
    if not isinstance(data, bytes):
        return False
    loaded = _schema_data(_schema.SCHEMA, _schema.DEFAULTS)
    if data == loaded:
        return True  # a sourceless install: the key is the data itself
    namespace: dict[str, object] = {"__name__": f"{__package__}._schema_check"}
    try:
        exec(compile(data, _SCHEMA_FILE, "exec"), namespace)
        return _schema_data(namespace["SCHEMA"], namespace["DEFAULTS"]) == loaded
    except Exception:
        return False


def find(start_dir: "str | None") -> "tuple[str | None, Entry | None]":
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


def _cache_file(path: str) -> "str | None":
    root = os.environ.get("LAZYMED_CACHE_DIR")
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "lazymed")
    if not root:
        return None
    # A 64-bit hash of the path, stable across runs (hash() is salted), with no hashlib import
    # and no Python-level loop: its bytes as an integer modulo the largest prime below 2**64.
    # An entry also stores its path, so two paths sharing a name only ever miss, never mix.
    h = int.from_bytes(path.encode("utf-8", "surrogateescape"), "little") % 0xFFFFFFFFFFFFFFC5
    return os.path.join(root, f"{h:016x}.marshal")


def read(path: str) -> Entry:
    """``(raw table, validated tables or None, stamp, cache file)`` of ``path``."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise config_error(f"{path}: cannot read the configuration file: {exc.strerror}") from None
    # The schema is part of the key: validated tables cached by another version stay unused.
    # ctime too: `cp -p` keeps size, mtime and inode, but nothing in user space sets ctime back.
    stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, _schema_stamp())
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


def _store(path: str, stamp: object, table: object, validated: object, cache: "str | None") -> None:
    if cache is not None:
        _write_cache(cache, (_CACHE_VERSION, path, stamp, table, validated))


def validated_tables(path: str, label: str, entry: "Entry | None" = None) -> "Validated":
    """The validated base table and profiles of ``path``, and the defaults they were validated
    against, from the cache when it has them (validation runs once per file version, not once
    per start)."""
    table, validated, stamp, cache = read(path) if entry is None else entry
    if validated is None:
        from . import _schema  # a cache miss only: off the install path
        from ._validate import validate_document

        base, profiles = validate_document(table if isinstance(table, dict) else {}, label)
        validated = (base, profiles, _schema.DEFAULTS)
        # Stored only under the key of the schema that validated it (see _validated_with).
        assert isinstance(stamp, tuple)
        if _validated_with(stamp[-1]):
            _store(path, stamp, table, validated, cache)
    return validated  # type: ignore[return-value]


def _parse(path: str) -> "dict[str, object] | None":
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


def _write_cache(cache: str, payload: "tuple[object, ...]") -> None:
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


# =========================================================================== layers


class Config:
    """The effective configuration: every layer applied and validated.

    ``table`` is the merged ``[tool.lazymed]`` without ``profiles`` (lists as tuples);
    ``sources`` maps each dotted key of ``table`` to where its value came from.
    """

    __slots__ = ("path", "profile", "profiles", "sources", "table")

    def __init__(
        self,
        path: "str | None",
        profile: "str | None",
        profiles: "tuple[str, ...]",
        table: "dict[str, object]",
        sources: "dict[str, str]",
    ) -> None:
        self.path = path
        self.profile = profile
        self.profiles = profiles
        self.table = table
        self.sources = sources

    def _modules(self, key: str) -> "tuple[str, ...]":
        value = self.table[key]
        assert isinstance(value, tuple)
        return value

    @property
    def lazy(self) -> "tuple[str, ...]":
        """Dotted names registered lazy (each covers its submodules)."""
        return self._modules("lazy")

    @property
    def critical(self) -> "tuple[str, ...]":
        """Dotted names imported at ``install()``, in order."""
        return self._modules("critical")

    @property
    def disabled_modules(self) -> "tuple[str, ...]":
        """Dotted names switched off (each covers its submodules)."""
        return self._modules("disabled_modules")

    @property
    def isolate(self) -> "dict[str, dict[str, object]]":
        """``[tool.lazymed.isolate.NAME]`` tables as given (defaults not filled in)."""
        value = self.table.get("isolate", {})
        assert isinstance(value, dict)
        return value

    @property
    def from_import(self) -> str:
        """``"eager"`` or ``"deferred"``."""
        return str(self.table["from_import"])

    @property
    def backend(self) -> str:
        """``"finder"`` (the default), ``"native"`` (PEP 810, Python 3.15+) or ``"auto"``."""
        return str(self.table["backend"])

    @property
    def deep(self) -> "tuple[str, ...]":
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


def merge(base: "dict[str, object]", top: "Mapping[str, object]") -> "dict[str, object]":
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
    sources: "dict[str, str]", table: "Mapping[str, object]", origin: str, prefix: str = ""
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
    raise config_error(
        f"environment variable {name}={raw!r}: expected 1/true/yes/on or 0/false/no/off"
    )


# --------------------------------------------------------------------------- loading


def load_config(
    config: "str | os.PathLike[str] | None" = None,
    *,
    profile: "str | None" = None,
    overrides: "Mapping[str, object] | None" = None,
    start_dir: "str | None" = None,
    environ: "Mapping[str, str] | None" = None,
    profile_from: str = "install(profile=...)",
) -> "Config":
    """Read, validate and layer the configuration.

    ``config`` (else ``$LAZYMED_CONFIG``) names the file, else the nearest pyproject.toml with a
    ``[tool.lazymed]`` table is used (see :func:`find`); ``profile`` (else
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
            entry = read(path)
        except ValueError as exc:  # ConfigError (os.stat's "embedded null byte" too)
            if not origin_hint:
                raise
            error = config_error(f"{exc}{origin_hint}")
            error.where = getattr(exc, "where", None)  # the structured fields travel too
            error.rejected = getattr(exc, "rejected", ())
            raise error from None
        if not isinstance(entry[0], dict):
            raise config_error(f"{path}{origin_hint}: no [tool.lazymed] table in this file")
    else:
        path, entry = find(start_dir)

    label = path if path is not None else "<no pyproject.toml>"
    if path is not None:
        table, profiles, defaults = validated_tables(path, label, entry)
    else:
        from ._schema import DEFAULTS  # without a file only: a cache hit carries the defaults

        table, profiles, defaults = {}, {}, DEFAULTS

    sources: dict[str, str] = {}
    _record_sources(sources, table, f"{label} [tool.lazymed]")

    active = profile if profile is not None else (env.get("LAZYMED_PROFILE") or None)
    if active is not None:
        if active not in profiles:
            defined = ", ".join(sorted(profiles)) or "none"
            via = profile_from if profile is not None else "LAZYMED_PROFILE"
            raise config_error(
                f"unknown profile {active!r} (from {via}); profiles defined in {label}: {defined}"
            )
        table = merge(table, profiles[active])
        _record_sources(sources, profiles[active], f"{label} [tool.lazymed.profiles.{active}]")

    if any(k.startswith(ENV_PREFIX) and k not in RESERVED_ENV for k in env):
        from ._validate import env_overrides, record_env_sources  # off the plain install path

        from_env = env_overrides(env)
        table = merge(table, from_env)
        record_env_sources(sources, from_env)

    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if given:
        if "profiles" in given:
            raise config_error("install(profiles=...): profiles can only be defined in the file")
        kw_table = _plainly_valid(given)
        if kw_table is None:  # something to check in depth, or an error to explain
            from ._schema import SCHEMA
            from ._validate import validate_table

            kw_table = validate_table(given, SCHEMA, "install() keyword")
        table = merge(table, kw_table)
        _record_sources(sources, kw_table, "install() keyword")

    table = merge(defaults, table)
    result = Config(path, active, tuple(sorted(profiles)), table, sources)
    _check_roles(result)
    if result.table.get("isolate"):
        from ._validate import check_isolate_keys  # with [tool.lazymed.isolate.*] tables only

        check_isolate_keys(result)
    if any(key.startswith("memory.") for key in sources):
        from ._validate import check_memory_order  # with memory settings only

        check_memory_order(result)
    return result


def _is_module_name(name: object) -> bool:
    return isinstance(name, str) and bool(name) and all(p.isidentifier() for p in name.split("."))


def _plainly_valid(given: "Mapping[str, object]") -> "dict[str, object] | None":
    """What ``_validate.validate_table`` returns for ``install()`` keywords that are plainly
    valid (lists of distinct dotted names, a listed choice), without importing it; ``None`` for
    anything else, which the validator then checks and explains. Keeps keyword installs on the
    same start-up path as file-only ones."""
    out: dict[str, object] = {}
    for key, value in given.items():
        if key in KEYWORD_MODULES and isinstance(value, list | tuple):
            names = tuple(value)
            if not all(_is_module_name(n) for n in names) or len(set(names)) != len(names):
                return None
            out[key] = names
        elif isinstance(value, str) and value in KEYWORD_CHOICES.get(key, ()):
            out[key] = value
        else:
            return None
    return out


def _covers(outer: str, inner: str) -> bool:
    return inner == outer or inner.startswith(outer + ".")


def _check_roles(cfg: "Config") -> None:
    """Cross-key rules: no name both lazy and critical, or both disabled and critical."""
    for name in cfg.critical:
        for lazy in cfg.lazy:
            if _covers(lazy, name):
                raise config_error(
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
                raise config_error(
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
    if _is_module_name(name):
        return name  # type: ignore[return-value]  # checked by _is_module_name
    from ._validate import check_module_name as explain  # raises with the full message

    return explain(name, where)

"""``[tool.lazymed]``: layer it (finding and reading the file is :mod:`lazymed._pyproject`).

Layers, lowest first: defaults < the file's ``[tool.lazymed]`` < the active profile
``[tool.lazymed.profiles.NAME]`` < environment variables ``LAZYMED_*`` < ``install()`` keywords.
Tables merge key by key; everything else (lists, strings, numbers) replaces.

Core layer: standard library only, and cheap: validation (:mod:`lazymed._validate`) is imported
only on a parse-cache miss, for environment overrides or keywords, or to explain an error.
"""

import os

from ._keys import DEFAULTS, ENV_PREFIX, FALSE_WORDS, RESERVED_ENV, SCHEMA, TRUE_WORDS
from ._pyproject import Entry, config_error, find, read, validated_tables

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


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
    def isolate(self) -> dict[str, dict[str, object]]:
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


def _record_env_sources(
    sources: dict[str, str], table: "Mapping[str, object]", path: tuple[str, ...] = ()
) -> None:
    for key, value in table.items():
        if isinstance(value, dict):
            _record_env_sources(sources, value, (*path, key))
        else:
            dotted = ".".join((*path, key))
            sources[dotted] = f"environment {ENV_PREFIX}{'__'.join((*path, key)).upper()}"


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
    raise config_error(
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
    profile_from: str = "install(profile=...)",
) -> "Config":
    """Read, validate and layer the configuration.

    ``config`` (else ``$LAZYMED_CONFIG``) names the file, else the nearest pyproject.toml with a
    ``[tool.lazymed]`` table is used (see :func:`lazymed._pyproject.find`); ``profile`` (else
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
    table, profiles = validated_tables(path, label, entry) if path is not None else ({}, {})

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

    from_env: dict[str, object] = {}
    if any(k.startswith(ENV_PREFIX) and k not in RESERVED_ENV for k in env):
        from ._validate import env_overrides  # validation stays off the plain install path

        from_env = env_overrides(env)
    table = merge(table, from_env)
    _record_env_sources(sources, from_env)

    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if given:
        if "profiles" in given:
            raise config_error("install(profiles=...): profiles can only be defined in the file")
        kw_table = _plainly_valid(given)
        if kw_table is None:  # something to check in depth, or an error to explain
            from ._validate import validate_table

            kw_table = validate_table(given, SCHEMA, "install() keyword")
        table = merge(table, kw_table)
        _record_sources(sources, kw_table, "install() keyword")

    table = merge(DEFAULTS, table)
    result = Config(path, active, tuple(sorted(profiles)), table, sources)
    _check_roles(result)
    _check_required(result)
    if any(key.startswith("memory.") for key in sources):
        _check_memory(result)
    return result


def _check_required(cfg: "Config") -> None:
    """Keys every entry of a named-tables kind needs once all layers are merged (a profile or a
    variable may set some keys of an entry that the file defines)."""
    for key, kind in SCHEMA.items():
        if kind[0] != "named":
            continue
        entries = cfg.table.get(key)
        assert isinstance(entries, dict)
        for name, entry in entries.items():
            assert isinstance(entry, dict)
            required_keys = kind[2]  # ("named", schema, required keys)
            assert isinstance(required_keys, tuple)
            for required in required_keys:
                if required not in entry:
                    given = sorted(entry)
                    origin = cfg.describe(f"{key}.{name}.{given[0]}") if given else "?"
                    raise config_error(
                        f"[tool.lazymed.{key}.{name}] (set in {origin}) has no {required!r} key; "
                        f"add {required} = ... to [tool.lazymed.{key}.{name}] in the file"
                    )


def _is_module_name(name: object) -> bool:
    return isinstance(name, str) and bool(name) and all(p.isidentifier() for p in name.split("."))


def _plainly_valid(given: "Mapping[str, object]") -> "dict[str, object] | None":
    """What ``_validate.validate_table`` returns for ``install()`` keywords that are plainly
    valid (lists of distinct dotted names, a listed choice), without importing it; ``None`` for
    anything else, which the validator then checks and explains. Keeps keyword installs on the
    same start-up path as file-only ones."""
    out: dict[str, object] = {}
    for key, value in given.items():
        kind = SCHEMA.get(key)
        if kind is None:
            return None
        if kind[0] == "modules" and isinstance(value, list | tuple):
            names = tuple(value)
            if not all(_is_module_name(n) for n in names) or len(set(names)) != len(names):
                return None
            out[key] = names
        elif kind[0] == "choice" and isinstance(value, str) and value in kind[1]:  # type: ignore[operator]
            out[key] = value
        else:
            return None
    return out


def _check_memory(cfg: "Config") -> None:
    """Thresholds given in megabytes must be in order (percentages are checked by
    lazymed.memory once the container's limit is known)."""
    memory = cfg.table.get("memory")
    if not isinstance(memory, dict):
        return
    from ._validate import check_thresholds

    keys = ("budget_mb", "warning_mb", "critical_mb", "emergency_mb")
    plain = {k: float(v) for k in keys if isinstance(v := memory.get(k), int | float)}
    check_thresholds(plain, lambda key: cfg.describe(f"memory.{key}"))


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

"""Validation of ``[tool.lazymed]`` tables and ``LAZYMED_*`` variables, and their messages.

Imported only when something must be validated: a config-cache miss, ``LAZYMED_*`` overrides,
``install()`` keywords, or an error to explain. A cache hit with none of those never loads it,
which keeps ``import lazymed; lazymed.install()`` within its start-up budget.
"""

import itertools
import math

from ._config import ENV_PREFIX, FALSE_WORDS, RESERVED_ENV, TRUE_WORDS
from ._errors import ConfigError
from ._schema import SCHEMA

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from ._config import Config
    from ._schema import Kind, Schema


def _suggest(word: str, choices: "Iterable[str]") -> str:
    from ._typos import close_matches  # error path only

    close = close_matches(word, choices, suffixes=True)
    return f" Did you mean {close[0]!r}?" if close else ""


def _unknown_key(
    where: str, key: str, schema: "Mapping[str, object]", extra: tuple[str, ...] = ()
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
            "no relative names, spaces or empty parts)",
            where=where,
            rejected=(name,),
        )
    return name


def check_table_name(name: object, where: str) -> str:
    """``name`` if it can name a sub-table (``rag``, ``big_index``): lower-case ASCII letters,
    digits and single underscores, starting with a letter, so that
    ``LAZYMED_<TABLE>__<NAME>__<KEY>`` maps back to it. Raises ConfigError naming ``where``."""
    ok = (
        isinstance(name, str)
        and name[:1].isascii()
        and name[:1].isalpha()
        and name.islower()
        and all(c.isascii() and (c.isalnum() or c == "_") for c in name)
        and "__" not in name
        and not name.endswith("_")
    )
    if not ok:
        raise ConfigError(
            f"{where}: {name!r} cannot name a table here: use lower-case letters, digits and "
            "single underscores, starting with a letter (like 'rag' or 'big_index')"
        )
    assert isinstance(name, str)
    return name


def check_ref(value: object, where: str) -> str:
    """``value`` if it is a ``"package.module:attribute.path"`` reference (as in entry points);
    else ConfigError naming ``where``."""
    if isinstance(value, str):
        module, sep, attr = value.partition(":")
        parts = [*module.split("."), *attr.split(".")]
        if sep and all(part.isidentifier() for part in parts):
            return value
    raise ConfigError(
        f"{where}: expected 'package.module:callable' (an importable module, a colon, then the "
        f"attribute to call, like 'medapp.services.knowledge:build_index'), got {value!r}"
    )


_C_INT_MAX = 2**31 - 1  # settings handed to C functions taking an int (mallopt, gc thresholds)


def check_mb_or_percent(value: object, where: str) -> "float | str":
    """A threshold: megabytes (a number >= 0) or a percentage string ``"70%"`` (0 < p <= 100,
    returned normalised as ``"70%"``). Raises ConfigError naming ``where``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0 or not math.isfinite(value):  # NaN and infinity too
            raise ConfigError(f"{where}: megabytes must be a finite number >= 0, got {value!r}")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            try:
                percent = float(text[:-1])
            except ValueError:
                percent = -1.0
            if 0 < percent <= 100:
                return f"{percent:g}%"
    raise ConfigError(
        f"{where}: expected megabytes (a number such as 200) or a percentage of the container's "
        f'memory limit (a string such as "70%", more than 0 and at most 100), got {value!r}'
    )


def check_thresholds(values: "Mapping[str, float]", describe: "Callable[[str], str]") -> None:
    """Raise ConfigError unless ``budget_mb <= warning_mb < critical_mb < emergency_mb``.

    ``values`` maps those keys (present ones only) to megabytes; ``describe(key)`` says where a
    key's value came from (file and table, profile, variable). Used by lazymed.memory once
    percentages are resolved, and at load time for plain megabytes.
    """
    order = ("budget_mb", "warning_mb", "critical_mb", "emergency_mb")
    present = [(key, values[key]) for key in order if key in values]
    for (low_key, low), (high_key, high) in itertools.pairwise(present):
        bad = low > high if low_key == "budget_mb" else low >= high
        if bad:
            relation = "<=" if low_key == "budget_mb" else "<"
            raise ConfigError(
                f"[tool.lazymed.memory]: thresholds out of order: {low_key} = {low:g} MB "
                f"({describe(low_key)}) must be {relation} {high_key} = {high:g} MB "
                f"({describe(high_key)}); expected budget_mb <= warning_mb < critical_mb < "
                "emergency_mb"
            )


def _validate_value(value: object, kind: "Kind", where: str) -> object:
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
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        low = kind[1] if len(kind) > 1 else None
        if isinstance(low, int | float) and value < low:
            raise ConfigError(f"{where}: must be >= {low}, got {value!r}")
        high = kind[2] if len(kind) > 2 else None
        if isinstance(high, int | float) and value > high:
            raise ConfigError(f"{where}: must be <= {high}, got {value!r}")
        return value
    if tag == "ref":
        return check_ref(value, where)
    if tag == "ints":
        low, most = kind[1], kind[2]
        assert isinstance(low, int) and isinstance(most, int)
        if (
            not isinstance(value, list | tuple)
            or not 1 <= len(value) <= most
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise ConfigError(f"{where}: expected a list of 1 to {most} integers, got {value!r}")
        if any(v < low for v in value):
            raise ConfigError(f"{where}: every value must be >= {low}, got {value!r}")
        if any(v > _C_INT_MAX for v in value):  # they reach C (gc.set_threshold)
            raise ConfigError(f"{where}: every value must be <= {_C_INT_MAX}, got {value!r}")
        return tuple(value)
    if tag == "mb_or_percent":
        return check_mb_or_percent(value, where)
    if tag == "names":
        if not isinstance(value, list | tuple) or not all(
            isinstance(item, str) and item.strip() for item in value
        ):
            raise ConfigError(
                f'{where}: expected a list of action names (strings, e.g. ["gc", '
                f'"malloc_trim"] or ["*"] for every registered action), got {value!r}'
            )
        return tuple(item.strip() for item in value)
    if tag == "table":
        sub = kind[1]
        assert isinstance(sub, dict)
        return validate_table(value, sub, where)
    if tag == "named":
        sub = kind[1]
        assert isinstance(sub, dict)
        if not isinstance(value, dict):
            raise ConfigError(
                f"{where}: expected a table of named tables, got {type(value).__name__} {value!r}"
            )
        out: dict[str, object] = {}
        for name, entry in value.items():
            check_table_name(name, where)
            entry_where = f"{where[:-1]}.{name}]" if where.endswith("]") else f"{where}.{name}"
            out[name] = validate_table(entry, sub, entry_where)
        return out
    raise AssertionError(f"unknown schema kind {tag!r}")  # pragma: no cover - schema bug


def validate_table(
    table: object, schema: "Schema", where: str, extra: tuple[str, ...] = ()
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
        if kind[0] in ("table", "named") and where.endswith("]"):
            sub_where = f"{where[:-1]}.{key}]"
        else:
            sub_where = f"{where} key {key!r}"
        out[key] = _validate_value(value, kind, sub_where)
    return out


def _env_names(schema: "Schema") -> dict[str, tuple[str, ...]]:
    names: dict[str, tuple[str, ...]] = {}
    for key, kind in schema.items():
        if kind[0] == "named":
            continue  # LAZYMED_<KEY>__<NAME>__<SUBKEY>: see _named_env_path
        if kind[0] == "table":
            sub = kind[1]
            assert isinstance(sub, dict)
            for subkey in sub:
                names[f"{ENV_PREFIX}{key.upper()}__{subkey.upper()}"] = (key, subkey)
        else:
            names[f"{ENV_PREFIX}{key.upper()}"] = (key,)
    return names


def _named_env_path(name: str, schema: "Schema") -> tuple[str, ...] | None:
    """``(table, entry name, key)`` for ``LAZYMED_<TABLE>__<NAME>__<KEY>`` of a named-tables
    kind (``LAZYMED_ISOLATE__RAG__WARM`` -> ``isolate.rag.warm``), else None."""
    for key, kind in schema.items():
        prefix = f"{ENV_PREFIX}{key.upper()}__"
        if kind[0] != "named" or not name.startswith(prefix):
            continue
        entry, sep, subkey = name[len(prefix) :].rpartition("__")
        sub = kind[1]
        assert isinstance(sub, dict)
        lowered = subkey.lower()
        if sep and entry and lowered in sub and subkey == subkey.upper():
            check_table_name(entry.lower(), f"environment variable {name}")
            return (key, entry.lower(), lowered)
        valid = ", ".join(sorted(sub))
        raise ConfigError(
            f"environment variable {name}: expected {prefix}<NAME>__<KEY> with KEY one of "
            f"{valid.upper()}"
        )
    return None


def _parse_env_value(name: str, raw: str, kind: "Kind") -> object:
    tag = kind[0]
    if tag in ("modules", "names"):
        if not raw.strip():
            return []  # set but empty: an empty list
        items = [item.strip() for item in raw.split(",")]
        if len(items) > 1 and items[-1] == "":
            items.pop()  # one trailing comma, as in a TOML or Python list
        if "" in items:
            raise ConfigError(
                f"environment variable {name}={raw!r}: an empty name between commas "
                "(expected names separated by single commas, or an empty value for none)"
            )
        return items
    if tag == "ints":
        try:
            return [int(item) for item in raw.split(",")]
        except ValueError:
            raise ConfigError(
                f"environment variable {name}={raw!r}: expected integers separated by commas"
            ) from None
    if tag == "mb_or_percent":
        text = raw.strip()
        if text.endswith("%"):
            return text
        try:
            return float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            return text  # validation names the variable
    if tag == "bool":
        value = raw.strip().lower()
        if value in TRUE_WORDS:
            return True
        if value in FALSE_WORDS:
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


def env_overrides(environ: "Mapping[str, str]", schema: "Schema" = SCHEMA) -> dict[str, object]:
    """The settings given as ``LAZYMED_<KEY>`` / ``LAZYMED_<TABLE>__<KEY>`` variables, validated.

    Raises ConfigError naming the variable for a bad value, and for any unknown ``LAZYMED_*``
    variable (listing the valid ones): a typo is never silently ignored.
    """
    names = _env_names(schema)
    table: dict[str, object] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        path = names.get(name) or _named_env_path(name, schema)
        if path is None:
            valid = sorted([*names, *RESERVED_ENV])
            valid += [
                f"{ENV_PREFIX}{k.upper()}__<NAME>__<KEY>"
                for k, v in schema.items()
                if v[0] == "named"
            ]
            raise ConfigError(
                f"unknown environment variable {name}.{_suggest(name, valid)} "
                f"Valid lazymed variables: {', '.join(valid)}."
            )
        kind = schema[path[0]]
        if len(path) >= 2:
            sub = kind[1]
            assert isinstance(sub, dict)
            kind = sub[path[-1]]
        value = _validate_value(
            _parse_env_value(name, raw, kind), kind, f"environment variable {name}"
        )
        if len(path) == 3:
            outer = table.setdefault(path[0], {})
            assert isinstance(outer, dict)
            outer.setdefault(path[1], {})[path[2]] = value
        elif len(path) == 2:
            inner = table.setdefault(path[0], {})
            assert isinstance(inner, dict)
            inner[path[1]] = value
        else:
            table[path[0]] = value
    return table


def validate_document(
    raw: "Mapping[str, object]", label: str
) -> tuple[dict[str, object], dict[str, dict[str, object]]]:
    """The validated base table and profiles of a file's raw ``[tool.lazymed]`` table.
    Raises ConfigError naming ``label`` (the file), the table and the key."""
    raw = dict(raw)
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
    return table, profiles


def check_install_arguments(config: object, profile: object) -> "str | None":
    """``install()``'s ``config`` as a path string (``os.PathLike`` converted); ConfigError
    naming the keyword for a value of the wrong type (a path as ``str`` or ``os.PathLike``; a
    profile name as ``str``), or a NUL byte in the path."""
    import os

    if profile is not None and not isinstance(profile, str):
        raise ConfigError(
            f"install() keyword 'profile': expected a profile name (str), got "
            f"{type(profile).__name__} {profile!r}"
        )
    if config is None:
        return None
    path = os.fspath(config) if isinstance(config, os.PathLike) else config
    if not isinstance(path, str):
        raise ConfigError(
            f"install() keyword 'config': expected the path of a pyproject.toml (str or "
            f"os.PathLike), got {type(config).__name__} {config!r}"
        )
    if "\0" in path:
        raise ConfigError(f"install() keyword 'config': {path!r} contains a NUL byte")
    return path


def reinstall_message(current: "Config | None", new: "Config") -> str:
    """Why a second ``install()`` is refused: where each configuration came from and the keys
    (and profile, file) in which they differ."""

    def origin(cfg: "Config | None") -> str:
        if cfg is None:
            return "nothing"
        return cfg.path or "install() keywords / LAZYMED_* variables"

    differing = []
    if current is not None:
        keys = sorted(set(current.table) | set(new.table))
        differing = [k for k in keys if current.table.get(k) != new.table.get(k)]
        if current.profile != new.profile:
            differing.append(f"profile ({current.profile!r} -> {new.profile!r})")
        if current.path != new.path:
            differing.append(f"file ({current.path} -> {new.path})")
    return (
        f"lazymed is already installed with a different configuration (from {origin(current)}); "
        f"this one (from {origin(new)}) differs in: {', '.join(differing) or 'settings'}. "
        "Call lazymed.uninstall() first, or install once per process."
    )


# --------------------------------------------------------------------------- after layering


def record_env_sources(
    sources: "dict[str, str]", table: "Mapping[str, object]", path: "tuple[str, ...]" = ()
) -> None:
    """Record ``environment LAZYMED_...`` as the source of each leaf key of ``table``."""
    for key, value in table.items():
        if isinstance(value, dict):
            record_env_sources(sources, value, (*path, key))
        else:
            dotted = ".".join((*path, key))
            sources[dotted] = f"environment {ENV_PREFIX}{'__'.join((*path, key)).upper()}"


def check_isolate_keys(cfg: "Config") -> None:
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
                    raise ConfigError(
                        f"[tool.lazymed.{key}.{name}] (set in {origin}) has no {required!r} key; "
                        f"add {required} = ... to [tool.lazymed.{key}.{name}] in the file"
                    )


def check_memory_order(cfg: "Config") -> None:
    """Thresholds given in megabytes must be in order (percentages are checked by
    lazymed.memory once the container's limit is known)."""
    memory = cfg.table.get("memory")
    if not isinstance(memory, dict):
        return
    keys = ("budget_mb", "warning_mb", "critical_mb", "emergency_mb")
    plain = {k: float(v) for k in keys if isinstance(v := memory.get(k), int | float)}
    check_thresholds(plain, lambda key: cfg.describe(f"memory.{key}"))

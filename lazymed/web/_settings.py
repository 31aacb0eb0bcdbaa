"""``[tool.lazymed.web]`` resolved: the validated table (declared in core ``_config.py``) plus
keyword arguments, with the checks that need more than a kind (the prefix's shape)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from .._errors import ConfigError
from .._schema import WEB, WEB_DEFAULTS
from .._validate import validate_table

# A URL path prefix: "/a/b", lower/upper letters, digits, "-", "_", "."; no trailing slash.
_PREFIX = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclasses.dataclass(frozen=True, slots=True)
class WebSettings:
    """The web layer's effective settings (see docs/web.md). ``token_env`` names the
    environment variable holding the bearer token; the token itself is never stored here."""

    enabled: bool = False
    prefix: str = "/memory"
    token_env: str = "LAZYMED_WEB_TOKEN"
    public_stats: bool = False
    loopback_only: bool = False
    optimize_interval_s: float = 10.0
    max_body_bytes: int = 65536
    history: int = 512
    sample_interval_s: float = 5.0


def _config_table() -> tuple[Mapping[str, Any], str]:
    from .._config import load_config
    from .._registry import REGISTRY

    config = REGISTRY.config if REGISTRY.config is not None else load_config()
    table = config.table.get("web", {})
    assert isinstance(table, dict)
    return table, (config.path or "the configuration")


def resolve(table: Mapping[str, Any] | None = None, **keywords: Any) -> WebSettings:
    """Settings from ``table`` (default: ``[tool.lazymed.web]`` of the installed config, else
    of the project's pyproject.toml) with ``keywords`` on top (``None`` values ignored).
    Raises ConfigError naming the file (or "keyword") and the key, with a hint."""
    if table is None:
        table, where = _config_table()
    else:
        where = "the web settings"
        table = validate_table(dict(table), WEB, f"{where} [tool.lazymed.web]")
    given = {k: v for k, v in keywords.items() if v is not None}
    kw = validate_table(given, WEB, "keyword arguments of lazymed.web")
    merged: dict[str, Any] = {**WEB_DEFAULTS, **table, **kw}
    source = {k: ("keyword argument" if k in kw else f"{where} [tool.lazymed.web]") for k in merged}
    prefix = merged["prefix"]
    if not _PREFIX.match(prefix):
        raise ConfigError(
            f"{source['prefix']} key 'prefix': {prefix!r} is not a URL path prefix; "
            "hint: start with '/', no trailing slash, letters, digits, '.', '_' or '-' "
            "(e.g. '/memory' or '/ops/memory')"
        )
    if not _ENV_NAME.match(merged["token_env"]):
        raise ConfigError(
            f"{source['token_env']} key 'token_env': {merged['token_env']!r} is not an "
            "environment variable name; hint: name the variable that holds the token "
            "(e.g. 'LAZYMED_WEB_TOKEN'), never the token itself"
        )
    return WebSettings(
        enabled=bool(merged["enabled"]),
        prefix=prefix,
        token_env=merged["token_env"],
        public_stats=bool(merged["public_stats"]),
        loopback_only=bool(merged["loopback_only"]),
        optimize_interval_s=float(merged["optimize_interval_s"]),
        max_body_bytes=int(merged["max_body_bytes"]),
        history=int(merged["history"]),
        sample_interval_s=float(merged["sample_interval_s"]),
    )

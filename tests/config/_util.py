"""Helpers shared by the configuration tests."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from lazymed._registry import LazyFinder


def write_pyproject(directory: Path, body: str) -> Path:
    """Write ``directory/pyproject.toml`` with ``body`` (dedented); return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "pyproject.toml"
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def finders() -> list[object]:
    """The lazymed finders currently on ``sys.meta_path``."""
    return [f for f in sys.meta_path if isinstance(f, LazyFinder)]


def subprocess_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a fresh interpreter: a private config cache plus ``extra``."""
    env = {"LAZYMED_CACHE_DIR": str(tmp_path / "subprocess-cache")}
    env.update(extra)
    return env


def write_script(path: Path, body: str) -> Path:
    """Write a Python script that ends by printing one JSON document (see ``REPORT``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body).lstrip())
    return path


#: Script tail: print where install() found its configuration and which names it registered.
REPORT = textwrap.dedent(
    """
    import json
    import lazymed
    from lazymed._registry import REGISTRY

    st = lazymed.status()
    cfg = REGISTRY.config
    print(json.dumps({
        "installed": st.installed,
        "config_path": st.config_path,
        "profile": st.profile,
        "lazy": list(cfg.lazy) if cfg else None,
        "disabled": list(cfg.disabled_modules) if cfg else None,
    }))
    """
)


def last_json(stdout: str) -> object:
    return json.loads(stdout.strip().splitlines()[-1])

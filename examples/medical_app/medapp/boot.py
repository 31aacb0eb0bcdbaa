"""Choose how the app imports its heavy dependencies: eagerly (plain Python) or lazily.

Call :func:`boot` *before* importing :mod:`medapp.app`. The same application code then runs
either way; only the import system differs.

Environment (read when the argument is None):

* ``MEDICAL_APP_LAZY`` -- ``1``/``true``/``yes`` to call ``lazymed.install()`` with this app's
  ``pyproject.toml`` ([tool.lazymed]); anything else or unset for plain eager imports.
* ``MEDICAL_APP_PROFILE`` -- a profile of that table, e.g. ``development`` (lazy mode only).
* ``MEDICAL_APP_ISOLATED`` -- ``1`` for lazy mode with the ``isolated`` profile: the RAG index
  runs in a worker process (``[tool.lazymed.profiles.isolated.isolate.rag]``, warm at start-up),
  so llama-index never loads in the server process.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent
CONFIG = APP_DIR / "pyproject.toml"

_TRUE = ("1", "true", "yes", "on")
_state: dict[str, str | None] = {"mode": None, "profile": None}


def boot(lazy: bool | None = None, profile: str | None = None, isolated: bool | None = None) -> str:
    """Install lazymed (lazy or isolated mode) or do nothing (eager mode); return ``"lazy"``,
    ``"isolated"`` or ``"eager"``.

    Raises ValueError when a profile is asked for in eager mode (profiles are lazymed's) or
    beside isolated mode (which is the profile ``isolated``), and whatever ``lazymed.install``
    raises (``lazymed.ConfigError`` for a bad table or profile).
    """
    if lazy is None:
        lazy = os.environ.get("MEDICAL_APP_LAZY", "").strip().lower() in _TRUE
    if profile is None:
        profile = os.environ.get("MEDICAL_APP_PROFILE", "").strip() or None
    if isolated is None:
        isolated = os.environ.get("MEDICAL_APP_ISOLATED", "").strip().lower() in _TRUE
    if isolated:
        if profile is not None:
            raise ValueError(f"isolated mode is the profile 'isolated'; got profile {profile!r}")
        import lazymed

        profile = "isolated"
        lazymed.install(config=CONFIG, profile=profile)
        mode = "isolated"
    elif lazy:
        import lazymed

        lazymed.install(config=CONFIG, profile=profile)
        mode = "lazy"
    elif profile is not None:
        raise ValueError(f"profile {profile!r} needs lazy mode (MEDICAL_APP_LAZY=1)")
    else:
        mode = "eager"
    _state["mode"] = mode
    _state["profile"] = profile
    return mode


def mode() -> str:
    """``"lazy"``, ``"isolated"`` or ``"eager"`` as chosen by :func:`boot` (``"eager"`` if it
    never ran)."""
    return _state["mode"] or "eager"


def profile() -> str | None:
    """The lazymed profile passed to :func:`boot`, or None."""
    return _state["profile"]

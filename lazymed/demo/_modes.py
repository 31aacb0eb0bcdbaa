"""The modes the demo can start the app in: one table, so a new mode is one entry.

A mode is the environment that switches the app (``examples/medical_app/medapp/boot.py`` reads
``MEDICAL_APP_*``). ``profiled`` says whether ``--profile NAME`` applies to it (it selects a
``[tool.lazymed.profiles.NAME]`` table, which only means something where lazymed is installed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mode:
    """How to start the app in one mode: ``env`` is added to the child's environment."""

    name: str
    description: str
    env: Mapping[str, str] = field(default_factory=dict)
    profiled: bool = False


#: Every mode, by name, in the order the table shows them.
MODES: dict[str, Mode] = {
    "eager": Mode("eager", "plain Python imports", {"MEDICAL_APP_LAZY": "0"}),
    "lazy": Mode(
        "lazy",
        "lazymed.install() with the app's [tool.lazymed]",
        {"MEDICAL_APP_LAZY": "1"},
        profiled=True,
    ),
    "deep": Mode(
        "deep",
        "lazymed's native backend with deep laziness (profile 'deep'; Python 3.15+, PEP 810)",
        {"MEDICAL_APP_LAZY": "1", "MEDICAL_APP_PROFILE": "deep"},
    ),
    "isolated": Mode(
        "isolated",
        "lazymed, with the RAG index in a warm lazymed.isolate worker (profile 'isolated')",
        {"MEDICAL_APP_LAZY": "1", "MEDICAL_APP_ISOLATED": "1"},
    ),
}

#: The modes ``lazymed demo`` runs by default, in this order (eager first: the baseline).
#: ``deep`` (Python 3.15+) is run on request: ``--modes eager,lazy,deep``.
DEFAULT_MODES = ("eager", "lazy", "isolated")


def mode_env(name: str, profile: str | None) -> dict[str, str]:
    """The ``MEDICAL_APP_*`` variables for mode ``name`` (under ``profile`` when the mode
    takes one). Raises ValueError naming the known modes for an unknown one."""
    try:
        mode = MODES[name]
    except KeyError:
        known = ", ".join(MODES)
        raise ValueError(f"unknown demo mode {name!r} (known: {known})") from None
    env = dict(mode.env)
    if mode.profiled:
        env["MEDICAL_APP_PROFILE"] = profile or ""
    else:  # a mode may be a fixed profile (deep)
        env.setdefault("MEDICAL_APP_PROFILE", "")
    env["MEDICAL_APP_INTROSPECT"] = "1"
    return env

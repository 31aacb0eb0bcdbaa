"""Where the reference medical app is, and what the demo asks it.

The app (``examples/medical_app``) ships with lazymed's source, not inside the wheel: it is a
program with its own ``pyproject.toml``, corpus and heavy dependencies. :func:`find_app_dir`
finds it from an explicit path, ``$LAZYMED_DEMO_APP``, the working directory, or the source
checkout this ``lazymed`` package runs from, and otherwise says how to get it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lazymed.demo._model import DemoSetupError

#: The environment variable naming the app directory.
APP_ENV = "LAZYMED_DEMO_APP"
#: Where the app lives in a source checkout or sdist, relative to its root.
APP_SUBDIR = Path("examples") / "medical_app"

#: The packages the eager app imports at start-up (the warm-up imports them once, untimed).
HEAVY_MODULES = ("flask", "google.cloud.storage", "firebase_admin", "supabase", "llama_index.core")

TRIAGE_REQUEST: dict[str, Any] = {
    "age": 81,
    "complaint": "new confusion and fever, urine smells strong",
    "pain": 2,
    "vitals": {
        "respiratory_rate": 24,
        "spo2": 93,
        "on_oxygen": False,
        "systolic_bp": 96,
        "heart_rate": 118,
        "consciousness": "C",
        "temperature": 38.9,
    },
}
RAG_REQUEST: dict[str, Any] = {
    "question": "wasp sting with swollen lips and low blood pressure: which drug first?",
    "top_k": 3,
}


def is_app_dir(path: Path) -> bool:
    """Whether ``path`` holds the medical app: ``serve.py``, ``pyproject.toml`` and ``medapp/``."""
    return (
        (path / "serve.py").is_file()
        and (path / "pyproject.toml").is_file()
        and (path / "medapp").is_dir()
    )


def package_parent() -> Path:
    """The directory that holds the ``lazymed`` package this code runs from (the root of a
    source checkout, or ``site-packages`` for an installed wheel). Children get it first on
    PYTHONPATH so that they run this same lazymed."""
    return Path(__file__).resolve().parent.parent.parent


def find_app_dir(
    explicit: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] = os.environ,
    cwd: Path | None = None,
) -> Path:
    """The medical app directory, absolute. Looked for in this order, the first that names one
    wins:

    1. ``explicit`` (``--app-dir``), which must hold the app;
    2. ``$LAZYMED_DEMO_APP``, which must hold the app;
    3. ``./examples/medical_app``, then the working directory itself;
    4. ``examples/medical_app`` beside the ``lazymed`` package (a source checkout; an installed
       wheel has none).

    Raises DemoSetupError naming what was tried and how to get the app: it ships with the
    source (checkout or sdist), not with the wheel.
    """
    here = cwd or Path.cwd()
    given = [(str(explicit), "--app-dir")] if explicit is not None else []
    if not given and environ.get(APP_ENV):
        given = [(environ[APP_ENV], f"${APP_ENV}")]
    for text, origin in given:
        path = Path(text).expanduser()
        if is_app_dir(path):
            return path.resolve()
        raise DemoSetupError(
            f"{origin} {text!r} is not the medical app (it needs serve.py, pyproject.toml and "
            f"medapp/): point it at {APP_SUBDIR} of a lazymed source checkout or sdist"
        )
    candidates = [here / APP_SUBDIR, here, package_parent() / APP_SUBDIR]
    for candidate in candidates:
        if is_app_dir(candidate):
            return candidate.resolve()
    tried = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise DemoSetupError(
        f"medical app not found (looked in {tried}). It ships with lazymed's source, not with "
        f"the wheel: get a source checkout or sdist (pip download --no-binary :all: --no-deps "
        f"lazymed), then run from its root, pass --app-dir PATH/{APP_SUBDIR}, or set "
        f"{APP_ENV}=PATH/{APP_SUBDIR}"
    )

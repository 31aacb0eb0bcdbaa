"""lazymed: lazy imports for heavy dependencies, protected critical modules, measured memory.

``import lazymed; lazymed.install()`` at the top of an entrypoint reads ``[tool.lazymed]`` from
the project's pyproject.toml and puts a finder on ``sys.meta_path``. Registered packages then
import as lazy modules: nothing of theirs runs until an attribute is first used, after which they
are ordinary modules. This package's import path uses the standard library only.
"""

from __future__ import annotations

from ._errors import ConfigError, DisabledModuleError, LazymedWarning
from ._hooks import on_load
from ._install import enabled, install, uninstall

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._status import ModuleStatus, Status, status

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DisabledModuleError",
    "LazymedWarning",
    "ModuleStatus",
    "Status",
    "__version__",
    "enabled",
    "install",
    "on_load",
    "status",
    "uninstall",
]

_LATE = {"status", "Status", "ModuleStatus"}


def __getattr__(name: str) -> object:
    # PEP 562: status() and its record types load dataclasses, so they are imported on first use.
    if name in _LATE:
        from . import _status

        value = getattr(_status, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lazymed' has no attribute {name!r}")

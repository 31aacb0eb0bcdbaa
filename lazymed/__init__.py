"""lazymed: lazy imports for heavy dependencies, protected critical modules, measured memory.

``import lazymed; lazymed.install()`` at the top of an entrypoint reads ``[tool.lazymed]`` from
the project's pyproject.toml and puts a finder on ``sys.meta_path``. Registered packages then
import as lazy modules: nothing of theirs runs until an attribute is first used, after which they
are ordinary modules. This package's import path uses the standard library only.
"""

from ._install import enabled, install, uninstall

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._errors import ConfigError, DisabledModuleError, LazymedWarning
    from ._startup import warm
    from ._status import ModuleStatus, Status, status
    from .hooks import on_load
    from .memory._evict import EvictionReport, evict

# The one place the version is written: pyproject.toml reads it (setuptools' static `attr:`);
# nothing reads importlib.metadata at start-up (~52 ms).
__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DisabledModuleError",
    "EvictionReport",
    "LazymedWarning",
    "ModuleStatus",
    "Status",
    "__version__",
    "enabled",
    "evict",
    "install",
    "on_load",
    "status",
    "uninstall",
    "warm",
]

# Imported on first use (PEP 562), not by `import lazymed`: status() and its record types load
# dataclasses; on_load() may load wrapt; evict() loads the memory layer (psutil). The install
# path stays standard-library-small.
_LATE = {
    # the exceptions are only needed when one is raised or caught (an `except` clause evaluates
    # its class only then): one file less on the install path
    "ConfigError": "_errors",
    "DisabledModuleError": "_errors",
    "LazymedWarning": "_errors",
    "status": "_status",
    "Status": "_status",
    "ModuleStatus": "_status",
    "on_load": "hooks",
    "evict": "memory._evict",
    "EvictionReport": "memory._evict",
    "warm": "_startup",
}


def __getattr__(name: str) -> object:
    module_name = _LATE.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lazymed' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value
    return value

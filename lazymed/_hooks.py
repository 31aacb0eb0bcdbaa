"""The core of ``lazymed.on_load()``: callbacks run when a module lazymed manages really loads.

For a lazy or disabled module (or one already loaded) everything happens here. A name lazymed
does not manage and that is not imported yet needs a post-import hook from outside the core:
:mod:`lazymed.hooks` hands it to wrapt. Core layer: standard library only; imported on first use
of ``lazymed.on_load``.
"""

import sys

from ._config import check_module_name
from ._load import pending
from ._registry import REGISTRY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType


def add(name: str, callback: "Callable[[ModuleType], object]") -> bool:
    """Arrange ``callback(module)`` for when ``name`` has really run; run it now if it has.
    Returns False when ``name`` is neither managed by lazymed nor imported: the caller then
    needs a post-import hook. Raises ConfigError for a malformed name and TypeError for a
    non-callable ``callback``."""
    check_module_name(name, "lazymed.on_load()")
    if not callable(callback):
        raise TypeError(f"on_load callback must be callable, got {callback!r}")
    module = sys.modules.get(name)
    with REGISTRY.lock:
        if module is not None and pending(module) is None:
            run_now = True
        elif module is not None or REGISTRY.role_of(name) in ("lazy", "disabled"):
            REGISTRY.callbacks.setdefault(name, []).append(callback)
            return True
        else:
            return False
    if run_now:
        callback(module)
    return True


def deliver(name: str, module: "ModuleType", callback: "Callable[[ModuleType], object]") -> None:
    """A post-import hook fired for ``name``: call ``callback`` now, or, when install() made the
    name lazy since (the hook fires at the import statement, before the module ran), when the
    module really runs."""
    if pending(module) is not None:
        with REGISTRY.lock:
            REGISTRY.callbacks.setdefault(name, []).append(callback)
        return
    callback(module)

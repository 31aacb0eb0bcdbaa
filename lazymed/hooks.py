"""``lazymed.on_load()``: run a callback when a module really loads.

Outside the core (``lazymed/_*.py``, standard library only): for modules lazymed does not manage
it hands the callback to wrapt's post-import hooks. Imported on first use of ``lazymed.on_load``.
"""

import sys

from ._config import check_module_name
from ._module import pending
from ._registry import REGISTRY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType


def on_load(name: str, callback: "Callable[[ModuleType], object]") -> None:
    """Call ``callback(module)`` once ``name`` has really run.

    For a module lazymed manages (lazy or disabled) the callback runs right after its first use
    executes it, in the thread that triggered the load (never for a disabled module); an
    exception from it propagates from that access with a note. For a module already loaded it runs
    now. For any other module it is handed to ``wrapt.register_post_import_hook`` (wrapt is
    imported only then, ~86 ms) and runs when the module is imported — or, if ``install()`` made
    the name lazy in the meantime, when it really runs.
    Raises ConfigError for a malformed name and TypeError for a non-callable ``callback``.
    """
    check_module_name(name, "lazymed.on_load()")
    if not callable(callback):
        raise TypeError(f"on_load callback must be callable, got {callback!r}")
    module = sys.modules.get(name)
    with REGISTRY.lock:
        if module is not None and pending(module) is None:
            run_now = True
        elif module is not None or REGISTRY.role_of(name) in ("lazy", "disabled"):
            REGISTRY.callbacks.setdefault(name, []).append(callback)
            return
        else:
            run_now = False
    if run_now:
        callback(module)  # type: ignore[arg-type]
        return
    import wrapt  # only for modules lazymed does not manage

    def when_imported(module: "ModuleType") -> None:
        # install() may have made the name lazy since: wrapt then fires at the import
        # statement, before the module ran, so hand the callback to the real load.
        if pending(module) is not None:
            with REGISTRY.lock:
                REGISTRY.callbacks.setdefault(name, []).append(callback)
            return
        callback(module)

    wrapt.register_post_import_hook(when_imported, name)

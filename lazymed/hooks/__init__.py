"""``lazymed.on_load()``: run a callback when a module really loads.

A layer above the core: for modules lazymed does not manage it hands the callback to wrapt's
post-import hooks (wrapt is imported only then, ~86 ms). Everything else is the core's
(:mod:`lazymed._hooks`). Imported on first use of ``lazymed.on_load``.
"""

from .._hooks import add, deliver

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

__all__ = ["on_load"]


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
    if add(name, callback):
        return
    import wrapt  # only for modules lazymed does not manage

    def when_imported(module: "ModuleType") -> None:
        deliver(name, module, callback)

    wrapt.register_post_import_hook(when_imported, name)

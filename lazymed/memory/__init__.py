"""lazymed.memory: the memory governor (monitor, levels, actions, bounded caches, snapshot).

A layer above the core: ``import lazymed`` never imports it; psutil and cachetools (the
``memory`` extra) are imported here only. See docs/memory.md.
"""

from importlib import import_module as _import_module
from importlib.util import find_spec as _find_spec

from ._actions import (
    ORDER_CLEAR_CACHES,
    ORDER_EVICT,
    ORDER_GC,
    ORDER_MALLOC_TRIM,
    ORDER_STOP_ISOLATED,
    ORDER_USER,
    Action,
    ActionContext,
    ActionReport,
    ActionUnavailable,
    ChainReport,
    add_action,
    registered,
    remove_action,
)

__all__ = [
    "ORDER_CLEAR_CACHES",
    "ORDER_EVICT",
    "ORDER_GC",
    "ORDER_MALLOC_TRIM",
    "ORDER_STOP_ISOLATED",
    "ORDER_USER",
    "Action",
    "ActionContext",
    "ActionReport",
    "ActionUnavailable",
    "ChainReport",
    "add_action",
    "registered",
    "remove_action",
]

# Eviction lives in memory/_evict.py (written with lazymed.evict()); importing it registers the
# "evict" emergency action. Until that file exists the chain simply has no such action.
if _find_spec(f"{__name__}._evict") is not None:
    _import_module(f"{__name__}._evict")

"""The ``[tool.lazymed]`` schema: every key with its kind and default, as data.

Each layer above the core (memory, startup, web, isolate, ...) declares its sub-table here, so
the core validates the whole document without importing any layer. Imports nothing.

Off the install path: read on a parse-cache miss (by :mod:`lazymed._validate`), for
``LAZYMED_*`` overrides, without a ``[tool.lazymed]`` file, and by the layers. A cache hit carries
the defaults its tables were validated with, and the cache is keyed by lazymed's version and this
file's bytes (:mod:`lazymed._config`), so a start-up with a cached configuration never imports
it: ~0.06 ms of the ~1 ms install path (docs/architecture.md).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    Kind = tuple[object, ...]
    Schema = dict[str, Kind]

# A kind is a tuple whose first item names it; _validate.py interprets them:
# ("modules",), ("choice", options), ("bool",), ("str",), ("int"|"number", minimum[, maximum]),
# ("ref",) a "module:attribute" reference, ("table", schema),
# ("named", schema, required keys): a table of tables, one per user-chosen name, each with the
# fixed sub-schema (names: lower-case letters, digits, single underscores).
MODULES: "Kind" = ("modules",)

# [tool.lazymed.isolate.NAME]: a service run in a worker process (lazymed/isolate/). Data only:
# the core validates it without importing the layer.
ISOLATE: "Schema" = {
    "factory": ("ref",),
    "backend": ("choice", ("process", "ray")),
    "start_method": ("choice", ("spawn", "forkserver")),
    "warm": ("bool",),
    "idle_timeout_s": ("number", 0),
    "call_timeout_s": ("number", 0),
    "start_timeout_s": ("number", 0),
    "max_rss_mb": ("number", 0),
    "rss_check_interval_s": ("number", 0),
    "max_restarts": ("int", 0),
    "restart_window_s": ("number", 0),
    "restart_backoff_s": ("number", 0),
    "ray_address": ("str",),
}
#: Defaults of each [tool.lazymed.isolate.NAME] table (0 means "no limit" for the *_s/_mb keys).
ISOLATE_DEFAULTS: "dict[str, object]" = {
    "backend": "process",
    "start_method": "spawn",
    "warm": False,
    "idle_timeout_s": 0,
    "call_timeout_s": 0,
    "start_timeout_s": 300.0,
    "max_rss_mb": 0,
    "rss_check_interval_s": 1.0,
    "max_restarts": 5,
    "restart_window_s": 60.0,
    "restart_backoff_s": 0.5,
    "ray_address": "",
}
# Resident-memory thresholds: megabytes (a number >= 0) or a percentage string ("70%") of the
# container's limit (cgroup v2 memory.max, else memory.high), resolved by lazymed.memory.
MB_OR_PERCENT: "Kind" = ("mb_or_percent",)
# Names of governor actions (built in: gc, clear_caches, malloc_trim; registered by layers:
# stop_isolated, evict; users add their own). "*" means every action registered for the level.
ACTIONS: "Kind" = ("names",)

# [tool.lazymed.memory]: the memory governor (lazymed/memory/). Thresholds in order
# budget_mb <= warning_mb < critical_mb < emergency_mb (checked after percentages resolve).
MEMORY: "Schema" = {
    "enabled": ("bool",),
    "budget_mb": MB_OR_PERCENT,
    "warning_mb": MB_OR_PERCENT,
    "critical_mb": MB_OR_PERCENT,
    "emergency_mb": MB_OR_PERCENT,
    "vms_alert_mb": MB_OR_PERCENT,
    "interval_s": ("number", 0.01, 3600),
    "hysteresis": ("number", 0, 0.9),
    "min_dwell_s": ("number", 0, 86400),
    "history": ("int", 1, 100000),
    "evictable": MODULES,
    "warning_actions": ACTIONS,
    "critical_actions": ACTIONS,
    "emergency_actions": ACTIONS,
    "leak_warmup_s": ("number", 0, 86400 * 7),
    "leak_window_s": ("number", 1, 86400 * 7),
    "leak_min_slope_mb_h": ("number", 0, 1e9),
    "leak_min_r2": ("number", 0, 1),
}
MEMORY_DEFAULTS: "dict[str, object]" = {
    "enabled": True,
    "budget_mb": 50,
    "warning_mb": 100,
    "critical_mb": 200,
    "emergency_mb": 500,
    "vms_alert_mb": 500,
    "interval_s": 1.0,
    "hysteresis": 0.1,
    "min_dwell_s": 5.0,
    "history": 256,
    "evictable": (),
    "warning_actions": ("*",),
    "critical_actions": ("*",),
    "emergency_actions": ("*",),
    "leak_warmup_s": 120.0,
    "leak_window_s": 600.0,
    "leak_min_slope_mb_h": 10.0,
    "leak_min_r2": 0.8,
}
# [tool.lazymed.web]: the /memory endpoints (lazymed/web/). Off unless enabled; the token is read
# from the environment variable named by token_env (never from the file).
WEB: "Schema" = {
    "enabled": ("bool",),
    "prefix": ("str",),
    "token_env": ("str",),
    "public_stats": ("bool",),
    "loopback_only": ("bool",),
    "optimize_interval_s": ("number", 0, 86400),
    "max_body_bytes": ("int", 0, 1 << 30),
    "history": ("int", 2, 100000),
    "sample_interval_s": ("number", 0, 3600),
}
WEB_DEFAULTS: "dict[str, object]" = {
    "enabled": False,
    "prefix": "/memory",
    "token_env": "LAZYMED_WEB_TOKEN",
    "public_stats": False,
    "loopback_only": False,
    "optimize_interval_s": 10.0,
    "max_body_bytes": 65536,
    "history": 512,
    "sample_interval_s": 5.0,
}

# [tool.lazymed.startup]: applied by install() (lazymed/_startup.py); absent = nothing applied.
STARTUP: "Schema" = {
    "max_threads": ("int", 1),  # native thread pools (OMP/OpenBLAS/MKL/BLIS/numexpr/Rayon)
    "malloc_arena_max": ("int", 1, 2**31 - 1),  # glibc mallopt(M_ARENA_MAX), a C int
    "malloc_trim_threshold": ("int", 0, 2**31 - 1),  # bytes; glibc mallopt(M_TRIM_THRESHOLD)
    "gc_freeze": ("bool",),  # gc.freeze() after the critical modules load
    "gc_thresholds": ("ints", 0, 3),  # gc.set_threshold(*values): 1 to 3 integers >= 0
    "warm": MODULES,  # loaded in one background thread (after warm_after_s, or lazymed.warm())
    "warm_after_s": ("number", 0),
    "prefork": MODULES,  # loaded in a pre-fork server's master (lazymed.integrations.gunicorn)
}
# The schema of [tool.lazymed]. Sub-tables are ("table", {key: kind}) entries, declared here (never
# registered at import time from above); profiles and environment overrides pick them up.
SCHEMA: "Schema" = {
    "lazy": MODULES,
    "critical": MODULES,
    "from_import": ("choice", ("eager", "deferred")),
    "disabled_modules": MODULES,
    # Python 3.15+ (PEP 810): "native" defers with sys.set_lazy_imports; "auto" picks it where
    # available and asked for (deep set, or -X lazy_imports=all); see docs/pep810.md.
    "backend": ("choice", ("finder", "native", "auto")),
    "deep": MODULES,
    "isolate": ("named", ISOLATE, ("factory",)),
    "memory": ("table", MEMORY),
    "startup": ("table", STARTUP),
    "web": ("table", WEB),
}
DEFAULTS: "dict[str, object]" = {
    "lazy": (),
    "critical": (),
    "from_import": "eager",
    "disabled_modules": (),
    "backend": "finder",
    "deep": (),
    "isolate": {},
    "memory": MEMORY_DEFAULTS,
    "web": WEB_DEFAULTS,
}

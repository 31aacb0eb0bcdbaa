"""Every ``[tool.lazymed]`` key, its kind and default; the ``LAZYMED_*`` names; boolean words.

Core layer: standard library only, data only. Each layer above the core (memory, startup, web,
isolate, ...) declares its sub-table here as data, so the core validates the whole document
without importing any layer, and the parse cache's key (``repr(SCHEMA)``) does not depend on what
happened to be imported.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    Kind = tuple[object, ...]
    Schema = dict[str, Kind]

ENV_PREFIX = "LAZYMED_"
#: Environment variables with a meaning of their own (not setting overrides).
RESERVED_ENV = {
    "LAZYMED_CONFIG": "path of the pyproject.toml to read",
    "LAZYMED_DISABLE": "1/true/yes/on: install() does nothing, every import stays eager",
    "LAZYMED_PROFILE": "name of the profile to activate",
    "LAZYMED_CACHE_DIR": "where parsed configs are cached (empty: no cache)",
}

# A kind is a tuple whose first item names it; _validate.py interprets them.
MODULES: "Kind" = ("modules",)
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
}
DEFAULTS: dict[str, object] = {
    "lazy": (),
    "critical": (),
    "from_import": "eager",
    "disabled_modules": (),
    "backend": "finder",
    "deep": (),
}

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")

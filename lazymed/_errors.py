"""Exceptions and warnings raised by lazymed. Standard library only (core layer)."""


class ConfigError(ValueError):
    """Invalid lazymed configuration.

    The message names where the bad value came from (the file and its table and key, the
    profile, the environment variable or the ``install()`` keyword) and, for an unknown key,
    lists the valid keys.
    """


class DisabledModuleError(ImportError):
    """A module switched off by ``disabled_modules`` was used.

    Its import statement succeeded (nothing of it ran); the first real use raises this. The
    message names the module, the active profile, the config file and the statement that imported
    it. ``name`` is the disabled module's dotted name (as for :class:`ImportError`).
    """


class LazymedWarning(UserWarning):
    """Something lazymed could not do as configured, e.g. a registered lazy module that was
    already imported when ``install()`` ran and therefore stays eager."""

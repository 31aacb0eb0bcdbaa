"""Exceptions and warnings raised by lazymed. Standard library only (core layer)."""


class ConfigError(ValueError):
    """Invalid lazymed configuration.

    The message names where the bad value came from (the file and its table and key, the
    profile, the environment variable or the ``install()`` keyword) and, for an unknown key,
    lists the valid keys. For tools that explain the error (``lazymed check`` hints), two
    structured fields: ``where``, that same place as text (None when the error names no single
    key), and ``rejected``, the module names refused as not dotted names (``()`` otherwise).
    """

    def __init__(
        self, message: str, *, where: "str | None" = None, rejected: "tuple[str, ...]" = ()
    ) -> None:
        super().__init__(message)
        self.where = where
        self.rejected = rejected

    def __reduce__(self) -> "tuple[object, ...]":  # keep the fields through pickle (workers)
        return (_config_error, (str(self), self.where, self.rejected))


def _config_error(message: str, where: "str | None", rejected: "tuple[str, ...]") -> ConfigError:
    return ConfigError(message, where=where, rejected=rejected)


class DisabledModuleError(ImportError):
    """A module switched off by ``disabled_modules`` was used.

    Its import statement succeeded (nothing of it ran); the first real use raises this. The
    message names the module, the active profile, the config file and the statement that imported
    it. ``name`` is the disabled module's dotted name (as for :class:`ImportError`).
    """


class LazymedWarning(UserWarning):
    """Something lazymed could not do as configured, e.g. a registered lazy module that was
    already imported when ``install()`` ran and therefore stays eager."""

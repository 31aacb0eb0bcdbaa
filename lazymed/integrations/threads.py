"""Native thread pools at run time, through threadpoolctl (extra ``lazymed[threads]``).

``[tool.lazymed.startup] max_threads`` sets the pools' environment variables in ``install()``,
which only reaches libraries imported afterwards. For a library already loaded (imported before
``install()``, or loaded by a C extension), :func:`limit_threads` caps its pool in place.
"""

from __future__ import annotations

from .._registry import REGISTRY

__all__ = ["limit_threads"]


def limit_threads(max_threads: int | None = None) -> list[dict[str, object]]:
    """Cap every loaded native thread pool (OpenBLAS, MKL, BLIS, OpenMP) to ``max_threads``
    (default: ``[tool.lazymed.startup] max_threads``) with ``threadpoolctl.threadpool_limits``.

    Returns ``threadpoolctl.threadpool_info()`` after the change: one dict per pool with
    ``internal_api``, ``num_threads``, ``filepath``. Raises ImportError naming the extra when
    threadpoolctl is missing, and ValueError when no limit is given or configured.
    """
    if max_threads is None:
        config = REGISTRY.config
        startup = None if config is None else config.table.get("startup")
        value = startup.get("max_threads") if isinstance(startup, dict) else None
        if not isinstance(value, int):
            raise ValueError(
                "limit_threads(): no max_threads given and none configured in "
                "[tool.lazymed.startup]"
            )
        max_threads = value
    if max_threads < 1:
        raise ValueError(f"limit_threads(): max_threads must be >= 1, got {max_threads}")
    try:
        import threadpoolctl  # type: ignore[import-untyped]  # ships no type hints
    except ImportError as exc:
        raise ImportError(
            "lazymed.integrations.threads needs threadpoolctl: pip install 'lazymed[threads]'"
        ) from exc
    threadpoolctl.threadpool_limits(limits=max_threads)
    info: list[dict[str, object]] = threadpoolctl.threadpool_info()
    return info

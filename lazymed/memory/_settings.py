"""``[tool.lazymed.memory]`` resolved for this process: percentages applied to the container's
limit, thresholds in bytes and in order. The keys themselves are declared in core ``_config.py``
and validated by the core; this adds what needs the running process (the cgroup limit)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import ConfigError
from .._schema import MEMORY_DEFAULTS
from .._validate import check_thresholds
from ._levels import Thresholds
from ._sample import Cgroup

MB = 1024 * 1024
THRESHOLD_KEYS = ("budget_mb", "warning_mb", "critical_mb", "emergency_mb", "vms_alert_mb")


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """The governor's effective settings. ``thresholds`` in bytes; ``limit_bytes``: the
    container limit percentages were resolved against (``None``: none used or found);
    ``table``: the validated ``[tool.lazymed.memory]`` table (defaults filled in)."""

    enabled: bool
    thresholds: Thresholds
    interval_s: float
    hysteresis: float
    min_dwell_s: float
    history: int
    evictable: tuple[str, ...]
    actions: dict[str, tuple[str, ...]]
    leak_warmup_s: float
    leak_window_s: float
    leak_min_slope_mb_h: float
    leak_min_r2: float
    limit_bytes: int | None
    table: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)


def resolve(
    table: Mapping[str, Any],
    *,
    cgroup: Cgroup | None,
    describe: Callable[[str], str] = lambda key: "default",
) -> Settings:
    """Settings from a validated memory table (missing keys take their defaults).

    ``describe(key)`` says where ``memory.<key>`` came from (e.g. ``Config.describe``). Raises
    ConfigError naming that source and the key for a percentage without a container limit, and
    for thresholds out of order (``budget_mb <= warning_mb < critical_mb < emergency_mb``).
    """
    merged = {**MEMORY_DEFAULTS, **table}
    limit = None if cgroup is None else cgroup.limit_bytes
    mb: dict[str, float] = {}
    for key in THRESHOLD_KEYS:
        value = merged[key]
        if isinstance(value, str):
            if limit is None:
                where = cgroup.path if cgroup is not None else "no cgroup v2 memory controller"
                raise ConfigError(
                    f"{describe(key)}: key 'memory.{key}' = {value!r} is a percentage of the "
                    f"container's memory limit, but this process has none (cgroup v2 memory.max "
                    f"and memory.high unset; {where}). Give megabytes instead, e.g. {key} = 200."
                )
            mb[key] = float(value.rstrip("%")) / 100 * limit / MB
        else:
            mb[key] = float(value)
    check_thresholds(
        {k: v for k, v in mb.items() if k != "vms_alert_mb"},
        lambda key: f"{describe(key)}, {merged[key]!r}",
    )
    thresholds = Thresholds(
        budget=int(mb["budget_mb"] * MB),
        warning=int(mb["warning_mb"] * MB),
        critical=int(mb["critical_mb"] * MB),
        emergency=int(mb["emergency_mb"] * MB),
        vms_alert=int(mb["vms_alert_mb"] * MB),
    )
    uses_limit = any(isinstance(merged[k], str) for k in THRESHOLD_KEYS)
    return Settings(
        enabled=bool(merged["enabled"]),
        thresholds=thresholds,
        interval_s=float(merged["interval_s"]),
        hysteresis=float(merged["hysteresis"]),
        min_dwell_s=float(merged["min_dwell_s"]),
        history=int(merged["history"]),
        evictable=tuple(merged["evictable"]),
        actions={
            level: tuple(merged[f"{level}_actions"])
            for level in ("warning", "critical", "emergency")
        },
        leak_warmup_s=float(merged["leak_warmup_s"]),
        leak_window_s=float(merged["leak_window_s"]),
        leak_min_slope_mb_h=float(merged["leak_min_slope_mb_h"]),
        leak_min_r2=float(merged["leak_min_r2"]),
        limit_bytes=limit if uses_limit else None,
        table=dict(merged),
    )

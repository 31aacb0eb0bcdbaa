"""Levels with hysteresis and a minimum dwell: ok / warning / critical / emergency, plus the VMS
alert. Pure state (no clock, no I/O): the monitor feeds it readings with their times.

Rising is immediate (a rising level must be visible before the container limit is hit, and
several levels may be crossed at once). A level is left only when RSS is below its threshold
minus ``hysteresis`` (a fraction: 0.1 leaves critical at 200 MB only below 180 MB) *and* the
level has been held for ``min_dwell_s``. Dask's worker levels have no hysteresis; flapping is
what operators complain about.
"""

from __future__ import annotations

import dataclasses

from ._actions import LEVELS

RANKS = {name: rank for rank, name in enumerate(LEVELS)}


@dataclasses.dataclass(frozen=True, slots=True)
class Thresholds:
    """Resolved thresholds in bytes (percentages already applied)."""

    budget: int
    warning: int
    critical: int
    emergency: int
    vms_alert: int

    def of(self, level: str) -> int:
        """The threshold that enters ``level`` (0 for ``"ok"``)."""
        return 0 if level == "ok" else int(getattr(self, level))


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """One transition. ``kind``: ``"level"`` (``previous`` -> ``level``), ``"vms_alert"`` or
    ``"vms_clear"``; ``value``: the RSS (or VMS) in bytes that caused it; ``threshold``: the
    threshold in bytes that was crossed (for a fall, the level left); ``at``: the reading's time."""

    kind: str
    previous: str
    level: str
    value: int
    threshold: int
    at: float


class LevelTracker:
    """The current level and VMS alert; :meth:`update` returns the changes a reading causes."""

    def __init__(self, thresholds: Thresholds, *, hysteresis: float, min_dwell_s: float) -> None:
        self.thresholds = thresholds
        self.hysteresis = hysteresis
        self.min_dwell_s = min_dwell_s
        self.level = "ok"
        self.since: float | None = None
        self.vms_alert = False
        self.vms_since: float | None = None

    def _raw(self, rss: int) -> str:
        """The highest level whose threshold ``rss`` has reached."""
        found = "ok"
        for name in LEVELS[1:]:
            if rss >= self.thresholds.of(name):
                found = name
        return found

    def _dwelt(self, since: float | None, now: float) -> bool:
        return since is None or now - since >= self.min_dwell_s

    def update(self, rss: int, vms: int, now: float) -> list[Change]:
        """Feed one reading (bytes, time in seconds); returns the changes, oldest first."""
        changes: list[Change] = []
        raw = self._raw(rss)
        if RANKS[raw] > RANKS[self.level]:
            changes.append(Change("level", self.level, raw, rss, self.thresholds.of(raw), now))
            self.level, self.since = raw, now
        elif RANKS[raw] < RANKS[self.level] and self._dwelt(self.since, now):
            # Fall through every level whose exit band RSS is below, but not below ``raw``.
            new = self.level
            while RANKS[new] > RANKS[raw]:
                exit_below = self.thresholds.of(new) * (1.0 - self.hysteresis)
                if rss >= exit_below:
                    break
                new = LEVELS[RANKS[new] - 1]
            if new != self.level:
                left = self.thresholds.of(self.level)
                changes.append(Change("level", self.level, new, rss, left, now))
                self.level, self.since = new, now
        limit = self.thresholds.vms_alert
        if not self.vms_alert and vms >= limit:
            changes.append(Change("vms_alert", "ok", "alert", vms, limit, now))
            self.vms_alert, self.vms_since = True, now
        elif (
            self.vms_alert
            and vms < limit * (1.0 - self.hysteresis)
            and self._dwelt(self.vms_since, now)
        ):
            changes.append(Change("vms_clear", "alert", "ok", vms, limit, now))
            self.vms_alert, self.vms_since = False, now
        return changes

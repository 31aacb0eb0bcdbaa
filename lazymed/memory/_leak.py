"""Leak detection: the RSS trend over a sliding window, as leak sentinels do.

A least-squares line through the (time, RSS) readings of the last ``window_s`` seconds, after a
``warmup_s`` period (start-up and first-request growth are not leaks). A leak is suspected when
the window is at least half full, the slope is at least ``min_slope_mb_h`` MB per hour, the fit
is good (``r2 >= min_r2``), the newer half of the window still rises at least at
``min_slope_mb_h`` and at half the whole window's slope, **and** nothing inside the window fell
by more than half the fitted rise. The last two conditions keep a plateau from counting: growth
that stopped (a cache filled, a model loaded) leaves a good overall fit for a while, but its
newer half is flat; a cache that fills and is cleared gives memory back, which a leak never
does.
"""

from __future__ import annotations

import collections
import dataclasses

MB = 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class LeakVerdict:
    """The detector's current reading.

    ``suspected``: a leak is suspected now. ``slope_mb_h``: RSS trend in MB (MiB) per hour over
    the window; ``recent_slope_mb_h`` the same over its newer half; ``r2``: fit quality (0-1);
    ``samples`` and ``span_s``: readings and seconds the fit used. ``reason``: why not (or
    ``"leak"``): ``"warming up"``, ``"window not half full"``, ``"slope below ..."``, ...
    """

    suspected: bool
    slope_mb_h: float | None
    recent_slope_mb_h: float | None
    r2: float | None
    samples: int
    span_s: float
    reason: str

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return dataclasses.asdict(self)


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``(slope, r2)`` of ``points`` (x, y); slope in y per x."""
    n = len(points)
    if n < 2:
        return 0.0, 0.0
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    syy = sum((p[1] - my) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    if sxx == 0:
        return 0.0, 0.0
    slope = sxy / sxx
    r2 = 1.0 if syy == 0 else (sxy * sxy) / (sxx * syy)
    return slope, r2


class LeakDetector:
    """Feed :meth:`add` with readings; :meth:`verdict` says whether a leak is suspected."""

    def __init__(
        self,
        *,
        warmup_s: float,
        window_s: float,
        min_slope_mb_h: float,
        min_r2: float,
        min_samples: int = 10,
    ) -> None:
        self.warmup_s = warmup_s
        self.window_s = window_s
        self.min_slope_mb_h = min_slope_mb_h
        self.min_r2 = min_r2
        self.min_samples = min_samples
        self.start: float | None = None
        self.points: collections.deque[tuple[float, float]] = collections.deque()

    def add(self, now: float, rss_bytes: int) -> None:
        """One reading: time in seconds, RSS in bytes."""
        if self.start is None:
            self.start = now
        if now - self.start < self.warmup_s:
            return
        self.points.append((now, rss_bytes / MB))
        while self.points and now - self.points[0][0] > self.window_s:
            self.points.popleft()

    def verdict(self) -> LeakVerdict:
        """The current :class:`LeakVerdict`."""
        points = list(self.points)
        span = points[-1][0] - points[0][0] if len(points) > 1 else 0.0

        def no(reason: str, slope: float | None = None, recent: float | None = None,
               r2: float | None = None) -> LeakVerdict:  # fmt: skip
            return LeakVerdict(False, slope, recent, r2, len(points), span, reason)

        if not points:
            return no("warming up")
        if len(points) < self.min_samples or span < self.window_s / 2:
            return no("window not half full")
        slope_s, r2 = fit(points)
        slope = slope_s * 3600
        half = [p for p in points if p[0] >= points[-1][0] - span / 2]
        recent = fit(half)[0] * 3600 if len(half) >= 2 else 0.0
        if slope < self.min_slope_mb_h:
            return no(f"slope below {self.min_slope_mb_h:g} MB/h", slope, recent, r2)
        if r2 < self.min_r2:
            return no(f"r2 below {self.min_r2:g} (not a steady trend)", slope, recent, r2)
        if recent < max(self.min_slope_mb_h, slope / 2):
            return no("plateau: the newer half of the window rises far slower", slope, recent, r2)
        # A leak never gives memory back: a fall of more than half the fitted rise inside the
        # window (a cache cleared, a batch finished) means the growth was not a leak.
        peak = points[0][1]
        drawdown = 0.0
        for _, value in points:
            peak = max(peak, value)
            drawdown = max(drawdown, peak - value)
        if drawdown > 0.5 * slope_s * span:
            return no("memory was given back inside the window", slope, recent, r2)
        return LeakVerdict(True, slope, recent, r2, len(points), span, "leak")

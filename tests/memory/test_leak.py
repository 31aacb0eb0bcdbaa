"""Leak detection on a synthetic clock: a steady leak is flagged, a plateau is not."""

from __future__ import annotations

import random

import lazymed.memory as memory
from lazymed.memory._leak import LeakDetector, fit

from .conftest import MB, ScriptedSampler


def detector(**kw: float) -> LeakDetector:
    params = {"warmup_s": 60.0, "window_s": 600.0, "min_slope_mb_h": 10.0, "min_r2": 0.8}
    params.update(kw)
    return LeakDetector(**params)  # type: ignore[arg-type]


def first_flag(det: LeakDetector, rss_mb_at: object, seconds: int, every: int = 1) -> float | None:
    for t in range(seconds):
        det.add(float(t), int(rss_mb_at(t) * MB))  # type: ignore[operator]
        if t % every == 0 and det.verdict().suspected:
            return float(t)
    return None


def test_fit_is_least_squares() -> None:
    slope, r2 = fit([(0, 1), (1, 3), (2, 5)])
    assert (slope, r2) == (2.0, 1.0)
    assert fit([(0, 1)]) == (0.0, 0.0)


def test_steady_leak_is_flagged_after_warmup_and_half_a_window() -> None:
    noise = random.Random(1)
    det = detector()
    # 10 MB/min on 100 MB, with +-0.5 MB noise.
    t = first_flag(det, lambda s: 100 + s / 6 + noise.uniform(-0.5, 0.5), 3600)
    assert t is not None and 60 + 300 <= t <= 60 + 330
    verdict = det.verdict()
    assert 550 <= verdict.slope_mb_h <= 650 and verdict.r2 >= 0.99  # type: ignore[operator]


def test_flat_memory_is_not_a_leak() -> None:
    noise = random.Random(2)
    det = detector()
    assert first_flag(det, lambda s: 120 + noise.uniform(-2, 2), 7200, every=7) is None
    assert det.verdict().reason.startswith("slope below")


def test_growth_then_plateau_is_not_a_leak() -> None:
    """A cache filling for 5 min, then flat: the newer half of the window is flat."""
    noise = random.Random(3)

    def rss(s: int) -> float:
        return 100 + min(s, 400) / 6 + noise.uniform(-0.3, 0.3)

    det = detector(warmup_s=0)
    flagged_at = first_flag(det, rss, 400)  # while it grows, it looks like a leak...
    assert flagged_at is not None
    for s in range(400, 1400):
        det.add(float(s), int(rss(s) * MB))
        if s >= 400 + 300 and s % 5 == 0:  # ...but once the newer half is flat, no longer
            assert not det.verdict().suspected, (s, det.verdict())
    assert "plateau" in det.verdict().reason or "slope below" in det.verdict().reason


def test_governor_emits_leak_events() -> None:
    script = [(float(t), 60 + t / 6) for t in range(0, 600)]  # 10 MB/min, below warning
    script += [(float(t), 160.0) for t in range(600, 1400)]  # then flat
    memory.configure(
        {
            "leak_warmup_s": 0,
            "leak_window_s": 300,
            "warning_mb": 1000,
            "critical_mb": 2000,
            "emergency_mb": 3000,
        },
        sampler=ScriptedSampler(script),
    )
    kinds = []
    for _ in script:
        kinds += [(e.kind, e.leak) for e in memory.step()]
    assert [k for k, _ in kinds] == ["leak_suspected", "leak_cleared"]
    suspected = kinds[0][1]
    assert suspected is not None and 500 <= suspected["slope_mb_h"] <= 700
    assert memory.snapshot().leak.suspected is False


def test_a_cache_that_fills_and_is_cleared_is_not_a_leak() -> None:
    """Sawtooth: 50 MB filled over 10 min, then cleared. Memory given back is not a leak."""
    noise = random.Random(4)
    det = detector(warmup_s=0)
    for s in range(0, 6 * 3600, 2):
        det.add(float(s), int((150 + (s % 600) / 12 + noise.uniform(-1, 1)) * MB))
        if s >= 900 and s % 20 == 0:
            assert not det.verdict().suspected, (s, det.verdict())

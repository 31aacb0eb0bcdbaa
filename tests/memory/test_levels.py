"""Levels with hysteresis and a minimum dwell, driven by a scripted sampler."""

from __future__ import annotations

import logging

import pytest

import lazymed.memory as memory
from lazymed.memory._levels import LevelTracker, Thresholds

from .conftest import MB, ScriptedSampler, make_sample

T = Thresholds(budget=50 * MB, warning=100 * MB, critical=200 * MB, emergency=500 * MB,
               vms_alert=500 * MB)  # fmt: skip


def levels(tracker: LevelTracker, script: list[tuple[float, float]]) -> list[tuple[str, str]]:
    out = []
    for t, rss in script:
        for change in tracker.update(int(rss * MB), 10 * MB, t):
            out.append((change.previous, change.level))
    return out


def test_rising_is_immediate_and_may_skip_levels() -> None:
    tracker = LevelTracker(T, hysteresis=0.1, min_dwell_s=30)
    assert levels(tracker, [(0, 99), (1, 100), (2, 150), (3, 520)]) == [
        ("ok", "warning"),
        ("warning", "emergency"),  # dwell never delays a rise
    ]


def test_hysteresis_stops_flapping_around_a_threshold() -> None:
    tracker = LevelTracker(T, hysteresis=0.1, min_dwell_s=0)
    # Oscillating 195..205 MB around critical (200): one rise, no fall (exit band below 180).
    script = [(i, 205 if i % 2 else 195) for i in range(1, 21)]
    assert levels(tracker, script) == [("ok", "critical")]
    assert levels(tracker, [(21, 181)]) == []
    assert levels(tracker, [(22, 179)]) == [("critical", "warning")]


def test_without_hysteresis_the_same_signal_flaps() -> None:
    # The control for the test above: the oscillation really crosses the threshold.
    tracker = LevelTracker(T, hysteresis=0.0, min_dwell_s=0)
    script = [(i, 205 if i % 2 else 195) for i in range(6)]
    assert len(levels(tracker, script)) == 6


def test_minimum_dwell_delays_a_fall() -> None:
    tracker = LevelTracker(T, hysteresis=0.1, min_dwell_s=10)
    assert levels(tracker, [(0, 250)]) == [("ok", "critical")]
    assert levels(tracker, [(5, 20)]) == []  # far below, but held only 5 s
    assert levels(tracker, [(10, 20)]) == [("critical", "ok")]  # several levels at once


def test_fall_stops_at_the_band_of_the_next_level() -> None:
    tracker = LevelTracker(T, hysteresis=0.1, min_dwell_s=0)
    levels(tracker, [(0, 600)])
    # 95 MB: below emergency's and critical's bands, inside warning's band (>= 90).
    assert levels(tracker, [(1, 95)]) == [("emergency", "warning")]


def test_vms_alert_with_hysteresis() -> None:
    tracker = LevelTracker(T, hysteresis=0.1, min_dwell_s=0)
    kinds = []
    for t, vms in enumerate([100, 510, 480, 460, 449, 600]):
        kinds += [c.kind for c in tracker.update(10 * MB, vms * MB, float(t))]
    assert kinds == ["vms_alert", "vms_clear", "vms_alert"]


def test_governor_events_logged_called_back_and_kept(caplog: pytest.LogCaptureFixture) -> None:
    script = [(0, 40), (1, 120), (2, 260), (3, 530), (4, 530), (5, 30), (6, 30)]
    memory.configure({"min_dwell_s": 0, "history": 3}, sampler=ScriptedSampler(script))
    seen: list[memory.Event] = []
    remove = memory.on_level(seen.append)
    caplog.set_level(logging.INFO, logger="lazymed")
    for _ in script:
        memory.step()
    remove()
    assert [(e.previous, e.level) for e in seen] == [
        ("ok", "warning"),
        ("warning", "critical"),
        ("critical", "emergency"),
        ("emergency", "ok"),
    ]
    rise = seen[1]
    assert rise.rss_bytes == 260 * MB and rise.threshold_bytes == 200 * MB
    assert "warning -> critical" in rise.message and "260.0 MiB" in rise.message
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings[:3]] == [e.message for e in seen[:3]]
    # Bounded history: the last 3 events.
    assert [e.level for e in memory.snapshot().history] == ["critical", "emergency", "ok"]
    # One chain per rise, of the level risen to.
    assert [r.level for r in memory.snapshot().actions] == ["warning", "critical", "emergency"]
    assert memory.level() == "ok"


def test_a_failing_callback_does_not_stop_the_governor(caplog: pytest.LogCaptureFixture) -> None:
    memory.configure({}, sampler=ScriptedSampler([(0, 150)]))

    def broken(event: memory.Event) -> None:
        raise RuntimeError("boom")

    got: list[str] = []
    memory.on_level(broken)
    memory.on_level(lambda e: got.append(e.level))
    memory.step()
    assert got == ["warning"]
    assert "boom" in caplog.text


def test_snapshot_level_without_readings_is_the_raw_level() -> None:
    memory.configure({}, sampler=ScriptedSampler([(0, 250)]))
    assert memory.snapshot().level == "critical"
    assert make_sample(0, 1).rss_bytes == MB


def test_a_callback_that_calls_sys_exit_does_not_stop_the_governor() -> None:
    import dataclasses

    from lazymed.memory._governor import MONITOR

    calls: list[str] = []

    def leaving(event: object) -> None:
        calls.append("leaving")
        raise SystemExit(1)

    def after(event: object) -> None:
        calls.append("after")

    remove_a = MONITOR.on_level(leaving)
    remove_b = MONITOR.on_level(after)
    try:
        from lazymed.memory._governor import Event

        fields = {f.name: None for f in dataclasses.fields(Event)}
        fields.update(kind="leak_suspected", previous="ok", level="ok", message="test")
        event = Event(**fields)  # type: ignore[arg-type]
        MONITOR._emit(event)  # logged, and the next callback still runs
    finally:
        remove_a()
        remove_b()
    assert calls == ["leaving", "after"]

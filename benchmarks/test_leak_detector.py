"""Benchmark — the leak detector: time to flag a 10 MB/min leak, and false alarms on plateaus.

**Synthetic clock** (the detector as the monitor feeds it, with the default settings:
``leak_warmup_s = 120``, ``leak_window_s = 600``, ``leak_min_slope_mb_h = 10``,
``leak_min_r2 = 0.8``; readings every 1 s, with +-1 MB uniform noise; 5 seeds each):

* ``leak_10mb_min``: 150 MB growing 10 MB/min from the start: seconds until ``suspected``;
* ``leak_1mb_min``: the same at 1 MB/min;
* ``flat_24h``: 24 h flat at 150 MB (readings every 5 s to keep the run short: the window
  then holds 120 readings instead of 600): alarms raised;
* ``step_then_flat_24h``: +80 MB at once after 1 h (a model loaded), flat for 23 h: alarms;
* ``ramp_then_flat``: 10 MB/min for 5 min (a cache filling), then flat for 2 h: whether it was
  flagged while growing (it looks exactly like a leak then) and how long after the plateau
  began the alarm cleared;
* ``sawtooth_24h``: a cache filled 50 MB over 10 min then cleared, repeatedly: alarms.

**Real run** (one child process, monitor thread at ``interval_s = 0.1`` with a short window,
``leak_warmup_s = 1``, ``leak_window_s = 6``): the child allocates 5 MB every 0.5 s
(600 MB/min) and reports when ``leak_suspected`` arrived; a second child stays flat for 12 s
and reports its alarms. Nothing here is asserted on a timing.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import _bench

from lazymed.memory._leak import LeakDetector

MB = 1024 * 1024
DEFAULTS = {"warmup_s": 120.0, "window_s": 600.0, "min_slope_mb_h": 10.0, "min_r2": 0.8}


def replay(series: Iterator[tuple[float, float]]) -> list[tuple[float, bool]]:
    """Feed ``(t, rss_mb)`` readings; return the verdict changes ``(t, suspected)``."""
    det = LeakDetector(**DEFAULTS)
    state = False
    changes = []
    for t, rss in series:
        det.add(t, int(rss * MB))
        suspected = det.verdict().suspected
        if suspected != state:
            state = suspected
            changes.append((t, suspected))
    return changes


def series(
    fn: Callable[[float], float], seconds: float, step: float, seed: int
) -> Iterator[tuple[float, float]]:
    noise = random.Random(seed)
    t = 0.0
    while t <= seconds:
        yield t, fn(t) + noise.uniform(-1, 1)
        t += step


#: Quick mode simulates 3 h instead of 24 h (the scenario names keep their full-mode meaning).
DAY = 3 * 3600 if _bench.QUICK else 86400
SCENARIOS: dict[str, tuple[Callable[[float], float], float, float]] = {
    "leak_10mb_min": (lambda t: 150 + t / 6, 3600, 1.0),
    "leak_1mb_min": (lambda t: 150 + t / 60, 3600, 1.0),
    "flat_24h": (lambda t: 150.0, DAY, 5.0),
    "step_then_flat_24h": (lambda t: 150.0 + (80 if t >= 3600 else 0), DAY, 5.0),
    "ramp_then_flat": (lambda t: 150 + min(t, 300) / 6, 7200, 1.0),
    "sawtooth_24h": (lambda t: 150 + (t % 600) / 12, DAY, 5.0),
}


def synthetic() -> dict[str, Any]:
    seeds = range(_bench.rounds(full=5, quick=1))
    out: dict[str, Any] = {}
    for name, (fn, seconds, step) in SCENARIOS.items():
        runs = [replay(series(fn, seconds, step, seed)) for seed in seeds]
        alarms = [sum(1 for _, s in changes if s) for changes in runs]
        first = [changes[0][0] for changes in runs if changes and changes[0][1]]
        entry: dict[str, Any] = {
            "alarms_per_run": alarms,
            "first_flag_s": first,
            "changes": [[list(c) for c in changes] for changes in runs],
        }
        if name == "ramp_then_flat":
            cleared = [next((t for t, s in changes if not s), None) for changes in runs if changes]
            entry["cleared_after_plateau_s"] = [None if c is None else c - 300 for c in cleared]
        out[name] = entry
    return out


REAL = textwrap.dedent(
    """
    import json, sys, time
    import lazymed.memory as memory
    mode = sys.argv[1]
    memory.configure({"interval_s": 0.1, "leak_warmup_s": 1, "leak_window_s": 6,
                      "warning_mb": 100000, "critical_mb": 200000, "emergency_mb": 300000,
                      "budget_mb": 1, "vms_alert_mb": 10**7, "min_dwell_s": 0})
    events = []
    memory.on_level(lambda e: events.append((time.monotonic(), e.kind, e.leak)))
    memory.start()
    start = time.monotonic()
    blobs = []
    while time.monotonic() - start < 12:
        if mode == "leak":
            blobs.append(b"x" * (5 * 1024 * 1024))
        time.sleep(0.5)
        if mode == "leak" and any(k == "leak_suspected" for _, k, _ in events):
            break
    memory.stop()
    print(json.dumps([[t - start, k, leak] for t, k, leak in events]))
    """
)


def real() -> dict[str, Any]:
    out: dict[str, Any] = {}
    with _bench.workspace("leak") as ws:
        env = _bench.child_env(ws / "cache")
        for mode in ("leak", "flat"):
            done = subprocess.run(
                [sys.executable, "-c", REAL, mode],
                capture_output=True,
                text=True,
                env=env,
                cwd=ws,
                timeout=120,
                check=True,
            )
            out[mode] = json.loads(done.stdout)
    return out


def measure() -> dict[str, Any]:
    return {"synthetic": synthetic(), "real": real()}


def test_leak_detector(benchmark: Any, record: Callable[[str, dict[str, Any]], Path]) -> None:
    measured = benchmark.pedantic(measure, rounds=1, iterations=1)
    syn = measured["synthetic"]
    leak_flag = statistics.median(syn["leak_10mb_min"]["first_flag_s"])
    false_alarms = sum(
        sum(syn[name]["alarms_per_run"]) for name in ("flat_24h", "step_then_flat_24h")
    )
    real_leak = [e for e in measured["real"]["leak"] if e[1] == "leak_suspected"]
    real_flat = [e for e in measured["real"]["flat"] if e[1] == "leak_suspected"]
    result = {
        "description": __doc__.split("\n\n")[0],
        "settings": DEFAULTS,
        "time_to_flag_10mb_min_s": leak_flag,
        "time_to_flag_10mb_min_after_warmup_s": leak_flag - DEFAULTS["warmup_s"],
        "time_to_flag_1mb_min_s": statistics.median(syn["leak_1mb_min"]["first_flag_s"] or [-1]),
        "false_alarms_flat_and_step_24h": false_alarms,
        "ramp_then_flat": syn["ramp_then_flat"],
        "sawtooth_alarms_per_run": syn["sawtooth_24h"]["alarms_per_run"],
        "real_leak_flagged_after_s": real_leak[0][0] if real_leak else None,
        "real_leak_verdict": real_leak[0][2] if real_leak else None,
        "real_flat_alarms": len(real_flat),
        "targets": [
            _bench.target(
                "false leak alarms over 24 h of flat and step-then-flat memory (synthetic)",
                false_alarms,
                0,
                "alarms",
            ),
            _bench.target(
                "time to flag a 10 MB/min leak after the warm-up (synthetic, default window)",
                leak_flag - DEFAULTS["warmup_s"],
                DEFAULTS["window_s"],
                "s",
                note="the detector needs half its window: 300 s with leak_window_s = 600",
            ),
        ],
        "raw": measured,
    }
    record("leak_detector", result)
    # Logical checks: the real leak was seen and the synthetic leak was flagged.
    assert real_leak and syn["leak_10mb_min"]["first_flag_s"]

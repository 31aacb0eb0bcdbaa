"""The web soak's analysis (benchmarks/_soak.py) can fail: it flags a synthetic linear leak and
accepts a plateau, on readings shaped like the soak's (40 readings every 500 requests, RSS in
whole 4 KiB pages, a baseline near 36 MiB)."""

from __future__ import annotations

import importlib.util
import random
import statistics
from pathlib import Path
from types import ModuleType

import pytest

PAGE_KIB = 4


def _load() -> ModuleType:
    # The analysis lives with the benchmark; load it by path (benchmarks/ is not a package).
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "_soak.py"
    spec = importlib.util.spec_from_file_location("_soak_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


soak = _load()
XS = [0.5 * (i + 1) for i in range(40)]  # thousands of requests of the measured phase
BASE_KIB = 36 * 1024


def _pages(values: list[float]) -> list[float]:
    """RSS as the kernel counts it: whole pages (KiB)."""
    return [float(PAGE_KIB * round(v / PAGE_KIB)) for v in values]


@pytest.mark.parametrize("seed", range(5))
def test_linear_leak_of_4_kib_per_1k_requests_with_noise_is_flagged(seed: int) -> None:
    rng = random.Random(seed)
    ys = _pages([BASE_KIB + 4.0 * x + rng.gauss(0, 8) for x in XS])
    result = soak.verdict(XS, ys)
    assert result["leak"] is True
    low, high = result["theil_sen"]["ci95"]
    assert 0 < low <= 4 <= high + 1  # the interval sits around the true slope
    assert result["ols"]["ci95"][0] > 0


@pytest.mark.parametrize("seed", range(5))
def test_plateau_is_accepted(seed: int) -> None:
    # 10 pages filled over the first fifth of the readings (a bounded structure), then flat but
    # for single-page jitter now and then
    rng = random.Random(seed)
    rise = [min(x, 4.0) / 4.0 * 40 for x in XS]
    ys = _pages([BASE_KIB + r + (PAGE_KIB if rng.random() < 0.1 else 0) for r in rise])
    result = soak.verdict(XS, ys)
    assert result["leak"] is False
    assert result["theil_sen"]["ci95"][0] <= 0


def test_flat_series_with_one_late_page_is_accepted_where_least_squares_is_fooled() -> None:
    # The page-quantisation trap: one page touched two thirds in, otherwise exactly flat.
    ys = [float(BASE_KIB + (PAGE_KIB if i >= 27 else 0)) for i in range(40)]
    result = soak.verdict(XS, ys)
    assert result["ols"]["ci95"][0] > 0  # least squares calls one page a trend ...
    assert result["leak"] is False  # ... Theil-Sen does not
    assert result["theil_sen"]["slope"] == 0


def test_exactly_flat_has_zero_slope_and_interval() -> None:
    result = soak.verdict(XS, [float(BASE_KIB)] * 40)
    assert result["leak"] is False
    assert result["theil_sen"] == {"slope": 0, "ci95": [0, 0]}
    assert result["ols"]["slope"] == 0


def test_falling_memory_is_not_a_leak() -> None:
    ys = _pages([BASE_KIB - 4.0 * x for x in XS])
    assert soak.verdict(XS, ys)["leak"] is False


def test_t_quantile_matches_known_values() -> None:
    # Student's t, 97.5 %: df 5 2.571, 10 2.228, 30 2.042, 38 2.024, 120 1.980
    for df, expected in ((1, 12.706), (5, 2.571), (10, 2.228), (30, 2.042), (38, 2.024)):
        assert soak.t_quantile(df) == pytest.approx(expected, abs=0.002)
    assert soak.t_quantile(120) == pytest.approx(1.980, abs=0.001)
    with pytest.raises(ValueError, match="degrees of freedom"):
        soak.t_quantile(0)


def test_ols_interval_covers_the_true_slope_under_gaussian_noise() -> None:
    # 95 % intervals: over 200 noisy lines the coverage is near 0.95 (binomial, +-0.05)
    rng = random.Random(7)
    covered = []
    for _ in range(200):
        ys = [10 + 2.0 * x + rng.gauss(0, 3) for x in XS]
        _, low, high = soak.ols(XS, ys)
        covered.append(low <= 2.0 <= high)
    assert 0.90 <= statistics.fmean(covered) <= 0.99


@pytest.mark.parametrize(
    ("xs", "ys", "message"),
    [
        ([1.0, 2.0], [1.0, 2.0], "at least 3"),
        ([1.0, 2.0, 3.0], [1.0, 2.0], "3 x values but 2"),
        ([1.0, 1.0, 1.0], [1.0, 2.0, 3.0], "same x"),
    ],
)
def test_bad_input_is_refused(xs: list[float], ys: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        soak.verdict(xs, ys)

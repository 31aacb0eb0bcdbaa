"""The soak's statistics (benchmark 15): is a worker's RSS still rising once everything bounded
is full? Pure functions of the readings, so that tests/web/test_soak_analysis.py can check that
they flag a leak and accept a plateau.

Readings are RSS in KiB against requests in thousands, so slopes are KiB per 1k requests.

Two estimates, both with a 95 % confidence interval:

* **Least squares** (``ols``): the slope and its t interval (n - 2 degrees of freedom). Reported,
  but not the verdict: RSS is counted in 4 KiB pages and a worker's RSS is otherwise nearly
  noiseless, so the residuals are tiny and a single page touched late in the run (one arena pool)
  gives an interval that excludes zero.
* **Theil-Sen** (``theil_sen``): the median of the slopes between all pairs of readings (Sen 1968),
  with its distribution-free interval from the variance of Kendall's S, corrected for ties
  (Gilbert 1987, "Statistical Methods for Environmental Pollution Monitoring", 16.5; page-
  quantised readings are mostly ties). Most pairs of a flat series with one page step have slope
  0, so the interval reaches 0; a leak makes most pairs positive, so it does not. This is the
  verdict: ``leak`` is True when the Theil-Sen interval lies wholly above 0.

Sensitivity (40 readings every 500 requests, page-quantised, simulated with 40 seeds): a leak of
0.5 KiB per 1k requests is flagged every time without noise; 1 KiB per 1k in 37 of 40 with
Gaussian noise of 8 KiB; 4 KiB per 1k always (tests/web/test_soak_analysis.py). A rise that stops
within the first fifth of the readings (a plateau) is not flagged. A step of a few pages near the
middle of the readings is growth inside the window and may be flagged: the warm-up must be long
enough that none is left (benchmarks/test_web.py).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence

__all__ = ["ols", "t_quantile", "theil_sen", "verdict"]

_Z975 = statistics.NormalDist().inv_cdf(0.975)
# Exact 97.5 % quantiles of Student's t for the few degrees of freedom the expansion gets wrong.
_T975_SMALL = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
}


def t_quantile(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (two-sided 95 %).

    Exact table (3 decimals) for df <= 9, else the Cornish-Fisher expansion around the normal
    quantile (error below 0.001 from df = 10 on). Raises ValueError for df < 1.
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df in _T975_SMALL:
        return _T975_SMALL[df]
    z = _Z975
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def _check(xs: Sequence[float], ys: Sequence[float]) -> None:
    if len(xs) != len(ys):
        raise ValueError(f"{len(xs)} x values but {len(ys)} y values")
    if len(xs) < 3:
        raise ValueError(f"a slope with an interval needs at least 3 readings, got {len(xs)}")
    if len(set(xs)) < 2:
        raise ValueError("all readings were taken at the same x: no slope")


def ols(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares ``(slope, low, high)``: the slope of ys on xs and its 95 % interval (t
    distribution on the slope's standard error, n - 2 degrees of freedom). Raises ValueError for
    fewer than 3 readings or a single x."""
    _check(xs, ys)
    n = len(xs)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    resid = [y - (my + slope * (x - mx)) for x, y in zip(xs, ys, strict=True)]
    se = math.sqrt(sum(r * r for r in resid) / (n - 2) / sxx)
    half = t_quantile(n - 2) * se
    return slope, slope - half, slope + half


def theil_sen(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Theil-Sen ``(slope, low, high)``: the median pairwise slope and its 95 % interval.

    The interval is the pair of order statistics of the N pairwise slopes at ranks
    (N -/+ C) / 2, C = 1.96 sqrt(Var S), with Var S = [n(n-1)(2n+5) - sum t(t-1)(2t+5)] / 18
    over groups of t tied ys (Gilbert 1987, 16.5; ranks rounded outwards). Pairs with equal x
    are skipped. Raises ValueError for fewer than 3 readings or a single x.
    """
    _check(xs, ys)
    n = len(xs)
    slopes = sorted(
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(n)
        for j in range(i + 1, n)
        if xs[j] != xs[i]
    )
    pairs = len(slopes)
    ties = sum(t * (t - 1) * (2 * t + 5) for t in Counter(ys).values() if t > 1)
    var_s = max(0.0, (n * (n - 1) * (2 * n + 5) - ties) / 18)
    c = _Z975 * math.sqrt(var_s)
    lower = max(0, math.floor((pairs - c) / 2) - 1)  # 0-based index of rank (N - C) / 2
    upper = min(pairs - 1, math.ceil((pairs + c) / 2))  # ... of rank (N + C) / 2 + 1
    return statistics.median(slopes), slopes[lower], slopes[upper]


def verdict(xs: Sequence[float], ys: Sequence[float]) -> dict[str, object]:
    """Both estimates and the verdict for one worker.

    ``{"ols": {"slope", "ci95"}, "theil_sen": {"slope", "ci95"}, "leak": bool}`` in the units
    of ys per unit of xs; ``leak`` is True when the Theil-Sen 95 % interval lies wholly above 0
    (see the module docstring for why Theil-Sen decides). Raises ValueError as :func:`ols`.
    """
    slope, low, high = ols(xs, ys)
    ts, ts_low, ts_high = theil_sen(xs, ys)
    return {
        "ols": {"slope": slope, "ci95": [low, high]},
        "theil_sen": {"slope": ts, "ci95": [ts_low, ts_high]},
        "leak": ts_low > 0,
    }

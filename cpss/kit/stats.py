"""General statistics: Student-t confidence intervals and the Gini coefficient.

:func:`mean_ci` turns independent samples (evaluation episodes, seeds, days) into ``mean +-
half-width`` with Student's t quantile, computed exactly for integer degrees of freedom (no
scipy needed); :func:`t_quantile` is that quantile. :func:`gini` measures inequality (of
satisfaction, of workload). Plain numpy and the standard library: every layer may use them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import numpy as np

__all__ = ["gini", "mean_ci", "t_quantile"]


def _t_coverage(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with integer ``df`` (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 1:
        term = total = math.cos(theta)  # powers cos^1, cos^3, ..., cos^(df-2)
        power = 1
        if df == 1:
            return 2.0 * theta / math.pi
        while power < df - 2:
            term *= cos2 * (power + 1) / (power + 2)
            total += term
            power += 2
        return 2.0 / math.pi * (theta + sin * total)
    term = total = 1.0  # powers cos^0, cos^2, ..., cos^(df-2)
    power = 0
    while power < df - 2:
        term *= cos2 * (power + 1) / (power + 2)
        total += term
        power += 2
    return sin * total


def t_quantile(confidence: float, df: int) -> float:
    """The two-sided Student-t critical value: ``P(|T| <= t) = confidence``.

    Exact (bisection on the closed-form CDF) up to 200 degrees of freedom; beyond that the
    Cornish-Fisher expansion around the normal quantile (error below 1e-5).

    Args:
        confidence: Coverage in (0, 1), e.g. 0.95.
        df: Degrees of freedom (>= 1).

    Returns:
        The critical value ``t``.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df > 200:
        z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2.0)
        return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
    low, high = 0.0, 1.0
    while _t_coverage(high, df) < confidence:
        low, high = high, 2.0 * high
    for _ in range(100):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if _t_coverage(mid, df) < confidence else (low, mid)
    return 0.5 * (low + high)


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of its Student-t confidence interval.

    Args:
        values: Independent samples (e.g. the returns of evaluation episodes or of seeds).
        confidence: Coverage of the interval.

    Returns:
        ``(mean, half_width)``; the half-width is NaN for a single value.

    Raises:
        ValueError: No values, or a NaN among them.
    """
    data = [float(v) for v in values]
    if not data:
        raise ValueError("mean_ci needs at least one value")
    if any(math.isnan(v) for v in data):
        raise ValueError("mean_ci: NaN among the values (an undefined metric?); leave those out first")
    mean = statistics.fmean(data)
    if len(data) < 2:
        return mean, float("nan")
    sem = statistics.stdev(data) / math.sqrt(len(data))
    return mean, t_quantile(confidence, len(data) - 1) * sem


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (negative values are clipped to 0).

    Args:
        values: 1-D array.

    Returns:
        0 for perfect equality up to (n-1)/n for one holder of everything; 0 for empty input.
    """
    x = np.sort(np.clip(np.asarray(values, dtype=float), 0.0, None))
    n = x.size
    if n == 0 or x.sum() == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(np.sum((2 * ranks - n - 1) * x) / (n * x.sum()))

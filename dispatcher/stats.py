"""Honest statistics for what-if comparisons: pure functions, no numpy or scipy.

Replications are independent; variants within a replication share the demand sample
(common random numbers), so a variant is compared with the baseline by the *paired*
differences, whose interval is much narrower than the difference of two marginal ones.

Student-t quantiles are computed exactly (to 1e-12) by inverting the t distribution's
CDF, written with the regularised incomplete beta function (continued fraction of
Numerical Recipes, Lentz's method).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function ``I_x(a, b)``."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    ln = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(ln)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """CDF of Student's t distribution with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError(f"df: expected a positive number, got {df!r}")
    x = df / (df + t * t)
    tail = 0.5 * betainc(df / 2.0, 0.5, x)
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t: the ``t`` with ``t_cdf(t, df) == p``.

    Parameters
    ----------
    p
        Probability in ``(0, 1)``; e.g. 0.975 for a two-sided 95 % interval.
    df
        Degrees of freedom (> 0).

    Returns
    -------
    float
        E.g. ``t_quantile(0.975, 4) == 2.7764451...``.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p: expected a probability in (0, 1), got {p!r}")
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


@dataclass(frozen=True)
class Interval:
    """A mean with its two-sided confidence interval.

    With fewer than two values the interval is unknown: ``low``/``high`` are ``nan``.
    """

    mean: float
    low: float
    high: float
    n: int
    sd: float
    level: float = 0.95

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    def contains(self, value: float) -> bool:
        """True when ``value`` lies inside (unknown intervals contain everything)."""
        if math.isnan(self.low):
            return True
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, float | int | None]:
        def clean(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 6)

        return {
            "mean": clean(self.mean),
            "low": clean(self.low),
            "high": clean(self.high),
            "half_width": clean(self.half_width),
            "sd": clean(self.sd),
            "n": self.n,
        }


def mean_ci(values: Sequence[float], level: float = 0.95) -> Interval:
    """Mean and t confidence interval of independent replications.

    ``mean ± t_{(1+level)/2, n-1} · s / √n`` with ``s`` the sample standard deviation
    (divisor ``n - 1``).
    """
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, math.nan, level)
    mean = math.fsum(values) / n
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1, math.nan, level)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in values) / (n - 1))
    half = t_quantile((1.0 + level) / 2.0, n - 1) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, sd, level)


def paired_difference(
    baseline: Sequence[float], variant: Sequence[float], level: float = 0.95
) -> Interval:
    """Interval of ``variant - baseline`` from paired replications (same demand sample)."""
    if len(baseline) != len(variant):
        raise ValueError(
            f"expected paired samples of equal length, got {len(baseline)} and {len(variant)}"
        )
    return mean_ci([v - b for b, v in zip(baseline, variant, strict=True)], level)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation (numpy's default); 0 if empty."""
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def overlaps_zero(interval: Interval) -> bool:
    """True when the interval cannot tell the difference from no difference."""
    return interval.contains(0.0)


def difference_warning(metric: str, variant: str, interval: Interval) -> str | None:
    """A sentence when a paired difference's interval overlaps zero, else ``None``."""
    if not overlaps_zero(interval):
        return None
    if math.isnan(interval.low):
        return f"{variant}: {metric} difference has no interval (fewer than 2 replications)"
    if interval.low == interval.high == 0.0:
        return None  # identical in every replication: no difference, and certainly so
    return (
        f"{variant}: {metric} difference {interval.mean:+.4g} "
        f"[{interval.low:+.4g}, {interval.high:+.4g}] overlaps zero: "
        "not distinguishable from the baseline at 95 %"
    )

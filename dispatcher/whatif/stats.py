"""Honest statistics for what-if comparisons: pure functions, no numpy or scipy.

Replications are independent; variants within a replication share the demand sample
(common random numbers), so a variant is compared with the baseline by the *paired*
differences, whose interval is much narrower than the difference of two marginal ones.

Each kind of statistic has an interval method that respects its range, named in
``Interval.method`` (descriptions in ``METHODS``):

- a rate (on time / orders): Wilson score interval on the counts pooled over
  replications, with the sample size cut by the design effect the replications show
  (:func:`proportion_ci`); never leaves [0, 1];
- a count per replication (late orders): Poisson score interval on the total, widened by
  the over-dispersion the replications show (:func:`count_ci`); never below 0;
- another non-negative quantity (km, hours, utilisation): Student-t on the log scale
  (:func:`positive_ci`); never below 0;
- a paired difference: Student-t (:func:`paired_difference`), limited to the range a
  difference can take when it has one (rates: [-1, 1]).

All use the t quantile with ``R - 1`` degrees of freedom, and with fewer than
``MIN_REPLICATIONS`` replications the interval is flagged ``too_few``: it is shown, but
the spread of so few replications says little about the spread of the next ones.

Student-t quantiles are computed exactly (to 1e-12) by inverting the t distribution's
CDF, written with the regularised incomplete beta function (continued fraction of
Numerical Recipes, Lentz's method).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


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


MIN_REPLICATIONS = 5
"""Below this many replications an interval is shown but flagged as meaning little."""

METHODS: dict[str, str] = {
    "t": "Student-t on the mean of the replications",
    "wilson": (
        "Wilson score interval on the orders pooled over replications, sample size cut by "
        "the design effect between replications (t quantile, R-1 df); stays in [0, 100 %]"
    ),
    "poisson-score": (
        "Poisson score interval on the total over replications, widened by the "
        "over-dispersion between replications (t quantile, R-1 df); never below 0"
    ),
    "log-t": (
        "Student-t on the log scale (delta method: mean × exp(± t·s/(mean·√R))); never below 0"
    ),
    "paired-t": "Student-t on the per-replication differences variant - base",
}


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided confidence interval and the method that made it.

    With fewer than two values the interval is unknown: ``low``/``high`` are ``nan``.
    ``mean`` is the estimate: the mean over replications, or for a rate the pooled share.
    """

    mean: float
    low: float
    high: float
    n: int
    sd: float
    level: float = 0.95
    method: str = "t"

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    @property
    def too_few(self) -> bool:
        """True when the interval rests on fewer than ``MIN_REPLICATIONS`` replications."""
        return self.n < MIN_REPLICATIONS

    def contains(self, value: float) -> bool:
        """True when ``value`` lies inside (unknown intervals contain everything)."""
        if math.isnan(self.low):
            return True
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, float | int | str | None]:
        def clean(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 6)

        return {
            "mean": clean(self.mean),
            "low": clean(self.low),
            "high": clean(self.high),
            "half_width": clean(self.half_width),
            "sd": clean(self.sd),
            "n": self.n,
            "method": self.method,
            "too_few": self.too_few,
        }


def _sd(values: Sequence[float], mean: float) -> float:
    return math.sqrt(math.fsum((x - mean) ** 2 for x in values) / (len(values) - 1))


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
    sd = _sd(values, mean)
    half = t_quantile((1.0 + level) / 2.0, n - 1) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, sd, level)


def proportion_ci(successes: Sequence[int], trials: Sequence[int], level: float = 0.95) -> Interval:
    """Pooled share ``Σ successes / Σ trials`` with a Wilson score interval.

    Orders in one replication share engineers and congestion, so they are not independent
    trials: the between-replication variance of the ratio estimator gives a design effect
    ``deff`` (at least 1: never more precise than independent orders), and Wilson's
    interval uses the effective sample size ``Σ trials / deff`` and the t quantile with
    ``R - 1`` degrees of freedom instead of the normal one (as Korn and Graubard do for
    survey proportions). Wilson's interval lies inside [0, 1] and contains the share.

    Parameters
    ----------
    successes, trials
        Per replication: e.g. orders on time and orders measured (``0 <= s <= t``).
    level
        Confidence level.

    Returns
    -------
    Interval
        ``method == "wilson"``; ``mean`` is the pooled share (1 when there are no
        trials, as a replication without orders counts as all on time); ``sd`` is the
        standard deviation of the per-replication shares.
    """
    if len(successes) != len(trials):
        raise ValueError(
            f"expected one trial count per success count, got {len(successes)} and {len(trials)}"
        )
    r = len(trials)
    total = math.fsum(trials)
    share = math.fsum(successes) / total if total > 0 else 1.0
    rates = [s / t if t > 0 else 1.0 for s, t in zip(successes, trials, strict=True)]
    sd = _sd(rates, math.fsum(rates) / r) if r > 1 else math.nan
    if r < 2 or total <= 0:
        return Interval(share, math.nan, math.nan, r, sd, level, "wilson")
    binomial_var = share * (1.0 - share) / total
    between_var = (
        r
        / (r - 1)
        * math.fsum((s - share * t) ** 2 for s, t in zip(successes, trials, strict=True))
        / total**2
    )
    deff = max(1.0, between_var / binomial_var) if binomial_var > 0 else 1.0
    low, high = wilson_bounds(share, total / deff, t_quantile((1.0 + level) / 2.0, r - 1))
    return Interval(share, low, high, r, sd, level, "wilson")


def wilson_bounds(share: float, n: float, z: float) -> tuple[float, float]:
    """Wilson's score interval of a share observed on ``n`` (effective) trials, quantile ``z``."""
    z2n = z * z / n
    centre = (share + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(share * (1.0 - share) / n + z2n / (4.0 * n))
    # Wilson's ends lie in [0, 1] and around ``share`` exactly; min/max only absorb rounding.
    return max(0.0, min(share, centre - half)), min(1.0, max(share, centre + half))


def wilson_ci(successes: int, trials: int, level: float = 0.95) -> Interval:
    """One sample of independent trials (e.g. recorded orders): the share with Wilson's
    score interval on the normal quantile; unknown (``nan``) ends without trials."""
    if trials <= 0:
        return Interval(math.nan, math.nan, math.nan, 0, math.nan, level, "wilson")
    share = successes / trials
    z = NormalDist().inv_cdf((1.0 + level) / 2.0)
    low, high = wilson_bounds(share, float(trials), z)
    return Interval(share, low, high, trials, math.nan, level, "wilson")


def count_ci(values: Sequence[float], level: float = 0.95) -> Interval:
    """Mean count per replication with a quasi-Poisson score interval.

    The total ``T`` over ``R`` replications is Poisson-like with dispersion
    ``phi = s² / mean`` (at least 1); the score interval of a Poisson mean,
    ``λ = T' + z²/2 ± z·√(T' + z²/4)`` on ``T' = T / phi``, scaled back by ``phi / R``,
    cannot go below 0 and contains the mean. With every count 0 the upper end is still
    positive (``z² / R``): seeing no late order twice does not prove there never is one.
    ``z`` is the t quantile with ``R - 1`` degrees of freedom.
    """
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, math.nan, level, "poisson-score")
    if any(x < 0 for x in values):
        raise ValueError(f"expected counts >= 0, got {min(values)!r}")
    mean = math.fsum(values) / n
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1, math.nan, level, "poisson-score")
    sd = _sd(values, mean)
    phi = max(1.0, sd * sd / mean) if mean > 0 else 1.0
    t_eff = mean * n / phi
    z = t_quantile((1.0 + level) / 2.0, n - 1)
    root = z * math.sqrt(t_eff + z * z / 4.0)
    low = max(0.0, min(mean, (t_eff + z * z / 2.0 - root) * phi / n))
    high = max(mean, (t_eff + z * z / 2.0 + root) * phi / n)
    return Interval(mean, low, high, n, sd, level, "poisson-score")


def positive_ci(values: Sequence[float], level: float = 0.95) -> Interval:
    """Mean of a non-negative quantity with a t interval on the log scale.

    ``mean × exp(± t·s / (mean·√R))`` (delta method for ``log(mean)``): positive, and wide
    upwards when the replications disagree, as a quantity that cannot go below 0 is.
    With every value 0 the interval is ``[0, 0]``.
    """
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, math.nan, level, "log-t")
    if any(x < 0 for x in values):
        raise ValueError(f"expected values >= 0, got {min(values)!r}")
    mean = math.fsum(values) / n
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1, math.nan, level, "log-t")
    sd = _sd(values, mean)
    if mean == 0:
        return Interval(0.0, 0.0, 0.0, n, sd, level, "log-t")
    # Capped so that a wild ratio gives a huge but finite upper end, not an overflow.
    log_half = min(700.0, t_quantile((1.0 + level) / 2.0, n - 1) * sd / (mean * math.sqrt(n)))
    return Interval(
        mean, mean * math.exp(-log_half), mean * math.exp(log_half), n, sd, level, "log-t"
    )


def paired_difference(
    baseline: Sequence[float],
    variant: Sequence[float],
    level: float = 0.95,
    bounds: tuple[float, float] | None = None,
) -> Interval:
    """Interval of ``variant - baseline`` from paired replications (same demand sample).

    ``bounds`` is the range the difference can take (rates: ``(-1, 1)``); the t interval
    is cut to it, which keeps its coverage, since the true difference lies inside.
    """
    if len(baseline) != len(variant):
        raise ValueError(
            f"expected paired samples of equal length, got {len(baseline)} and {len(variant)}"
        )
    iv = mean_ci([v - b for b, v in zip(baseline, variant, strict=True)], level)
    low, high = iv.low, iv.high
    if bounds is not None and not math.isnan(low):
        low, high = max(bounds[0], low), min(bounds[1], high)
    return Interval(iv.mean, low, high, iv.n, iv.sd, level, "paired-t")


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

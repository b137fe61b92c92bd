"""Honest statistics: t quantiles, confidence intervals and paired differences on known cases."""

from __future__ import annotations

import math

import pytest

from dispatcher.stats import (
    difference_warning,
    mean_ci,
    paired_difference,
    percentile,
    t_cdf,
    t_quantile,
)


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.706204736),  # Student's table
        (0.975, 2, 4.302652730),
        (0.975, 4, 2.776445105),
        (0.975, 9, 2.262157163),
        (0.975, 29, 2.045229642),
        (0.95, 10, 1.812461123),
        (0.995, 5, 4.032142984),
        (0.975, 1_000_000, 1.959966),  # -> the normal quantile
    ],
)
def test_t_quantile_matches_the_table(p: float, df: int, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, rel=1e-6)
    assert t_quantile(1 - p, df) == pytest.approx(-expected, rel=1e-6)
    assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, abs=1e-10)


def test_ci_of_one_to_five_is_three_plus_minus_t4_times_se() -> None:
    # mean 3, s = sqrt(2.5) = 1.5811, se = s / sqrt(5) = 0.7071, t(0.975, 4) = 2.7764
    iv = mean_ci([1, 2, 3, 4, 5])
    assert iv.mean == 3
    assert iv.sd == pytest.approx(math.sqrt(2.5))
    assert iv.half_width == pytest.approx(2.776445105 * math.sqrt(2.5) / math.sqrt(5), rel=1e-9)
    assert (iv.low, iv.high) == pytest.approx((3 - 1.963243, 3 + 1.963243), abs=1e-6)


def test_single_replication_has_no_interval() -> None:
    iv = mean_ci([0.9])
    assert iv.mean == 0.9 and math.isnan(iv.low) and math.isnan(iv.high)
    assert iv.to_dict()["low"] is None


def test_paired_difference_removes_the_shared_noise() -> None:
    # The variant is the baseline + 0.02 +- 0.01: marginal intervals overlap widely, the
    # paired one is tight. Differences 0.01, 0.03, 0.02, 0.02: mean 0.02, s = 0.008165.
    base = [0.80, 0.90, 0.70, 0.95]
    variant = [0.81, 0.93, 0.72, 0.97]
    d = paired_difference(base, variant)
    assert d.mean == pytest.approx(0.02)
    assert d.half_width == pytest.approx(3.182446305 * 0.0081649658 / 2, rel=1e-6)
    assert d.low > 0
    assert mean_ci(base).high > mean_ci(variant).low  # the marginal ones overlap


def test_warning_when_the_difference_interval_overlaps_zero() -> None:
    unclear = paired_difference([1.0, 2.0, 3.0], [1.5, 1.5, 3.2])
    assert "overlaps zero" in (difference_warning("on_time_rate", "v", unclear) or "")
    clear = paired_difference([1.0, 2.0, 3.0], [2.0, 3.1, 3.9])
    assert difference_warning("on_time_rate", "v", clear) is None
    same = paired_difference([1.0, 2.0], [1.0, 2.0])
    assert difference_warning("on_time_rate", "v", same) is None


def test_percentile_interpolates_like_numpy() -> None:
    xs = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert percentile(xs, 50) == 35.0
    assert percentile(xs, 90) == pytest.approx(46.0)  # numpy.percentile(xs, 90)
    assert percentile([], 90) == 0.0

"""Honest statistics: t quantiles, confidence intervals and paired differences on known cases."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.whatif.stats import (
    count_ci,
    difference_warning,
    mean_ci,
    paired_difference,
    percentile,
    positive_ci,
    proportion_ci,
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


# ------------------------------------------------------------------ intervals that respect ranges

rates_and_orders = st.lists(
    st.integers(min_value=0, max_value=400).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    ),
    min_size=2,
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(rates_and_orders)
def test_rate_interval_stays_inside_zero_and_one(reps: list[tuple[int, int]]) -> None:
    iv = proportion_ci([k for k, _ in reps], [n for _, n in reps])
    assert iv.method == "wilson"
    if math.isnan(iv.low):  # no orders at all: no interval, share 1 by convention
        assert sum(n for _, n in reps) == 0
        return
    assert 0.0 <= iv.low <= iv.mean <= iv.high <= 1.0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=500), min_size=2, max_size=30))
def test_count_interval_never_goes_below_zero(counts: list[int]) -> None:
    iv = count_ci([float(c) for c in counts])
    assert iv.method == "poisson-score"
    assert 0.0 <= iv.low <= iv.mean <= iv.high
    assert iv.high > 0  # even when every count is 0: two zeros do not prove zero


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
        min_size=2,
        max_size=30,
    )
)
def test_non_negative_interval_never_goes_below_zero(values: list[float]) -> None:
    iv = positive_ci(values)
    assert iv.method == "log-t"
    assert 0.0 <= iv.low <= iv.high
    assert iv.low <= iv.mean * (1 + 1e-12) and iv.mean <= iv.high * (1 + 1e-12)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=1.0), st.floats(min_value=0.0, max_value=1.0)),
        min_size=2,
        max_size=30,
    )
)
def test_rate_difference_stays_within_plus_minus_one(pairs: list[tuple[float, float]]) -> None:
    d = paired_difference([b for b, _ in pairs], [v for _, v in pairs], bounds=(-1.0, 1.0))
    assert d.method == "paired-t"
    assert -1.0 <= d.low <= d.high <= 1.0


def test_the_reported_two_replications_stay_below_100_percent() -> None:
    # Issue 20: 46 of 48 and 51 of 54 on time gave a t interval of [86.3 %, 104.0 %].
    assert mean_ci([46 / 48, 51 / 54]).high == pytest.approx(1.040, abs=5e-4)
    iv = proportion_ci([46, 51], [48, 54])
    assert iv.mean == pytest.approx(97 / 102)
    assert 0.0 < iv.low < iv.mean < iv.high < 1.0
    assert iv.too_few


def test_wilson_with_independent_orders_matches_the_textbook() -> None:
    # Identical shares in every replication: design effect 1, Wilson on 160 of 200 with
    # the t quantile for 3 df (3.182446): centre (0.8 + z²/400) / (1 + z²/200).
    iv = proportion_ci([40, 40, 40, 40], [50, 50, 50, 50])
    z = 3.182446305
    n = 200
    centre = (0.8 + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(0.8 * 0.2 / n + z * z / (4 * n * n))
    assert (iv.low, iv.high) == pytest.approx((centre - half, centre + half), rel=1e-9)


def test_few_replications_are_flagged_and_enough_are_not() -> None:
    assert proportion_ci([9, 8], [10, 10]).too_few
    assert count_ci([1.0, 2.0]).to_dict()["too_few"] is True
    assert not count_ci([1.0, 2.0, 0.0, 3.0, 1.0]).too_few

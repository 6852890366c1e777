"""Interval estimators: exact values where known, coverage by simulation otherwise.

Coverage checks draw M = 4,000 replicate data sets; an interval with true
coverage c >= 0.95 then shows an empirical coverage with sd
sqrt(0.95 * 0.05 / M) = 0.0034, so we require >= 0.95 - 4 * 0.0034 = 0.936.
"""
import math

import numpy as np
import pytest
from scipy import stats as st

from simulator import stats

M = 4_000
MIN_COVERAGE = 0.95 - 4 * math.sqrt(0.95 * 0.05 / M)


def test_wilson_known_values():
    # 0 of 10: Wilson upper bound at 95 % is z^2/(n + z^2) = 0.2775.
    est = stats.proportion(0, 10)
    assert est.value == 0 and est.low == 0
    assert est.high == pytest.approx(1.959964**2 / (10 + 1.959964**2), rel=1e-6)
    # Symmetry: k of n mirrors n - k of n.
    a, b = stats.proportion(3, 20), stats.proportion(17, 20)
    assert a.low == pytest.approx(1 - b.high) and a.high == pytest.approx(1 - b.low)


def test_clopper_pearson_matches_scipy():
    for k, n in [(0, 7), (3, 7), (7, 7), (40, 1000)]:
        ci = st.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        assert stats.clopper_pearson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_ratio_handles_zeros_and_maps_the_binomial_interval():
    assert stats.ratio(5, 0).value == math.inf and stats.ratio(5, 0).high == math.inf
    assert stats.ratio(0, 5).value == 0 and stats.ratio(0, 5).low == 0
    assert math.isnan(stats.ratio(0, 0).value)
    est = stats.ratio(30, 10)
    low_p, high_p = stats.clopper_pearson(30, 40)
    assert est == pytest.approx((3.0, low_p / (1 - low_p), high_p / (1 - high_p)))


def test_ratio_coverage_under_a_multinomial():
    rng = np.random.default_rng(0)
    p = np.array([0.02, 0.01, 0.97])          # f, h, everything else
    truth = p[0] / p[1]
    draws = rng.multinomial(2_000, p, size=M)
    covered = [lo <= truth <= hi for _, lo, hi in (stats.ratio(f, h) for f, h, _ in draws)]
    assert np.mean(covered) >= MIN_COVERAGE


def test_wilson_coverage():
    rng = np.random.default_rng(1)
    p, n = 0.03, 500
    k = rng.binomial(n, p, size=M)
    _, low, high = stats.wilson_interval(k, n)
    assert np.mean((low <= p) & (p <= high)) >= 0.93   # Wilson is near, not always above, nominal


def test_cumulative_incidence_counts_events_up_to_each_step():
    ci = stats.cumulative_incidence([5, 1, 5, 9], n=10, steps=[0, 1, 4, 5, 9, 100])
    np.testing.assert_allclose(ci.value, [0, 0.1, 0.1, 0.3, 0.4, 0.4])
    assert np.all(ci.low <= ci.value) and np.all(ci.value <= ci.high)
    default = stats.cumulative_incidence([5, 1, 5, 9], n=10)
    np.testing.assert_array_equal(default.steps, [0, 1, 5, 9])


def test_mean_and_quantile_interval_coverage():
    rng = np.random.default_rng(2)
    median = math.log(2)                      # Exp(1)
    hits_mean = hits_median = 0
    for _ in range(1_000):
        x = rng.exponential(size=200)
        m = stats.mean_interval(x)
        q = stats.quantile_interval(x, 0.5)
        hits_mean += m.low <= 1.0 <= m.high
        hits_median += q.low <= median <= q.high
    floor = 0.95 - 4 * math.sqrt(0.95 * 0.05 / 1_000)
    assert hits_mean / 1_000 >= floor and hits_median / 1_000 >= floor


def test_hitting_summary_on_empty_input_is_nan():
    summary = stats.hitting_summary([])
    assert summary.n == 0 and math.isnan(summary.mean.value)


def test_wilson_bounds_are_exactly_zero_and_one_at_the_edges():
    """Regression: P = 0 printed its lower bound as 2.2e-19 (rounding), not 0."""
    assert stats.proportion(0, 1000).low == 0.0 and stats.proportion(1000, 1000).high == 1.0
    assert str(stats.proportion(0, 7)).startswith("0 [0, ")


def test_normal_interval_is_value_plus_minus_z_se():
    """z_0.95 = 1.959964 (the normal 97.5 % quantile), z_0.5 = 0.674490."""
    assert stats.normal_interval(1.0, 0.5) == pytest.approx((1.0, 1.0 - 0.979982, 1.0 + 0.979982), abs=1e-6)
    assert stats.normal_interval(0.0, 1.0, level=0.5) == pytest.approx((0.0, -0.674490, 0.674490), abs=1e-6)

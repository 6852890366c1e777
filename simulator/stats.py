"""Interval estimates for race outcomes.

Every function returns point values together with a two-sided interval at
``level`` (default 95 %). Formulas:

* probability: Wilson score interval (Wilson 1927), which keeps its coverage
  near 0 and 1 where the Wald interval fails.
* ratio P(f first)/P(h first) of two outcomes of one multinomial: given
  m = n_f + n_h, n_f ~ Binomial(m, p) with p = P_f / (P_f + P_h), and the
  ratio is p / (1 - p), a monotone map. The exact Clopper-Pearson interval
  for p is mapped through it. It is exact (coverage >= level) for any m,
  and stays defined when n_f or n_h is 0, where the delta method on the
  log ratio breaks down.
* cumulative incidence: all chains share one horizon (``max_steps``), so the
  Aalen-Johansen estimator reduces exactly to F_k(t) = #{T <= t, cause k}/n;
  each point carries a Wilson interval (pointwise, not a simultaneous band).
* ratio of two means over the same independent runs (splitting): the delta
  method, se(R) = sd(x_i - R y_i) / (sqrt(m) mean(y)), with a Student-t
  quantile on m - 1 degrees of freedom (the runs are paired, so the
  correlation of x and y enters through the differences).
* mean hitting step: Student-t interval; quantiles: the distribution-free
  order-statistic interval (binomial), e.g. Hollander & Wolfe, ch. 3.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import stats as _st


class Estimate(NamedTuple):
    """A point estimate with a confidence interval [low, high]."""

    value: float
    low: float
    high: float

    def __str__(self):
        return f"{self.value:.4g} [{self.low:.4g}, {self.high:.4g}]"


class CumulativeIncidence(NamedTuple):
    """F_k(t) = P(T <= t, cause k) at each step in ``steps``, with pointwise intervals."""

    steps: np.ndarray
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray


class HittingSummary(NamedTuple):
    """Hitting steps of the chains that ended in one outcome."""

    n: int
    mean: Estimate
    quantiles: dict


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return float(_st.norm.ppf(0.5 + level / 2))


def normal_interval(value: float, se: float, level: float = 0.95) -> Estimate:
    """value +- z_level se: the interval of an asymptotically normal estimate."""
    half = _z(level) * se
    return Estimate(float(value), float(value - half), float(value + half))


def standard_error(estimate: Estimate, level: float = 0.95) -> float:
    """The standard error behind a symmetric normal interval: (high - low) / (2 z_level)."""
    return (estimate.high - estimate.low) / (2 * _z(level))


def log_standard_error(estimate: Estimate, level: float = 0.95) -> float:
    """The standard error of ln(value) behind an interval symmetric on the log scale (ratios, odds):
    (ln high - ln low) / (2 z_level); NaN unless 0 < low and high is finite."""
    v, lo, hi = estimate
    if not (v > 0 and lo > 0 and math.isfinite(hi)):
        return math.nan
    return (math.log(hi) - math.log(lo)) / (2 * _z(level))


def log_z(a: Estimate, b: Estimate, level: float = 0.95) -> float:
    """z of ln a - ln b, the two independent, each SE from its own interval (``log_standard_error``);
    an estimate without a usable interval counts as exact. NaN if a value is not > 0 or neither has one."""
    if not (a.value > 0 and b.value > 0):
        return math.nan
    se = [s for s in (log_standard_error(a, level), log_standard_error(b, level)) if math.isfinite(s)]
    if not se:
        return math.nan
    return (math.log(a.value) - math.log(b.value)) / math.hypot(*se, 0.0)


def wilson_interval(k, n, level: float = 0.95):
    """Wilson score interval for k successes out of n; works elementwise on arrays."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = _z(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        center = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At k = 0 (k = n) the exact bound is 0 (1); rounding left ~1e-17 there.
    low = np.where(k == 0, 0.0, np.clip(center - half, 0, 1))
    high = np.where(k == n, 1.0, np.clip(center + half, 0, 1))
    return p, low, high


def proportion(k: int, n: int, level: float = 0.95) -> Estimate:
    """k / n with its Wilson interval."""
    if n <= 0:
        return Estimate(math.nan, math.nan, math.nan)
    p, low, high = wilson_interval(k, n, level)
    return Estimate(float(p), float(low), float(high))


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for k successes out of n."""
    alpha = 1 - level
    low = 0.0 if k == 0 else float(_st.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(_st.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def ratio(k_f: int, k_h: int, level: float = 0.95) -> Estimate:
    """Ratio of two multinomial outcomes, k_f/k_h, with a conditional Clopper-Pearson interval."""
    m = k_f + k_h
    if m == 0:
        return Estimate(math.nan, 0.0, math.inf)
    low_p, high_p = clopper_pearson(k_f, m, level)

    def odds(p):
        return math.inf if p >= 1 else p / (1 - p)

    value = math.inf if k_h == 0 else k_f / k_h
    return Estimate(value, odds(low_p), odds(high_p))


def ratio_of_estimates(a: Estimate, b: Estimate, level: float = 0.95) -> Estimate:
    """a / b for two independent estimates: delta method on the log, se(log x) = (high - low) / (2 z x)."""
    if not (a.value > 0 and b.value > 0):
        return Estimate(math.nan, math.nan, math.nan)
    z = _z(level)
    se = math.hypot((a.high - a.low) / (2 * z * a.value), (b.high - b.low) / (2 * z * b.value))
    value = a.value / b.value
    return Estimate(value, value * math.exp(-z * se), value * math.exp(z * se))


def cumulative_incidence(event_steps, n: int, steps=None, level: float = 0.95) -> CumulativeIncidence:
    """Empirical cumulative incidence of one cause among n chains with a common horizon.

    ``event_steps`` holds the steps at which the chains with this cause
    stopped. ``steps`` defaults to 0 and every distinct event step.
    """
    event_steps = np.sort(np.asarray(event_steps))
    if steps is None:
        steps = np.unique(np.concatenate([[0], event_steps]))
    steps = np.asarray(steps)
    k = np.searchsorted(event_steps, steps, side="right")
    value, low, high = wilson_interval(k, n, level)
    return CumulativeIncidence(steps, value, low, high)


def mean_interval(x, level: float = 0.95) -> Estimate:
    """Sample mean with a Student-t interval."""
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return Estimate(math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if x.size == 1:
        return Estimate(mean, -math.inf, math.inf)
    half = float(_st.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return Estimate(mean, mean - half, mean + half)


def mean_interval_from_logs(log_x, level: float = 0.95) -> tuple[Estimate, float]:
    """The Student-t interval of mean(exp(log_x)) for probabilities x known by their logarithms, as
    (interval of mean(x) / e^top with its ends clipped to [0, 1], top = max log_x); (0, 0, 0), -inf when
    every x is 0. Scaling by the largest keeps it exact where x underflows float64 (1e-300 and below).
    Unclipped, 40 runs of a probability near 1 read 0.975 [0.657, 1.293]."""
    log_x = np.asarray(log_x, dtype=float)
    top = float(np.max(log_x))
    if top == -math.inf:
        return Estimate(0.0, 0.0, 0.0), top
    est = mean_interval(np.exp(log_x - top), level)
    return Estimate(est.value, max(est.low, 0.0), min(est.high, math.exp(min(-top, 700.0)))), top


def ratio_of_means(x, y, level: float = 0.95) -> Estimate:
    """mean(x) / mean(y) over m paired runs, with the delta-method Student-t interval (low clipped at 0
    for non-negative data); NaN when mean(y) is 0."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    m = x.size
    if m < 2 or y.mean() <= 0:
        return Estimate(math.nan, math.nan, math.nan)
    value = float(x.mean() / y.mean())
    se = float(np.std(x - value * y, ddof=1) / (math.sqrt(m) * y.mean()))
    half = float(_st.t.ppf(0.5 + level / 2, m - 1)) * se
    low = value - half
    if np.all(x >= 0) and np.all(y >= 0):
        low = max(low, 0.0)
    return Estimate(value, low, value + half)


def quantile_interval(x, q: float, level: float = 0.95) -> Estimate:
    """Sample q-quantile with a distribution-free order-statistic interval.

    The interval is [x_(l), x_(u)] with l, u the binomial(n, q) quantiles
    at (1 - level)/2 and (1 + level)/2; an end that falls outside the
    sample is reported as -inf or +inf.
    """
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan)
    value = float(np.quantile(x, q))
    lo_rank = int(_st.binom.ppf((1 - level) / 2, n, q))       # 1-based rank l -> x[l-1]
    hi_rank = int(_st.binom.ppf((1 + level) / 2, n, q)) + 1
    low = float(x[lo_rank - 1]) if lo_rank >= 1 else -math.inf
    high = float(x[hi_rank - 1]) if hi_rank <= n else math.inf
    return Estimate(value, low, high)


def hitting_summary(steps, quantiles=(0.1, 0.5, 0.9), level: float = 0.95) -> HittingSummary:
    """Mean and quantiles of hitting steps, each with an interval."""
    steps = np.asarray(steps)
    return HittingSummary(
        n=int(steps.size),
        mean=mean_interval(steps, level),
        quantiles={q: quantile_interval(steps, q, level) for q in quantiles},
    )

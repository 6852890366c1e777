"""Haar volumes of eps-neighbourhoods of stabilizers inside a ball, by Monte Carlo.

With proposals g_i and Haar weights w_i from ``simulator.groups.proposals``,

    mu(B cap S^eps) = V * E[w 1{r(g) <= eps}],   V = volume of the proposal box,

estimated by the sample mean with a CLT interval. A ratio of two targets uses
the same samples: log(mean a / mean b) with the delta-method variance
var(a)/(N a^2) + var(b)/(N b^2) - 2 cov(a, b)/(N a b), mapped back by exp.
Samples are drawn in batches, so memory does not grow with n_samples.

Tube law: vol(S^eps cap B) ~ C eps^c for a set of codimension c = D - k, so
the slope of log vol against log eps estimates c (``fit_power``), and the
ratio of two tubes scales as eps^(k_h - k_f).
"""
from __future__ import annotations

import functools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from ..groups.balls import Ball
from ..groups.lie import MatrixGroup
from ..groups.sampling import proposals
from ..stats import Estimate, _z
from ..targets import check_targets

DEFAULT_BATCH = 2**18


def _accumulate(ball: Ball, residuals, eps_grid, n_samples: int, seed: int, batch_size: int,
                measure: str = "haar", weight_fn=None, n_targets=None):
    """Sums over samples of a_ie = w 1{r_i <= eps_e}, a^2, a_ie a_je, the pairwise exclusive
    sums x_ije = w 1{r_i <= eps_e < r_j} and x_ije^2 (sets a race of i and j ends in without a tie),
    and the sums of y_ie = a_ie 1{no other of the first ``n_targets`` residuals <= eps_e} and y^2."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples <= 0:
        raise ValueError(f"n_samples must be an int > 0, got {n_samples!r}")
    eps = np.asarray(eps_grid, dtype=float)
    if eps.ndim != 1 or np.any(~np.isfinite(eps)) or np.any(eps < 0):
        raise ValueError(f"eps must be finite and >= 0, got {eps_grid!r}")
    evaluate = jax.jit(jax.vmap(lambda g: jnp.stack([r(g) for r in residuals])))
    rng = np.random.default_rng(seed)
    k, e = len(residuals), len(eps)
    s1, s2, cross = np.zeros((k, e)), np.zeros((k, e)), np.zeros((k, k, e))
    x1, x2 = np.zeros((k, k, e)), np.zeros((k, k, e))
    y1, y2 = np.zeros((k, e)), np.zeros((k, e))
    n_targets = k if n_targets is None else n_targets
    done, volume = 0, None
    while done < n_samples:
        m = min(batch_size, n_samples - done)
        g, w, volume = proposals(ball, m, rng, measure)
        with jax.default_matmul_precision("highest"):    # float32, not a GPU's TF32 (r is compared with eps)
            r = np.asarray(evaluate(jnp.asarray(g, jnp.float32)), dtype=float)       # (m, k)
        inside = r[:, :, None] <= eps[None, None, :]                              # (m, k, e)
        a = w[:, None, None] * inside
        if weight_fn is not None:     # weighs the targets' samples only: elsewhere a_ie = 0 anyway
            hit = inside[:, :n_targets].any(axis=(1, 2))
            u = np.zeros(m)
            u[hit] = np.asarray(weight_fn(g[hit], rng), dtype=float) if hit.any() else 0.0
            a[:, :n_targets] *= u[:, None, None]
        s1 += a.sum(0)
        s2 += (a * a).sum(0)
        cross += np.einsum("mie,mje->ije", a, a)
        outside = ~inside
        x1 += np.einsum("mie,mje->ije", a, outside)
        x2 += np.einsum("mie,mje->ije", a * a, outside)
        alone = a * (inside[:, :n_targets].sum(1, keepdims=True) == 1)
        y1 += alone.sum(0)
        y2 += (alone * alone).sum(0)
        done += m
    return s1, s2, cross, (x1, x2), (y1, y2), volume


def mean_estimate(s1, s2, n, scale, level=0.95):
    """scale * mean with a CLT interval, from the sums s1 = sum a_i and s2 = sum a_i^2 of n samples."""
    mean = s1 / n
    sd = math.sqrt(max(s2 / n - mean * mean, 0.0))
    half = _z(level) * sd / math.sqrt(n)
    return Estimate(scale * mean, scale * max(mean - half, 0.0), scale * (mean + half))


def _ratio_estimate(s1a, s2a, s1b, s2b, sab, n, level):
    if s1a == 0 or s1b == 0:
        value = 0.0 if s1a == 0 and s1b > 0 else (math.inf if s1b == 0 and s1a > 0 else math.nan)
        return Estimate(value, 0.0, math.inf)
    ma, mb = s1a / n, s1b / n
    va, vb, cov = s2a / n - ma * ma, s2b / n - mb * mb, sab / n - ma * mb
    se = math.sqrt(max(va / ma**2 + vb / mb**2 - 2 * cov / (ma * mb), 0.0) / n)
    z = _z(level)
    return Estimate(ma / mb, ma / mb * math.exp(-z * se), ma / mb * math.exp(z * se))


def tube_volumes(ball: Ball, targets, eps_grid, n_samples: int, seed: int = 0,
                 batch_size: int = DEFAULT_BATCH, level: float = 0.95, measure: str = "haar",
                 weight_fn=None) -> dict:
    """Haar volume of each target's eps-tube inside ``ball`` at every eps of the grid.

    Returns {"eps": [...], "volume": {name: [Estimate per eps]},
    "ratio": {(f, h): [Estimate per eps]}, "ball_volume": Estimate, "n_samples": N}.
    The targets' own eps are ignored; the grid is used instead.
    ``measure="lebesgue"`` measures entry-coordinate volume instead (GL, Aff Frobenius balls);
    ``weight_fn(g, rng) -> (m,)`` multiplies each sample's weight in the targets' tubes (e.g. an
    acceptance probability); it is called on the samples inside some tube only, and "ball_volume"
    stays unweighted.
    "exclusive_ratio" compares S_f^eps minus S_h^eps with S_h^eps minus S_f^eps: the sets in which
    a race of f and h ends without a tie (they are disjoint, so their covariance is zero);
    "exclusive_volume" {name: [Estimate per eps]} is the volume of a tube minus every other target's.
    """
    targets = check_targets(targets)
    residuals = [t.residual for t in targets] + [lambda g: jnp.zeros((), g.dtype)]  # ball itself
    s1, s2, cross, (x1, x2), (y1, y2), volume = _accumulate(ball, residuals, eps_grid, n_samples, seed,
                                                            batch_size, measure, weight_fn, len(targets))
    names = [t.name for t in targets]
    out = {"eps": list(map(float, eps_grid)), "n_samples": n_samples,
           "ball_volume": mean_estimate(s1[-1, 0], s2[-1, 0], n_samples, volume, level),
           "volume": {}, "ratio": {}, "exclusive_ratio": {}, "exclusive_volume": {}}
    for i, name in enumerate(names):
        out["volume"][name] = [mean_estimate(s1[i, e], s2[i, e], n_samples, volume, level)
                               for e in range(len(eps_grid))]
        out["exclusive_volume"][name] = [mean_estimate(y1[i, e], y2[i, e], n_samples, volume, level)
                                         for e in range(len(eps_grid))]
        for j, other in enumerate(names):
            if i != j:
                out["ratio"][(name, other)] = [
                    _ratio_estimate(s1[i, e], s2[i, e], s1[j, e], s2[j, e], cross[i, j, e],
                                    n_samples, level) for e in range(len(eps_grid))]
                out["exclusive_ratio"][(name, other)] = [
                    _ratio_estimate(x1[i, j, e], x2[i, j, e], x1[j, i, e], x2[j, i, e], 0.0,
                                    n_samples, level) for e in range(len(eps_grid))]
    return out


def _accepts_leading_group(fn):
    """Let ``fn(ball, ...)`` also be called the old way, ``fn(group, ball, ...)`` (DeprecationWarning)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if args and isinstance(args[0], MatrixGroup):
            warnings.warn(f"{fn.__name__}(group, ball, ...) is now {fn.__name__}(ball, ...): the ball holds "
                          "its group", DeprecationWarning, stacklevel=2)
            _check_ball(args[1] if len(args) > 1 else kwargs.get("ball"), args[0])
            args = args[1:]
        return fn(*args, **kwargs)
    return wrapper


@_accepts_leading_group
def haar_volume(ball: Ball, target, n_samples: int, seed: int = 0, batch_size: int = DEFAULT_BATCH) -> Estimate:
    """mu(B cap {residual <= eps}) under the left Haar measure of the ball's group, with a 95 % interval."""
    _check_ball(ball)
    return tube_volumes(ball, [target], [target.eps], n_samples, seed, batch_size)["volume"][target.name][0]


@_accepts_leading_group
def haar_volume_ratio(ball: Ball, f, h, n_samples: int, seed: int = 0, batch_size: int = DEFAULT_BATCH) -> Estimate:
    """mu(B cap S_f^eps_f) / mu(B cap S_h^eps_h) from the same samples (delta method on the log)."""
    _check_ball(ball)
    if f.eps != h.eps:
        raise ValueError(f"f and h must share eps for one ratio, got {f.eps} and {h.eps}")
    return tube_volumes(ball, [f, h], [f.eps], n_samples, seed, batch_size)["ratio"][(f.name, h.name)][0]


def fit_power(eps, estimates, level: float = 0.95) -> Estimate:
    """Slope of log(value) against log(eps) by weighted least squares, weights 1/se(log value)^2.

    se(log value) is taken from each interval as (log high - log low) / (2 z).
    """
    x = np.log(np.asarray(eps, dtype=float))
    value = np.array([e.value for e in estimates], dtype=float)
    low = np.array([e.low for e in estimates], dtype=float)
    high = np.array([e.high for e in estimates], dtype=float)
    ok = (value > 0) & (low > 0) & np.isfinite(high)
    if ok.sum() < 2:
        return Estimate(math.nan, math.nan, math.nan)
    z = _z(level)
    y = np.log(value[ok])
    se = (np.log(high[ok]) - np.log(low[ok])) / (2 * z)
    w = 1 / np.maximum(se, 1e-12) ** 2
    xm = np.sum(w * x[ok]) / w.sum()
    slope = np.sum(w * (x[ok] - xm) * (y - np.sum(w * y) / w.sum())) / np.sum(w * (x[ok] - xm) ** 2)
    half = z / math.sqrt(np.sum(w * (x[ok] - xm) ** 2))
    return Estimate(float(slope), float(slope - half), float(slope + half))


def _check_ball(ball, group=None):
    if not isinstance(ball, Ball):
        raise TypeError(f"ball must be a sim.groups ball, got {type(ball).__name__}")
    if group is not None and ball.group.name != group.name:
        raise ValueError(f"ball is in {ball.group.name}, not in {group.name}")

"""Low-temperature (Laplace) asymptotics: Gibbs mass of minimum manifolds.

Gibbs mass. Let M be a k-dimensional manifold of minima of V in R^D, at level
V_M, and H its Hessian, with D - k positive eigenvalues normal to M (their
product is det' H). As T -> 0 the unnormalised mass exp(-V/T) dx near M is

    m(M) = (2 pi T)^((D-k)/2) * int_M det'(H)^(-1/2) exp(-V_M / T) dvol_k,

so P(M_f) / P(M_h) = m(M_f) / m(M_h) (the normaliser Z cancels). Restricted to
the sublevel set {V - V_M <= eps} the normal coordinates n are Gaussian with
n^T H n / T ~ chi^2_(D-k), so the mass of that set is m(M) * F_chi2(D-k)(2 eps / T).
M is given by a chart phi: box in R^k -> R^D; the integral is a Monte Carlo mean
over uniform u in the box, with dvol = sqrt(det J^T J) du (J = d phi / du).
For k = 0 pass the point itself.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats as _st

from ..stats import Estimate, mean_interval
from ..validate import positive


def _log_normal_det(potential, k: int):
    """x -> log det'(H(x)): sum of logs of the D - k largest Hessian eigenvalues (NaN if one is <= 0)."""
    def fn(x):
        eig = jnp.linalg.eigvalsh(jax.hessian(potential)(x))[k:]    # ascending
        return jnp.where(eig[0] > 0, jnp.sum(jnp.log(jnp.abs(eig))), jnp.nan)
    return fn


def laplace_mass(potential, temperature: float, *, point=None, chart=None, box=None,
                 n_samples: int = 2048, seed: int = 0, sublevel: float | None = None,
                 level: float = 0.95) -> Estimate:
    """Unnormalised Laplace mass m(M) of a minimum manifold (formula in the module docstring).

    Args:
        potential: V, a scalar function of one position (D,).
        temperature: T > 0.
        point: the minimum itself, for an isolated minimum (k = 0).
        chart, box: for k >= 1, phi(u) -> (D,) and box = (low, high), each of length k.
        n_samples: Monte Carlo points on M (the interval is a t-interval on their mean).
        sublevel: eps; if given, the mass of {V - V_M <= eps} near M instead of all of it.

    Raises ValueError where the Hessian has a normal eigenvalue <= 0 (not a minimum manifold).
    """
    temperature = positive("temperature", temperature)
    if (point is None) == (chart is None):
        raise ValueError("give exactly one of point (isolated minimum) or chart and box (manifold)")
    if point is not None:
        k, u, log_box = 0, np.zeros((1, 0)), 0.0
        x0 = jnp.asarray(point, float)
        chart = lambda _: x0  # noqa: E731
    else:
        if box is None:
            raise ValueError("box=(low, high) is required with chart")
        low, high = (np.atleast_1d(np.asarray(b, float)) for b in box)
        if low.shape != high.shape or np.any(high <= low):
            raise ValueError(f"box: need low < high of equal length, got {low}, {high}")
        k = low.size
        u = np.random.default_rng(seed).uniform(low, high, size=(n_samples, k))
        log_box = float(np.sum(np.log(high - low)))
    log_det = _log_normal_det(potential, k)

    @jax.jit
    @jax.vmap
    def log_weight(ui):
        x = chart(ui)
        log_dvol = 0.0
        if k:
            jac = jax.jacfwd(chart)(ui).reshape(-1, k)
            log_dvol = 0.5 * jnp.linalg.slogdet(jac.T @ jac)[1]
        return x.size, log_dvol - 0.5 * log_det(x) - potential(x) / temperature

    with jax.default_matmul_precision("highest"):    # float32, not a GPU's TF32 (Hessians, Gram determinants)
        dims, log_w = log_weight(jnp.asarray(u))
    dim, log_w = int(dims[0]), np.asarray(log_w, float) + log_box
    if not np.all(np.isfinite(log_w)):
        raise ValueError(f"the Hessian has a normal eigenvalue <= 0 on the given points: "
                         f"not a minimum manifold of dimension {k}")
    log_front = 0.5 * (dim - k) * math.log(2 * math.pi * temperature)
    if sublevel is not None and dim > k:
        log_front += float(_st.chi2.logcdf(2 * float(sublevel) / temperature, dim - k))
    shift = float(np.max(log_w))
    scale = math.exp(log_front + shift)
    if log_w.size == 1:
        return Estimate(scale, scale, scale)
    est = mean_interval(np.exp(log_w - shift), level)
    return Estimate(scale * est.value, scale * est.low, scale * est.high)

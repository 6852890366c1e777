"""Eyring-Kramers mean transition time between two minima (the small-temperature limit).

For a barrier crossing from a minimum m over a saddle s with
one negative Hessian eigenvalue lambda_s < 0, the mean transition time of
dX = -grad V dt + sqrt(2T) dW is, to leading order as T -> 0,

    E tau = 2 pi / |lambda_s| * sqrt(|det H(s)| / det H(m)) * exp((V(s) - V(m)) / T),

in 1-D: 2 pi / sqrt(V''(m) |V''(s)|) exp(dV / T) (Kramers 1940; Bovier et al. 2004).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ..validate import positive


def kramers_time(potential, minimum, saddle, temperature: float) -> float:
    """Eyring-Kramers mean transition time from ``minimum`` over ``saddle`` (module docstring)."""
    temperature = positive("temperature", temperature)
    m, s = np.atleast_1d(np.asarray(minimum, float)), np.atleast_1d(np.asarray(saddle, float))
    wrap = (lambda x: potential(x[0])) if np.ndim(minimum) == 0 else potential
    h_m = np.linalg.eigvalsh(np.asarray(jax.hessian(wrap)(jnp.asarray(m)), float))
    h_s = np.linalg.eigvalsh(np.asarray(jax.hessian(wrap)(jnp.asarray(s)), float))
    if np.any(h_m <= 0):
        raise ValueError(f"minimum: Hessian eigenvalues {h_m} are not all > 0")
    if not (h_s[0] < 0 and np.all(h_s[1:] > 0)):
        raise ValueError(f"saddle: need exactly one negative Hessian eigenvalue, got {h_s}")
    barrier = float(wrap(jnp.asarray(s)) - wrap(jnp.asarray(m)))
    prefactor = 2 * math.pi / abs(h_s[0]) * math.sqrt(abs(np.prod(h_s)) / np.prod(h_m))
    return prefactor * math.exp(barrier / temperature)

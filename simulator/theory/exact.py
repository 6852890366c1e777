"""Exact hitting probabilities that races are checked against.

* Brownian annulus: BM in R^d started at radius r hits radius a before R
  (a < r < R) with probability h(r) where h is the radial harmonic function
  with h(a) = 1, h(R) = 0:  d = 1: (R - r)/(R - a);  d = 2: ln(R/r)/ln(R/a);
  d >= 3: (R^(2-d) - r^(2-d))/(R^(2-d) - a^(2-d)).
* 1-D diffusion dX = -V'(X) dt + sqrt(2T) dW: the committor (scale function)
  P_x(hit b before a) = int_a^x e^{V/T} / int_a^b e^{V/T}.
* 1-D mean first-passage time from x up to b > x (reflecting at ``lower``):
  E_x tau_b = (1/T) int_x^b e^{V(y)/T} int_lower^y e^{-V(z)/T} dz dy
  (solve T u'' - V' u' = -1, u(b) = 0, u'(lower) = 0; Gardiner, ch. 5.2.7).
* 1-D Gibbs fraction: int_A e^{-V/T} / int_lower^upper e^{-V/T}.
* Discrete monitoring of a Gaussian walk with step sd sigma overshoots a
  flat boundary by beta*sigma on average, beta = -zeta(1/2)/sqrt(2 pi)
  ~= 0.5826 (Siegmund 1979): to first order the walk sees every boundary
  moved outward by beta*sigma.
* Reduced-rank regression (M inputs, H hidden, N outputs, true rank r): the learning coefficient
  of Aoyagi & Watanabe (2005), Main Theorem.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy.integrate import cumulative_trapezoid

SIEGMUND_BETA = 0.5825971579390106  # -zeta(1/2) / sqrt(2*pi)


def annulus_inner_probability(d: int, r: float, a: float, R: float) -> float:
    """P(BM in R^d from radius r hits radius a before radius R)."""
    if not 0 < a < r < R:
        raise ValueError(f"need 0 < a < r < R, got a={a}, r={r}, R={R}")
    if d == 1:
        return (R - r) / (R - a)
    if d == 2:
        return math.log(R / r) / math.log(R / a)
    return (R ** (2 - d) - r ** (2 - d)) / (R ** (2 - d) - a ** (2 - d))


def annulus_discrete_probability(d: int, r: float, a: float, R: float, sigma: float) -> float:
    """First-order prediction for a walk with step sd ``sigma`` checked only at steps:
    the boundaries move outward by ``SIEGMUND_BETA * sigma``."""
    shift = SIEGMUND_BETA * sigma
    return annulus_inner_probability(d, r, a - shift, R + shift)


def committor_1d(potential, a: float, b: float, x: float, temperature: float = 1.0) -> float:
    """P_x(hit b before a) for dX = -V'(X) dt + sqrt(2T) dW, by quadrature."""
    if not a < x < b:
        raise ValueError(f"need a < x < b, got a={a}, x={x}, b={b}")
    # Shift the exponent by its maximum on [a, b] so that e^{V/T} cannot overflow.
    grid = np.linspace(a, b, 2001)
    top = max(float(potential(g)) for g in grid) / temperature

    def weight(y):
        return math.exp(float(potential(y)) / temperature - top)

    num, _ = integrate.quad(weight, a, x, limit=200)
    den, _ = integrate.quad(weight, a, b, limit=200)
    return num / den


def log_committor_1d(potential, a: float, b: float, temperature: float = 1.0, n: int = 4001):
    """(grid, ln q(grid)): the committor of ``committor_1d`` on ``n`` points of [a, b] (trapezoid rule),
    floored at ln 1e-300 (finite, so that interpolation never meets -inf). ``jnp.interp(x, grid, ln q)``
    is then the ideal splitting score."""
    grid = np.linspace(a, b, n)
    v = np.array([float(potential(g)) for g in grid]) / temperature
    q = cumulative_trapezoid(np.exp(v - v.max()), grid, initial=0.0)
    return grid, np.log(np.maximum(q / q[-1], 1e-300))


def _grid_potential(potential, lower: float, upper: float, n: int):
    x = np.linspace(lower, upper, n)
    v = np.array([float(potential(xi)) for xi in x]) if n <= 4001 else np.asarray(potential(x), float)
    return x, v


def mean_first_passage_1d(potential, x: float, b: float, temperature: float = 1.0,
                          lower: float | None = None, n: int = 200_001) -> float:
    """E_x[time to reach b] for dX = -V'(X) dt + sqrt(2T) dW, b > x, reflecting at ``lower``.

    ``lower`` defaults to x - 5 (far enough below for a confining V); trapezoid
    rule on ``n`` points (relative error ~1e-8 for smooth V).
    """
    if not x < b:
        raise ValueError(f"need x < b, got x={x}, b={b}")
    lower = x - 5.0 if lower is None else lower
    if not lower <= x:
        raise ValueError(f"need lower <= x, got lower={lower}, x={x}")
    y, v = _grid_potential(potential, lower, b, n)
    v0 = v.min()
    inner = cumulative_trapezoid(np.exp(-(v - v0) / temperature), y, initial=0.0)
    keep = y >= x
    outer = np.exp((v[keep] - v0) / temperature) * inner[keep]
    return float(np.trapezoid(outer, y[keep]) / temperature)


def gibbs_fraction_1d(potential, inside, lower: float, upper: float, temperature: float = 1.0,
                      n: int = 400_001) -> float:
    """int_{inside} e^{-V/T} / int_lower^upper e^{-V/T}; ``inside`` is a vectorised x -> bool."""
    x, v = _grid_potential(potential, lower, upper, n)
    w = np.exp(-(v - v.min()) / temperature)
    return float(np.trapezoid(w * np.asarray(inside(x), float), x) / np.trapezoid(w, x))


def reduced_rank_learning_coefficient(M: int, H: int, N: int, r: int) -> float:
    """lambda of y = B A x (B: N x H, A: H x M) at a truth of rank r (Aoyagi & Watanabe 2005).

    If N+r <= M+H, M+r <= N+H and H+r <= M+N: [2(H+r)(M+N) - (M-N)^2 - (H+r)^2 + (1 if M+H+N+r odd)]/8;
    else if M+H < N+r: (HM - Hr + Nr)/2; else if N+H < M+r: (HN - Hr + Mr)/2; else MN/2.
    """
    if N + r <= M + H and M + r <= N + H and H + r <= M + N:
        odd = 1 if (M + H + N + r) % 2 else 0
        return (2 * (H + r) * (M + N) - (M - N) ** 2 - (H + r) ** 2 + odd) / 8
    if M + H < N + r:
        return (H * M - H * r + N * r) / 2
    if N + H < M + r:
        return (H * N - H * r + M * r) / 2
    return M * N / 2

"""Haar-uniform sampling in balls of matrix groups.

``proposals`` draws Lie-algebra coordinates uniformly in a coordinate ball and
returns the Radon-Nikodym weights of Haar measure (|det d exp| via
``exp_jacobian``, and |det g|^-n in entry coordinates); ``sample`` turns them into
exact Haar-uniform draws by rejection, with the weight bound of ``weight_bound``.
"""
from __future__ import annotations

import math
from typing import Protocol

import jax.numpy as jnp
import numpy as np

from .lie import MatrixGroup


class Ball(Protocol):
    """What the samplers read of a ball (``groups.balls.Ball`` has it; this module does not import that one,
    which imports this)."""

    group: MatrixGroup
    radius: float
    kind: str            # "frobenius" or "log"
    center: np.ndarray


def lebesgue_ball_volume(d: int, r: float) -> float:
    """Volume of the Euclidean d-ball of radius r: pi^(d/2) r^d / Gamma(d/2 + 1)."""
    return math.pi ** (d / 2) * r**d / math.gamma(d / 2 + 1)


def _uniform_in_ball(rng, n, d, r):
    z = rng.standard_normal((n, d))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    return z * (r * rng.random(n) ** (1.0 / d))[:, None]


def structure_constants(basis) -> np.ndarray:
    """C[i, k] = coordinates of [B_i, B_k] in the orthonormal basis B (a subalgebra's basis works)."""
    B = np.asarray(basis, dtype=float)
    brackets = np.einsum("iab,kbc->ikac", B, B) - np.einsum("kab,ibc->ikac", B, B)
    return np.einsum("ikac,jac->ikj", brackets, B)


def exp_jacobian(group, coefficients) -> np.ndarray:
    """|det phi(ad_X)|, phi(z) = (1 - e^-z)/z: left Haar density at exp(X), X = sum c_i B_i.

    ``group`` is a MatrixGroup or the orthonormal basis (k, size, size) of a Lie subalgebra.
    """
    basis = group.basis if isinstance(group, MatrixGroup) else group
    c = np.atleast_2d(coefficients)
    ad = np.einsum("ni,ikj->njk", c, structure_constants(basis))
    lam = np.linalg.eigvals(ad)
    small = np.abs(lam) < 1e-6
    safe = np.where(small, 1.0, lam)
    phi = np.where(small, 1 - lam / 2 + lam**2 / 6, -np.expm1(-safe) / safe)
    return np.abs(np.prod(phi, axis=-1)).real


def _exp(group, X):
    return np.asarray(group.exp(jnp.asarray(X)), dtype=float)


def proposals(ball: Ball, n: int, rng, measure: str = "haar") -> tuple[np.ndarray, np.ndarray, float]:
    """n proposals g in the ball with Haar weights w: E[w f(g)] * volume = integral of f dHaar.

    Returns (g, w, proposal_volume): the integral over the ball of f d(left Haar)
    is proposal_volume * E[w f(g)], with proposal_volume the Lebesgue volume of
    the coordinate ball the proposals are uniform in. ``measure="lebesgue"``
    (GL and Aff Frobenius balls) gives entry-coordinate Lebesgue measure instead.
    """
    G, r = ball.group, ball.radius
    if measure not in ("haar", "lebesgue"):
        raise ValueError(f"measure must be 'haar' or 'lebesgue', got {measure!r}")
    if measure == "lebesgue" and not (ball.kind == "frobenius" and G.kind in ("GL", "Aff")):
        raise ValueError("measure='lebesgue' needs a Frobenius ball in GL(n) or Aff(n)")
    if ball.kind == "frobenius" and G.kind in ("GL", "Aff"):
        c = _uniform_in_ball(rng, n, G.dim, r)
        h = np.eye(G.size) + np.einsum("ni,iab->nab", c, G.basis)
        g = ball.center @ h
        if measure == "lebesgue":     # d(g0 h) = |det g0|^(size of a column block) dh
            n_rows = G.n
            return g, np.full(n, abs(np.linalg.det(ball.center[:n_rows, :n_rows])) ** G.size), \
                lebesgue_ball_volume(G.dim, r)
        w = np.exp(np.asarray(G.log_haar_density(jnp.asarray(h)), dtype=float))
        volume = lebesgue_ball_volume(G.dim, r)
    else:
        R = -math.log1p(-r) if ball.kind == "frobenius" else r
        c = _uniform_in_ball(rng, n, G.dim, R)
        h = _exp(G, np.einsum("ni,iab->nab", c, G.basis))
        w = exp_jacobian(G, c)
        if ball.kind == "frobenius":
            w = w * (np.linalg.norm(h - np.eye(G.size), axis=(1, 2)) <= r)
        volume = lebesgue_ball_volume(G.dim, R)
    return ball.center @ h, w, volume


def min_det_near_identity(n: int, r: float) -> float:
    """A lower bound on |det(I + X)| over ||X||_F <= r < 1 (n x n).

    n = 2 (exact): det(I + X) = (1 - s)^2 - t^2 at the minimiser, giving
    (1 - r/sqrt2)^2 for r <= 1/sqrt2 and (1 - r^2)/2 beyond.
    n >= 3, r <= 1/2: |det(I + X)| = prod |1 + lambda_i| >= prod (1 - t_i), t_i = |lambda_i(X)|, with
    sum t_i^2 <= ||X||_F^2 <= r^2 (Schur). At a minimiser of sum ln(1 - t_i) on that set the constraint is
    active and, by Lagrange, t_i (1 - t_i) is the same for every nonzero t_i; with t_i <= r <= 1/2 they
    are equal, so the bound is min over k of (1 - r/sqrt k)^k, at k = n: (1 - r/sqrt n)^n.
    Otherwise every singular value of I + X is >= 1 - r, so |det| >= (1 - r)^n.
    """
    if n == 2:
        return (1 - r / math.sqrt(2)) ** 2 if r <= 1 / math.sqrt(2) else (1 - r * r) / 2
    if r <= 0.5:
        return min((1 - r / math.sqrt(k)) ** k for k in range(1, n + 1))
    return (1 - r) ** n


def weight_bound(ball: Ball) -> float:
    """An upper bound on the proposal weights, for rejection sampling."""
    G, r = ball.group, ball.radius
    if ball.kind == "frobenius" and G.kind in ("GL", "Aff"):
        power = G.n if G.kind == "GL" else G.n + 1      # |det A|^-power, see lie.log_haar_density
        return min_det_near_identity(G.n, r) ** (-power)
    if G.compact:
        return 1.0          # |sin(y/2)/(y/2)| <= 1
    R = -math.log1p(-r) if ball.kind == "frobenius" else r
    return ((math.exp(2 * R) - 1) / (2 * R)) ** G.dim    # |eig ad_X| <= 2 ||X||_F


def sample(ball: Ball, n: int, seed: int = 0) -> np.ndarray:
    """n Haar-uniform elements of the ball, (n, size, size), by rejection."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"n must be an int > 0, got {n!r}")
    rng = np.random.default_rng(seed)
    bound, out, have, acceptance = weight_bound(ball), [], 0, 0.5
    while have < n:
        # proposals sized from the acceptance seen so far, in bounded batches
        size = int(min(2**20, max(1024, 1.2 * (n - have) / acceptance)))
        g, w, _ = proposals(ball, size, rng)
        keep = rng.random(len(w)) * bound < w
        out.append(g[keep])
        have += int(keep.sum())
        acceptance = max(float(keep.mean()), 1e-4)
    return np.concatenate(out)[:n]

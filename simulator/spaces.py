"""Spaces with a prior measure, for volume curves: V(eps) = mu({x : r(x) <= eps}) / mu(space).

A space is a probability measure on flat coordinates x in R^D, given by an unnormalised log density
(``-inf`` outside its support) and an exact sampler:

* ``gaussian(D, sigma)``: N(0, sigma^2 I_D);
* ``box(low, high)``: uniform on the box;
* ``prior(logpdf, sample, dim)``: any density with a sampler (``sample(key, n) -> (n, D)``);
* ``group_ball(ball)``: Haar measure on a Frobenius ball of GL(n), normalised; in entry
  coordinates its density is |det g|^-n (``MatrixGroup.log_haar_density``), and
  ``Ball.sample`` draws it exactly. The absolute Haar measure is V times ``ball_volume``.

``shape`` is the shape a residual receives (a matrix for a group ball; x itself otherwise).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .groups.balls import Ball
from .groups.sampling import proposals
from .stabilizers.volumes import mean_estimate
from .validate import positive, positive_int


@dataclass(frozen=True, eq=False)
class Space:
    """A prior on R^dim: ``logpdf(x)`` (unnormalised, -inf outside), ``sample(key, n) -> (n, dim)``;
    ``traceable``: ``sample`` runs inside ``jax.jit`` (the Gaussian and the box; other samplers may draw
    on the host, and nested sampling calls them outside its programs)."""

    name: str
    dim: int
    logpdf: Callable
    sample: Callable
    shape: tuple = ()
    params: dict | None = None
    ball: Ball | None = None
    traceable: bool = False

    def unflatten(self, x):
        """The position a residual sees for flat coordinates x."""
        return x.reshape(self.shape) if self.shape else x

    def describe(self) -> dict:
        return {"name": self.name, "dim": self.dim, **(self.params or {})}


def _dim(D) -> int:
    if isinstance(D, bool) or not isinstance(D, numbers.Integral) or D < 1:
        raise ValueError(f"D must be an int >= 1, got {D!r}")
    return int(D)


def gaussian(D: int, sigma: float = 1.0) -> Space:
    """N(0, sigma^2 I) on R^D."""
    D, sigma = _dim(D), positive("sigma", sigma)
    return Space("gaussian", D, lambda x: -0.5 * jnp.sum(x * x) / sigma ** 2,
                 lambda key, n: sigma * jax.random.normal(key, (n, D)), params={"sigma": sigma}, traceable=True)


def box(low, high) -> Space:
    """Uniform on the box [low, high] (arrays of one length D, or scalars with D = 1)."""
    low, high = np.atleast_1d(np.asarray(low, float)), np.atleast_1d(np.asarray(high, float))
    if low.shape != high.shape or low.ndim != 1:
        raise ValueError(f"box: low and high must be 1-D of one length, got shapes {low.shape} and {high.shape}")
    if not np.all(np.isfinite(low) & np.isfinite(high)) or np.any(high <= low):
        raise ValueError("box: need finite low < high in every coordinate")
    lo, hi = jnp.asarray(low), jnp.asarray(high)

    def logpdf(x):
        return jnp.where(jnp.all((x >= lo.astype(x.dtype)) & (x <= hi.astype(x.dtype))), 0.0, -jnp.inf)

    def sample(key, n):
        return lo + (hi - lo) * jax.random.uniform(key, (n, low.size))
    return Space("box", low.size, logpdf, sample, params={"low": low.tolist(), "high": high.tolist()},
                 traceable=True)


def prior(logpdf, sample, dim: int) -> Space:
    """Any prior on R^dim: ``logpdf(x)`` (unnormalised) and an exact ``sample(key, n) -> (n, dim)``."""
    if not callable(logpdf):
        raise TypeError(f"logpdf must be callable, got {type(logpdf).__name__}")
    if sample is None or not callable(sample):
        raise TypeError("sample must be a function (key, n) -> (n, dim) drawing from the prior: nested sampling "
                        "starts from exact prior draws")
    return Space("prior", _dim(dim), logpdf, sample, params={"logpdf": getattr(logpdf, "__name__", "logpdf")})


def group_ball(ball: Ball) -> Space:
    """Normalised Haar measure on a Frobenius ball of GL(n), in entry coordinates."""
    if not isinstance(ball, Ball):
        raise TypeError(f"ball must be a sim.groups ball, got {type(ball).__name__}")
    G = ball.group
    if ball.kind != "frobenius" or G.kind != "GL":
        raise ValueError("group_ball: only Frobenius balls of GL(n) are supported (entry coordinates, where Haar "
                         "measure has the density |det g|^-n)")
    size = G.size
    inverse = np.linalg.inv(ball.center)

    def logpdf(x):
        g = x.reshape(size, size)
        inside = jnp.linalg.norm(jnp.asarray(inverse, x.dtype) @ g - jnp.eye(size, dtype=x.dtype)) <= ball.radius
        return jnp.where(inside, G.log_haar_density(g), -jnp.inf)

    def sample(key, n):
        seed = int(jax.random.randint(key, (), 0, 2**31 - 1))
        return jnp.asarray(ball.sample(n, seed=seed).reshape(n, size * size))
    return Space(f"{G.name} ball", size * size, logpdf, sample, shape=(size, size), params=ball.describe(),
                 ball=ball)


def ball_volume(ball: Ball, n_samples: int = 1_000_000, seed: int = 0):
    """Haar volume of the ball (Monte Carlo, ``volumes.tube_volumes``), an Estimate."""
    n_samples = positive_int("n_samples", n_samples)
    rng = np.random.default_rng(seed)
    _, w, volume = proposals(ball, n_samples, rng)
    return mean_estimate(float(w.sum()), float((w * w).sum()), n_samples, volume)


__all__ = ["Space", "gaussian", "box", "prior", "group_ball", "ball_volume"]

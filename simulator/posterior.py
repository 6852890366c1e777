"""P_B(f | S): the prior probability that a network computes f on test inputs, among those that fit S.

P_B(f | S) = mu(f_theta = f on S and on T) / mu(f_theta = f on S) (Mingard et al. 2021, "Is SGD a Bayesian
sampler?"; they estimate it with a Gaussian-process approximation, here it is the network's own prior
mass). One volume curve gives both masses: in whitened coordinates (``boolean.mlp_whitened``) the residual

    r(z) = (|T| + 1) m_S(z) + s_T(z),   m_S the misfit count on S, s_T = ``boolean.misfit_score`` on T,

orders every fit of S below every misfit of S (s_T < |T| + 1/2), so {r <= |T| + 1/2} = {fits S} and
{r <= 1/2} = {fits S and f on T}, and P_B is ``VolumeCurve.conditional`` of the two, from the same runs.
The score's fraction breaks the ties of the counts, so runs descend through plateaus instead of going
extinct on them (measured on the 7-40-40-1 network, x1 with |S| = 64: the bare count left 5 of 8 runs
extinct for a function one test error away; the score none).

``method="joint"`` is a second estimator with another path down: two targets in one call, the score of the
whole table (S and T) against (y_train, y_test) and the score on S alone; P_B = mu(whole table) / mu(fits S)
is their ``VolumeCurve.ratio`` at 1/2 (independent runs, so no noise cancels). Where the two methods agree
within their intervals, a value is not an artefact of one descent; where ``curve.spread`` is far above 1, the
runs do not mix and the interval is not to be trusted. Check any value by doubling ``n_moves``: on the
7-40-40-1 network, a function one test error from majority(x1, x2, x3) read 4.8e-3 [2.4e-3, 7.5e-3] at 100
moves and 3.0e-3 [2.5e-3, 3.7e-3] at 400 (spread 1.1), but 9.2e-4 at 40 (spread 2.1, warns); with the pCN
moves that preceded the elliptical slice moves, 2.7e-3 at 100 (spread 5.3) and 9.7e-4 [4.7e-4, 2.6e-3] at
400 (spread 1.5): low, with no warning. Also with pCN, the joint method on a 4-10-10-1 network (16 inputs)
read mu(whole table) 1.6x low at 80 moves (spread 0.6) and agreed with rejection at 400.
"""
from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from . import boolean, validate
from .rare.nested import volume_curve
from .spaces import gaussian
from .stats import Estimate
from .targets import Target
from .volume_result import VolumeCurve


class PosteriorProbability(NamedTuple):
    """P_B(f | S), the prior mass of the networks that fit S, and the volume curve behind them."""

    p: Estimate              # P_B(f | S)
    fit_volume: Estimate     # mu(fits S), the prior mass of the networks that fit S
    curve: VolumeCurve

    def summary(self) -> str:
        return f"P_B(f | S) = {self.p}; mu(fits S) = {self.fit_volume}\n{self.curve.summary()}"

    def __repr__(self) -> str:
        return self.summary()


def _bits(name, y, n):
    y = np.asarray(y)
    if y.shape != (n,) or not np.all((y == 0) | (y == 1)):
        raise ValueError(f"{name} must hold {n} bits (0 or 1), one per input, got shape {y.shape}")
    return jnp.asarray(y, jnp.float32)


def posterior_probability(widths, x_train, y_train, x_test, y_test, *, sigma_w: float = 1.0, sigma_b: float = 1.0,
                          n_live: int = 50, n_runs: int = 8, n_moves: int = 100, seed: int = 0,
                          method: str = "conditional", precision: str = "float32",
                          progress: bool | None = None) -> PosteriorProbability:
    """P_B(f | S) for S = (x_train, y_train) and f = y_test on x_test, under the ReLU network's Gaussian prior
    (``boolean.mlp_init``), by nested sampling (``sim.volume_curve``): ``method`` "conditional" (one curve, S
    first) or "joint" (the whole table and S as two targets); see the module docstring."""
    method = validate.choice("method", method, ("conditional", "joint"))
    widths = tuple(widths)
    scale, unravel = boolean.mlp_whitened(widths, sigma_w, sigma_b)
    x_train, x_test = np.asarray(x_train, np.float32), np.asarray(x_test, np.float32)
    for name, x in (("x_train", x_train), ("x_test", x_test)):
        if x.ndim != 2 or x.shape[1] != widths[0]:
            raise ValueError(f"{name} must have shape (m, {widths[0]}), got {x.shape}")
    y_s, y_t = _bits("y_train", y_train, len(x_train)), _bits("y_test", y_test, len(x_test))
    x_s, x_t = jnp.asarray(x_train), jnp.asarray(x_test)
    depends_on = (np.asarray(widths), scale, x_s, y_s, x_t, y_t)     # what the residuals close over
    if method == "joint":
        return _joint(scale, unravel, (x_s, y_s), (x_t, y_t), n_live=n_live, n_runs=n_runs, n_moves=n_moves,
                      seed=seed, precision=precision, progress=progress, depends_on=depends_on)
    weight = len(x_test) + 1.0

    def residual(z):
        layers = unravel(scale * z)
        return (weight * boolean.misfit_count(boolean.mlp_logits(layers, x_s), y_s)
                + boolean.misfit_score(boolean.mlp_logits(layers, x_t), y_t))
    fits_s = len(x_test) + 0.5
    eps = [weight * k + 0.5 for k in (32, 8, 2) if k < len(x_train)] + [fits_s] + \
        [k + 0.5 for k in (16, 4, 1) if k < len(x_test)] + [0.5]
    curve = volume_curve([Target("f", residual)], gaussian(scale.size), eps, n_live=n_live, n_runs=n_runs,
                         n_moves=n_moves, seed=seed, precision=precision, progress=progress,
                         depends_on=depends_on)
    return PosteriorProbability(curve.conditional("f", 0.5, fits_s), curve.volume("f", fits_s), curve)


def _joint(scale, unravel, train, test, **options) -> PosteriorProbability:
    """P_B = mu(score of the whole table <= 1/2) / mu(score on S <= 1/2), two targets of one call."""
    x_all, y_all = jnp.concatenate([train[0], test[0]]), jnp.concatenate([train[1], test[1]])

    def table(z):
        return boolean.misfit_score(boolean.mlp_logits(unravel(scale * z), x_all), y_all)

    def fits(z):
        return boolean.misfit_score(boolean.mlp_logits(unravel(scale * z), train[0]), train[1])
    n_all = len(y_all)
    eps = sorted({k + 0.5 for k in (n_all // 2, n_all // 4, n_all // 8, 8, 4, 2, 1, 0) if k <= n_all // 2},
                 reverse=True)
    curve = volume_curve([Target("f", table), Target("S", fits)], gaussian(scale.size), eps, **options)
    return PosteriorProbability(curve.ratio("f", "S")[-1], curve.volume("S", 0.5), curve)

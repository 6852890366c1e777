"""Helpers shared by the learning-dynamics scenarios (not a scenario itself: it has no NAME).

Minibatch noise at a known temperature. With loss(theta, d) = V(theta) + <d, theta> and
centred data d of per-coordinate variance s^2, the full-data loss is V and a minibatch
of B examples (drawn with replacement) adds gradient noise of covariance s^2 / B, so
SGD at learning rate h is Langevin at T_eff = h s^2 / (2 B); hence s^2 = 2 B T_eff / h.
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import optax

import simulator as sim

N_DATA = 1024
KERNELS = ("langevin", "sgld", "sgd")


def minibatch_data(dim: int, variance: float, seed: int, n: int = N_DATA) -> np.ndarray:
    """n centred points in R^dim with population variance exactly ``variance`` per coordinate."""
    d = np.random.default_rng(seed).normal(size=(n, dim))
    return (d - d.mean(axis=0)) / d.std(axis=0) * math.sqrt(variance)


def learning_kernel(name: str, v, dim: int, step_size: float, injected_T: float, minibatch_T: float,
                    batch_size: int, seed: int):
    """(kernel, injected T, minibatch T measured from the data) for ``name`` on the potential ``v``.

    langevin: injected only. sgld: injected + minibatch (full batch when minibatch_T = 0).
    sgd (optax.sgd(step_size)): minibatch only.
    """
    if name not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {name!r}")
    if name == "langevin" or (name == "sgld" and minibatch_T == 0):
        if minibatch_T:
            raise ValueError("langevin has no minibatch noise: minibatch_T must be 0")
        if name == "langevin":
            return sim.dynamics.langevin(v, step_size, injected_T), injected_T, 0.0
        data = np.zeros((1, dim))
        return sim.dynamics.sgld(lambda th, d: v(th) + jnp.mean(d @ th), data, step_size, injected_T), injected_T, 0.0
    if name == "sgd" and injected_T:
        raise ValueError("sgd has no injected noise: injected_T must be 0")

    def loss(theta, d):
        return v(theta) + jnp.mean(d @ theta)
    data = minibatch_data(dim, 2 * batch_size * minibatch_T / step_size, seed)
    t_eff = sim.dynamics.effective_temperature(loss, data, jnp.zeros(dim), step_size, batch_size)
    if name == "sgld":
        return sim.dynamics.sgld(loss, data, step_size, injected_T, batch_size=batch_size), injected_T, t_eff
    return sim.dynamics.sgd(loss, data, optax.sgd(step_size), batch_size), 0.0, t_eff


def fmt_interval(triple, digits: int = 3) -> str:
    """'value [low, high]' for a (value, low, high) triple; '—' for None or a non-finite value."""
    if triple is None or not math.isfinite(triple[0]):
        return "—"
    v, lo, hi = triple
    return f"{v:.{digits}g} [{lo:.{digits}g}, {hi:.{digits}g}]"


def save_figure(fig, path) -> None:
    """Tight layout, write a PNG at 110 dpi, free the figure."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

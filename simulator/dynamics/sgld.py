"""Stochastic-gradient Langevin dynamics (Welling & Teh 2011, with the mean loss).

    theta <- theta - h (grad L_B(theta) + gamma (theta - center)) + sqrt(2 h T) xi

The injected noise targets exp(-L/T); the minibatch adds T_eff on top
(``minibatch.effective_temperature``). With ``batch_size=None`` (full batch) it
is the unadjusted Langevin kernel on L + gamma |theta - center|^2 / 2 and draws
the same noise from the same key, so the paths agree to float rounding.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..validate import non_negative, positive
from . import noise
from .base import Kernel, data_digest, describe
from .minibatch import check_batch_size, check_data, flatten_loss, full_loss, minibatch_gradient


class SGLDState(NamedTuple):
    position: jax.Array


def sgld(loss, data, step_size: float, temperature: float = 1.0, batch_size: int | None = None,
         localization: float = 0.0, center=None, *, params_like=None) -> Kernel:
    """Stochastic-gradient Langevin dynamics (formula in the module docstring).

    Args:
        loss, data, batch_size, params_like: as for ``sgd``.
        step_size: h > 0, the time of one step.
        temperature: T > 0 of the injected noise.
        localization: gamma >= 0, strength of the pull towards ``center``.
        center: parameters shaped like the position, an array or a pytree (required when localization > 0).
    """
    step_size = positive("step_size", step_size)
    temperature = positive("temperature", temperature)
    localization = non_negative("localization", localization)
    if localization > 0 and center is None:
        raise ValueError("center is required when localization > 0")
    # Digests of the data as given (NumPy or concrete arrays), before jnp.asarray: inside a sweep's trace
    # that makes tracers, which cannot be hashed (issue 38.1).
    center_digest = None if center is None else data_digest(center)
    center = None if center is None else jax.tree.map(jnp.asarray, center)
    n_examples = check_data(data)
    digest = data_digest(data)
    data = jax.tree.map(jnp.asarray, data)   # on the device once, shared by the gradient and the potential
    batch_size = check_batch_size(batch_size)
    flat_loss = flatten_loss(loss, params_like)
    gradient = minibatch_gradient(flat_loss, data, n_examples, batch_size)
    noise_scale = (2 * step_size * temperature) ** 0.5   # (also for traced values in a sweep)

    def init(position):
        return SGLDState(position)

    def step(key, state):
        x = state.position
        # Full batch: the noise comes from `key` itself, exactly as in `langevin`.
        batch_key, noise_key = (key, key) if batch_size is None else jax.random.split(key)
        drift = gradient(batch_key, x)
        if localization > 0:
            drift = jax.tree.map(lambda d, a, c: d + localization * (a - c.astype(a.dtype)), drift, x, center)
        xi = noise.normal_like(noise_key, x)
        return SGLDState(jax.tree.map(lambda a, d, e: a - step_size * d + noise_scale * e, x, drift, xi))

    params = {"loss": describe(loss), "step_size": step_size, "temperature": temperature,
              "batch_size": batch_size, "n_examples": n_examples, "data": digest,
              "localization": localization, "center": center_digest}
    # The bridge correction needs Gaussian increments: true only without minibatch noise.
    return Kernel(init, step, "sgld", params, noise_scale**2 if batch_size is None else None,
                  full_loss(flat_loss, data))

"""Unadjusted Langevin algorithm (Euler-Maruyama for dX = -grad V dt + sqrt(2T) dW).

    x <- x - step_size * grad V(x) + sqrt(2 * step_size * temperature) * xi

Its stationary law approaches exp(-V/T) as step_size -> 0 (bias O(step_size)).
"""
from __future__ import annotations

from typing import NamedTuple

import jax

from . import noise
from .base import Kernel, langevin_params


class LangevinState(NamedTuple):
    position: jax.Array


def langevin(potential, step_size: float, temperature: float = 1.0) -> Kernel:
    """Unadjusted Langevin kernel; one step is time ``step_size`` of the diffusion."""
    p = langevin_params(potential, step_size, temperature)
    step_size, noise_scale = p.step_size, p.noise_scale
    grad = jax.grad(p.potential)

    def init(position):
        return LangevinState(position)

    def step(key, state):
        x = state.position
        xi = noise.normal(key, x.shape, x.dtype)
        return LangevinState(x - step_size * grad(x) + noise_scale * xi)

    return Kernel(init, step, "langevin", p.as_dict(), noise_scale**2, p.potential)

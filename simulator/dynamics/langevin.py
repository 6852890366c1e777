"""Unadjusted Langevin algorithm (Euler-Maruyama for dX = -grad V dt + sqrt(2T) dW).

    x <- x - step_size * grad V(x) + sqrt(2 * step_size * temperature) * xi

Its stationary law approaches exp(-V/T) as step_size -> 0 (bias O(step_size)).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax

from . import noise
from .base import Kernel, describe, positive, scalar_function


class LangevinState(NamedTuple):
    position: jax.Array


def langevin(potential, step_size: float, temperature: float = 1.0) -> Kernel:
    """Unadjusted Langevin kernel; one step is time ``step_size`` of the diffusion."""
    potential = scalar_function("potential", potential)
    step_size = positive("step_size", step_size)
    temperature = positive("temperature", temperature)
    grad = jax.grad(potential)
    noise_scale = math.sqrt(2 * step_size * temperature)

    def init(position):
        return LangevinState(position)

    def step(key, state):
        x = state.position
        xi = noise.normal(key, x.shape, x.dtype)
        return LangevinState(x - step_size * grad(x) + noise_scale * xi)

    params = {"potential": describe(potential), "step_size": step_size, "temperature": temperature}
    return Kernel(init, step, "langevin", params, noise_scale**2)

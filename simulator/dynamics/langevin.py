"""Unadjusted Langevin algorithm (Euler-Maruyama for dX = -grad V dt + sqrt(2T) dW).

    x <- x - step_size * grad V(x) + sqrt(2 * step_size * temperature) * xi

Its stationary law approaches exp(-V/T) as step_size -> 0 (bias O(step_size)).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax

from ..validate import positive, scalar_function
from . import noise
from .base import Kernel, describe


class LangevinState(NamedTuple):
    position: jax.Array


class LangevinParams(NamedTuple):
    """Checked parameters shared by the Langevin-type kernels."""

    potential: Callable
    step_size: float
    temperature: float
    noise_scale: float      # sqrt(2 * step_size * temperature)

    def as_dict(self) -> dict:
        return {"potential": describe(self.potential), "step_size": self.step_size,
                "temperature": self.temperature}


def langevin_params(potential, step_size, temperature) -> LangevinParams:
    """Refuse a non-callable potential or a step size / temperature that is not > 0."""
    potential = scalar_function("potential", potential)
    step_size = positive("step_size", step_size)
    temperature = positive("temperature", temperature)
    return LangevinParams(potential, step_size, temperature, (2 * step_size * temperature) ** 0.5)


def langevin(potential, step_size: float, temperature: float = 1.0) -> Kernel:
    """Unadjusted Langevin kernel; one step is time ``step_size`` of the diffusion."""
    p = langevin_params(potential, step_size, temperature)
    step_size, noise_scale = p.step_size, p.noise_scale
    grad = jax.grad(p.potential)

    def init(position):
        return LangevinState(position)

    def step(key, state):
        x = state.position
        xi = noise.normal_like(key, x)
        return LangevinState(jax.tree.map(lambda a, g, e: a - step_size * g + noise_scale * e, x, grad(x), xi))

    return Kernel(init, step, "langevin", p.as_dict(), noise_scale**2, p.potential)

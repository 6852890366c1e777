"""Gaussian random walk: x <- x + scale * xi, xi ~ N(0, I)."""
from __future__ import annotations

from typing import NamedTuple

import jax

from . import noise
from ..validate import positive
from .base import Kernel


class RandomWalkState(NamedTuple):
    position: jax.Array


def random_walk(scale: float) -> Kernel:
    """Random walk with i.i.d. N(0, scale^2) increments per coordinate.

    After t steps each coordinate has moved like Brownian motion at time
    t * scale^2, which is how the Brownian annulus references are matched.
    """
    scale = positive("scale", scale)

    def init(position):
        return RandomWalkState(position)

    def step(key, state):
        x = state.position
        return RandomWalkState(jax.tree.map(lambda a, e: a + scale * e, x, noise.normal_like(key, x)))

    return Kernel(init, step, "random_walk", {"scale": scale}, scale**2)

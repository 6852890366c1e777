"""Biased walk on the integer lattice: every coordinate moves +1 with probability p_up, else -1.

The textbook chain of gambler's ruin: from 1, P(reach N before 0) = (1 - r)/(1 - r^N) with
r = (1 - p_up)/p_up. Positions are floats holding integers (exact up to 2^24 in float32).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .base import Kernel


class LatticeWalkState(NamedTuple):
    position: jax.Array


def lattice_walk(p_up: float) -> Kernel:
    """x_i <- x_i + 1 with probability ``p_up``, else x_i - 1, independently per coordinate."""
    if isinstance(p_up, bool) or not isinstance(p_up, (int, float)) or not 0 < p_up < 1:
        raise ValueError(f"p_up must be a probability in (0, 1), got {p_up!r}")
    p_up = float(p_up)

    def step(key, state):
        x = state.position
        up = jax.random.uniform(key, jnp.shape(x)) < p_up
        return LatticeWalkState(x + jnp.where(up, 1.0, -1.0).astype(x.dtype))

    return Kernel(LatticeWalkState, step, "lattice_walk", {"p_up": p_up}, None)

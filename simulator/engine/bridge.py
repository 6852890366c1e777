"""Brownian-bridge crossing correction for hit detection between two steps.

A discrete chain can jump over a thin target. For a residual that is a
distance d to the target's boundary, and a step whose Gaussian increment has
variance v per coordinate, the Brownian bridge from distance d0 to d1 (both
> 0) touches the boundary of a half-space with probability

    P(cross) = exp(-2 d0 d1 / v)

(e.g. Glasserman, *Monte Carlo Methods in Financial Engineering*, sec. 6.4).
This removes the O(sqrt(v)) overshoot bias of discrete monitoring up to
curvature terms.
"""
from __future__ import annotations

import jax.numpy as jnp


def crossing_probability(d0, d1, variance):
    """exp(-2 d0 d1 / variance) for d0, d1 > 0; 1 where either end is already inside."""
    d0 = jnp.maximum(d0, 0.0)
    d1 = jnp.maximum(d1, 0.0)
    return jnp.exp(-2.0 * d0 * d1 / variance)

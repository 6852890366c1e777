"""``confine(kernel, ball)``: moves that leave a Frobenius ball are rejected (the chain stays).

So "inside B_r" is literal. A reversible kernel confined this way keeps its
invariant measure, restricted to the ball (Metropolis with a 0/1 acceptance).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ..groups.balls import Ball
from .base import Kernel


def confine(kernel: Kernel, ball: Ball) -> Kernel:
    """Reject every move of ``kernel`` that leaves the Frobenius ball (the chain stays put)."""
    if not isinstance(kernel, Kernel):
        raise TypeError(f"kernel must be a sim.dynamics kernel, got {type(kernel).__name__}")
    if not isinstance(ball, Ball) or ball.kind != "frobenius":
        raise ValueError("ball must be a Frobenius ball (sim.groups.frobenius_ball)")

    def step(key, state):
        new = kernel.step(key, state)
        inside = ball.contains(new.position)
        return jax.tree.map(lambda a, b: jnp.where(inside, a, b), new, state)

    params = {**kernel.params, "confined_to": ball.describe()}
    return Kernel(kernel.init, step, f"confined_{kernel.name}", params, None, kernel.potential)

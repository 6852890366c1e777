"""Metropolis-adjusted Langevin algorithm (Roberts & Tweedie 1996).

Proposal y = x - h grad V(x) + sqrt(2 h T) xi, accepted with probability
min(1, pi(y) q(x|y) / (pi(x) q(y|x))), where pi = exp(-V/T) and
q(y|x) is proportional to exp(-|y - x + h grad V(x)|^2 / (4 h T)).
The chain leaves exp(-V/T) exactly invariant for every h > 0.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import noise
from .base import Kernel
from .langevin import langevin_params


class MALAState(NamedTuple):
    position: jax.Array
    potential: jax.Array      # V(position)
    grad: jax.Array           # grad V(position)
    n_accepted: jax.Array     # accepted proposals so far (int32)


def mala(potential, step_size: float, temperature: float = 1.0) -> Kernel:
    """MALA kernel targeting exp(-V/T); the state counts accepted proposals."""
    p = langevin_params(potential, step_size, temperature)
    step_size, temperature, noise_scale = p.step_size, p.temperature, p.noise_scale
    value_and_grad = jax.value_and_grad(p.potential)

    def init(position):
        v, g = value_and_grad(position)
        return MALAState(position, v, g, jnp.zeros((), jnp.int32))

    def log_q(to, frm, grad_frm):
        """log q(to | frm) up to a constant."""
        diff = jax.tree.map(lambda t, f, g: t - f + step_size * g, to, frm, grad_frm)
        return -sum(jnp.sum(d * d) for d in jax.tree.leaves(diff)) / (4 * step_size * temperature)

    def step(key, state):
        x = state.position
        xi, u = noise.normal_and_uniform_like(key, x)
        y = jax.tree.map(lambda a, g, e: a - step_size * g + noise_scale * e, x, state.grad, xi)
        v_y, g_y = value_and_grad(y)
        log_ratio = (state.potential - v_y) / temperature + log_q(x, y, g_y) - log_q(y, x, state.grad)
        accept = jnp.log(u) < log_ratio
        def keep(new, old):
            return jax.tree.map(lambda a, b: jnp.where(accept, a, b), new, old)
        return MALAState(keep(y, x), keep(v_y, state.potential), keep(g_y, state.grad),
                         state.n_accepted + accept.astype(jnp.int32))

    # noise_variance=None: a rejected proposal is no Gaussian increment, so the
    # Brownian-bridge correction does not apply and race(bridge=True) refuses it.
    return Kernel(init, step, "mala", p.as_dict(), None, p.potential)

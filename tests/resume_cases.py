"""One small race per kernel, built the same way in any process (for the fresh-process resume test)."""
import jax.numpy as jnp
import numpy as np
import optax

import simulator as sim

GL2 = sim.groups.GL(2)
BALL = sim.groups.frobenius_ball(GL2, 0.5)
DATA = np.random.default_rng(0).normal(size=(32, 2))
RING = [sim.Target("in", lambda x: jnp.linalg.norm(x) - 0.2), sim.Target("out", lambda x: 3.0 - jnp.linalg.norm(x))]
SEGMENT = [sim.Target("seg", sim.shapes.segment().residual_for(GL2), eps=0.05, distance=False),
           sim.Target("circ", sim.shapes.circle().residual_for(GL2), eps=0.05, distance=False)]


def potential(x):
    return 0.5 * jnp.sum(x * x)


def loss(theta, batch):
    return 0.5 * jnp.sum(theta * theta) + jnp.mean(batch @ theta)


def group_potential(g):
    return jnp.sum((g - jnp.eye(2)) ** 2)


def cases():
    """name -> (kernel, targets, start)."""
    x0, g0 = jnp.array([1.0, 0.0]), jnp.array([[1.1, 0.1], [0.0, 0.9]])
    return {
        "random_walk": (sim.dynamics.random_walk(0.1), RING, x0),
        "langevin": (sim.dynamics.langevin(potential, 0.01), RING, x0),
        "mala": (sim.dynamics.mala(potential, 0.05), RING, x0),
        "sgld": (sim.dynamics.sgld(loss, DATA, 0.01, 0.5, batch_size=4), RING, x0),
        "sgd": (sim.dynamics.sgd(loss, DATA, optax.sgd(0.05), 4), RING, x0),
        "adam": (sim.dynamics.sgd(loss, DATA, optax.adam(1e-2), 4), RING, x0),
        "group_walk": (sim.dynamics.confine(sim.dynamics.group_walk(GL2, 0.05), BALL), SEGMENT, g0),
        "entry_walk": (sim.dynamics.entry_walk(GL2, 0.05), SEGMENT, g0),
        "group_langevin": (sim.dynamics.group_langevin(GL2, group_potential, 0.001, 0.5), SEGMENT, g0),
        "group_mala": (sim.dynamics.group_mala(GL2, group_potential, 0.001, 0.5), SEGMENT, g0),
    }


SETTINGS = dict(n_chains=600, max_steps=3000, seed=5, progress=False, batch_size=128, block_size=16)

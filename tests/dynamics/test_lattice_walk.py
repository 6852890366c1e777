"""The biased lattice walk: its drift and spread, and its refusal of a non-probability."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim


def test_lattice_walk_moves_by_one_with_the_right_bias():
    # After t steps: mean t (2p - 1), variance 4 p (1 - p) t; checked within 4 SE over 20,000 walks.
    p, t, n = 0.3, 25, 20_000
    kernel = sim.dynamics.lattice_walk(p)
    keys = jax.random.split(jax.random.key(0), n)

    def walk(key):
        state = kernel.init(jnp.zeros(1))
        for i in range(t):
            state = kernel.step(jax.random.fold_in(key, i), state)
        return state.position[0]
    x = np.asarray(jax.jit(jax.vmap(walk))(keys))
    assert np.all(x == np.round(x)) and np.all(np.abs(x) <= t)
    se = np.sqrt(4 * p * (1 - p) * t / n)
    assert abs(x.mean() - t * (2 * p - 1)) <= 4 * se
    assert x.var() == pytest.approx(4 * p * (1 - p) * t, rel=0.05)   # SE of a variance ~ sqrt(2/n) = 1 %


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, True, "0.3"])
def test_lattice_walk_refuses_a_non_probability(bad):
    with pytest.raises(ValueError, match="p_up"):
        sim.dynamics.lattice_walk(bad)

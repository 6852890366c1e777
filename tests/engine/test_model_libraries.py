"""Equinox models as starts, through the partition pattern (issue 37): the arrays race, the rest (activation
functions, shapes) stays outside and is combined back in the loss."""
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import simulator as sim

X = np.linspace(-1.0, 1.0, 32, dtype=np.float32).reshape(16, 2)
Y = 0.5 * X[:, :1]


def mlp(key):
    return eqx.nn.MLP(in_size=2, out_size=1, width_size=8, depth=1, key=key)


STATIC = eqx.partition(mlp(jax.random.key(0)), eqx.is_array)[1]


def loss(params, batch):
    xb, yb = batch
    return jnp.mean((jax.vmap(eqx.combine(params, STATIC))(xb) - yb) ** 2)


def test_an_equinox_model_races_by_its_arrays():
    # six networks with their own initial weights: a batch of models (eqx.filter_vmap), partitioned once
    models = eqx.filter_vmap(mlp)(jax.random.split(jax.random.key(1), 6))
    params, _ = eqx.partition(models, eqx.is_array)
    kernel = sim.dynamics.sgd(loss, (X, Y), optax.sgd(0.1), batch_size=None)
    fit = sim.Target("fit", lambda p: loss(p, (jnp.asarray(X), jnp.asarray(Y))), 1e-3)
    result = sim.race(kernel, [fit], params, n_chains=6, max_steps=5000, seed=0, progress=False)
    assert result.counts["fit"] == 6
    assert len(set(result.stop_step.tolist())) > 1                    # six different starts, six paths
    fitted = result.position                                          # the params' structure, a chain axis first
    for chain in range(6):
        one = jax.tree.map(lambda a: a[chain], fitted)
        assert float(loss(one, (X, Y))) <= 1e-3 * (1 + 1e-5)          # the stop is the first step at or below eps


def test_an_unpartitioned_model_is_refused_with_the_pattern():
    kernel = sim.dynamics.sgd(loss, (X, Y), optax.sgd(0.1), batch_size=None)
    fit = sim.Target("fit", lambda p: loss(p, (jnp.asarray(X), jnp.asarray(Y))), 1e-3)
    with pytest.raises(TypeError, match=r"eqx.partition\(model, eqx.is_array\)"):
        sim.race(kernel, [fit], mlp(jax.random.key(0)), n_chains=2, max_steps=10, progress=False)

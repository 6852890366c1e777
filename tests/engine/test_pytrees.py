"""Pytree positions end to end: start, kernels, residuals, observables, traces, results, ArviZ, files.

The reference for every pytree race is the same race on the flat vector (``ravel_pytree``) with the
functions unravelling it: leaves are laid out in ravel order and the noise is drawn over the flat
vector, so outcomes are equal and positions agree to float32 rounding.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import simulator as sim

PARAMS = {"W": jnp.full((2, 3), 0.1), "b": jnp.zeros(3)}
FLAT, UNRAVEL = ravel_pytree(PARAMS)


def potential(p):
    return 0.5 * (jnp.sum(p["W"] ** 2) + jnp.sum((p["b"] - 1.0) ** 2))


TARGETS = [sim.Target("b_big", lambda p: 0.8 - jnp.mean(p["b"])),
           sim.Target("far", lambda p: 10.0 - jnp.sqrt(jnp.sum(p["W"] ** 2)))]
FLAT_TARGETS = [sim.Target(t.name, lambda f, t=t: t.residual(UNRAVEL(f))) for t in TARGETS]
RUN = dict(n_chains=200, max_steps=2000, seed=1, progress=False)


@pytest.mark.parametrize("make", [
    lambda v: sim.dynamics.langevin(v, 0.01, 0.1),
    lambda v: sim.dynamics.mala(v, 0.01, 0.1),
    lambda v: sim.dynamics.random_walk(0.05),
], ids=["langevin", "mala", "random_walk"])
def test_a_pytree_race_equals_the_flat_race(make):
    tree = sim.race(make(potential), TARGETS, PARAMS, **RUN)
    flat = sim.race(make(lambda f: potential(UNRAVEL(f))), FLAT_TARGETS, FLAT, **RUN)
    np.testing.assert_array_equal(tree.outcome, flat.outcome)
    np.testing.assert_array_equal(tree.stop_step, flat.stop_step)
    assert jax.tree.structure(tree.position) == jax.tree.structure(PARAMS)
    stacked = jax.vmap(lambda p: ravel_pytree(p)[0])(tree.position)
    # The two programs may round differently (a GPU fuses them differently): at most half an ulp of |x| per
    # step, adding up like a random walk, so 3 sd over max_steps steps bounds the gap.
    ulp = np.spacing(np.float32(np.max(np.abs(flat.position))))
    np.testing.assert_allclose(stacked, flat.position, rtol=0, atol=3 * np.sqrt(RUN["max_steps"]) * ulp / 2)


class Line(NamedTuple):
    slope: jax.Array
    offset: jax.Array


def test_namedtuple_batched_start_and_observables():
    n = 64
    start = Line(jnp.linspace(-1, 1, n), jnp.zeros((n, 2)))
    targets = [sim.Target("steep", lambda p: 2.0 - jnp.abs(p.slope))]
    result = sim.race(sim.dynamics.random_walk(0.1), targets, start, n_chains=n, max_steps=500, seed=0,
                      trace_every=10, observables={"offset_sum": lambda p: jnp.sum(p.offset)}, progress=False)
    assert isinstance(result.position, Line) and result.position.offset.shape == (n, 2)
    assert set(result.trace) >= {"slope", "offset", "offset_sum", "norm"}
    np.testing.assert_allclose(result.trace["slope"][:, 0], np.linspace(-1, 1, n), atol=1e-6)   # draw 0: start
    np.testing.assert_allclose(result.trace["offset_sum"], result.trace["offset"].sum(-1), atol=1e-5,
                               equal_nan=True)


def test_optax_adam_on_a_dict_mlp_saves_loads_and_exports(tmp_path):
    data = np.random.default_rng(0).normal(size=(64, 2))

    def loss(p, batch):
        return jnp.mean((batch @ p["W"] + p["b"] - 1.0) ** 2)
    kernel = sim.dynamics.sgd(loss, data, optax.adam(1e-2), 8)
    result = sim.race(kernel, [sim.Target("fit", lambda p: loss(p, data), eps=0.05)], PARAMS, n_chains=100,
                      max_steps=3000, trace_every=100, progress=False)
    assert result.counts["fit"] == 100
    assert {"position.W", "position.b", "opt_state.0.mu.W"} <= set(result.state)
    idata = result.to_inference_data()
    assert idata.posterior["W"].dims == ("chain", "draw", "W_dim_0", "W_dim_1")
    final = result.to_inference_data(kind="final", outcome="fit").posterior
    np.testing.assert_allclose(final["b"].values[0], result.position["b"])
    result.save(tmp_path / "r")
    back = sim.load_result(tmp_path / "r")
    assert jax.tree.map(np.shape, back.position) == {"W": (100, 2, 3), "b": (100, 3)}
    np.testing.assert_array_equal(back.position["W"], result.position["W"])
    flat = jax.vmap(lambda p: ravel_pytree(p)[0])(result.position)
    unravelled = back.unravel(np.asarray(flat))
    np.testing.assert_array_equal(unravelled["W"], result.position["W"])


def test_sgld_localizes_towards_a_pytree_center():
    """SGLD at tiny temperature with a strong pull settles at the pytree center."""
    data = np.zeros((8, 2))
    center = {"W": jnp.full((2, 3), 0.5), "b": jnp.full(3, -0.5)}
    kernel = sim.dynamics.sgld(lambda p, batch: 0.0 * jnp.sum(p["W"]), data, 0.01, 1e-6, localization=5.0,
                               center=center)
    result = sim.race(kernel, [sim.Target("never", lambda p: jnp.asarray(1.0))], PARAMS, n_chains=4,
                      max_steps=2000, progress=False)
    np.testing.assert_allclose(result.position["b"], -0.5, atol=1e-2)
    np.testing.assert_allclose(result.position["W"], 0.5, atol=1e-2)


def test_pytree_shape_errors_name_the_start(no_compile):
    with pytest.raises(ValueError, match="start: a position of shape .*'W'"):
        sim.race(sim.dynamics.random_walk(0.1), [sim.Target("x", lambda p: p["missing"][0])], PARAMS,
                 n_chains=4, max_steps=10, progress=False)
    with pytest.raises(ValueError, match="start contains non-finite"):
        sim.race(sim.dynamics.random_walk(0.1), TARGETS, {**PARAMS, "b": jnp.full(3, jnp.nan)}, n_chains=4,
                 max_steps=10, progress=False)

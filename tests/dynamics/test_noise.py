"""The full-word threefry draws: right distribution, independent parts, stream identity."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats as st

from simulator.engine import streams
from simulator.dynamics import noise

ALPHA = 1e-4  # fixed seeds make these deterministic; a failure means a real defect


def draws(fn, n_keys, precision):
    with jax.enable_x64(precision == "float64"):
        dtype = jnp.dtype(precision)
        keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(1), i))(jnp.arange(n_keys))
        return jax.device_get(jax.vmap(lambda k: fn(k, dtype))(keys))


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_normal_is_standard_normal_in_every_coordinate(precision):
    x = draws(lambda k, dt: noise.normal(k, (3,), dt), 50_000, precision)
    assert x.dtype == np.dtype(precision)
    for j in range(3):
        assert st.kstest(x[:, j], "norm").pvalue > ALPHA
    corr = np.corrcoef(x.T)[np.triu_indices(3, 1)]
    assert np.all(np.abs(corr) < 4 / np.sqrt(50_000))   # 4 sd of a null correlation


def test_normal_and_uniform_parts():
    xi, u = draws(lambda k, dt: noise.normal_and_uniform(k, (2,), dt), 50_000, "float32")
    assert st.kstest(u, "uniform").pvalue > ALPHA
    assert np.all((u >= 0) & (u < 1))
    assert st.kstest(xi[:, 1], "norm").pvalue > ALPHA
    assert abs(np.corrcoef(xi[:, 1], u)[0, 1]) < 4 / np.sqrt(50_000)


def test_step_key_equals_fold_in():
    key = streams.chain_keys(3, streams.KERNEL_STREAM, jnp.arange(4))[2]
    for t in [1, 2, 1_000_000]:
        np.testing.assert_array_equal(jax.random.key_data(streams.step_key(key, t)),
                                      jax.random.key_data(jax.random.fold_in(key, t)))


def test_consecutive_steps_are_uncorrelated():
    key = streams.chain_keys(0, streams.KERNEL_STREAM, jnp.arange(1))[0]
    x = jax.device_get(jax.vmap(lambda t: noise.normal(streams.step_key(key, t), (1,)))(
        jnp.arange(1, 50_001))[:, 0])
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 4 / np.sqrt(50_000)
    assert st.kstest(x, "norm").pvalue > ALPHA

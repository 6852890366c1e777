"""Traces where the device buffer is smallest: every small block size against every small trace rate.

Reference: a race that never stops, traced at every step, holds every chain's whole path (a chain
depends only on (seed, index)). A race that stops chains on leaving the unit disc must record, for
each chain, exactly that path at steps 0, K, 2K, ... up to its stop, and NaN after it.
Regression: block_size 1 or 2 let the adaptive block grow to MIN_BLOCK = 4 steps, beyond the
buffer sized from block_size, and about half the chains got NaN or wrong draws.
"""
import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim

WALK = sim.dynamics.random_walk(0.25)
START = jnp.array([0.5, 0.0])
N, STEPS = 64, 60
COMMON = dict(n_chains=N, max_steps=STEPS, seed=11, batch_size=16, compaction=False, progress=False)


@pytest.fixture(scope="module")
def paths():
    never = [sim.Target("never", lambda x: jnp.asarray(1.0, x.dtype))]
    full = sim.race(WALK, never, START, trace_every=1, block_size=64, **COMMON)
    return full.trace["position"]           # (N, STEPS + 1, 2)


@pytest.mark.parametrize("block_size", [1, 2, 3, 5])
@pytest.mark.parametrize("every", [1, 2, 5])
def test_every_draw_is_the_path_until_the_stop_and_nan_after(paths, block_size, every):
    leave = [sim.Target("out", lambda x: 1.0 - jnp.linalg.norm(x))]
    result = sim.race(WALK, leave, START, trace_every=every, block_size=block_size, **COMMON)
    assert result.counts["out"] > N // 2            # most chains stop: the block length adapts
    steps = result.trace_steps
    recorded = result.stop_step // every + 1       # draws 0 .. stop // K are recorded
    finite = np.isfinite(result.trace["position"][..., 0])
    np.testing.assert_array_equal(finite, np.arange(steps.size)[None, :] < recorded[:, None])
    expected = np.where(finite[..., None], paths[:, steps], np.nan)
    np.testing.assert_allclose(result.trace["position"], expected, atol=1e-6)
    assert max(result.work["batch_sizes"]) == 16

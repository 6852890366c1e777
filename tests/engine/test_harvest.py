"""What the driver reads from the device: per dispatch its counters, at the end the finished chains.

A counting hook on ``engine.driver.fetch`` (the one place the driver moves device data to the host)
counts the reads and adds up their bytes.

* Kernel states: each chain's final state is read once, at the end, from the per-chain buffer (its
  capacity is at most 12.5 % above n_chains), so the total is at most 2 x n_chains x (bytes per chain).
  The old host loop, which copied every lane at every harvest, would read (blocks with a finish) x
  lanes x bytes.
* Reads: one per dispatch (the counters) and one at the end; a dispatch lasts about POLL_SECONDS, so a
  race without compaction reads at most 2 + wall / POLL_SECONDS times, never once per block.
"""
import jax
import jax.numpy as jnp
import numpy as np
import optax

import simulator as sim
from simulator.engine import driver


def counting_fetch(monkeypatch):
    fetched = []
    real = driver.fetch

    def counting(tree):
        out = real(tree)
        fetched.append(sum(np.asarray(leaf).nbytes for leaf in jax.tree.leaves(out)))
        return out
    monkeypatch.setattr(driver, "fetch", counting)
    return fetched


def test_state_traffic_scales_with_finished_chains_not_lanes(monkeypatch):
    fetched = counting_fetch(monkeypatch)
    dim = 256                                   # momentum keeps a trace: 2 x 256 floats per lane
    data = np.zeros((4, dim))
    kernel = sim.dynamics.sgd(lambda w, b: 0.5 * jnp.sum(w * w), data, optax.sgd(0.05, momentum=0.5), None)
    scale = 10 ** np.random.default_rng(0).uniform(-1, 6, size=(1024, 1))  # log-spread hitting times
    start = scale * np.ones((1, dim))
    target = [sim.Target("small", lambda w: jnp.max(jnp.abs(w)), eps=0.05)]
    result = sim.race(kernel, target, start, n_chains=1024, max_steps=2000, batch_size=1024,
                      compaction=False, block_size=8, progress=False)
    per_chain = sum(v[0].nbytes for v in result.state.values())
    assert result.counts["small"] == 1024 and result.work["blocks"] > 20   # chains finished over many blocks
    assert sum(fetched) <= 2 * 1024 * per_chain
    assert sum(fetched) < result.work["blocks"] * 1024 * per_chain / 10     # the old traffic, for scale


def test_device_reads_are_bounded_by_the_poll_interval_not_the_blocks(monkeypatch):
    """A heavy-tailed walk of many short blocks: reads <= 2 + wall / POLL_SECONDS, against one per block."""
    monkeypatch.setattr(driver, "POLL_SECONDS", 0.2)
    fetched = counting_fetch(monkeypatch)
    targets = [sim.Target("zero", lambda x: x[0]), sim.Target("wall", lambda x: 300.0 - x[0])]
    result = sim.race(sim.dynamics.random_walk(1.0), targets, jnp.array([1.0]), n_chains=2000,
                      max_steps=30_000, block_size=16, batch_size=256, compaction=False, progress=False)
    wall = result.work["wall_seconds"]
    assert result.work["blocks"] > 100, result.work
    assert len(fetched) <= 2 + wall / 0.2, (len(fetched), wall, result.work)
    assert result.work["dispatches"] == len(fetched) - 1        # one read per dispatch, one at the end

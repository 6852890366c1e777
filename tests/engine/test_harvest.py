"""The harvest copies the kernel states of finished chains only, not of every lane.

A counting hook on ``engine.host.fetch`` (the one place the harvest moves kernel states to the
host) adds up the bytes. Each chain's state is copied once when it finishes, padded to a power of
two per block, so the total is at most 2 x n_chains x (bytes per chain); copying every lane at
every harvest with a finish (the old behaviour) would be (blocks with a finish) x lanes x bytes.
"""
import jax
import jax.numpy as jnp
import numpy as np
import optax

import simulator as sim
from simulator.engine import host


def test_state_traffic_scales_with_finished_chains_not_lanes(monkeypatch):
    fetched = []
    real = host.fetch

    def counting(tree):
        out = real(tree)
        fetched.append(sum(np.asarray(leaf).nbytes for leaf in jax.tree.leaves(out)))
        return out
    monkeypatch.setattr(host, "fetch", counting)

    dim = 256                                   # momentum keeps a trace: 2 x 256 floats per lane
    data = np.zeros((4, dim))
    kernel = sim.dynamics.sgd(lambda w, b: 0.5 * jnp.sum(w * w), data, optax.sgd(0.05, momentum=0.5), None)
    scale = 10 ** np.random.default_rng(0).uniform(-1, 6, size=(1024, 1))  # log-spread hitting times
    start = scale * np.ones((1, dim))
    target = [sim.Target("small", lambda w: jnp.max(jnp.abs(w)), eps=0.05)]
    result = sim.race(kernel, target, start, n_chains=1024, max_steps=2000, batch_size=1024,
                      compaction=False, block_size=8, progress=False)
    per_chain = sum(v[0].nbytes for v in result.state.values())
    harvests = len(fetched)
    assert result.counts["small"] == 1024 and harvests > 20                # chains finished over many blocks
    assert sum(fetched) <= 2 * 1024 * per_chain
    assert sum(fetched) < harvests * 1024 * per_chain / 10                  # the old traffic, for scale

"""Many devices (CPU devices forced by XLA_FLAGS in a subprocess) and multi-process shares give the same chains."""
import json
import os
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

import simulator as sim

SCRIPT = r"""
import json, jax, jax.numpy as jnp, numpy as np, simulator as sim
targets = [sim.Target("zero", lambda x: x[0]), sim.Target("wall", lambda x: 100.0 - x[0])]
settings = dict(n_chains=3000, max_steps=20_000, seed=5, progress=False, batch_size=1000, trace_every=100)
runs = {n: sim.race(sim.dynamics.random_walk(1.0), targets, jnp.array([1.0]), devices=jax.devices()[:n], **settings)
        for n in (1, 2, 4)}
same = {n: bool(np.array_equal(runs[1].outcome, r.outcome) and np.array_equal(runs[1].stop_step, r.stop_step)
               and all(np.array_equal(runs[1].state[k], r.state[k]) for k in r.state)
               and all(np.array_equal(runs[1].trace[k], r.trace[k], equal_nan=True) for k in r.trace))
        for n, r in runs.items()}
print(json.dumps({"devices": len(jax.devices()), "n_devices": {n: r.config["n_devices"] for n, r in runs.items()},
                  "same": same, "widths": {n: r.work["batch_sizes"] for n, r in runs.items()}}))
"""


def test_one_two_and_four_devices_give_identical_chains():
    # the forced devices are CPU devices: pin the platform, or a GPU machine shows its one GPU instead
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    m = json.loads(out.stdout.strip().splitlines()[-1])
    assert m["devices"] == 4 and m["n_devices"] == {"1": 1, "2": 2, "4": 4}
    assert all(m["same"].values()), m
    assert all(w % 4 == 0 for w in m["widths"]["4"]), m      # lane counts are multiples of the device count


def test_process_shares_cover_the_chains_once():
    shares = [sim.process_share(10, i, 3) for i in range(3)]
    assert shares == [(0, 4), (4, 3), (7, 3)]
    with pytest.raises(ValueError, match="process_index"):
        sim.process_share(10, 3, 3)


def test_merged_shares_equal_one_run(tmp_path):
    targets = [sim.Target("zero", lambda x: x[0]), sim.Target("wall", lambda x: 50.0 - x[0])]
    settings = dict(max_steps=5000, seed=2, progress=False, trace_every=50)
    kernel = sim.dynamics.random_walk(1.0)
    whole = sim.race(kernel, targets, jnp.array([1.0]), n_chains=900, **settings)
    parts = []
    for i in range(3):
        first, n = sim.process_share(900, i, 3)
        part = sim.race(kernel, targets, jnp.array([1.0]), n_chains=n, first_chain=first, **settings)
        parts.append(sim.load_result(part.save(tmp_path / f"part-{i}")))
    merged = sim.merge_results(parts[::-1])                  # order of arrival does not matter
    np.testing.assert_array_equal(merged.outcome, whole.outcome)
    np.testing.assert_array_equal(merged.stop_step, whole.stop_step)
    np.testing.assert_array_equal(merged.position, whole.position)
    np.testing.assert_array_equal(merged.trace["norm"], whole.trace["norm"])
    assert merged.counts == whole.counts
    with pytest.raises(ValueError, match="contiguous"):
        sim.merge_results([parts[0], parts[2]])
    with pytest.raises(ValueError, match="first_chain"):
        sim.race(kernel, targets, jnp.array([1.0]), n_chains=10, first_chain=-1, **settings)

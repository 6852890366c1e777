"""Fixed cost: small races, called again, against the vmap + lax.scan loop a user would write.

A 4-D Gaussian walk (scale 0.1 per coordinate) from the origin, stopped when it leaves the
ball of radius 2.5 (hitting times about 50-400 steps). Per chain count, in one process:

* the engine's first call (it compiles) and its later calls (median of --repeats; a second
  call with the same kernel and target objects compiles nothing: ``work["compiles"]``);
* the device-to-host reads of a later call (``engine.driver.fetch`` counted);
* the baseline: ``vmap`` of the same step in a jitted ``lax.scan`` over chunks of 64 steps,
  repeated until every chain has left the ball, the first exit step read off (compile excluded).

``--old PATH`` also runs the engine part in a child process with PATH (a checkout of an older
commit) first on ``sys.path``, so that a before/after table comes from one command.

    python benchmarks/overhead.py [--chains 1000 10000] [--repeats 5] [--old /tmp/old]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from common import write

SCALE, RADIUS, DIM, MAX_STEPS, CHUNK = 0.1, 2.5, 4, 5_000, 64


def engine(n_chains: int, repeats: int) -> dict:
    """The engine's first and later calls on the same objects."""
    import jax.numpy as jnp
    import simulator as sim

    kernel = sim.dynamics.random_walk(SCALE)
    targets = [sim.Target("out", lambda x: RADIUS - jnp.linalg.norm(x))]
    start = jnp.zeros(DIM)
    reads = []
    try:
        from simulator.engine import driver
        real = driver.fetch
        driver.fetch = lambda tree: (reads.append(1), real(tree))[1]
    except ImportError:           # the old engine has no driver
        driver = None

    def call(seed):
        began = time.perf_counter()
        result = sim.race(kernel, targets, start, n_chains=n_chains, max_steps=MAX_STEPS, seed=seed, progress=False)
        return time.perf_counter() - began, result

    first, result = call(0)
    later = []
    for seed in range(1, repeats + 1):
        reads.clear()
        seconds, result = call(seed)
        later.append(seconds)
    return {"first_seconds": first, "later_seconds": statistics.median(later), "later_all": later,
            "compiles_later": result.work["compiles"], "reads_later": len(reads) if driver else None,
            "chain_steps": int(result.stop_step.sum()), "mean_hit": float(result.stop_step.mean()),
            "max_hit": int(result.stop_step.max())}


def baseline(n_chains: int, repeats: int) -> dict:
    """vmap + lax.scan in chunks until every chain has left the ball."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    @jax.jit
    def chunk(x, hit, key, t0):
        def step(carry, t):
            x, hit, key = carry
            key, sub = jax.random.split(key)
            x = x + SCALE * jax.random.normal(sub, x.shape)
            out = jnp.linalg.norm(x, axis=1) >= RADIUS
            hit = jnp.where((hit < 0) & out, t, hit)
            return (x, hit, key), None
        (x, hit, key), _ = jax.lax.scan(step, (x, hit, key), t0 + jnp.arange(1, CHUNK + 1))
        return x, hit, key

    def run(seed):
        x, hit = jnp.zeros((n_chains, DIM)), jnp.full(n_chains, -1)
        key, t0 = jax.random.key(seed), 0
        while t0 < MAX_STEPS:
            x, hit, key = chunk(x, hit, key, t0)
            t0 += CHUNK
            if bool((hit >= 0).all()):
                break
        return np.asarray(hit)

    began = time.perf_counter()
    run(0)
    first = time.perf_counter() - began
    later = []
    for seed in range(1, repeats + 1):
        began = time.perf_counter()
        hit = run(seed)
        later.append(time.perf_counter() - began)
    return {"first_seconds": first, "later_seconds": statistics.median(later), "later_all": later,
            "mean_hit": float(hit.mean()), "max_hit": int(hit.max())}


def old_engine(path: str, n_chains: int, repeats: int) -> dict:
    code = (f"import sys, json; sys.path.insert(0, {os.path.dirname(__file__)!r}); import overhead; "
            f"print(json.dumps(overhead.engine({n_chains}, {repeats})))")
    env = {**os.environ, "PYTHONPATH": path}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--old", help="a checkout of an older commit, run in a child process for comparison")
    args = parser.parse_args()

    rows = {}
    print(f"{'chains':>8} {'engine 1st':>10} {'engine':>8} {'loop':>8} {'ratio':>6} {'compiles':>8} {'reads':>5}"
          + (f" {'old':>8} {'old ratio':>9}" if args.old else ""))
    for n in args.chains:
        row = {"engine": engine(n, args.repeats), "loop": baseline(n, args.repeats)}
        row["ratio"] = row["loop"]["later_seconds"] / row["engine"]["later_seconds"]
        if args.old:
            row["old"] = old_engine(args.old, n, args.repeats)
            row["old_ratio"] = row["loop"]["later_seconds"] / row["old"]["later_seconds"]
        rows[n] = row
        e = row["engine"]
        print(f"{n:>8} {e['first_seconds']:>10.3f} {e['later_seconds']:>8.4f} {row['loop']['later_seconds']:>8.4f} "
              f"{row['ratio']:>5.2f}x {e['compiles_later']:>8} {e['reads_later']!s:>5}"
              + (f" {row['old']['later_seconds']:>8.4f} {row['old_ratio']:>8.2f}x" if args.old else ""))
    print("written to", write("overhead", {"rows": rows, "settings": vars(args)}))


if __name__ == "__main__":
    main()

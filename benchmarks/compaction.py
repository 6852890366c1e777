"""Compaction efficiency on a heavy-tailed race: ideal work / work done.

A 1-D walk x <- x + xi from x = 1 races to 0 and to a far wall at 300.
P(tau > t) decays like t^(-1/2), so most chains stop within a few steps and a
few run for 10^4-10^5 steps: without early stopping and compaction the work
would be n_chains x (longest chain). Ideal work is the sum of the stopping
steps; lane-steps are what the engine computed, masked lanes included.

    python benchmarks/compaction.py [--chains N] [--steps T]
"""
from __future__ import annotations

import argparse
import time

from common import write


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import jax.numpy as jnp
    import simulator as sim

    targets = [sim.Target("zero", lambda x: x[0]), sim.Target("wall", lambda x: 300.0 - x[0])]
    rows = {}
    for mode in (True, "auto", False):
        t = time.perf_counter()
        result = sim.race(sim.dynamics.random_walk(1.0), targets, jnp.array([1.0]),
                          n_chains=args.chains, max_steps=args.steps, seed=args.seed,
                          compaction=mode, progress=False)
        work = result.work
        rows[str(mode)] = {
            "seconds": time.perf_counter() - t, "compile_seconds": work["compile_seconds"],
            "ideal_chain_steps": work["ideal_chain_steps"], "lane_steps": work["lane_steps"],
            "efficiency": work["efficiency"], "batch_sizes": work["batch_sizes"],
            "counts": result.counts,
            "no_early_stopping_efficiency": work["ideal_chain_steps"] / (args.chains * args.steps),
        }
    print(f"heavy-tailed race, {args.chains} chains, budget {args.steps}")
    print(f"{'compaction':<12}{'seconds':>9}{'compile s':>11}{'ideal':>12}{'lane-steps':>12}{'efficiency':>12}")
    for mode, row in rows.items():
        print(f"{mode:<12}{row['seconds']:>9.2f}{row['compile_seconds']:>11.2f}{row['ideal_chain_steps']:>12.4g}"
              f"{row['lane_steps']:>12.4g}{row['efficiency']:>12.3f}")
    print(f"counts {rows['True']['counts']}")
    print(f"without early stopping (n x max_steps) the efficiency would be "
          f"{rows['True']['no_early_stopping_efficiency']:.4f}")
    print(f"wrote {write('compaction', {'args': vars(args), 'rows': rows})}")


if __name__ == "__main__":
    main()

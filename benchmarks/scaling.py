"""Engine throughput against the number of chains and against the dimension D.

* chains: a 4-D random walk, 10^3 ... 10^6 chains, 200 steps each, no target ever hit
  (every chain runs its whole budget, so chain-steps = n_chains x 200);
* dimension: Langevin on V = |x|^2 / 2, D = 4 ... 1024, 4096 chains, 200 steps.
Throughput excludes compile time (reported separately). Writes
results/scaling-<machine>.json and results/scaling-<machine>.png.

    python benchmarks/scaling.py [--steps 200] [--max-chains 1000000]
"""
from __future__ import annotations

import argparse

from common import RESULTS, machine_tag, write


def throughput(kernel, start, n_chains, steps):
    import jax.numpy as jnp
    import simulator as sim
    never = [sim.Target("never", lambda x: jnp.asarray(1.0, x.dtype))]
    r = sim.race(kernel, never, start, n_chains=n_chains, max_steps=steps, seed=0, progress=False)
    w = r.work
    run = w["wall_seconds"] - w["compile_seconds"]
    return {"chain_steps": w["ideal_chain_steps"], "seconds": w["wall_seconds"],
            "compile_seconds": w["compile_seconds"],
            "chain_steps_per_s": w["ideal_chain_steps"] / run, "batch_sizes": w["batch_sizes"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--max-chains", type=int, default=1_000_000)
    args = parser.parse_args()
    import jax.numpy as jnp
    import simulator as sim

    chains = [n for n in (1_000, 10_000, 100_000, 1_000_000) if n <= args.max_chains]
    by_chains = {n: throughput(sim.dynamics.random_walk(0.1), jnp.zeros(4), n, args.steps) for n in chains}
    dims = (4, 16, 64, 256, 1024)
    by_dim = {d: throughput(sim.dynamics.langevin(lambda x: 0.5 * jnp.sum(x * x), 0.01), jnp.zeros(d), 4096,
                            args.steps) for d in dims}
    print(f"{'chains':>10}{'chain-steps/s':>16}{'compile s':>11}")
    for n, row in by_chains.items():
        print(f"{n:>10}{row['chain_steps_per_s']:>16.3g}{row['compile_seconds']:>11.2f}")
    print(f"{'D':>10}{'chain-steps/s':>16}{'coordinate-steps/s':>20}")
    for d, row in by_dim.items():
        print(f"{d:>10}{row['chain_steps_per_s']:>16.3g}{row['chain_steps_per_s'] * d:>20.3g}")
    path = write("scaling", {"args": vars(args), "by_chains": by_chains, "by_dim": by_dim})
    from simulator.io.plots import figure, save
    fig, axes = figure(1, 2, figsize=(9, 3.5))
    axes[0].plot(list(by_chains), [r["chain_steps_per_s"] for r in by_chains.values()], "o-")
    axes[0].set(xscale="log", yscale="log", xlabel="chains", ylabel="chain-steps / s", title="4-D random walk")
    axes[1].plot(dims, [r["chain_steps_per_s"] for r in by_dim.values()], "o-", label="chain-steps / s")
    axes[1].plot(dims, [r["chain_steps_per_s"] * d for d, r in by_dim.items()], "s--", label="coordinate-steps / s")
    axes[1].set(xscale="log", yscale="log", xlabel="D", title="Langevin, 4096 chains")
    axes[1].legend(fontsize=8)
    fig.suptitle(machine_tag(), fontsize=9)
    save(fig, RESULTS / f"scaling-{machine_tag()}.png")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""sim.race against a plain NumPy loop on the same Brownian annulus race, in one process.

The NumPy baseline is what a careful user would write: default_rng, the whole
batch vectorised, finished chains dropped after every step. Both count the
same work, the sum over chains of the steps each took (chain-steps). The engine
is timed end to end (compiles included) and without its compile time.

    python benchmarks/vs_numpy.py [--chains N] [--scale S] [--dim D]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from common import write


def numpy_race(n, dim, scale, inner, outer, radius, max_steps, seed, dtype):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, dim), dtype)
    x[:, 0] = radius
    alive = np.arange(n)
    outcome = np.full(n, -4)
    work = 0
    for t in range(1, max_steps + 1):
        x += dtype(scale) * rng.standard_normal(x.shape, dtype=dtype)
        work += alive.size
        r = np.sqrt(np.einsum("ij,ij->i", x, x))
        hit_in, hit_out = r <= inner, r >= outer
        outcome[alive[hit_in]] = 0
        outcome[alive[hit_out]] = 1
        keep = ~(hit_in | hit_out)
        x, alive = x[keep], alive[keep]
        if alive.size == 0:
            break
    return outcome, work


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", type=int, default=100_000)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--dim", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant; the median is kept")
    args = parser.parse_args()

    import jax.numpy as jnp
    import simulator as sim

    inner, outer, radius, max_steps = 1.0, 4.0, 2.0, 1_000_000
    targets = [sim.Target("inner", lambda x: jnp.linalg.norm(x) - inner),
               sim.Target("outer", lambda x: outer - jnp.linalg.norm(x))]
    start = jnp.zeros(args.dim).at[0].set(radius)

    def run_numpy(dtype):
        t = time.perf_counter()
        outcome, work = numpy_race(args.chains, args.dim, args.scale, inner, outer, radius,
                                   max_steps, args.seed, dtype)
        seconds = time.perf_counter() - t
        return {"seconds": seconds, "chain_steps": work, "chain_steps_per_s": work / seconds,
                "p_inner": float(np.mean(outcome == 0))}

    def run_engine():
        t = time.perf_counter()
        result = sim.race(sim.dynamics.random_walk(args.scale), targets, start, n_chains=args.chains,
                          max_steps=max_steps, seed=args.seed, progress=False)
        seconds = time.perf_counter() - t
        work, compile_s = result.work["ideal_chain_steps"], result.work["compile_seconds"]
        return {"seconds": seconds, "compile_seconds": compile_s, "chain_steps": work,
                "chain_steps_per_s": work / seconds,
                "chain_steps_per_s_excluding_compile": work / (seconds - compile_s),
                "compaction_efficiency": result.work["efficiency"],
                "batch_sizes": result.work["batch_sizes"],
                "p_inner": result.probability("inner").value}

    # Interleave the variants so that load from elsewhere hits them alike; keep the median run.
    runs = {"numpy_float64": [], "numpy_float32": [], "engine": []}
    for _ in range(args.repeats):
        runs["numpy_float64"].append(run_numpy(np.float64))
        runs["numpy_float32"].append(run_numpy(np.float32))
        runs["engine"].append(run_engine())
    rows = {name: sorted(rs, key=lambda r: r["seconds"])[len(rs) // 2] for name, rs in runs.items()}
    compile_s = rows["engine"]["compile_seconds"]
    best_numpy = max(rows["numpy_float64"]["chain_steps_per_s"], rows["numpy_float32"]["chain_steps_per_s"])
    ratios = {"engine_vs_best_numpy": rows["engine"]["chain_steps_per_s"] / best_numpy,
              "engine_excluding_compile_vs_best_numpy":
                  rows["engine"]["chain_steps_per_s_excluding_compile"] / best_numpy}
    print(f"annulus race, d={args.dim}, scale={args.scale}, {args.chains} chains, "
          f"median of {args.repeats} runs")
    print(f"{'variant':<10}{'seconds':>10}{'chain-steps':>14}{'chain-steps/s':>15}{'P(inner)':>10}")
    for name, row in rows.items():
        print(f"{name:<16}{row['seconds']:>8.2f}{row['chain_steps']:>14.4g}"
              f"{row['chain_steps_per_s']:>15.3g}{row['p_inner']:>10.4f}")
    print(f"engine compile time {compile_s:.2f} s; "
          f"{rows['engine']['chain_steps_per_s_excluding_compile']:.3g} chain-steps/s without it")
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}x")
    path = write("vs_numpy", {"args": vars(args), "rows": rows, "ratios": ratios, "all_runs": runs})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

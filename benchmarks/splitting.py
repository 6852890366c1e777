"""Splitting against a direct race: chain-steps for a 10 % relative error at p = 1e-3, 1e-5, 1e-6, 1e-7.

Two problems with exact answers:
* ``ruin``: gambler's ruin, a +-1 walk with p_up = 0.3 from 1 to N before 0, N chosen for each p;
* ``double_well``: Langevin (h = 1e-3) on V = (x^2 - 1)^2 from x0 = -0.9 to x >= 1 before x <= -1,
  the temperature chosen so that the exact committor is each p; the score is ln of the committor.

Splitting's cost for a 10 % relative error is its measured work (simulated plus replayed chain-steps,
over ``--runs`` runs) times (measured relative SE / 0.1)^2 (the variance falls as 1/work). A direct
race needs (1 - p) / (0.01 p) chains for the same error; each costs the mean path length, measured
by a direct race of ``--direct`` chains in this process. Ratio = direct / splitting.

    python benchmarks/splitting.py [--replicas N] [--runs R] [--direct N] [--problems ruin double_well]
"""
from __future__ import annotations

import argparse
import math
import time

from common import write

H, X0, A, B = 1e-3, -0.9, -1.0, 1.0


def well(x):
    return (x ** 2 - 1) ** 2


def ruin_problem(p):
    import jax.numpy as jnp
    import simulator as sim
    r = 0.7 / 0.3
    n = int(round(math.log(1 + (1 - r) / -p) / math.log(r)))        # (r - 1)/(r^N - 1) closest to p
    exact_p = (1 - r) / (1 - r ** n)
    return dict(name=f"ruin N={n}", exact=exact_p, kernel=sim.dynamics.lattice_walk(0.3),
                targets=[sim.Target("hit", lambda x: n - x[0])], start=jnp.array([1.0]),
                options=dict(score=lambda x: x[0], failure=lambda x: x[0] <= 0), precision="float32")


def double_well_problem(p):
    import jax.numpy as jnp
    from scipy.optimize import brentq
    import simulator as sim
    from simulator.theory import exact
    T = brentq(lambda t: math.log(exact.committor_1d(well, A, B, X0, t)) - math.log(p), 0.03, 2.0)
    grid, log_q = exact.log_committor_1d(well, A, B, T)
    table, g = jnp.asarray(log_q), jnp.asarray(grid)
    return dict(name=f"double well T={T:.4f}", exact=exact.committor_1d(well, A, B, X0, T),
                kernel=sim.dynamics.langevin(lambda x: jnp.sum((x ** 2 - 1) ** 2), H, T),
                targets=[sim.Target("hit", lambda x: B - x[0])], start=jnp.array([X0]),
                options=dict(score=lambda x: jnp.interp(x[0], g, table), failure=lambda x: x[0] <= A),
                precision="float64")


def measure(problem, replicas, runs, direct_chains, seed):
    import simulator as sim
    t = time.perf_counter()
    split = sim.splitting(problem["kernel"], problem["targets"], problem["start"], n_replicas=replicas,
                          n_runs=runs, max_steps=10**7, seed=seed, progress=False, precision=problem["precision"],
                          **problem["options"])
    split_seconds = time.perf_counter() - t
    p = split.probability("hit")
    rse = split.relative_error("hit")
    work = split.work["chain_steps"] + split.work["replay_steps"]
    split_work_10 = work * (rse / 0.1) ** 2
    # Direct race: the failure set as a target, so each chain stops where a splitting path would.
    targets = problem["targets"] + [sim.Target("fail", lambda x, f=problem["options"]["failure"]:
                                               1.0 - f(x).astype(x.dtype))]
    t = time.perf_counter()
    direct = sim.race(problem["kernel"], targets, problem["start"], n_chains=direct_chains, max_steps=10**7,
                      seed=seed, progress=False, precision=problem["precision"])
    direct_seconds = time.perf_counter() - t
    mean_steps = float(direct.stop_step.mean())
    exact_p = problem["exact"]
    direct_work_10 = (1 - exact_p) / (0.01 * exact_p) * mean_steps
    return {"problem": problem["name"], "exact": exact_p, "estimate": list(p), "relative_se": rse,
            "z": (p.value - exact_p) / (rse * p.value) if rse > 0 else math.nan,
            "splitting_work": work, "replay_fraction": split.work["replay_fraction"],
            "iterations_per_run": split.work["iterations"] / runs, "splitting_seconds": split_seconds,
            "wall_per_chain_step": split_seconds / work,
            # the share of wall time outside device dispatches: host work and compiling (None: an engine
            # that does not report device time)
            "host_and_compile_fraction": (1 - split.work["device_seconds"] / split_seconds
                                          if "device_seconds" in split.work else None),
            "splitting_work_for_10pct": split_work_10, "direct_mean_steps": mean_steps,
            "direct_seconds": direct_seconds, "direct_work_for_10pct": direct_work_10,
            "ratio": direct_work_10 / split_work_10, "direct_hits": direct.counts.get("hit", 0),
            "direct_chains": direct_chains}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=100)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--direct", type=int, default=10_000)
    parser.add_argument("--probabilities", type=float, nargs="+", default=[1e-3, 1e-5, 1e-6, 1e-7])
    parser.add_argument("--problems", nargs="+", default=["ruin", "double_well"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    build = {"ruin": ruin_problem, "double_well": double_well_problem}
    rows = []
    print(f"{'problem':24} {'exact p':>9} {'estimate':>30} {'rel SE':>7} {'split work':>11} {'replay':>6} "
          f"{'direct work':>11} {'ratio':>9}")
    for name in args.problems:
        for p in args.probabilities:
            row = measure(build[name](p), args.replicas, args.runs, args.direct, args.seed)
            rows.append(row)
            est = row["estimate"]
            print(f"{row['problem']:24} {row['exact']:9.3g} {est[0]:10.3g} [{est[1]:.3g}, {est[2]:.3g}] "
                  f"{row['relative_se']:7.3f} {row['splitting_work_for_10pct']:11.3g} "
                  f"{100 * row['replay_fraction']:5.1f}% {row['direct_work_for_10pct']:11.3g} "
                  f"{row['ratio']:9.3g}  wall {row['splitting_seconds']:.2f} s, "
                  f"{1e6 * row['wall_per_chain_step']:.3g} us/chain-step, host+compile "
                  f"{row['host_and_compile_fraction']}", flush=True)
    print("wrote", write("splitting", {"args": vars(args), "rows": rows}))


if __name__ == "__main__":
    main()

"""sim.race against a plain NumPy loop on the same race, in one process.

Races (``--race``):
* ``gl2`` (default, issue 6): GL(2) matrix entries under the additive walk
  g <- g + scale Z, from g0 = [[1.2, 0.2], [0.1, 0.9]], racing to the
  eps-stabilizers of the segment [-e1, e1] and of the unit circle (the
  residuals of ``sim.shapes``), inside the ball ||g0^-1 g - I||_F <= 0.5
  (leaving it ends a chain as escaped).
* ``annulus``: Brownian annulus in R^d (inner radius 1, outer 4, start 2).

The NumPy baseline is what a careful user would write: default_rng, the whole
batch vectorised, finished chains dropped after every step. Both count the
same work, the sum over chains of the steps each took (chain-steps). The engine
is timed end to end (compiles included) and without its compile time.

    python benchmarks/vs_numpy.py [--race gl2|annulus] [--chains N] [--scale S] [--dim D]
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


G0 = np.array([[1.2, 0.2], [0.1, 0.9]])


def _point_to_segment(p, a, b):
    """Distance from points p (n, 2) to segments [a, b] (each (n, 2) or (2,))."""
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", np.broadcast_to(p - a, p.shape), np.broadcast_to(ab, p.shape))
                / np.einsum("ij,ij->i", np.broadcast_to(ab, p.shape), np.broadcast_to(ab, p.shape)), 0, 1)
    d = p - a - t[:, None] * ab
    return np.sqrt(np.einsum("ij,ij->i", d, d))


def numpy_gl2(n, scale, eps, radius, max_steps, seed, dtype):
    """The gl2 race in NumPy; outcome 0 segment, 1 circle, -2 tie, -5 escaped, -4 censored."""
    rng = np.random.default_rng(seed)
    g = np.broadcast_to(G0.astype(dtype), (n, 2, 2)).copy()
    g0_inv, eye, v = np.linalg.inv(G0).astype(dtype), np.eye(2, dtype=dtype), np.array([1, 0], dtype)
    alive, outcome, work = np.arange(n), np.full(n, -4), 0
    for _ in range(max_steps):
        g += dtype(scale) * rng.standard_normal(g.shape, dtype=dtype)
        work += alive.size
        gv = g[:, :, 0]
        seg = np.maximum(_point_to_segment(gv, -v, v), _point_to_segment(np.broadcast_to(v, gv.shape), -gv, gv))
        a, b, c, d = g[:, 0, 0], g[:, 0, 1], g[:, 1, 0], g[:, 1, 1]
        p, q = np.hypot(a + d, b - c), np.hypot(a - d, b + c)
        s1, s2 = (np.maximum(p, q) + np.minimum(p, q)) / 2, (np.maximum(p, q) - np.minimum(p, q)) / 2
        circ = np.maximum(np.abs(s1 - 1), np.abs(s2 - 1))
        inside = np.sum((g0_inv @ g - eye) ** 2, axis=(1, 2)) <= radius**2
        hit_s, hit_c = inside & (seg <= eps), inside & (circ <= eps)
        code = np.where(~inside, -5, np.where(hit_s & hit_c, -2, np.where(hit_s, 0, np.where(hit_c, 1, -1))))
        done = code != -1
        outcome[alive[done]] = code[done]
        g, alive = g[~done], alive[~done]
        if alive.size == 0:
            break
    return outcome, work


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--race", choices=("gl2", "annulus"), default="gl2")
    parser.add_argument("--chains", type=int, default=100_000)
    parser.add_argument("--scale", type=float, default=None, help="step sd (default 0.005 gl2, 0.05 annulus)")
    parser.add_argument("--eps", type=float, default=0.05, help="gl2 stabilizer tolerance")
    parser.add_argument("--dim", type=int, default=3, help="annulus dimension")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant; the median is kept")
    args = parser.parse_args()
    args.scale = args.scale or (0.005 if args.race == "gl2" else 0.05)

    import jax.numpy as jnp
    import simulator as sim

    if args.race == "gl2":
        radius, max_steps = 0.5, 1_000_000
        G = sim.groups.GL(2)
        targets = [sim.stabilizer(sim.shapes.segment(), args.eps), sim.stabilizer(sim.shapes.circle(), args.eps)]
        start, kernel = jnp.asarray(G0), sim.dynamics.entry_walk(None, args.scale)
        domain = sim.groups.frobenius_ball(G, radius, center=G0)
        first = targets[0].name

        def baseline(dtype):
            return numpy_gl2(args.chains, args.scale, args.eps, radius, max_steps, args.seed, dtype)
    else:
        inner, outer, radius, max_steps = 1.0, 4.0, 2.0, 1_000_000
        targets = [sim.Target("inner", lambda x: jnp.linalg.norm(x) - inner),
                   sim.Target("outer", lambda x: outer - jnp.linalg.norm(x))]
        start, kernel = jnp.zeros(args.dim).at[0].set(radius), sim.dynamics.random_walk(args.scale)
        domain, first = None, "inner"

        def baseline(dtype):
            return numpy_race(args.chains, args.dim, args.scale, inner, outer, radius, max_steps, args.seed, dtype)

    def run_numpy(dtype):
        t = time.perf_counter()
        outcome, work = baseline(dtype)
        seconds = time.perf_counter() - t
        return {"seconds": seconds, "chain_steps": work, "chain_steps_per_s": work / seconds,
                "p_first": float(np.mean(outcome == 0))}

    def run_engine():
        t = time.perf_counter()
        result = sim.race(kernel, targets, start, n_chains=args.chains, max_steps=max_steps, seed=args.seed,
                          progress=False, domain=domain)
        seconds = time.perf_counter() - t
        work, compile_s = result.work["ideal_chain_steps"], result.work["compile_seconds"]
        return {"seconds": seconds, "compile_seconds": compile_s, "chain_steps": work,
                "chain_steps_per_s": work / seconds,
                "chain_steps_per_s_excluding_compile": work / (seconds - compile_s),
                "compaction_efficiency": result.work["efficiency"],
                "batch_sizes": result.work["batch_sizes"], "counts": result.counts,
                "p_first": result.probability(first).value}

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
    print(f"{args.race} race, scale={args.scale}, {args.chains} chains, median of {args.repeats} runs")
    print(f"{'variant':<16}{'seconds':>8}{'chain-steps':>14}{'chain-steps/s':>15}{f'P({first})':>12}")
    for name, row in rows.items():
        print(f"{name:<16}{row['seconds']:>8.2f}{row['chain_steps']:>14.4g}"
              f"{row['chain_steps_per_s']:>15.3g}{row['p_first']:>12.4f}")
    print(f"engine compile time {compile_s:.2f} s; "
          f"{rows['engine']['chain_steps_per_s_excluding_compile']:.3g} chain-steps/s without it")
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}x")
    if args.race == "gl2":
        print(f"goal (issue 6): engine >= 2x NumPy; measured {ratios['engine_vs_best_numpy']:.2f}x")
    path = write("vs_numpy" if args.race == "gl2" else "vs_numpy_annulus",
                 {"args": vars(args), "rows": rows, "ratios": ratios, "all_runs": runs})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

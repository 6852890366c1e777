"""sim.race against a vmapped BlackJAX MALA kernel in one lax.scan with the same hit test (one process).

The baseline is what a BlackJAX user writes: ``jax.vmap(mala.step)`` inside
``lax.scan`` over max_steps, a ``done`` mask freezing finished chains, first-hit
bookkeeping in the carry. sim.race runs the *same* BlackJAX kernel (wrapped as
``Kernel(init, step)``). Both are timed without compile time (compiled first),
median of ``--repeats``; work is counted as chain-steps needed (sum of the
steps each chain took), so the ratio is speed at equal results.

Cases:
* ``similar``: MALA on V = |x|^2/2 in R^8 from x = (3, 0, ...), target x_0 <= 0.5
  (drift-dominated: hitting times cluster near 180 steps), max_steps 400. Goal >= 1x.
* ``heavy``: MALA on V = 0 in R^1 (a random walk, h = 0.5) from 1, targets x <= 0 and
  x >= 50 (heavy-tailed hitting times), max_steps 20,000. Goal >= 3x.

Needs the benchmark extra: ``pip install -e ".[bench]"`` (blackjax).

    python benchmarks/vs_blackjax.py [--chains 10000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from common import write

RUNNING = -1


def cases():
    import jax.numpy as jnp
    return {
        "similar": dict(logdensity=lambda x: -0.5 * jnp.sum(x * x), step_size=0.01, start=jnp.zeros(8).at[0].set(3.0),
                        residuals=[lambda x: x[0] - 0.5], max_steps=400),
        "heavy": dict(logdensity=lambda x: 0.0 * jnp.sum(x), step_size=0.5, start=jnp.ones(1),
                      residuals=[lambda x: x[0], lambda x: 50.0 - x[0]], max_steps=20_000),
    }


def scan_baseline(mala, residuals, start, n, max_steps, seed):
    """Compiled function () -> (outcome, hit_step): the vmapped kernel in one lax.scan."""
    import jax
    import jax.numpy as jnp

    def residual_vec(x):
        return jnp.stack([r(x) for r in residuals])

    @jax.jit
    def run(key):
        keys = jax.random.split(key, n)
        states = jax.vmap(mala.init)(jnp.broadcast_to(start, (n,) + start.shape))
        code = jnp.full(n, RUNNING)
        hit = jnp.full(n, max_steps)

        def body(carry, t):
            states, code, hit = carry
            step_keys = jax.vmap(jax.random.fold_in, (0, None))(keys, t)
            new, _ = jax.vmap(mala.step)(step_keys, states)
            active = code == RUNNING
            states = jax.tree.map(lambda a, b: jnp.where(active.reshape((-1,) + (1,) * (a.ndim - 1)), a, b),
                                  new, states)
            entered = jax.vmap(residual_vec)(states.position) <= 0
            first = jnp.argmax(entered, axis=1)
            newly = active & jnp.any(entered, axis=1)
            return (states, jnp.where(newly, first, code), jnp.where(newly, t, hit)), None

        (states, code, hit), _ = jax.lax.scan(body, (states, code, hit), jnp.arange(1, max_steps + 1))
        return code, hit

    key = jax.random.key(seed)
    t = time.perf_counter()
    compiled = run.lower(key).compile()
    return (lambda: jax.block_until_ready(compiled(key))), time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import blackjax

    import simulator as sim
    from simulator.dynamics import Kernel

    rows = {}
    for name, case in cases().items():
        mala = blackjax.mala(case["logdensity"], case["step_size"])
        kernel = Kernel(mala.init, lambda key, state, mala=mala: mala.step(key, state)[0], "blackjax_mala",
                        {"step_size": case["step_size"]}, None)
        targets = [sim.Target(f"t{i}", r) for i, r in enumerate(case["residuals"])]
        baseline, baseline_compile = scan_baseline(mala, case["residuals"], case["start"], args.chains,
                                                   case["max_steps"], args.seed)
        baseline()
        engine_runs, baseline_runs = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            code, hit = baseline()
            baseline_runs.append(time.perf_counter() - t)
            r = sim.race(kernel, targets, case["start"], n_chains=args.chains, max_steps=case["max_steps"],
                         seed=args.seed, progress=False)
            engine_runs.append(r.work["wall_seconds"] - r.work["compile_seconds"])
        code, hit = np.asarray(code), np.asarray(hit)
        needed_baseline = int(hit.sum())
        row = {"engine_seconds": float(np.median(engine_runs)), "baseline_seconds": float(np.median(baseline_runs)),
               "engine_compile_seconds": r.work["compile_seconds"], "baseline_compile_seconds": baseline_compile,
               "chain_steps_engine": r.work["ideal_chain_steps"], "chain_steps_baseline": needed_baseline,
               "p_first_engine": r.probability("t0").value, "p_first_baseline": float(np.mean(code == 0)),
               "censored_engine": r.counts["censored"], "censored_baseline": int(np.sum(code == RUNNING)),
               "efficiency": r.work["efficiency"]}
        row["engine_chain_steps_per_s"] = row["chain_steps_engine"] / row["engine_seconds"]
        row["baseline_chain_steps_per_s"] = needed_baseline / row["baseline_seconds"]
        row["ratio"] = row["engine_chain_steps_per_s"] / row["baseline_chain_steps_per_s"]
        row["goal"] = 1.0 if name == "similar" else 3.0
        rows[name] = row
    print(f"{args.chains} chains, median of {args.repeats}, compile excluded")
    print(f"{'case':<9}{'engine s':>10}{'scan s':>9}{'ratio':>8}{'goal':>6}{'P(t0) eng/scan':>18}{'efficiency':>12}")
    for name, row in rows.items():
        print(f"{name:<9}{row['engine_seconds']:>10.2f}{row['baseline_seconds']:>9.2f}{row['ratio']:>7.2f}x"
              f"{row['goal']:>5.0f}x{row['p_first_engine']:>9.4f}/{row['p_first_baseline']:.4f}{row['efficiency']:>12.3f}")
    print(f"wrote {write('vs_blackjax', {'args': vars(args), 'rows': rows})}")


if __name__ == "__main__":
    main()

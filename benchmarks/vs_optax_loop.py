"""Real networks: sim.race against the loop a user would write, a vmapped optax train step in lax.scan.

An MLP (8 inputs, one hidden tanh layer of width H, 1 output; D parameters) is
trained on a synthetic regression (256 examples) by optax sgd (learning rate
0.5 / sqrt(H)) or adam (3e-3) with minibatches of 16, in n_chains independent chains, each stopped at its first
step with full-data loss <= eps. Two start regimes:

* similar: every chain starts from the same scale of random weights, so the
  hitting times are alike;
* heavy-tailed: the output weights start at log-uniform scales over 10^3, so a
  few chains take far longer than most (as SGD hitting times usually are).

Baseline (what a user writes instead): ``jax.vmap`` of the optax train step in
``lax.scan`` over chunks of 50 steps, the full-data loss recorded every step,
chunks repeated until every chain has reached eps (or the budget), the first
hitting step read off afterwards. Both sides draw their minibatches and
evaluate the loss every step, so they do the same work per chain-step; the
engine stops each chain at its hit and compacts. Each variant runs in a fresh
process (peak RSS is its own); reported: wall time (compile included and
excluded), parameter-steps/s over the steps the chains needed, peak RSS, and for
the engine the time spent copying kernel states to the host.

    python benchmarks/vs_optax_loop.py [--dims 100 1000 10000] [--chains 256]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

from common import write

CHILD = r"""
import json, resource, sys, time
import jax, jax.numpy as jnp, numpy as np, optax
import simulator as sim
from simulator.engine import host

side, hidden, n, optimizer, regime = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
eps, budget = float(sys.argv[6]), int(sys.argv[7])
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8)).astype(np.float32)
y = np.tanh(x @ rng.normal(size=(8, 1))).astype(np.float32)

def mlp(p, xb):
    return jnp.tanh(xb @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]

def loss(p, batch):
    xb, yb = batch
    return jnp.mean((mlp(p, xb) - yb) ** 2)

scale = np.ones((n, 1, 1)) if regime == "similar" else 10 ** rng.uniform(-1.5, 1.5, size=(n, 1, 1))
start = {"W1": (rng.normal(size=(n, 8, hidden)) / np.sqrt(8)).astype(np.float32),
         "b1": np.zeros((n, hidden), np.float32),
         "W2": (scale * rng.normal(size=(n, hidden, 1)) / np.sqrt(hidden)).astype(np.float32),
         "b2": np.zeros((n, 1), np.float32)}
dim = sum(v[0].size for v in start.values())
opt = optax.sgd(0.5 / np.sqrt(hidden)) if optimizer == "sgd" else optax.adam(3e-3)   # sgd: stable at every width
data = (jnp.asarray(x), jnp.asarray(y))

if side == "engine":
    moved = []
    real = host.fetch
    def timed(tree):
        t = time.perf_counter(); out = real(tree); moved.append(time.perf_counter() - t); return out
    host.fetch = timed
    t = time.perf_counter()
    r = sim.race(sim.dynamics.sgd(loss, data, opt, 16), [sim.Target("fit", lambda p: loss(p, data), eps=eps)], start,
                 n_chains=n, max_steps=budget, seed=0, progress=False)
    wall = time.perf_counter() - t
    stop, compile_s, hit = r.stop_step, r.work["compile_seconds"], r.outcome == 0
    transfer = sum(moved)
else:
    def one(p, s, key):
        xb_i = jax.random.randint(key, (16,), 0, 256)
        g = jax.grad(loss)(p, (data[0][xb_i], data[1][xb_i]))
        u, s = opt.update(g, s, p)
        p = optax.apply_updates(p, u)
        return p, s, loss(p, data)
    step = jax.vmap(one)
    def chunk(carry, _):
        p, s, keys, t = carry
        keys_now = jax.vmap(lambda k: jax.random.fold_in(k, t))(keys)
        p, s, l = step(p, s, keys_now)
        return (p, s, keys, t + 1), l
    run = jax.jit(lambda carry: jax.lax.scan(chunk, carry, None, length=50))
    t = time.perf_counter()
    params = jax.tree.map(jnp.asarray, start)
    carry = (params, jax.vmap(opt.init)(params), jax.random.split(jax.random.key(0), n), jnp.int32(0))
    compiled = run.lower(carry).compile(); compile_s = time.perf_counter() - t
    first = np.full(n, -1)
    done_steps = 0
    while done_steps < budget:
        carry, losses = compiled(carry)
        losses = np.asarray(losses)                               # (50, n), the stop test applied afterwards
        below = losses <= eps
        new = (first < 0) & below.any(axis=0)
        first[new] = done_steps + 1 + below[:, new].argmax(axis=0)
        done_steps += 50
        if (first >= 0).all():
            break
    wall = time.perf_counter() - t
    hit = first >= 0
    stop = np.where(hit, first, budget)
    transfer = 0.0
print(json.dumps({"dim": int(dim), "wall": wall, "compile": compile_s, "chain_steps": int(stop.sum()),
                  "max_stop": int(stop.max()), "median_stop": float(np.median(stop)), "hit": int(hit.sum()),
                  "transfer": transfer, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

HIDDEN = {100: 10, 1000: 100, 10_000: 1000, 100_000: 10_000}   # D = 10 H + 1 parameters


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[100, 1000, 10_000], choices=sorted(HIDDEN))
    parser.add_argument("--chains", type=int, default=256)
    parser.add_argument("--eps", type=float, default=0.02, help="stop at full-data loss <= eps")
    parser.add_argument("--budget", type=int, default=20_000)
    args = parser.parse_args()
    rows = []
    print(f"{'D':>7} {'optimizer':>9} {'regime':>12} {'side':>7} {'wall s':>7} {'compile':>8} {'param-steps/s':>14} "
          f"{'median/max stop':>16} {'hit':>5} {'RSS MB':>7} {'transfer':>9}")
    for dim in args.dims:
        for optimizer in ("sgd", "adam"):
            for regime in ("similar", "heavy-tailed"):
                pair = {}
                for side in ("engine", "loop"):
                    out = subprocess.run([sys.executable, "-c", CHILD, side, str(HIDDEN[dim]), str(args.chains),
                                          optimizer, regime, str(args.eps), str(args.budget)],
                                         capture_output=True, text=True)
                    if out.returncode:
                        raise SystemExit(out.stderr[-2000:])
                    row = json.loads(out.stdout.strip().splitlines()[-1])
                    row.update(side=side, optimizer=optimizer, regime=regime,
                               param_steps_per_s=row["dim"] * row["chain_steps"] / row["wall"])
                    pair[side] = row
                    rows.append(row)
                    print(f"{row['dim']:>7} {optimizer:>9} {regime:>12} {side:>7} {row['wall']:>7.2f} "
                          f"{row['compile']:>8.2f} {row['param_steps_per_s']:>14.3g} "
                          f"{row['median_stop']:>8.0f}/{row['max_stop']:<7} {row['hit']:>5} "
                          f"{row['peak_rss_mb']:>7.0f} {row['transfer'] / row['wall']:>8.1%}", flush=True)
                ratio = pair["loop"]["wall"] / pair["engine"]["wall"]
                print(f"{'':>7} engine vs loop: {ratio:.2f}x end to end", flush=True)
                rows[-1]["ratio_engine_vs_loop"] = rows[-2]["ratio_engine_vs_loop"] = ratio
    print(f"wrote {write('vs_optax_loop', {'args': vars(args), 'rows': rows})}")


if __name__ == "__main__":
    main()

"""Peak memory against max_steps at fixed chains, with tracing on: the goal is flat.

Each point runs in a fresh process: 256 chains of a 2-D random walk that never
stop, max_steps = 10^3 ... 10^6, traced with 100 draws per chain
(trace_every = max_steps / 100; a trace of every step would grow with max_steps
by design). Peak RSS (ru_maxrss) of the process is reported next to the
trace bound of ``simulator.engine.traces``. Writes results/memory-<machine>.json.

    python benchmarks/memory.py [--chains 256]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

from common import write

CHILD = r"""
import json, resource, sys, jax.numpy as jnp, simulator as sim
n, steps = int(sys.argv[1]), int(sys.argv[2])
never = [sim.Target("never", lambda x: jnp.asarray(1.0, x.dtype))]
r = sim.race(sim.dynamics.random_walk(0.1), never, jnp.zeros(2), n_chains=n, max_steps=steps,
             trace_every=max(1, steps // 100), progress=False)
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": r.work["wall_seconds"], "draws": int(r.trace_steps.size),
                  "censored": r.counts["censored"]}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", type=int, default=256)
    args = parser.parse_args()
    rows = {}
    print(f"{'max_steps':>10}{'peak RSS MB':>13}{'seconds':>9}{'draws':>7}")
    for steps in (1_000, 10_000, 100_000, 1_000_000):
        out = subprocess.run([sys.executable, "-c", CHILD, str(args.chains), str(steps)], capture_output=True,
                             text=True, check=True)
        rows[steps] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{steps:>10}{rows[steps]['peak_rss_mb']:>13.1f}{rows[steps]['seconds']:>9.1f}{rows[steps]['draws']:>7}")
    peaks = [r["peak_rss_mb"] for r in rows.values()]
    growth = max(peaks) / min(peaks)
    print(f"goal: flat; peak RSS max/min over max_steps 1e3..1e6 = {growth:.3f}")
    print(f"wrote {write('memory', {'args': vars(args), 'rows': rows, 'max_over_min': growth})}")


if __name__ == "__main__":
    main()

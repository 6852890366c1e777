"""Nested sampling against plain Monte Carlo: residual evaluations for a +-10 % volume at V = 1e-4, 1e-8, 1e-12.

Gaussian tubes: r(x) = distance to a k-plane in R^D under N(0, I), so V(eps) = chi2_cdf(eps^2, D - k)
exactly and eps is chosen for each V. Nested sampling's cost for a 10 % relative error is its
measured residual evaluations (over ``--runs`` runs, live points and constrained moves included)
times (relative SE / 0.1)^2; plain Monte Carlo needs (1 - V) / (0.01 V) evaluations for the same
error (binomial variance, no run needed). Ratio = plain / nested. The relative SE comes from the runs' sample
variance (R - 1 degrees of freedom), so the ratio's 95 % interval is ratio x chi2_{R-1}(0.025, 0.975) / (R - 1);
``z vs exact`` shows any bias that fewer moves buy.

    python benchmarks/volumes.py [--dim D] [--plane k] [--live N] [--runs R] [--moves M]
"""
from __future__ import annotations

import argparse
import math
import time

from common import write


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--plane", type=int, default=2)
    parser.add_argument("--live", type=int, default=400)
    parser.add_argument("--runs", type=int, default=100,
                        help="independent runs (100: the ratio within -26 %% / +30 %%)")
    parser.add_argument("--volumes", type=float, nargs="+", default=[1e-4, 1e-8, 1e-12])
    parser.add_argument("--moves", type=int, default=None, help="constrained moves per point (default max(50, 5 D))")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import jax.numpy as jnp
    from scipy import stats as st
    import simulator as sim

    k = args.plane
    target = sim.Target("tube", lambda x: jnp.linalg.norm(x[k:]))
    rows = []
    print(f"{'V exact':>9} {'eps':>8} {'estimate [95 %]':>32} {'rel SE':>7} {'nested evals (10 %)':>20} "
          f"{'plain MC evals (10 %)':>22} {'ratio [95 %]':>26} {'z vs exact':>10} {'seconds':>8}")
    for volume in args.volumes:
        eps = math.sqrt(st.chi2.ppf(volume, args.dim - k))
        exact = st.chi2.cdf(eps ** 2, args.dim - k)
        t = time.perf_counter()
        curve = sim.volume_curve([target], sim.space.gaussian(args.dim), [eps], n_live=args.live, n_runs=args.runs,
                                 n_moves=args.moves, seed=args.seed, progress=False)
        seconds = time.perf_counter() - t
        estimate = curve.volume("tube", eps)
        runs = curve.log_volume_runs["tube"][:, 0]
        x = [math.exp(v - runs.max()) for v in runs]
        mean = sum(x) / len(x)
        sd = math.sqrt(sum((v - mean) ** 2 for v in x) / (len(x) - 1))
        rse = sd / (math.sqrt(len(x)) * mean)
        evaluations = curve.work["per_target"]["tube"]["evaluations"]
        nested = evaluations * (rse / 0.1) ** 2
        plain = (1 - exact) / (0.01 * exact)
        dof = len(x) - 1
        ratio_band = [plain / nested * st.chi2.ppf(q, dof) / dof for q in (0.025, 0.975)]
        rows.append({"volume": exact, "eps": eps, "estimate": list(estimate), "relative_se": rse,
                     "evaluations": evaluations, "nested_for_10pct": nested, "plain_for_10pct": plain,
                     "ratio": plain / nested, "ratio_95": ratio_band,
                     "z_vs_exact": (estimate.value - exact) / sim.stats.standard_error(estimate),
                     "seconds": seconds, "compile_seconds": curve.work["compile_seconds"],
                     "acceptance_min": min(min(a) for a in curve.acceptance["tube"])})
        print(f"{exact:9.2e} {eps:8.4f} {estimate.value:10.3e} [{estimate.low:.3e}, {estimate.high:.3e}] {rse:7.3f} "
              f"{nested:20.3g} {plain:22.3g} {plain / nested:9.3g} [{ratio_band[0]:.3g}, {ratio_band[1]:.3g}] "
              f"{rows[-1]['z_vs_exact']:10.2f} {seconds:8.1f}", flush=True)
    name = "volumes" if args.moves is None else f"volumes-moves{args.moves}"
    print("wrote", write(name, {"args": vars(args), "rows": rows}))


if __name__ == "__main__":
    main()

"""Brownian annulus: which sphere does a random walk hit first?

Question: does the engine reproduce an exact hitting probability, and how
large is the discretisation bias that the Brownian-bridge correction removes?

A walk x <- x + scale * xi in R^d starts at radius r and races to the inner
sphere (radius a) and the outer sphere (radius R). Brownian motion hits the
inner one first with probability (simulator.theory.exact)
  d = 2: ln(R/r) / ln(R/a),   d >= 3: (R^(2-d) - r^(2-d)) / (R^(2-d) - a^(2-d)).
A walk checked only at its steps overshoots by about 0.5826 * scale, which
moves each sphere outward to first order (Siegmund). For every d the scenario
runs without and with the bridge correction and shows the measured
probability next to both predictions.

Run alone: ``python scenarios/annulus.py --chains 2000``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import jax.numpy as jnp

import simulator as sim
from simulator import cli
from simulator.theory import exact

from scenarios import common
from scenarios.common import check_values, finish, race_plots, setting, write_report

NAME = "annulus"
SUMMARY = "Brownian annulus race vs the exact harmonic-measure formula, with and without the bridge"


@dataclass(frozen=True)
class Settings(common.Settings):
    dims: tuple[int, ...] = setting((2, 3), "dimensions d of the walk")
    scale: float = setting(0.1, "step standard deviation per coordinate")
    inner: float = setting(1.0, "radius a of the inner sphere")
    radius: float = setting(2.0, "starting radius r")
    outer: float = setting(4.0, "radius R of the outer sphere")
    trace_every: int = setting(0, "> 0: trace every race every K steps into trace.nc (0: off; chains stop after ~10^3 steps, so K = 20 gives ~50 draws each)")

    QUICK: ClassVar[dict] = {"dims": (2,), "chains": 2000}

    def check(self):
        check_values("dims", self.dims, low=0)
        if not 0 < self.inner < self.radius < self.outer:
            raise ValueError(f"settings need 0 < inner < radius < outer, got {self.inner}, {self.radius}, "
                             f"{self.outer}")
        if not self.scale > 0:
            raise ValueError(f"setting scale must be > 0, got {self.scale}")


def targets(inner: float, outer: float):
    return [sim.Target("inner", lambda x: jnp.linalg.norm(x) - inner),
            sim.Target("outer", lambda x: outer - jnp.linalg.norm(x))]


def run(settings: Settings, *, chains: int, steps: int, seed: int, out, progress=True,
        precision="float32") -> dict:
    out = Path(out)
    scale, inner, radius, outer = settings.scale, settings.inner, settings.radius, settings.outer
    trace_every = settings.trace_every
    rows, results = [], {}
    for d in settings.dims:
        p_exact = exact.annulus_inner_probability(d, radius, inner, outer)
        p_first_order = exact.annulus_discrete_probability(d, radius, inner, outer, scale)
        start = jnp.zeros(d).at[0].set(radius)
        for bridge in (False, True):
            result = sim.race(sim.dynamics.random_walk(scale), targets(inner, outer), start,
                              n_chains=chains, max_steps=steps, seed=seed, bridge=bridge,
                              precision=precision, progress=progress, trace_every=trace_every or None)
            label = f"d{d}-{'bridge' if bridge else 'plain'}"
            result.save(out / label)
            results[label] = result
            p = result.probability("inner")
            rows.append({
                "run": label, "d": d, "bridge": bridge, "scale": scale,
                "p_inner": list(p), "exact": p_exact, "first_order_discrete": p_first_order,
                "z_vs_exact": (p.value - p_exact) / math.sqrt(p_exact * (1 - p_exact) / chains),
                "counts": result.counts,
                "mean_hit_step_inner": list(result.hitting_time("inner").mean),
                "wall_seconds": result.work["wall_seconds"],
                "compile_seconds": result.work["compile_seconds"],
                "chain_steps_per_second_excluding_compile": result.work["ideal_chain_steps"]
                / max(result.work["wall_seconds"] - result.work["compile_seconds"], 1e-9),
                "compaction_efficiency": result.work["efficiency"],
                "trace_every": trace_every,
            })
    summary = {"scenario": NAME, "chains": chains, "max_steps": steps, "seed": seed,
               "settings": settings.as_dict(), "rows": rows}
    return finish(out, summary, results, render)


def render(summary: dict, out) -> None:
    """report.md and one cumulative-incidence plot per race, from the saved run (``stabsim report DIR``)."""
    out = Path(out)
    results = {row["run"]: sim.load_result(out / row["run"]) for row in summary["rows"]}
    plots = race_plots(out, results)
    write_report(out, report(summary) + "\n" + "\n".join(f"![{p}]({p})" for p in plots) + "\n")


def report(summary: dict) -> str:
    lines = [f"# {NAME}: {SUMMARY}", "",
             f"{summary['chains']} chains per race, budget {summary['max_steps']} steps, "
             f"seed {summary['seed']}.", "",
             "| run | P(inner first) [95% Wilson] | exact (BM) | first-order discrete | z vs exact "
             "| censored | wall s (compile s) | chain-steps/s excl. compile |",
             "|---|---|---|---|---|---|---|---|"]
    for row in summary["rows"]:
        v, lo, hi = row["p_inner"]
        lines.append(f"| {row['run']} | {v:.4f} [{lo:.4f}, {hi:.4f}] | {row['exact']:.4f} "
                     f"| {row['first_order_discrete']:.4f} | {row['z_vs_exact']:+.1f} "
                     f"| {row['counts']['censored']} | {row['wall_seconds']:.1f} ({row['compile_seconds']:.1f}) "
                     f"| {row['chain_steps_per_second_excluding_compile']:.3g} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    cli.run_scenario_script(NAME)

"""Degenerate minima: does SGD/SGLD find the large-volume zero-loss component first (Poggio)?

Question. The loss L(w) = L_f(w) L_h(w) on w in R^2, with
    L_f = (w1 w2 - 1)^2      zero on the hyperbola w1 w2 = 1   (a 1-dimensional manifold of minima)
    L_h = |w - p|^2          zero at the point p = (1, -1)      (an isolated minimum),
has a zero set with one component of each dimension. Chains start uniform in
the disc B = {|w| <= R} (outside both targets) and race, by SGLD and by SGD, to
the eps-sublevel sets
    S_f = {L <= eps, dist(w, hyperbola) < |w - p|},  S_h = {L <= eps, |w - p| <= dist(w, hyperbola)},
(dist to the hyperbola to first order: |w1 w2 - 1| / |w|). A chain that leaves B
is ``escaped``.

Predictions for P(S_f first) / P(S_h first):
* volume: vol(B ∩ S_f) / vol(B ∩ S_h), Monte Carlo with the conditional
  Clopper-Pearson interval; near the components vol(S_f) ~ eps^(1/2) and
  vol(S_h) ~ eps (L is quadratic in the normal distance, times the other
  factor), so the ratio grows like eps^(-1/2);
* Laplace (Gibbs mass at the chain's total temperature T): m(S_f) / m(S_h) with
  m from ``sim.laplace_mass`` (hyperbola branches inside B by their chart
  u -> ±(e^u, e^-u), sublevel factor F_chi2(D-k)(2 eps / T)).
Neither is a theorem about first hits: the table shows how far each is off.

Kernels: noiseless full-batch gradient descent ("gd": the basin of each start, a
third prediction), SGLD full batch (Langevin at T) and plain optax SGD whose only noise is
the minibatch noise of loss(w, d) = L(w) + <d, w> (T_eff = lr s^2 / (2B), see
scenarios/common.py), over a grid of T, learning rate and batch size.

Run alone: ``python scenarios/degenerate_minima.py --set quick=true``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax

import simulator as sim
from simulator import cli, stats
from simulator.theory.laplace import laplace_mass
from simulator.io.plots import figure, save

from scenarios import common
from scenarios.common import FAR, check_values, finish, fmt_interval, learning_kernel, setting, write_report

NAME = "degenerate-minima"
SUMMARY = "SGD/SGLD race to a 1-D manifold of minima vs an isolated minimum: odds vs volume and Laplace"
DEFAULT_CHAINS = 2000
DEFAULT_STEPS = 20_000
POINT = np.array([1.0, -1.0])


@dataclass(frozen=True)
class Settings(common.Settings):
    eps: tuple[float, ...] = setting((0.02, 0.005), "loss tolerances eps of both targets (> 0)")
    sgld_temperatures: tuple[float, ...] = setting((0.02, 0.1, 0.5), "injected temperatures of the SGLD races")
    sgld_step_size: float = setting(0.002, "step size of gradient descent and SGLD")
    sgd_learning_rates: tuple[float, ...] = setting((0.002, 0.004), "learning rates of the minibatch SGD races")
    sgd_batch_sizes: tuple[int, ...] = setting((4, 16), "batch sizes of the minibatch SGD races")
    sgd_noise_variance: float = setting(25.0, "per-coordinate variance of the data behind the minibatch noise")
    radius: float = setting(2.5, "starting disc |w| <= radius (> sqrt 2: it holds both minima)")
    volume_samples: int = setting(2_000_000, "uniform samples for the volume ratio")
    curve_live: int = setting(200, "live points per nested-sampling run of the volume curves")
    curve_runs: int = setting(10, "independent nested-sampling runs of the volume curves")

    QUICK: ClassVar[dict] = {"eps": (0.02,), "sgld_temperatures": (0.1,), "sgd_learning_rates": (0.004,),
                             "sgd_batch_sizes": (4,), "volume_samples": 200_000, "chains": 400, "curve_live": 100,
                             "curve_runs": 5}

    def check(self):
        check_values("eps", self.eps, low=0)
        check_values("sgld_temperatures", self.sgld_temperatures, low=0, at_least=0)
        check_values("sgd_learning_rates", self.sgd_learning_rates, low=0, at_least=0)
        check_values("sgd_batch_sizes", self.sgd_batch_sizes, low=0, at_least=0)
        for name in ("sgld_step_size", "sgd_noise_variance", "volume_samples", "curve_live", "curve_runs"):
            check_values(name, (getattr(self, name),), low=0)
        if not self.radius > math.sqrt(2):
            raise ValueError(f"setting radius must exceed sqrt(2) so that the disc holds both components, "
                             f"got {self.radius}")


def loss_f(w):
    return (w[0] * w[1] - 1.0) ** 2


def loss_h(w):
    return jnp.sum((w - jnp.asarray(POINT, w.dtype)) ** 2)


def loss(w):
    return loss_f(w) * loss_h(w)


def nearer_manifold(w):
    """First-order distance to the hyperbola is below the distance to p."""
    return jnp.abs(w[0] * w[1] - 1.0) / jnp.linalg.norm(w) < jnp.sqrt(loss_h(w))


def targets(eps):
    return [sim.Target("manifold", lambda w: jnp.where(nearer_manifold(w), loss(w), FAR), eps=eps,
                       distance=False),
            sim.Target("point", lambda w: jnp.where(nearer_manifold(w), FAR, loss(w)), eps=eps,
                       distance=False)]


def in_disc(radius):
    return lambda w: jnp.sum(w * w) <= radius * radius


# ---- predictions ----------------------------------------------------------------
def _uniform_disc(n, radius, rng):
    r = radius * np.sqrt(rng.uniform(size=n))
    a = rng.uniform(0, 2 * np.pi, size=n)
    return np.c_[r * np.cos(a), r * np.sin(a)].astype(np.float32)


def volume_ratio(eps, radius, n_samples, seed):
    """Counts of uniform disc samples in each target, and the ratio with its exact conditional interval."""
    w = jnp.asarray(_uniform_disc(n_samples, radius, np.random.default_rng(seed)))
    near = np.asarray(jax.vmap(nearer_manifold)(w))
    small = np.asarray(jax.vmap(loss)(w)) <= eps
    k_f, k_h = int(np.sum(small & near)), int(np.sum(small & ~near))
    return {"count_manifold": k_f, "count_point": k_h, "samples": n_samples,
            "ratio": list(stats.ratio(k_f, k_h))}


def laplace_ratio(eps, temperature, radius, n_samples=4000, seed=0):
    """m(S_f) / m(S_h): both hyperbola branches inside the disc (|u| <= acosh(R^2/2)/2) vs the point p."""
    u_max = 0.5 * math.acosh(radius**2 / 2)
    branches = [laplace_mass(loss, temperature, chart=lambda u, s=s: s * jnp.array([jnp.exp(u[0]), jnp.exp(-u[0])]),
                             box=([-u_max], [u_max]), n_samples=n_samples, seed=seed + i, sublevel=eps)
                for i, s in enumerate((1.0, -1.0))]
    manifold = sim.Estimate(*(a + b for a, b in zip(*branches)))
    point = laplace_mass(loss, temperature, point=POINT, sublevel=eps)
    return list(stats.ratio_of_estimates(manifold, point))


# Exact exponents of V(eps) = mu({L <= eps} near each set): the hyperbola is a smooth curve of
# minima with L quadratic across it (codimension 1: lambda = 1/2); the point is a non-degenerate
# minimum in the plane (lambda = d/2 = 1).
EXACT_LAMBDA = {"manifold": 0.5, "point": 1.0}
CURVE_EPS = (0.1, 0.03, 0.01, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)
CURVE_FIT = (1e-8, 1e-4)


def learning_coefficients(radius, eps_grid, n_live, n_runs, seed, progress=True):
    """Volume curves of both sets under the uniform disc (nested sampling): each set's V at the race eps
    with intervals, the curve's exponent (the learning coefficient), and the volume ratio from the curves."""
    grid = sorted(set(CURVE_EPS) | set(eps_grid), reverse=True)

    def sample(key, n):
        r = radius * jnp.sqrt(jax.random.uniform(jax.random.fold_in(key, 0), (n,)))
        a = 2 * jnp.pi * jax.random.uniform(jax.random.fold_in(key, 1), (n,))
        return jnp.stack([r * jnp.cos(a), r * jnp.sin(a)], axis=1)

    disc = sim.space.prior(lambda w: jnp.where(jnp.sum(w * w) <= radius * radius, 0.0, -jnp.inf), sample, 2)
    curve = sim.volume_curve(targets(1.0), disc, grid, n_live=n_live, n_runs=n_runs, seed=seed, progress=progress)
    out = {"eps": grid, "exact_lambda": EXACT_LAMBDA, "fit": list(CURVE_FIT), "warnings": curve.warnings}
    for name in ("manifold", "point"):
        out[name] = {"lambda": list(curve.exponent(name, fit=CURVE_FIT)),
                     "volume": [list(curve.volume(name, e)) for e in grid]}
    out["ratio"] = {f"{e:g}": list(r) for e, r in zip(grid, curve.ratio("manifold", "point"))}
    return out


def start_points(n, radius, eps, seed):
    """Uniform in the disc, outside both targets (rejection)."""
    rng = np.random.default_rng(seed + 1)
    kept = np.zeros((0, 2), np.float32)
    check = jax.jit(jax.vmap(lambda w: loss(w) > eps))
    while len(kept) < n:
        w = _uniform_disc(2 * n, radius, rng)
        kept = np.concatenate([kept, w[np.asarray(check(jnp.asarray(w)))]])
    return kept[:n]


def settings_grid(settings):
    """(kernel, step size, injected T, minibatch T, batch) rows of the race grid; "gd" is noiseless."""
    h = settings.sgld_step_size
    grid = [("gd", h, 0.0, 0.0, None)] + [("sgld", h, T, 0.0, None) for T in settings.sgld_temperatures]
    for lr in settings.sgd_learning_rates:
        for b in settings.sgd_batch_sizes:
            grid.append(("sgd", lr, 0.0, lr * settings.sgd_noise_variance / (2 * b), b))
    return grid


def run(settings: Settings, *, chains: int, steps: int, seed: int, out, progress=True,
        precision="float32") -> dict:
    eps_grid, radius, grid = settings.eps, settings.radius, settings_grid(settings)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, traced = [], {}
    trace_every = settings.trace_every or None
    for eps in eps_grid:
        volume = volume_ratio(eps, radius, settings.volume_samples, seed)
        start = start_points(chains, radius, eps, seed)
        for name, h, t_injected, t_minibatch, batch in grid:
            if name == "gd":   # full-batch gradient descent: which basin each start drains into
                kernel = sim.dynamics.sgd(lambda w, d: loss(w), np.zeros((1, 2)), optax.sgd(h), None)
            else:
                kernel, t_injected, t_minibatch = learning_kernel(name, loss, 2, h, t_injected, t_minibatch,
                                                                  batch or 1, seed)
            result = sim.race(kernel, targets(eps), start, n_chains=chains, max_steps=steps, seed=seed,
                              domain=in_disc(radius), progress=progress, precision=precision,
                              trace_every=trace_every)
            if trace_every:
                traced[f"eps{eps:g}-{name}-h{h:g}-B{batch or 'full'}-T{t_injected + t_minibatch:.3g}"] = result
            T = t_injected + t_minibatch
            rows.append({"eps": eps, "kernel": name, "step_size": h, "batch_size": batch,
                         "T_injected": t_injected, "T_minibatch": t_minibatch, "temperature": T,
                         "counts": result.counts,
                         "p_manifold": list(result.probability("manifold")),
                         "p_point": list(result.probability("point")),
                         "ratio": list(result.ratio("manifold", "point")),
                         "volume_ratio": volume["ratio"], "volume_counts": volume,
                         "laplace_ratio": laplace_ratio(eps, T, radius, seed=seed) if T > 0 else None,
                         "mean_hit_step": {k: list(result.hitting_time(k).mean) if result.counts[k] else None
                                           for k in ("manifold", "point")}})
    summary = {"scenario": NAME, "chains": chains, "max_steps": steps, "seed": seed,
               "settings": settings.as_dict(), "point": POINT.tolist(), "rows": rows,
               "learning_coefficients": learning_coefficients(radius, eps_grid, settings.curve_live,
                                                              settings.curve_runs, seed, progress)}
    return finish(out, summary, traced, render)


def render(summary: dict, out) -> None:
    """report.md and the plots, from the summary alone (``stabsim report DIR`` calls this)."""
    plot(summary, Path(out) / "odds.png")
    write_report(out, report(summary))



def _within(value, interval):
    return interval[1] <= value <= interval[2]


def verdict(summary) -> str:
    rows = summary["rows"]
    lap = [r for r in rows if r["kernel"] != "gd"]
    manifold_first = [r for r in rows if r["ratio"][1] > 1]
    point_first = [r for r in rows if r["ratio"][2] < 1]
    vol_ok = [r for r in rows if _within(r["volume_ratio"][0], r["ratio"])]
    lap_ok = [r for r in lap if _within(r["laplace_ratio"][0], r["ratio"])]
    text = (f"The manifold component is hit first significantly more often in {len(manifold_first)} of "
            f"{len(rows)} races, the isolated point in {len(point_first)}. The measured odds interval contains "
            f"the volume prediction in {len(vol_ok)} races and the Laplace prediction in {len(lap_ok)} of {len(lap)}.")
    spans = [r["ratio"][0] / r["volume_ratio"][0] for r in rows if r["volume_ratio"][0] > 0 and r["kernel"] != "gd"]
    if spans:
        text += f" Noisy races give {min(spans):.2g}-{max(spans):.2g} times the volume ratio."
    for eps in sorted({r["eps"] for r in rows}):
        basin = [r for r in rows if r["kernel"] == "gd" and r["eps"] == eps]
        noisy = [r for r in rows if r["kernel"] != "gd" and r["eps"] == eps]
        if basin and noisy:
            b = basin[0]["ratio"]
            agree = [r for r in noisy if r["ratio"][1] <= b[2] and b[1] <= r["ratio"][2]]
            text += (f" At eps {eps} the noiseless basin odds are {fmt_interval(b)}; {len(agree)} of {len(noisy)} noisy "
                     "races have overlapping intervals with them, i.e. the start's basin, not the target's volume, "
                     "decides the race wherever the noise is too weak to cross between basins.")
    by_eps = sorted({r["eps"] for r in rows})
    if len(by_eps) > 1:
        lo, hi = by_eps[0], by_eps[-1]
        for kernel in sorted({r["kernel"] for r in rows}):
            a = [r for r in rows if r["kernel"] == kernel and r["eps"] == lo]
            b = [r for r in rows if r["kernel"] == kernel and r["eps"] == hi]
            if a and b and a[0]["ratio"][0] > 0 and b[0]["ratio"][0] > 0:
                slope = math.log(a[0]["ratio"][0] / b[0]["ratio"][0]) / math.log(lo / hi)
                text += f" {kernel}: odds scale like eps^{slope:.2f} between eps {hi} and {lo} (volume law: eps^-0.5)."
    escaped = sum(r["counts"]["escaped"] for r in rows)
    censored = sum(r["counts"]["censored"] for r in rows)
    text += f" Escaped chains in all races: {escaped}; censored: {censored} (shown per row, never counted as hits)."
    lc = summary.get("learning_coefficients")
    if lc:
        smaller = min(("manifold", "point"), key=lambda n: lc[n]["lambda"][0])
        wins = manifold_first if smaller == "manifold" else point_first
        text += (f" Singular-learning form of the volume argument: the set with the smaller learning coefficient "
                 f"({smaller}, lambda {lc[smaller]['lambda'][0]:.3f}) should win; it is significantly first in "
                 f"{len(wins)} of {len(rows)} races.")
    return text


def report(summary) -> str:
    st = summary["settings"]
    lines = [f"# {NAME}", "", SUMMARY + ".", "",
             "Loss L(w) = (w1 w2 - 1)^2 |w - p|^2, p = (1, -1): a hyperbola of minima (dimension 1) and an "
             f"isolated minimum. Chains start uniform in the disc |w| <= {st['radius']} outside both targets; "
             f"{summary['chains']} chains per race, budget {summary['max_steps']} steps, seed {summary['seed']}. "
             "Temperatures: injected + minibatch.", "",
             "| eps | kernel | step | batch | T | P(manifold) | P(point) | escaped | censored | odds [95%] | volume ratio | Laplace ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        lines.append(f"| {r['eps']} | {r['kernel']} | {r['step_size']} | {r['batch_size'] or 'full'} | "
                     f"{r['T_injected']:.3g} + {r['T_minibatch']:.3g} | {fmt_interval(r['p_manifold'])} | {fmt_interval(r['p_point'])} | "
                     f"{r['counts']['escaped']} | {r['counts']['censored']} | {fmt_interval(r['ratio'])} | "
                     f"{fmt_interval(r['volume_ratio'])} | {fmt_interval(r['laplace_ratio']) if r['laplace_ratio'] else '—'} |")
    lc = summary.get("learning_coefficients")
    if lc:
        race_eps = sorted({r["eps"] for r in summary["rows"]}, reverse=True)
        lines += ["", "## Volume curves and learning coefficients (nested sampling)", "",
                  f"`sim.volume_curve` under the uniform disc, {st['curve_runs']} runs x {st['curve_live']} live points; "
                  f"lambda = slope of ln V on ln eps over eps {lc['fit'][0]:g}..{lc['fit'][1]:g} (interval from resampled "
                  "curves), exact: 1/2 for the hyperbola (a smooth curve of minima, codimension 1), 1 for the point "
                  "(d/2).", "",
                  "| set | lambda [95%] | exact | " + " | ".join(f"V(eps {e:g})" for e in race_eps) + " |",
                  "|---|---|---|" + "---|" * len(race_eps)]
        for name in ("manifold", "point"):
            vols = [lc[name]["volume"][lc["eps"].index(e)] for e in race_eps]
            lines.append(f"| {name} | {fmt_interval(lc[name]['lambda'], 3)} | {lc['exact_lambda'][name]} | "
                         + " | ".join(fmt_interval(v, 3) for v in vols) + " |")
        lines.append("| ratio manifold / point | | | " + " | ".join(fmt_interval(lc["ratio"][f"{e:g}"], 3)
                                                             for e in race_eps) + " |")
    lines += ["", "![odds](odds.png)", "", "## Verdict", "", verdict(summary), ""]
    return "\n".join(lines)


def plot(summary, path) -> None:

    rows = summary["rows"]
    fig, ax = figure(figsize=(9, 4.5))
    x = np.arange(len(rows))
    odds = np.array([r["ratio"] for r in rows], float)
    finite = np.where(np.isfinite(odds), odds, np.nan)
    ax.errorbar(x, finite[:, 0], yerr=[finite[:, 0] - finite[:, 1], finite[:, 2] - finite[:, 0]], fmt="o",
                label="measured odds (95%)")
    ax.plot(x, [r["volume_ratio"][0] for r in rows], "k_", ms=16, mew=2, label="volume ratio")
    ax.plot(x, [r["laplace_ratio"][0] if r["laplace_ratio"] else np.nan for r in rows], "g_", ms=16, mew=2, label="Laplace ratio")
    ax.set_yscale("log")
    ax.set_xticks(x, [f"eps {r['eps']} {r['kernel']} h={r['step_size']} B={r['batch_size'] or 'full'} "
                      f"T={r['temperature']:.2g}" for r in rows], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("P(manifold first) / P(point first)")
    ax.legend(fontsize=8)
    save(fig, path)


if __name__ == "__main__":
    cli.run_scenario_script(NAME)

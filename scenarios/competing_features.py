"""Competing features (the paper's Figure 2): edges or L-shapes, which decomposition does training find?

Question. The input I is an 8x8 binary image of a rectangle outline. It is
exactly the sum of 4 edges f_1..f_4 (top and bottom rows in full, left and
right columns without the corners) and exactly the sum of 2 L-shaped corners
h_1 = top + left, h_2 = bottom + right. Paul & Venkatasubramanian argue that the
reconstruction error has no bias between the two and "the learning will select
whichever set is encountered earlier", the one with the bigger stabilizer.

Model. An autoencoder with k hidden units, theta = (W in R^(k x 64), b in R^k,
D in R^(64 x k)), hidden a = act(W I/|I| + b) with act = sigmoid or identity
("linear"), output x = sum_j c_j, where c_j = a_j D[:, j] is unit j's *feature*
(its contribution to the reconstruction). Loss: mean squared error over
pixels; a minibatch is ``batch_size`` pixels drawn with replacement. Init:
W ~ N(0, 1/64), D ~ N(0, 1/k), b = 0, independently per chain.

Targets (sup-norm over pixels, so that no pixel is off by more than eps):
    r_f(theta) = max( max_i min_j ||c_j - f_i||_inf , ||x - I||_inf )   (every edge is some unit's feature,
    r_h(theta) = max( max_i min_j ||c_j - h_i||_inf , ||x - I||_inf )    and I is reconstructed)
S_f = {r_f <= eps}, S_h = {r_h <= eps}. Races run SGD (optax.sgd, minibatch
noise only) and Langevin (full-batch SGLD at temperature T) from random inits.

Reported per race: P(S_f first), P(S_h first), censored (neither within the
budget), the fraction of chains that reconstruct I (loss <= 1e-4) at the end,
and which decomposition the final features are *closer* to: d_f = mean_i
min_j ||c_j - f_i||_2 / ||f_i||_2 (likewise d_h), with P(d_f < d_h).
Volume prediction: the Gaussian-initialisation mass of each target's
eps-sublevel set. Plain Monte Carlo (inside the ball |theta| <= 2 E|theta|,
Clopper-Pearson) sees no sample in either, so for the first ``curve_models``
models it comes from a nested-sampling volume curve (``sim.volume_curve``) under
the init prior in whitened coordinates z ~ N(0, I) over (W, D) (b = 0 as at
init). The curve runs on a *labelled* residual, unit i <-> part i:
    r_f^lab(theta) = max( max_i ||c_i - f_i||_inf , ||x - I||_inf )
For eps < 1/2 a feature is within eps of at most one part (parts differ by 1 in
sup-norm), so S_f is the union over the injective unit assignments of the
labelled sets, all of one mass under the exchangeable prior: mu(S_f) <= N_f
mu(S_f^lab), N_f = k!/(k - n_parts)!, with equality where the labelled sets are
disjoint (the edges with k = 4: every unit is used). Why labelled: the
unlabelled r_f has a plateau at exactly 1/2 (one unit halfway between two
parts), every live point fell into it and 4 of 4 runs went extinct there
(k = 4 sigmoid, 50 live points). Moves per point, measured on k = 4 sigmoid at eps = 0.25 (ln mu, 8 runs x 50
live points): 100 moves -157 (edges) and -151 (L-shapes), 300 moves -173 and -159, 100 live points x 100 moves
-154 and -147 (pCN moves); with elliptical slice moves 100 moves -159 and -150, 300 moves -180 and -167; not
converged, so the masses are reported with that caveat (with move shapes fitted to all survivors, before
2026-11-24: 100 moves -141 and -132, and 300 agreed with 100).

Run alone: ``python scenarios/competing_features.py --set quick=true``.
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
from jax.flatten_util import ravel_pytree
from matplotlib.ticker import NullFormatter

import simulator as sim
from simulator import cli, stats
from simulator.io.plots import figure, save

from scenarios import common
from scenarios.common import check_values, finish, finite_or_none, fmt_interval, setting, write_report

NAME = "competing-features"
SUMMARY = "Autoencoders trained on a rectangle outline race to edge vs L-shape features (the paper's Figure 2)"
DEFAULT_CHAINS = 1000
DEFAULT_STEPS = 5000
SIZE = 8
LOSS_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Settings(common.Settings):
    eps: float = setting(0.25, "residual tolerance of both decompositions, in pixel units, in (0, 1)")
    hidden: tuple[int, ...] = setting((4, 6), "hidden units k of the autoencoders")
    activations: tuple[str, ...] = setting(("sigmoid", "linear"), "activations: sigmoid, linear")
    learning_rate: float = setting(1.0, "learning rate of the SGD races (step size of Langevin)")
    batch_size: int = setting(16, "batch size of the SGD races")
    temperature: float = setting(1e-3, "temperature of the Langevin races")
    learning_rates: tuple[float, ...] = setting((0.5, 2.0), "extra SGD learning rates (first model only)")
    batch_sizes: tuple[int, ...] = setting((4, 64), "extra SGD batch sizes (first model only)")
    temperatures: tuple[float, ...] = setting((1e-4, 1e-2), "extra Langevin temperatures (first model only)")
    volume_samples: int = setting(100_000, "initialisation samples for the mass of each target")
    curve_models: int = setting(1, "models (in the order of hidden x activations) that get a nested-sampling "
                                   "volume curve, about 2.5 min each on 2 cores")
    curve_live: int = setting(50, "live points per volume-curve run")
    curve_runs: int = setting(8, "independent volume-curve runs (intervals from their spread)")
    curve_moves: int = setting(100, "constrained moves per replacement point (300 read e^18-e^21 lower: not converged)")

    QUICK: ClassVar[dict] = {"hidden": (4,), "activations": ("sigmoid",), "learning_rates": (), "batch_sizes": (),
                             "temperatures": (), "volume_samples": 5000, "chains": 200, "steps": 1000,
                             "curve_models": 0}

    def check(self):
        check_values("eps", (self.eps,), low=0, high=1)
        check_values("hidden", self.hidden, low=0)
        check_values("activations", self.activations, allowed=("sigmoid", "linear"))
        for name in ("learning_rate", "batch_size", "temperature", "volume_samples", "curve_moves"):
            check_values(name, (getattr(self, name),), low=0)
        check_values("curve_models", (self.curve_models,), low=-1)
        for name in ("curve_live", "curve_runs"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be >= 2 (intervals come from the runs' spread), got {getattr(self, name)}")
        for name in ("learning_rates", "batch_sizes", "temperatures"):
            check_values(name, getattr(self, name), low=0, at_least=0)


# ---- the image and its two decompositions ----------------------------------------
def decompositions():
    """(I, F (4, 64) edges, H (2, 64) L-shapes); F.sum(0) == H.sum(0) == I exactly."""
    def mask(rows, cols):
        m = np.zeros((SIZE, SIZE))
        m[rows, cols] = 1.0
        return m.ravel()
    top, bottom = mask(1, slice(1, 7)), mask(6, slice(1, 7))
    left, right = mask(slice(2, 6), 1), mask(slice(2, 6), 6)
    edges = np.stack([top, bottom, left, right])
    corners = np.stack([top + left, bottom + right])
    image = edges.sum(axis=0)
    assert np.array_equal(corners.sum(axis=0), image)
    return image, edges, corners


# ---- the model ------------------------------------------------------------------
class Autoencoder:
    """Flat-parameter autoencoder on one image; every method is a pure function of theta."""

    def __init__(self, hidden: int, activation: str):
        if activation not in ("sigmoid", "linear"):
            raise ValueError(f"activations must be sigmoid or linear, got {activation!r}")
        self.hidden, self.activation = hidden, activation
        self.image, self.edges, self.corners = (jnp.asarray(a, jnp.float32) for a in decompositions())
        self.pixels = np.c_[np.arange(SIZE * SIZE), np.asarray(self.image)].astype(np.float32)
        _, self.unravel = ravel_pytree(self.init(jax.random.key(0)))

    def init(self, key):
        k_w, k_d = jax.random.split(key)
        n = SIZE * SIZE
        return {"W": jax.random.normal(k_w, (self.hidden, n)) / math.sqrt(n), "b": jnp.zeros(self.hidden),
                "D": jax.random.normal(k_d, (n, self.hidden)) / math.sqrt(self.hidden)}

    def init_flat(self, n: int, seed: int) -> np.ndarray:
        keys = jax.random.split(jax.random.key(seed), n)
        return np.asarray(jax.vmap(lambda k: ravel_pytree(self.init(k))[0])(keys))

    def features(self, theta):
        """c_j = a_j D[:, j], shape (k, 64)."""
        p = self.unravel(theta)
        pre = p["W"] @ (self.image / jnp.linalg.norm(self.image)) + p["b"]
        a = jax.nn.sigmoid(pre) if self.activation == "sigmoid" else pre
        return (p["D"] * a).T

    def output(self, theta):
        return self.features(theta).sum(axis=0)

    def loss(self, theta, batch):
        """Mean squared error over a batch of (pixel index, value) rows."""
        x = self.output(theta)
        return jnp.mean((x[batch[:, 0].astype(jnp.int32)] - batch[:, 1]) ** 2)

    def full_loss(self, theta):
        return jnp.mean((self.output(theta) - self.image) ** 2)

    def residual(self, theta, parts):
        """max( max_i min_j ||c_j - part_i||_inf , ||x - I||_inf )."""
        c = self.features(theta)
        gaps = jnp.max(jnp.abs(c[:, None, :] - parts[None]), axis=-1)     # (k, n_parts)
        return jnp.maximum(jnp.max(jnp.min(gaps, axis=0)), jnp.max(jnp.abs(c.sum(axis=0) - self.image)))

    def closeness(self, theta, parts):
        """mean_i min_j ||c_j - part_i||_2 / ||part_i||_2."""
        c = self.features(theta)
        gaps = jnp.linalg.norm(c[:, None, :] - parts[None], axis=-1) / jnp.linalg.norm(parts, axis=-1)
        return jnp.mean(jnp.min(gaps, axis=0))

    def targets(self, eps):
        return [sim.Target("edges", lambda t: self.residual(t, self.edges), eps=eps, distance=False),
                sim.Target("L-shapes", lambda t: self.residual(t, self.corners), eps=eps, distance=False)]


# ---- predictions ----------------------------------------------------------------
def initialisation_mass(model, eps, n_samples, seed):
    """Gaussian-init mass of S_f and S_h inside |theta| <= 2 E|theta| (Clopper-Pearson intervals)."""
    theta = jnp.asarray(model.init_flat(n_samples, seed + 12345))
    norm = np.linalg.norm(np.asarray(theta), axis=1)
    inside = norm <= 2 * norm.mean()
    r_f = np.asarray(jax.vmap(lambda t: model.residual(t, model.edges))(theta))
    r_h = np.asarray(jax.vmap(lambda t: model.residual(t, model.corners))(theta))
    out = {"samples": int(n_samples), "inside_ball": int(inside.sum())}
    for name, r in (("edges", r_f), ("L-shapes", r_h)):
        k = int(np.sum(inside & (r <= eps)))
        low, high = stats.clopper_pearson(k, n_samples)
        out[name] = [k / n_samples, low, high]
        out[f"{name}_min_residual"] = float(r[inside].min())
    out["ratio"] = list(stats.ratio(int(round(out["edges"][0] * n_samples)),
                                    int(round(out["L-shapes"][0] * n_samples))))
    return out


CURVE_TOP = 1.6          # V(1.6) = 1 to float precision: every init sample has r <= 1.4 (measured)
CURVE_POINTS = 12


def whitened(model):
    """theta(z) for z ~ N(0, I) over (W, D): the init W ~ N(0, 1/64), D ~ N(0, 1/k), b = 0, as a flat vector."""
    k, n = model.hidden, SIZE * SIZE
    w_scale, d_scale = 1 / math.sqrt(n), 1 / math.sqrt(k)

    def theta(z):    # through ravel_pytree, so the flat layout is the model's own
        return ravel_pytree({"W": w_scale * z[:k * n].reshape(k, n), "b": jnp.zeros(k, z.dtype),
                             "D": d_scale * z[k * n:].reshape(n, k)})[0]
    return theta, 2 * k * n


def labelled_residual(model, parts, theta):
    """max( max_i ||c_i - part_i||_inf , ||x - I||_inf ): unit i must carry part i."""
    c = model.features(theta)
    gaps = jnp.max(jnp.abs(c[:parts.shape[0]] - parts), axis=-1)
    return jnp.maximum(jnp.max(gaps), jnp.max(jnp.abs(c.sum(axis=0) - model.image)))


def volume_curves(model, settings, seed, progress):
    """ln mu(S^lab) per eps (nested sampling) and the assignment counts N = k!/(k - parts)!, for both targets."""
    theta, dim = whitened(model)
    parts = {"edges": model.edges, "L-shapes": model.corners}
    targets = [sim.Target(name, lambda z, p=p: labelled_residual(model, p, theta(z))) for name, p in parts.items()]
    grid = np.geomspace(CURVE_TOP, settings.eps, CURVE_POINTS)
    curve = sim.volume_curve(targets, sim.space.gaussian(dim), grid, n_live=settings.curve_live,
                             n_runs=settings.curve_runs, k=settings.curve_live // 2, n_moves=settings.curve_moves,
                             seed=seed, precision="float32", progress=progress)
    out = {"eps": grid.tolist(), "dim": dim, "config": {k: curve.config[k] for k in ("n_live", "k", "n_runs", "n_moves")},
           "wall_seconds": curve.work["wall_seconds"], "warnings": curve.warnings, "targets": {}}
    for name, p in parts.items():
        n_assign = math.perm(model.hidden, p.shape[0])
        low, high = curve.band(name)
        spread = curve.spread(name)
        out["targets"][name] = {
            "assignments": n_assign, "exact_union": model.hidden == p.shape[0],
            "log_volume": (curve.log_volume[name] + math.log(n_assign)).tolist(),
            "log_band": [(low + math.log(n_assign)).tolist(), (high + math.log(n_assign)).tolist()],
            "runs_at_eps": curve.log_volume_runs[name][:, -1].tolist(),
            "slope": list(curve.exponent(name, fit=(grid[-1], grid[-4]))),
            "spread": finite_or_none(spread[-1]),
            "evaluations": curve.work["per_target"][name]["evaluations"]}
    out["spread_limit"] = curve.spread_limit()
    factor = out["targets"]["edges"]["assignments"] / out["targets"]["L-shapes"]["assignments"]
    out["ratio"] = [v * factor for v in curve.ratio("edges", "L-shapes")[-1]]
    return out


# ---- the races ------------------------------------------------------------------
def race_grid(settings: Settings):
    """(hidden, activation, kernel, learning rate or step size, batch size, temperature) per race."""
    lr, batch, T = settings.learning_rate, settings.batch_size, settings.temperature
    grid = []
    for k in settings.hidden:
        for act in settings.activations:
            grid += [(k, act, "sgd", lr, batch, 0.0), (k, act, "langevin", lr, None, T)]
    k0, a0 = settings.hidden[0], settings.activations[0]
    grid += [(k0, a0, "sgd", v, batch, 0.0) for v in settings.learning_rates]
    grid += [(k0, a0, "sgd", lr, v, 0.0) for v in settings.batch_sizes]
    grid += [(k0, a0, "langevin", lr, None, v) for v in settings.temperatures]
    return grid


def kernel_for(model, kind, lr, batch, T):
    if kind == "sgd":
        return sim.dynamics.sgd(model.loss, model.pixels, optax.sgd(lr), batch)
    return sim.dynamics.sgld(model.loss, model.pixels, lr, T)


def end_state(model, result):
    """Final loss, closeness to each decomposition and P(d_f < d_h) over all chains."""
    theta = jnp.asarray(result.position)
    loss = np.asarray(jax.vmap(model.full_loss)(theta))
    d_f = np.asarray(jax.vmap(lambda t: model.closeness(t, model.edges))(theta))
    d_h = np.asarray(jax.vmap(lambda t: model.closeness(t, model.corners))(theta))
    n = len(loss)
    finite = np.isfinite(loss) & np.isfinite(d_f) & np.isfinite(d_h)   # diverged chains are counted, not measured
    return {"reconstructs": list(stats.proportion(int(np.sum(loss <= LOSS_TOLERANCE)), n)),
            "median_loss": float(np.median(loss[finite])) if finite.any() else math.nan,
            "closeness_edges": list(stats.quantile_interval(d_f[finite], 0.5)),
            "closeness_L": list(stats.quantile_interval(d_h[finite], 0.5)),
            "closer_to_edges": list(stats.proportion(int(np.sum(d_f[finite] < d_h[finite])), int(finite.sum())))}


def run(settings: Settings, *, chains: int, steps: int, seed: int, out, progress=True,
        precision="float32") -> dict:
    eps, grid = settings.eps, race_grid(settings)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, volumes, curves, traced = [], {}, {}, {}
    trace_every = settings.trace_every or None
    for k, act, kind, lr, batch, T in grid:
        model = Autoencoder(k, act)
        key = f"{k}-{act}"
        if key not in volumes:
            volumes[key] = initialisation_mass(model, eps, settings.volume_samples, seed)
            if len(curves) < settings.curve_models:
                curves[key] = volume_curves(model, settings, seed, progress)
        start = model.init_flat(chains, seed)
        result = sim.race(kernel_for(model, kind, lr, batch, T), model.targets(eps), start, n_chains=chains,
                          max_steps=steps, seed=seed, progress=progress, precision=precision,
                          trace_every=trace_every)
        if trace_every:
            traced[f"k{k}-{act}-{kind}-lr{lr:g}-B{batch or 'full'}-T{T:g}"] = result
        rows.append({"hidden": k, "activation": act, "kernel": kind, "step_size": lr, "batch_size": batch,
                     "temperature": T, "counts": result.counts,
                     "p_edges": list(result.probability("edges")), "p_L": list(result.probability("L-shapes")),
                     "ratio": list(result.ratio("edges", "L-shapes")), **end_state(model, result),
                     "chain0_features": np.asarray(model.features(jnp.asarray(result.position[0]))).round(4).tolist()})
    summary = {"scenario": NAME, "chains": chains, "max_steps": steps, "seed": seed, "eps": eps,
               "settings": settings.as_dict(), "initialisation_mass": volumes, "volume_curves": curves, "rows": rows}
    return finish(out, summary, traced, render)


def render(summary: dict, out) -> None:
    """report.md and the plots, from the summary alone (``stabsim report DIR`` calls this)."""
    plot(summary, Path(out) / "features.png")
    if summary.get("volume_curves"):
        plot_curves(summary["volume_curves"], Path(out) / "volume_curve.png")
    write_report(out, report(summary))


# ---- report ---------------------------------------------------------------------

def verdict(summary) -> str:
    rows = summary["rows"]
    n_races = len(rows)
    hits_f = sum(r["counts"]["edges"] for r in rows)
    hits_h = sum(r["counts"]["L-shapes"] for r in rows)
    censored = sum(r["counts"]["censored"] for r in rows)
    total = sum(summary["chains"] for _ in rows)
    text = (f"Across {n_races} races ({total} chains), {hits_f} chains stabilised the edges first, "
            f"{hits_h} the L-shapes first, and {censored} neither within {summary['max_steps']} steps "
            f"(eps = {summary['eps']} per pixel).")
    recon = [r for r in rows if r["reconstructs"][0] >= 0.5]
    text += (f" In {len(recon)} of {n_races} races most chains reconstruct I (loss <= {LOSS_TOLERANCE:g}) by the "
             "end" + (", so training does reach zero loss, with features that are neither decomposition." if recon
                      else "; the noise (or the budget) keeps the loss above that in the others.")
             + " Which races reach zero loss is in the table.")
    closer = [r for r in rows if r["closer_to_edges"][1] > 0.5]
    farther = [r for r in rows if r["closer_to_edges"][2] < 0.5]
    image, edges, corners = decompositions()
    even = {name: np.mean([np.linalg.norm(image / len(parts) - p) / np.linalg.norm(p) for p in parts])
            for name, parts in (("edges", edges), ("L", corners))}
    text += (f" The final features are significantly closer to the edges in {len(closer)} races and to the "
             f"L-shapes in {len(farther)} (relative L2 distance, median over chains). That distance favours "
             f"the larger parts for unstructured features: an even split of I gives d = {even['edges']:.2f} to "
             f"the edges and {even['L']:.2f} to the L-shapes, so a smaller d_L is no sign that training "
             "prefers L-shapes.")
    vol = summary["initialisation_mass"]
    text += " Initialisation mass of the targets: " + "; ".join(
        f"{k}: edges {v['edges'][0]:.3g} (<= {v['edges'][2]:.2g}), L-shapes {v['L-shapes'][0]:.3g} "
        f"(<= {v['L-shapes'][2]:.2g}) of {v['samples']} samples" for k, v in vol.items()) + "."
    for key, c in summary.get("volume_curves", {}).items():
        t = c["targets"]
        text += (f" Nested sampling ({key}, eps = {summary['eps']}): ln mu(edges) = {t['edges']['log_volume'][-1]:.0f}, "
                 f"ln mu(L-shapes) = {t['L-shapes']['log_volume'][-1]:.0f}, so the volume claim predicts odds "
                 f"(edges : L) of {c['ratio'][0]:.2g} [{c['ratio'][1]:.2g}, {c['ratio'][2]:.2g}]: "
                 + ("the L-shapes first." if c['ratio'][2] < 1 else "the edges first." if c['ratio'][1] > 1
                    else "no significant preference."))
        if c["warnings"]:
            text += " Its runs warn (below), so these intervals are not to be trusted at face value."
    if hits_f + hits_h == 0:
        text += (" With no hit at all, the odds are undefined; the data neither support nor refute the volume "
                 "claim for this model, and the claim's premise (that training lands on one of the two "
                 "decompositions) does not hold here.")
    return text


def report(summary) -> str:
    lines = [f"# {NAME}", "", SUMMARY + ".", "",
             "Input: 8x8 rectangle outline; f = 4 edges, h = 2 L-shaped corners (both sum to I exactly). "
             f"{summary['chains']} independently initialised networks per race, budget {summary['max_steps']} "
             f"steps, eps = {summary['eps']} (sup-norm, pixel units), seed {summary['seed']}.", "",
             "| k | act | kernel | lr / h | batch | T | P(edges first) | P(L first) | censored | odds | "
             "reconstructs I | median d_edges | median d_L | P(closer to edges) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        lines.append(
            f"| {r['hidden']} | {r['activation']} | {r['kernel']} | {r['step_size']} | {r['batch_size'] or 'full'} | "
            f"{r['temperature']:g} | {fmt_interval(r['p_edges'])} | {fmt_interval(r['p_L'])} | {r['counts']['censored']} | "
            f"{fmt_interval(r['ratio'])} | {fmt_interval(r['reconstructs'])} | {fmt_interval(r['closeness_edges'])} | "
            f"{fmt_interval(r['closeness_L'])} | {fmt_interval(r['closer_to_edges'])} |")
    lines += ["", "Initialisation mass (Gaussian init inside |theta| <= 2 E|theta|, Clopper-Pearson 95%):", "",
              "| model | edges | L-shapes | min r_edges | min r_L |", "|---|---|---|---|---|"]
    for k, v in summary["initialisation_mass"].items():
        lines.append(f"| {k} | {fmt_interval(v['edges'])} | {fmt_interval(v['L-shapes'])} | {v['edges_min_residual']:.3g} | "
                     f"{v['L-shapes_min_residual']:.3g} |")
    lines += curve_table(summary)
    lines += ["", "![features](features.png)", "", "## Verdict", "", verdict(summary), ""]
    return "\n".join(lines)


def curve_table(summary) -> list[str]:
    curves = summary.get("volume_curves") or {}
    if not curves:
        return []
    c0 = next(iter(curves.values()))
    cfg = c0["config"]
    lines = ["", f"Initialisation mass by nested sampling ({cfg['n_runs']} runs x {cfg['n_live']} live points, "
             f"{cfg['k']} replaced per iteration, {cfg['n_moves']} moves each; whitened init prior). mu = N mu(labelled), "
             "N the unit assignments: exact where every unit carries a part, else an upper bound (union bound). "
             "ln V: log of the mean over runs [95 % band from resampled runs]. Spread: the runs' SD of ln V over the "
             "SD independent replacements give (about 1 when the moves decorrelate).", "",
             "| model | D | target | N | ln mu(eps) [95%] | log10 mu | local slope d ln mu / d ln eps | "
             "spread (limit) | runs' ln mu(labelled) | evaluations | predicted odds edges : L |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, c in curves.items():
        for name, t in c["targets"].items():
            lo, hi = t["log_band"][0][-1], t["log_band"][1][-1]
            spread = "—" if t["spread"] is None else f"{t['spread']:.1f} ({c['spread_limit']:.2f})"
            lines.append(f"| {key} | {c['dim']} | {name} | {t['assignments']}{'' if t['exact_union'] else ' (bound)'} "
                         f"| {t['log_volume'][-1]:.1f} [{lo:.1f}, {hi:.1f}] | {t['log_volume'][-1] / math.log(10):.1f} "
                         f"| {fmt_interval(t['slope'], 3)} (eps {c['eps'][-1]:.3g}..{c['eps'][-4]:.3g}) | {spread} "
                         f"| {', '.join(f'{v:.0f}' for v in t['runs_at_eps'])} | {t['evaluations']:.3g} "
                         f"| {fmt_interval(c['ratio'], 2) if name == 'edges' else ''} |")
    lines += [f"\nWarning ({key}): {w}" for key, c in curves.items() for w in c["warnings"]]
    return lines + ["", "![volume curve](volume_curve.png)"]


def plot_curves(curves, path) -> None:
    """ln mu(r <= eps) against eps for both decompositions, per model, with the 95 % bands."""
    fig, axes = figure(1, len(curves), figsize=(4.8 * len(curves), 3.8), squeeze=False)
    for ax, (key, c) in zip(axes[0], curves.items()):
        eps = np.array(c["eps"])
        for name, t in c["targets"].items():
            line, = ax.plot(eps, np.array(t["log_volume"]) / math.log(10), "o-", ms=3, label=name)
            ax.fill_between(eps, *(np.array(t["log_band"]) / math.log(10)), color=line.get_color(), alpha=0.25)
        ax.axvline(0.5, color="gray", ls=":", lw=1, label="below eps = 1/2: mu(S) <= N mu(lab)")
        ax.set(xscale="log", xlabel="eps (sup-norm, pixel units)", ylabel="log10 N mu(labelled: r <= eps)",
               title=f"{key} (D = {c['dim']}): initialisation mass")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks([0.25, 0.5, 1.0, CURVE_TOP], labels=["0.25", "0.5", "1", f"{CURVE_TOP:g}"])
        ax.legend(fontsize=7, loc="lower right")
    save(fig, path)


def plot(summary, path) -> None:
    """The image, both decompositions, and the features of one trained network per (k, activation)."""

    image, edges, corners = decompositions()
    models = []
    for r in summary["rows"]:
        key = (r["hidden"], r["activation"])
        if r["kernel"] == "sgd" and key not in [m[0] for m in models]:
            models.append((key, r))
    cols = max(7, max((k for (k, _), _ in models), default=0) + 1)
    fig, axes = figure(1 + len(models), cols, figsize=(1.6 * cols, 1.7 * (1 + len(models))))
    axes = np.atleast_2d(axes)
    for ax in axes.ravel():
        ax.axis("off")
    for j, (title, img) in enumerate([("I", image)] + [(f"f{i + 1}", e) for i, e in enumerate(edges)]
                                     + [(f"h{i + 1}", c) for i, c in enumerate(corners)]):
        axes[0, j].imshow(img.reshape(SIZE, SIZE), cmap="gray_r", vmin=-0.2, vmax=1.2)
        axes[0, j].set_title(title, fontsize=8)
    for row, ((k, act), r) in enumerate(models, start=1):
        c = np.asarray(r["chain0_features"])
        axes[row, 0].imshow(c.sum(0).reshape(SIZE, SIZE), cmap="gray_r", vmin=-0.2, vmax=1.2)
        axes[row, 0].set_title(f"k={k} {act}: output", fontsize=7)
        for j in range(k):
            axes[row, j + 1].imshow(c[j].reshape(SIZE, SIZE), cmap="RdBu_r", vmin=-1, vmax=1)
            axes[row, j + 1].set_title(f"unit {j + 1}", fontsize=7)
    fig.suptitle("rectangle outline, its two decompositions, and features learned by SGD (chain 0)", fontsize=9)
    save(fig, path)


if __name__ == "__main__":
    cli.run_scenario_script(NAME)

"""GL(2) shapes: does a random walk in GL(2) hit the bigger stabilizer first?

Question (Paul & Venkatasubramanian 2015, section 2.3): a walk in GL(2, R)
races to the eps-stabilizers S_f^eps and S_h^eps of two figures. Do the
odds P(f first) / P(h first) follow the Haar-volume ratio
mu(B ∩ S_f^eps) / mu(B ∩ S_h^eps), as the volume argument says, or the
capacity law that governs small targets of a diffusion?

Setup. Ball B = {||g0^-1 g - I||_F <= 0.5}, g0 = [[1.2, 0.2], [0.1, 0.9]]
(it contains I, where all stabilizers meet). Chains start Haar-uniform in B,
outside both tubes, and walk confined to B (moves that leave it are
rejected). Walks: the group walk g exp(scale Z) (Haar-invariant) and the
entry walk g + scale Z (Lebesgue-invariant). Regimes: "jump" (scale 0.3 >>
eps) and "diffusive" (scale = eps / 5).

Predictions per row (simulator.stabilizers.laws): the Haar-volume ratio (Monte
Carlo); the flux law, the ratio of the invariant measure of each tube (less
the other tube: landing in both is a tie) times the chance a step from it
stays in B (for jumps); the capacity law,
Cap_f / Cap_h from the tubes' cross-sections (for diffusion). Stabilizer
dimensions come from the Lie algebra and, independently, from the
tube-volume slope k = 4 - d log vol / d log eps.

Run alone: ``python scenarios/gl2_shapes.py --set quick=true``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import matplotlib
import matplotlib.ticker
import jax.numpy as jnp
import numpy as np

import simulator as sim
from simulator import cli, groups, stats
from simulator.stabilizers import laws, shapes, volumes
from simulator.io.plots import figure, gallery, save

from scenarios import common
from scenarios.common import check_values, finish, fmt_interval, setting, write_report

NAME = "gl2-shapes"
SUMMARY = "GL(2) walks race to stabilizers of shapes: odds vs Haar-volume, flux and capacity laws"
DEFAULT_CHAINS = 1000
DEFAULT_STEPS = 50_000
CENTER = np.array([[1.2, 0.2], [0.1, 0.9]])
DIMENSION_EPS = (0.1, 0.05, 0.025)
CURVE_EPS = (0.01, 0.005, 0.0025, 0.001)        # where the volume curve goes beyond the races' eps
CURVE_FIT = (0.001, 0.005)                       # the slope fitted there: the codimension 4 - dim S_f
FIGURES = {"segment": shapes.segment, "circle": shapes.circle, "ellipse": lambda: shapes.ellipse(2.0, 1.0),
           "square": shapes.square, "line": shapes.line}
METRIC = {"group": "haar", "entry": "entry"}
MEASURE = laws.WALK_MEASURES


@dataclass(frozen=True)
class Settings(common.Settings):
    eps: tuple[float, ...] = setting((0.1, 0.05, 0.025), "tube radii eps of both stabilizers, in (0, 1)")
    pairs: tuple[str, ...] = setting(("segment:circle", "segment:ellipse", "circle:ellipse", "segment:square",
                                      "line:circle"), f"races f:h, figures among {', '.join(FIGURES)}")
    walks: tuple[str, ...] = setting(("group", "entry"), "walks: group (g exp(sZ)), entry (g + sZ)")
    regimes: tuple[str, ...] = setting(("jump", "diffusive"), "jump (scale jump_scale) or diffusive (eps/divisor)")
    jump_scale: float = setting(0.3, "step scale of the jump regime")
    diffusive_divisor: float = setting(5.0, "diffusive regime: scale = eps / divisor")
    radius: float = setting(0.5, "Frobenius radius of the ball B around CENTER, in (0, 1)")
    volume_samples: int = setting(2_000_000, "Haar samples for the volume and flux columns")
    geometry_points: int = setting(4000, "manifold points for the tube geometry (capacity law)")

    curve_live: int = setting(200, "live points per nested-sampling run of the volume curve")
    curve_runs: int = setting(10, "independent nested-sampling runs of the volume curve")
    rare: bool = setting(False, "add the rare side: segment vs square odds at every rare_eps")
    rare_eps: tuple[float, ...] = setting((0.1, 0.05, 0.025, 0.0125), "eps of the rare jump rows (first-step flux)")
    rare_diffusive_eps: tuple[float, ...] = setting((0.1, 0.05, 0.025, 0.0125),
                                                    "eps of the rare diffusive rows (splitting)")
    rare_walks: tuple[str, ...] = setting(("group", "entry"), "walks of the rare rows")
    rare_samples: int = setting(1_000_000, "samples per target of the first-step flux (jump rows)")
    rare_direct_chains: int = setting(200_000, "chains of the direct jump race that checks the flux at the largest "
                                      "rare eps (0: none)")
    rare_replicas: int = setting(100, "splitting replicas per run of a diffusive rare row")
    rare_runs: int = setting(10, "independent splitting runs of a diffusive rare row")

    QUICK: ClassVar[dict] = {"eps": (0.1,), "pairs": ("segment:circle", "line:circle"), "volume_samples": 200_000,
                             "geometry_points": 500, "chains": 200, "steps": 4000, "rare_walks": ("group",),
                             "curve_live": 100, "curve_runs": 5, "rare_samples": 100_000, "rare_direct_chains": 20_000,
                             "rare_replicas": 50, "rare_runs": 4}

    def check(self):
        check_values("eps", self.eps, low=0, high=1)
        for pair in self.pairs:
            f, _, h = pair.partition(":")
            if f not in FIGURES or h not in FIGURES or f == h:
                raise ValueError(f"setting pairs: each must be f:h with f != h among {sorted(FIGURES)}, got {pair!r}")
        check_values("walks", self.walks, allowed=tuple(METRIC))
        check_values("regimes", self.regimes, allowed=("jump", "diffusive"))
        check_values("radius", (self.radius,), low=0, high=1)
        for name in ("jump_scale", "diffusive_divisor", "volume_samples", "geometry_points", "rare_replicas",
                     "rare_runs", "rare_samples", "curve_live", "curve_runs"):
            check_values(name, (getattr(self, name),), low=0)
        check_values("rare_eps", self.rare_eps, low=0, high=1)
        check_values("rare_diffusive_eps", self.rare_diffusive_eps, low=0, high=1, at_least=0)
        if isinstance(self.rare_direct_chains, bool) or not isinstance(self.rare_direct_chains, int) \
                or self.rare_direct_chains < 0:
            raise ValueError(f"setting rare_direct_chains must be an int >= 0, got {self.rare_direct_chains!r}")
        if not isinstance(self.rare, bool):
            raise ValueError(f"setting rare must be true or false, got {self.rare!r}")
        check_values("rare_walks", self.rare_walks, allowed=tuple(METRIC))


def _kernel(walk, scale, ball):
    inner = sim.dynamics.group_walk(ball.group, scale) if walk == "group" else sim.dynamics.entry_walk(None, scale)
    return sim.dynamics.confine(inner, ball)


def run(settings: Settings, *, chains: int, steps: int, seed: int, out, progress=True,
        precision="float32") -> dict:
    eps_grid, walks, regimes = list(settings.eps), settings.walks, settings.regimes
    pairs = [tuple(pair.split(":")) for pair in settings.pairs]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    G = groups.GL(2)
    ball = groups.frobenius_ball(G, settings.radius, center=CENTER)
    rare_pairs = [RARE_PAIR] if settings.rare else []
    names = sorted({name for pair in pairs + rare_pairs for name in pair})
    figs = {name: FIGURES[name]() for name in names}
    targets = {name: sim.stabilizer(fig, 0.1) for name, fig in figs.items()}
    residual = {name: common.batched(t.residual) for name, t in targets.items()}

    # --- theory: dimensions, Haar volumes, flux and capacity ---------------------------------
    volume_eps = sorted(set(eps_grid) | set(DIMENSION_EPS), reverse=True)
    n_mc = settings.volume_samples
    haar = volumes.tube_volumes(ball, list(targets.values()), volume_eps, n_mc, seed=seed + 1)
    # The volume curve (nested sampling) down to eps = 1e-3: the Haar-volume columns and the slopes.
    rare_eps = sorted(set(settings.rare_eps) | set(settings.rare_diffusive_eps), reverse=True) if settings.rare else []
    curve_eps = sorted(set(volume_eps) | set(CURVE_EPS) | set(rare_eps), reverse=True)
    curve = sim.volume_curve([sim.Target(name, t.residual, 0.1, distance=False) for name, t in targets.items()],
                             sim.space.group_ball(ball), curve_eps, n_live=settings.curve_live,
                             n_runs=settings.curve_runs, seed=seed + 5, progress=progress)
    dimension, volume_curve = {}, {}
    for name, fig in figs.items():
        slope = curve.exponent(name, fit=CURVE_FIT)
        dimension[name] = {"analytic": sim.stabilizer_dimension(G, fig),
                           "numeric": G.dim - slope.value,
                           "numeric_interval": [G.dim - slope.high, G.dim - slope.low]}
        low, high = curve.band(name)
        volume_curve[name] = {"eps": curve_eps, "volume": [list(curve.volume(name, e)) for e in curve_eps],
                              "log_band": [low.tolist(), high.tolist()], "slope": list(slope)}
    curve_ratio = {(f, h): curve.ratio(f, h) for f in figs for h in figs if f != h}
    geometry, flux = {}, {}
    for walk in walks:
        geometry[walk] = {name: laws.tube_geometry(G, fig, ball, METRIC[walk],
                                                          n_points=settings.geometry_points, seed=seed + 2)
                          for name, fig in figs.items()}
        accept = laws.acceptance_weight(walk, settings.jump_scale, ball)
        flux[walk] = volumes.tube_volumes(ball, list(targets.values()), volume_eps, n_mc, seed=seed + 3,
                                          measure=MEASURE[walk], weight_fn=accept)

    # --- races ------------------------------------------------------------------------------------
    rows, traced = [], {}
    trace_every = settings.trace_every or None
    for f, h in pairs:
        tf, th = targets[f].name, targets[h].name
        for walk in walks:
            for regime in regimes:
                for eps in eps_grid:
                    scale = settings.jump_scale if regime == "jump" else eps / settings.diffusive_divisor
                    race_targets = [sim.Target(f, targets[f].residual, eps, distance=False),
                                    sim.Target(h, targets[h].residual, eps, distance=False)]
                    start = common.start_outside(ball, [residual[f], residual[h]], eps, chains, seed + 11)
                    result = sim.race(_kernel(walk, scale, ball), race_targets, start, n_chains=chains,
                                      max_steps=steps, seed=seed, precision=precision, progress=progress,
                                      trace_every=trace_every)
                    if trace_every:
                        traced[race_label({"f": f, "h": h, "walk": walk, "regime": regime, "eps": eps})] = result
                    result.save(out / "races" / race_label({"f": f, "h": h, "walk": walk, "regime": regime,
                                                            "eps": eps}))
                    i = volume_eps.index(eps)
                    geo_f, geo_h = geometry[walk][f], geometry[walk][h]
                    rows.append({
                        "f": f, "h": h, "walk": walk, "regime": regime, "eps": eps, "scale": scale,
                        "counts": result.counts,
                        "p_f": list(result.probability(f)), "p_h": list(result.probability(h)),
                        "ratio": list(result.ratio(f, h)),
                        "haar_volume_ratio": list(curve_ratio[(f, h)][curve_eps.index(eps)]),
                        "haar_volume_ratio_mc": list(haar["ratio"][(tf, th)][i]),
                        "flux_ratio": list(flux[walk]["exclusive_ratio"][(tf, th)][i]),
                        "capacity_ratio": list(stats.ratio_of_estimates(geo_f.capacity(eps), geo_h.capacity(eps))),
                        "mean_hit_step": _mean_hit_step(result),
                        "wall_seconds": result.work["wall_seconds"],
                    })
    rare_rows = []
    for walk in settings.rare_walks if settings.rare else ():
        def row(regime, eps, method, odds_and_details):
            return _rare_row(walk, regime, eps, method, *odds_and_details,
                             curve_ratio[RARE_PAIR][curve_eps.index(eps)], geometry[walk])
        context = (ball, targets, residual, steps, seed, progress, precision)
        rare_rows += [row("jump", eps, "first-step flux", first_step_odds(walk, eps, settings, ball, targets, seed))
                      for eps in settings.rare_eps]
        if settings.rare_direct_chains:
            eps = max(settings.rare_eps)
            rare_rows.append(row("jump", eps, "direct race", direct_race_odds(walk, eps, settings, *context)))
        rare_rows += [row("diffusive", eps, "splitting", splitting_odds(walk, eps, settings, *context))
                      for eps in settings.rare_diffusive_eps]
    summary = {"scenario": NAME, "chains": chains, "max_steps": steps, "seed": seed,
               "settings": settings.as_dict(), "center": CENTER.tolist(),
               "races": rows, "rare": rare_rows, "stabilizer_dimension": dimension, "volume_curve": volume_curve,
               "volume_curve_settings": {"n_live": settings.curve_live, "n_runs": settings.curve_runs,
                                         "fit": list(CURVE_FIT), "warnings": curve.warnings},
               "codimension": {name: G.dim - d["analytic"] for name, d in dimension.items()},
               "tube_law": _tube_law_rows(geometry, haar, targets, volume_eps),
               "slopes": fit_slopes(rows)}
    summary["verdict"] = verdicts(summary)
    return finish(out, summary, traced, render)


RARE_PAIR = ("segment", "square")
ZOOM = 2.0          # the square's tube in B lies within ||g - I||_F <= 1.24 eps (measured); it is sampled in 2 eps


def rare_targets(targets, eps):
    return [sim.Target(name, targets[name].residual, eps, distance=False) for name in RARE_PAIR]


def _rare_row(walk, regime, eps, method, odds, details, volume_ratio, geometry) -> dict:
    f, h = RARE_PAIR
    return {"f": f, "h": h, "walk": walk, "regime": regime, "eps": eps, "method": method, "ratio": list(odds),
            "haar_volume_ratio": list(volume_ratio),
            "capacity_ratio": list(stats.ratio_of_estimates(geometry[f].capacity(eps), geometry[h].capacity(eps))),
            "p_h": None, **details}


def first_step_odds(walk, eps, settings, ball, targets, seed):
    """Jump regime: the odds in the i.i.d. limit, Phi_segment / Phi_square (``laws.first_step_flux``), the
    square's exclusive tube sampled in the Frobenius ball of radius ZOOM eps around I (the only element
    of the square's stabilizer, the dihedral group D4, that lies in B). Returns (odds, row details)."""
    near = {RARE_PAIR[1]: groups.frobenius_ball(ball.group, ZOOM * eps)}
    flux = laws.first_step_flux(ball, rare_targets(targets, eps), eps, walk, settings.jump_scale,
                                settings.rare_samples, near=near, seed=seed + 17)
    return stats.ratio_of_estimates(*(flux[name] for name in RARE_PAIR)), {
        "flux": {k: list(v) for k, v in flux.items()}, "work": 2 * settings.rare_samples,
        "detail": f"{settings.rare_samples:,} samples per target"}


def direct_race_odds(walk, eps, settings, ball, targets, residual, steps, seed, progress, precision):
    """The check of the first-step flux where a race can count: a direct jump race of many chains."""
    n = settings.rare_direct_chains
    start = common.start_outside(ball, [residual[name] for name in RARE_PAIR], eps, n, seed + 19)
    result = sim.race(_kernel(walk, settings.jump_scale, ball), rare_targets(targets, eps), start, n_chains=n,
                      max_steps=steps, seed=seed + 19, precision=precision, progress=progress)
    return result.ratio(*RARE_PAIR), {"p_h": list(result.probability(RARE_PAIR[1])), "counts": result.counts,
                                      "work": result.work["ideal_chain_steps"], "detail": f"{n:,} chains",
                                      "warnings": result.warnings}


def splitting_odds(walk, eps, settings, ball, targets, residual, steps, seed, progress, precision):
    """Diffusive regime (scale eps / divisor) by generalized AMS, split for the square's exclusive tube
    with the score -(R - eps)/eps, R = max(r_square, 2 eps - r_segment): R <= eps exactly on the
    square's tube outside the segment's, where a square win lands."""
    f, h = RARE_PAIR
    n = settings.rare_replicas * settings.rare_runs
    start = common.start_outside(ball, [residual[f], residual[h]], eps, n, seed + 13)
    r_f, r_h = targets[f].residual, targets[h].residual
    result = sim.splitting(_kernel(walk, eps / settings.diffusive_divisor, ball), rare_targets(targets, eps), start,
                           score=lambda g: -(jnp.maximum(r_h(g), 2 * eps - r_f(g)) - eps) / eps, top=[h],
                           n_replicas=settings.rare_replicas, n_runs=settings.rare_runs, max_steps=steps,
                           seed=seed, progress=progress, precision=precision)
    return result.ratio(f, h), {
        "p_h": list(result.probability(h)), "p_censored": list(result.probability("censored")),
        "work": result.work["chain_steps"] + result.work["replay_steps"], "warnings": result.warnings,
        "detail": f"{settings.rare_runs} runs x {settings.rare_replicas} replicas, "
                  f"{int(result.runs['extinct'].sum())} extinct, "
                  f"{100 * result.probability('censored').value:.0f} % censored at {steps:,} steps",
        "wall_seconds": result.work["wall_seconds"]}


def race_label(row) -> str:
    return f"{row['f']}-{row['h']}-{row['walk']}-{row['regime']}-eps{row['eps']:g}"


def render(summary: dict, out) -> None:
    """report.md and the plots, from the saved run (``stabsim report DIR`` calls this): odds vs eps,
    and a gallery of g.f at the hit for the first group-walk race (its folder under races/)."""
    out = Path(out)
    plot(summary, out / "odds_vs_eps.png")
    if summary.get("volume_curve"):
        plot_volume_curve(summary, out / "volume_curve.png")
    text = report(summary)
    first = next((r for r in summary["races"] if r["walk"] == "group"), None)
    if first is not None and (out / "races" / race_label(first) / "result.json").is_file():
        result = sim.load_result(out / "races" / race_label(first))
        gallery(groups.GL(2), {first["f"]: FIGURES[first["f"]](), first["h"]: FIGURES[first["h"]]()}, result,
                out / "gallery.png", title=f"{race_label(first)}: f (grey) and g.f at the hit (colour)")
        text += ("\n## What stabilized means\n\nEach panel: the figure (grey) and its image under the chain's "
                 f"group element at the hit (colour), race {race_label(first)}.\n\n![gallery](gallery.png)\n")
    write_report(out, text)


def _mean_hit_step(result):
    """Mean step of the first hit (either target) with its 95% interval; None if no hits."""
    steps = result.hit_step[result.outcome >= 0]
    return list(stats.mean_interval(steps)) if len(steps) > 1 else None


def _tube_law_rows(geometry, haar, targets, volume_eps):
    """The tube law eps^c ∫ vol_c K dvol_k next to the Monte Carlo Haar volume."""
    rows = []
    geo = geometry.get("group")
    if geo is None:
        return rows
    for name, g in geo.items():
        for i, eps in enumerate(volume_eps):
            rows.append({"figure": name, "eps": eps, "k": g.k, "c": g.c,
                         "law": list(g.tube_volume(eps)),
                         "monte_carlo": list(haar["volume"][targets[name].name][i])})
    return rows


def fit_slopes(rows):
    """Per (pair, walk, regime): log-log slopes of the odds and of each prediction against eps."""
    groups_ = {}
    for row in rows:
        groups_.setdefault((row["f"], row["h"], row["walk"], row["regime"]), []).append(row)
    out = []
    for (f, h, walk, regime), rs in groups_.items():
        eps = [r["eps"] for r in rs]
        entry = {"f": f, "h": h, "walk": walk, "regime": regime}
        for key in ("ratio", "haar_volume_ratio", "flux_ratio", "capacity_ratio"):
            entry[key] = list(volumes.fit_power(eps, [stats.Estimate(*r[key]) for r in rs])) \
                if len(eps) >= 2 else [math.nan] * 3
        out.append(entry)
    return out


def law_misfit(rows, key):
    """RMS over rows of z = (log odds - log prediction) / se, se from both intervals."""
    z = []
    for r in rows:
        se_o, se_p = stats.log_standard_error(stats.Estimate(*r["ratio"])), stats.log_standard_error(
            stats.Estimate(*r[key]))
        if math.isfinite(se_o) and r[key][0] > 0:
            z.append((math.log(r["ratio"][0]) - math.log(r[key][0])) / math.hypot(se_o, se_p if
                                                                                   math.isfinite(se_p) else 0))
    return math.sqrt(sum(v * v for v in z) / len(z)) if z else math.nan, len(z)


def slope_misfit(slopes, key):
    """RMS over pairs of z = (odds slope - law slope) / se, se from both intervals."""
    z = []
    for s in slopes:
        (v, lo, hi), (lv, llo, lhi) = s["ratio"], s[key]
        if all(map(math.isfinite, (v, lo, hi, lv, llo, lhi))):
            z.append((v - lv) / math.hypot(stats.standard_error(stats.Estimate(v, lo, hi)),
                                           stats.standard_error(stats.Estimate(lv, llo, lhi))))
    return math.sqrt(sum(x * x for x in z) / len(z)) if z else math.nan, len(z)


LAWS = ("haar_volume_ratio", "flux_ratio", "capacity_ratio")


def _best(fits):
    finite = {k: v[0] for k, v in fits.items() if math.isfinite(v[0])}
    return min(finite, key=finite.get).replace("_ratio", "") if finite else "none (too few rows)"


def verdicts(summary):
    """One sentence per (walk, regime) and one on the paper's claim, computed from the rows.

    The laws are judged on two things: the eps-scaling (RMS z of the fitted log-log slopes over
    the pairs whose stabilizers differ in dimension, the pairs where the laws' slopes differ) and
    the level at the smallest eps (RMS z of log odds vs log prediction), since both laws are
    limits eps -> 0. The capacity law's constant is only approximate (simulator.stabilizers.laws).
    """
    rows, dims = summary["races"], summary["stabilizer_dimension"]
    out = []
    for walk in sorted({r["walk"] for r in rows}):
        for regime in sorted({r["regime"] for r in rows}):
            smallest = min(r["eps"] for r in rows)
            sel = [r for r in rows if r["walk"] == walk and r["regime"] == regime and r["eps"] == smallest]
            slopes = [s for s in summary["slopes"] if s["walk"] == walk and s["regime"] == regime
                      and dims[s["f"]]["analytic"] != dims[s["h"]]["analytic"]]
            by_slope = {key: slope_misfit(slopes, key) for key in LAWS}
            by_level = {key: law_misfit(sel, key) for key in LAWS}
            out.append(
                f"{walk} walk, {regime} regime: the eps-scaling of the odds follows the {_best(by_slope)} law "
                f"(slope RMS z: " + ", ".join(f"{k.replace('_ratio', '')} {v[0]:.1f}" for k, v in by_slope.items())
                + f"; {by_slope[LAWS[0]][1]} pairs); at eps = {smallest:g} the level is closest to the "
                f"{_best(by_level)} law "
                f"(RMS z: " + ", ".join(f"{k.replace('_ratio', '')} {v[0]:.1f}" for k, v in by_level.items())
                + f"; {by_level[LAWS[0]][1]} rows).")
    bigger_first = [r for r in rows if dims[r["f"]]["analytic"] != dims[r["h"]]["analytic"]]
    agree = 0
    for r in bigger_first:
        f_bigger = dims[r["f"]]["analytic"] > dims[r["h"]]["analytic"]
        agree += (r["ratio"][1] > 1) if f_bigger else (r["ratio"][2] < 1)
    out.append(f"Paul & Venkatasubramanian's claim (the higher-dimensional stabilizer is hit first): "
               f"significant in {agree} of {len(bigger_first)} races between stabilizers of different "
               f"dimension (95% interval of the odds excludes 1 in the claimed direction).")
    rare = summary.get("rare") or []
    if rare:
        finite = [r for r in rare if math.isfinite(r["ratio"][0]) and r["ratio"][1] > 0]
        first = sum(r["ratio"][1] > 1 for r in finite)
        inside = sum(r["ratio"][1] <= r["haar_volume_ratio"][0] <= r["ratio"][2] for r in finite)
        above = [r["ratio"][0] / r["haar_volume_ratio"][0] for r in finite if r["haar_volume_ratio"][0] > 0]
        out.append(f"Rare side (segment vs square): {len(finite)} of {len(rare)} rows give the odds as a number with "
                   f"an interval; the segment is significantly first in {first} of them; the Haar-volume ratio lies "
                   f"inside the odds' 95% interval in {inside}"
                   + (f"; the odds exceed it {min(above):.3g} to {max(above):.3g} times." if above else "."))
    return out



def report(summary: dict) -> str:
    lines = [f"# {NAME}: {SUMMARY}", "", __doc__.split("\n\n")[1].replace("\n", " "), "",
             f"{summary['chains']} chains per race, budget {summary['max_steps']} steps, seed {summary['seed']}.",
             "", "## Stabilizer dimensions in GL(2) (dim 4)", "",
             "| figure | analytic (Lie algebra) | numeric 4 - slope [95%] (volume curve, eps 1e-3..5e-3) |",
             "|---|---|---|"]
    for name, d in summary["stabilizer_dimension"].items():
        lo, hi = d["numeric_interval"]
        lines.append(f"| {name} | {d['analytic']} | {d['numeric']:.2f} [{lo:.2f}, {hi:.2f}] |")
    if summary.get("volume_curve"):
        vc = summary["volume_curve"]
        cs = summary["volume_curve_settings"]
        eps_cols = next(iter(vc.values()))["eps"]
        lines += ["", "## Volume curve: Haar fraction V(eps) of each tube in B (nested sampling)", "",
                  f"`sim.volume_curve` on the normalised Haar measure of B, {cs['n_runs']} runs x {cs['n_live']} live "
                  "points; mean over runs [95 % t-interval]. The Haar-volume ratios of the race tables come from "
                  "these curves (interval from resampled whole curves).", "",
                  "| figure | " + " | ".join(f"eps {e:g}" for e in eps_cols) + " | slope [95%] |",
                  "|---|" + "---|" * (len(eps_cols) + 1)]
        for name, c in vc.items():
            lines.append(f"| {name} | " + " | ".join(fmt_interval(v, 3) for v in c["volume"])
                         + f" | {fmt_interval(c['slope'], 3)} |")
        lines += ["", "![volume curves](volume_curve.png)"] + [f"\nWarning: {w}" for w in cs.get("warnings", [])]
    lines += ["", "## Races", "",
              "| f | h | walk | regime | eps | method | P_f | P_h | odds P_f/P_h | Haar-volume ratio | flux law "
              "| capacity law | tie/escaped/censored |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary["races"]:
        lines.append(f"| {r['f']} | {r['h']} | {r['walk']} | {r['regime']} | {r['eps']:g} | race | {fmt_interval(r['p_f'])} "
                     f"| {fmt_interval(r['p_h'])} | {fmt_interval(r['ratio'])} | {fmt_interval(r['haar_volume_ratio'])} "
                     f"| {fmt_interval(r['flux_ratio'])} | {fmt_interval(r['capacity_ratio'])} "
                     f"| {r['counts']['tie']}/{r['counts']['escaped']}/{r['counts']['censored']} |")
    if any(math.isfinite(s["ratio"][0]) for s in summary["slopes"]):
        lines += ["", "## Log-log slopes against eps", "",
                  "| f | h | walk | regime | odds | Haar volume | flux | capacity |", "|---|---|---|---|---|---|---|---|"]
        for s in summary["slopes"]:
            lines.append(f"| {s['f']} | {s['h']} | {s['walk']} | {s['regime']} | {fmt_interval(s['ratio'], 2)} "
                         f"| {fmt_interval(s['haar_volume_ratio'], 2)} | {fmt_interval(s['flux_ratio'], 2)} "
                         f"| {fmt_interval(s['capacity_ratio'], 2)} |")
    if summary.get("rare"):
        lines += ["", "## Rare side: segment vs square (`--set rare=true`)", "",
                  "A race of this size never sees the square (stabilizer dimension 0) first. A square win must "
                  "land in the square's tube outside the segment's (the square's stabilizer D4 meets B only at I, "
                  "where the segment's stabilizer passes too), about 1 % of the square's tube. Jump rows: the "
                  "i.i.d. limit Phi_segment / Phi_square of `laws.first_step_flux`, the exact first-step flux into "
                  "each exclusive tube (importance sampling around I for the square), delta-method interval; a "
                  "direct race of many chains checks it where a race can count. Diffusive rows: generalized AMS "
                  "(`sim.splitting`), split for the square with the score -(R - eps)/eps, R = max(r_square, "
                  "2 eps - r_segment), Student t across runs; its warnings are listed below the table.", "",
                  "| walk | regime | eps | method | P_square | odds P_segment/P_square | Haar-volume ratio "
                  "| capacity law | work | detail |", "|---|---|---|---|---|---|---|---|---|---|"]
        notes = []
        for r in summary["rare"]:
            lines.append(f"| {r['walk']} | {r['regime']} | {r['eps']:g} | {r['method']} | {fmt_interval(r['p_h'])} "
                         f"| {fmt_interval(r['ratio'])} | {fmt_interval(r['haar_volume_ratio'])} "
                         f"| {fmt_interval(r['capacity_ratio'])} | {r['work']:.3g} | {r['detail']} |")
            notes += [f"- {r['walk']} {r['regime']} eps {r['eps']:g} ({r['method']}): {w}" for w in r.get("warnings", [])]
        lines += [""] + notes if notes else []
    lines += ["", "## Tube law vs Monte Carlo (Haar volume of S^eps ∩ B)", "",
              "| figure | k | c | eps | tube law | Monte Carlo |", "|---|---|---|---|---|---|"]
    for t in summary["tube_law"]:
        lines.append(f"| {t['figure']} | {t['k']} | {t['c']} | {t['eps']:g} | {fmt_interval(t['law'])} "
                     f"| {fmt_interval(t['monte_carlo'])} |")
    lines += ["", "![odds vs eps](odds_vs_eps.png)", "", "## Verdict", ""] + [f"- {v}" for v in summary["verdict"]]
    return "\n".join(lines) + "\n"


def plot_volume_curve(summary: dict, path) -> None:
    """ln V against ln eps per figure, with the resampling band and the fitted codimension."""
    fig, axes = figure(1, 1, figsize=(5.5, 4.2), squeeze=False)
    ax = axes[0][0]
    for name, c in summary["volume_curve"].items():
        eps = np.array(c["eps"])
        v = np.array([x[0] for x in c["volume"]])
        low, high = np.exp(np.array(c["log_band"]))
        line, = ax.plot(eps, v, "o-", label=f"{name}: slope {c['slope'][0]:.2f} "
                        f"(codim {4 - summary['stabilizer_dimension'][name]['analytic']})")
        ax.fill_between(eps, low, high, color=line.get_color(), alpha=0.2)
    ax.set(xscale="log", yscale="log", xlabel="eps", ylabel="Haar fraction V(eps) of B",
           title="volume curves (nested sampling)")
    ax.legend(fontsize=7)
    save(fig, path)


def plot(summary: dict, path) -> None:
    """Log-log odds vs eps per pair, one panel per (walk, regime), with the three laws."""

    rows = summary["races"]
    panels = sorted({(r["walk"], r["regime"]) for r in rows})
    pairs = sorted({(r["f"], r["h"]) for r in rows})
    fig, axes = figure(1, len(panels), figsize=(4.2 * len(panels), 3.8), squeeze=False)
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (walk, regime) in zip(axes[0], panels):
        for j, pair in enumerate(pairs):  # legend per panel: each pair's fitted slope, and the volume law's
            sel = sorted((r for r in rows if (r["f"], r["h"]) == pair and r["walk"] == walk
                          and r["regime"] == regime), key=lambda r: r["eps"])
            eps = np.array([r["eps"] for r in sel])
            v, lo, hi = (np.array([r["ratio"][i] for r in sel]) for i in range(3))
            color = colors[j % len(colors)]
            fit = next((f for f in summary.get("slopes", []) if (f["f"], f["h"], f["walk"], f["regime"])
                        == (*pair, walk, regime)), None)
            slope = "" if fit is None or not math.isfinite(fit["ratio"][0]) else \
                f" slope {fit['ratio'][0]:.2f} (vol {fit['haar_volume_ratio'][0]:.2f})"
            ax.errorbar(eps, v, yerr=[np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)], fmt="o",
                        color=color, label=f"{pair[0]}/{pair[1]}{slope}", capsize=2)
            ax.plot(eps, [r["haar_volume_ratio"][0] for r in sel], "-", color=color, alpha=0.6)
            law = "flux_ratio" if regime == "jump" else "capacity_ratio"
            ax.plot(eps, [r[law][0] for r in sel], ":", color=color)
        _plot_rare(ax, [r for r in summary.get("rare") or [] if (r["walk"], r["regime"]) == (walk, regime)])
        ax.set(xscale="log", yscale="log", xlabel="eps", title=f"{walk} walk, {regime}")
        ax.set_ylabel("odds P_f / P_h")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.legend(fontsize=6, title="dots: measured; solid: Haar volume;\ndotted: flux (jump) / capacity"
                  + ("; dashed: Haar volume,\nsegment/square" if summary.get("rare") else ""), title_fontsize=6)
    save(fig, path)


def _plot_rare(ax, rows) -> None:
    """The rare side's segment/square odds (black): one marker per method, a lower bound of 0 drawn as an
    open-ended bar down to the panel's edge; the Haar-volume ratio as a dashed line."""
    for method, marker in (("first-step flux", "s"), ("direct race", "x"), ("splitting", "D")):
        sel = sorted((r for r in rows if r["method"] == method and r["ratio"][0] > 0
                      and math.isfinite(r["ratio"][0])), key=lambda r: r["eps"])
        if not sel:
            continue
        eps = np.array([r["eps"] for r in sel])
        v, lo, hi = (np.array([r["ratio"][i] for r in sel]) for i in range(3))
        lo = np.where(lo > 0, lo, v / 1e3)
        ax.errorbar(eps, v, yerr=[v - lo, np.clip(hi - v, 0, None)], fmt=marker, color="black", mfc="none",
                    capsize=2, label=f"segment/square, {method}")
    volume = sorted({(r["eps"], r["haar_volume_ratio"][0]) for r in rows})
    if volume:
        ax.plot(*zip(*volume), "--", color="black", alpha=0.6)


if __name__ == "__main__":
    cli.run_scenario_script(NAME)

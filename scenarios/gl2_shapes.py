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
MEASURE = {"group": "haar", "entry": "lebesgue"}


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
    rare: bool = setting(False, "add the rare side by splitting (sim.splitting): segment vs square at every eps")
    rare_walks: tuple[str, ...] = setting(("group", "entry"), "walks of the rare rows")
    rare_replicas: int = setting(200, "splitting replicas per run of a rare row")
    rare_runs: int = setting(10, "independent splitting runs of a rare row")

    QUICK: ClassVar[dict] = {"eps": (0.1,), "pairs": ("segment:circle", "line:circle"), "volume_samples": 200_000,
                             "geometry_points": 500, "chains": 200, "steps": 4000, "rare_walks": ("group",),
                             "curve_live": 100, "curve_runs": 5,
                             "rare_replicas": 100}

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
                     "rare_runs", "curve_live", "curve_runs"):
            check_values(name, (getattr(self, name),), low=0)
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
    curve_eps = sorted(set(volume_eps) | set(CURVE_EPS), reverse=True)
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
        for eps in eps_grid:
            rare_rows.append(rare_row(walk, eps, settings, ball, targets, residual, steps, seed, progress, precision,
                                      curve_ratio[RARE_PAIR][curve_eps.index(eps)], flux, geometry, volume_eps))
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


def rare_row(walk, eps, settings, ball, targets, residual, steps, seed, progress, precision, volume_ratio, flux,
             geometry, volume_eps):
    """Segment vs square in the jump regime by splitting, split for the square (``top``), its score
    -(r_square - eps)/eps; the segment's probability comes from the mass killed there."""
    f, h = RARE_PAIR
    n = settings.rare_replicas * settings.rare_runs
    start = common.start_outside(ball, [residual[f], residual[h]], eps, n, seed + 13)
    square = targets[h].residual
    result = sim.splitting(_kernel(walk, settings.jump_scale, ball),
                           [sim.Target(f, targets[f].residual, eps, distance=False),
                            sim.Target(h, square, eps, distance=False)], start,
                           score=lambda g: -(square(g) - eps) / eps, top=[h], n_replicas=settings.rare_replicas,
                           n_runs=settings.rare_runs, max_steps=steps, seed=seed, progress=progress,
                           precision=precision)
    i = volume_eps.index(eps)
    tf, th = targets[f].name, targets[h].name
    return {"f": f, "h": h, "walk": walk, "regime": "jump", "eps": eps, "scale": settings.jump_scale,
            "method": "splitting", "p_f": list(result.probability(f)), "p_h": list(result.probability(h)),
            "ratio": list(result.ratio(f, h)), "p_tie": list(result.probability("tie")),
            "p_censored": list(result.probability("censored")),
            "haar_volume_ratio": list(volume_ratio),
            "flux_ratio": list(flux[walk]["exclusive_ratio"][(tf, th)][i]),
            "capacity_ratio": list(stats.ratio_of_estimates(geometry[walk][f].capacity(eps),
                                                            geometry[walk][h].capacity(eps))),
            "runs": settings.rare_runs, "replicas": settings.rare_replicas,
            "extinct_runs": int(result.runs["extinct"].sum()),
            "work": result.work["chain_steps"] + result.work["replay_steps"],
            "replay_fraction": result.work["replay_fraction"], "wall_seconds": result.work["wall_seconds"]}


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
        reliable = [r for r in rare if r["extinct_runs"] <= r["runs"] // 2]
        both = sum(r["ratio"][1] > 1 for r in reliable)
        inside = sum(r["ratio"][1] <= r["haar_volume_ratio"][0] <= r["ratio"][2] for r in reliable
                     if math.isfinite(r["ratio"][0]) and math.isfinite(r["haar_volume_ratio"][0]))
        out.append(f"Rare side (splitting, segment vs square): {len(rare) - len(reliable)} of {len(rare)} rows are "
                   "unreliable (more than half their runs went extinct, so the t-interval of a few nonzero runs "
                   f"means little); of the other {len(reliable)}, the segment is significantly first in {both} and "
                   f"the Haar-volume ratio lies inside the odds' 95% interval in {inside}.")
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
        lines += ["", "## Rare side: segment vs square by splitting (`--set rare=true`)", "",
                  "A race of this size never sees the square (stabilizer dimension 0) first. Generalized AMS "
                  "(`sim.splitting`) splits for the square (score -(r_square - eps)/eps, `top=[\"square\"]`); "
                  "the segment's probability comes from the mass killed there. Intervals: Student t across the "
                  "independent runs; the odds by the paired delta method. In the jump regime a step of scale 0.3 "
                  "nearly forgets where it started, so the score says little about a path's future and many runs "
                  "go extinct: the intervals are wide, and honest. The diffusive regime at eps = 0.0125 and "
                  "0.00625 is left out: 4 runs of 50 replicas at eps = 0.0125 did not finish in 10 minutes on "
                  "2 CPU cores.", "",
                  "| f | h | walk | regime | eps | method | P_f | P_h | odds P_f/P_h | Haar-volume ratio | flux law "
                  "| capacity law | P(tie) | runs x replicas (extinct) | chain-steps (replays) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in summary["rare"]:
            lines.append(f"| {r['f']} | {r['h']} | {r['walk']} | {r['regime']} | {r['eps']:g} | {r['method']} "
                         f"| {fmt_interval(r['p_f'])} | {fmt_interval(r['p_h'])} | {fmt_interval(r['ratio'])} "
                         f"| {fmt_interval(r['haar_volume_ratio'])} | {fmt_interval(r['flux_ratio'])} "
                         f"| {fmt_interval(r['capacity_ratio'])} | {fmt_interval(r['p_tie'])} "
                         f"| {r['runs']} x {r['replicas']} ({r['extinct_runs']}"
                         + (", unreliable" if r["extinct_runs"] > r["runs"] // 2 else "") + ") "
                         f"| {r['work']:.3g} ({100 * r['replay_fraction']:.0f} %) |")
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
        ax.set(xscale="log", yscale="log", xlabel="eps", title=f"{walk} walk, {regime}")
        ax.set_ylabel("odds P_f / P_h")
        ax.legend(fontsize=6, title="dots: measured; solid: Haar volume;\ndotted: flux (jump) / capacity",
                  title_fontsize=6)
    save(fig, path)


if __name__ == "__main__":
    cli.run_scenario_script(NAME)

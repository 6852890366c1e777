"""Generalized edges (the paper's section 5.2): does layer 2 learn the figure with the bigger stabilizer upstairs?

Question. The edges of the plane form R^4 (a point (a, b) of R^4 is the segment [a, b]). A second layer
learns figures in R^4. A segment [P, Q] of R^4, a "generalized edge", has a big stabilizer in GL(4)
(X P = X Q = 0: dimension 16 - 8 = 8); a "generalized triangle", the triangle on three points of R^4, a
smaller one (16 - 12 = 4). Downstairs the edge sweeps a trapezoid, a triangle or a butterfly
(``sim.moduli``), the triangle the union of its three sides' sweeps. Does a walk in GL(4) hit the edge's
eps-stabilizer first, by the odds the volume argument gives, and what does it draw in the plane?

Setup. Ball B = {||g - I||_F <= 0.5} in GL(4) (both stabilizers pass through I). Chains start
Haar-uniform in B outside both tubes and walk g exp(scale Z) confined to B. Regimes: "jump" (scale
``jump_scale``) and "diffusive" (scale eps / ``diffusive_divisor``). The three edges (P, Q) are the
paper's shapes from endpoints chosen here; the triangle is one fixed triangle of R^4 whose sides sweep
trapezoids (three horizontal segments), not containing either endpoint of the edge (nested stabilizers
would make the race a formality).

Predictions per row: the Haar-volume ratio mu(B ∩ S_edge^eps) / mu(B ∩ S_triangle^eps) (volume curve,
``sim.volume_curve``), the flux law (jump walks) and the capacity law (diffusive walks), as in gl2-shapes.
Downstairs complexity: the GL(2) stabilizer dimension of the swept region and its vertex count.

Run alone: ``python scenarios/generalized_edges.py --set quick=true``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

import simulator as sim
from simulator import cli, groups, stats
from simulator.io.plots import figure, save
from simulator.stabilizers import laws, volumes

from scenarios import common
from scenarios.common import check_values, finish, fmt_interval, setting, write_report

NAME = "generalized-edges"
SUMMARY = "GL(4) walks race to a generalized edge's and a generalized triangle's stabilizers; their sweeps downstairs"
DEFAULT_CHAINS = 1000
DEFAULT_STEPS = 20_000
EDGES = {   # (P, Q) in R^4 = (a_x, a_y, b_x, b_y): the segment [a, b] of the plane
    "trapezoid": ((-1.0, 0.0, 1.0, 0.0), (-0.5, 1.0, 0.5, 1.0)),
    "triangle": ((0.0, 1.0, -1.0, 0.0), (0.0, 1.0, 1.0, 0.0)),
    "butterfly": ((-1.0, 1.0, 1.0, -1.0), (-1.0, -1.0, 1.0, 1.0)),
}
TRIANGLE = ((-1.0, -1.0, 1.0, -1.0), (-0.5, -2.0, 0.5, -2.0), (-1.5, -2.5, 1.0, -2.5))
CURVE_EPS = (0.4, 0.3, 0.2, 0.1)
G = groups.GL(4)


@dataclass(frozen=True)
class Settings(common.Settings):
    eps: tuple[float, ...] = setting((0.3, 0.2), "tube radii eps of both stabilizers, in (0, 1)")
    edges: tuple[str, ...] = setting(tuple(EDGES), "generalized edges: trapezoid, triangle, butterfly")
    regimes: tuple[str, ...] = setting(("jump", "diffusive"), "jump (scale jump_scale) or diffusive (eps/divisor)")
    jump_scale: float = setting(0.1, "step scale of the jump regime")
    diffusive_divisor: float = setting(5.0, "diffusive regime: scale = eps / divisor")
    radius: float = setting(0.5, "Frobenius radius of the ball B around I, in (0, 1)")
    volume_samples: int = setting(1_000_000, "Haar samples for the flux law")
    geometry_points: int = setting(1000, "manifold points for the tube geometry (capacity law)")
    curve_live: int = setting(60, "live points per nested-sampling run of the volume curve")
    curve_runs: int = setting(6, "independent nested-sampling runs of the volume curve")

    QUICK: ClassVar[dict] = {"eps": (0.3,), "edges": ("trapezoid",), "regimes": ("jump",), "chains": 200,
                             "steps": 5000, "volume_samples": 100_000, "geometry_points": 300, "curve_live": 40,
                             "curve_runs": 4}

    def check(self):
        check_values("eps", self.eps, low=0, high=1)
        check_values("edges", self.edges, allowed=tuple(EDGES))
        check_values("regimes", self.regimes, allowed=("jump", "diffusive"))
        check_values("radius", (self.radius,), low=0, high=1)
        for name in ("jump_scale", "diffusive_divisor", "volume_samples", "geometry_points", "curve_live",
                     "curve_runs"):
            check_values(name, (getattr(self, name),), low=0)
        if self.curve_runs < 2 or self.curve_live < 2:
            raise ValueError("settings curve_runs and curve_live must be >= 2 (intervals come from spreads)")


def figures_for(edge: str) -> dict:
    P, Q = EDGES[edge]
    return {"edge": sim.shapes.polygon([P, Q], name="edge"), "triangle": sim.shapes.polygon(TRIANGLE, name="triangle")}


def downstairs_complexity() -> dict:
    """Per figure upstairs: the kind of each side's sweep, the distinct vertices of the sweeps' outlines, and
    the GL(2) stabilizer dimension of the region downstairs."""
    out = {}
    for edge, (P, Q) in EDGES.items():
        out[edge] = {"kinds": [sim.moduli.sweep_kind(P, Q)], "vertices": sim.moduli.vertex_count(P, Q),
                     "gl2_dimension": sim.stabilizer_dimension(groups.GL(2), sim.moduli.downstairs(P, Q))}
    sides = [(TRIANGLE[i], TRIANGLE[(i + 1) % 3]) for i in range(3)]
    parts = [sim.moduli.downstairs(p, q) for p, q in sides]
    corners = np.concatenate([np.concatenate(sim.moduli.outline(p, q)) for p, q in sides])
    out["generalized triangle"] = {
        "kinds": [sim.moduli.sweep_kind(p, q) for p, q in sides],
        "vertices": len(np.unique(np.round(corners, 12), axis=0)),
        "gl2_dimension": sim.stabilizer_dimension(groups.GL(2), sim.shapes.union(*parts))}
    return out


def run(settings: Settings, *, chains: int, steps: int, seed: int, out, progress=True,
        precision="float32") -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ball = groups.frobenius_ball(G, settings.radius)
    curve_eps = sorted(set(CURVE_EPS) | set(settings.eps), reverse=True)
    rows, per_edge, traced, hits = [], {}, {}, {}
    for edge in settings.edges:
        figs = figures_for(edge)
        targets = {name: sim.stabilizer(fig, 0.1) for name, fig in figs.items()}
        residual = {name: common.batched(t.residual) for name, t in targets.items()}
        curve = sim.volume_curve(list(targets.values()), sim.space.group_ball(ball), curve_eps,
                                 n_live=settings.curve_live, n_runs=settings.curve_runs, seed=seed + 5,
                                 progress=progress)
        ratio = curve.ratio("edge", "triangle")
        flux = volumes.tube_volumes(ball, list(targets.values()), list(settings.eps), settings.volume_samples,
                                    seed=seed + 3, weight_fn=laws.acceptance_weight("group", settings.jump_scale, ball))
        geometry = {name: laws.tube_geometry(G, fig, ball, "haar", n_points=settings.geometry_points, seed=seed + 2)
                    for name, fig in figs.items()}
        fit = (min(curve_eps), sorted(curve_eps)[1])
        per_edge[edge] = {
            "dimension": {name: sim.stabilizer_dimension(G, fig) for name, fig in figs.items()},
            "slope": {name: list(curve.exponent(name, fit=fit)) for name in figs}, "slope_fit": list(fit),
            "volume": {name: [list(curve.volume(name, e)) for e in curve_eps] for name in figs},
            "curve_eps": curve_eps, "volume_ratio": [list(r) for r in ratio], "curve_warnings": curve.warnings}
        for regime in settings.regimes:
            for eps in settings.eps:
                scale = settings.jump_scale if regime == "jump" else eps / settings.diffusive_divisor
                race_targets = [sim.Target(name, t.residual, eps, distance=False) for name, t in targets.items()]
                start = common.start_outside(ball, list(residual.values()), eps, chains, seed + 11)
                kernel = sim.dynamics.confine(sim.dynamics.group_walk(G, scale), ball)
                result = sim.race(kernel, race_targets, start, n_chains=chains, max_steps=steps, seed=seed,
                                  precision=precision, progress=progress)
                label = f"{edge}-{regime}-eps{eps:g}"
                result.save(out / "races" / label)
                hits[label] = {name: np.asarray(result.position)[result.outcome == i][:4].tolist()
                               for i, name in enumerate(result.target_names)}
                i = settings.eps.index(eps)
                rows.append({
                    "edge": edge, "regime": regime, "eps": eps, "scale": scale, "counts": result.counts,
                    "p_edge": list(result.probability("edge")), "p_triangle": list(result.probability("triangle")),
                    "odds": list(result.ratio("edge", "triangle")),
                    "volume_ratio": list(ratio[curve_eps.index(eps)]),
                    "flux_ratio": list(flux["exclusive_ratio"][("edge", "triangle")][i]),
                    "capacity_ratio": list(stats.ratio_of_estimates(geometry["edge"].capacity(eps),
                                                                    geometry["triangle"].capacity(eps))),
                    "wall_seconds": result.work["wall_seconds"]})
    summary = {"scenario": NAME, "chains": chains, "max_steps": steps, "seed": seed,
               "settings": settings.as_dict(), "edges": {k: [list(p) for p in v] for k, v in EDGES.items()},
               "triangle": [list(p) for p in TRIANGLE], "per_edge": per_edge, "races": rows, "hits": hits,
               "downstairs": downstairs_complexity()}
    summary["verdict"] = verdict(summary)
    return finish(out, summary, traced, render)


def verdict(summary: dict) -> str:
    rows = summary["races"]
    won = [r for r in rows if r["odds"][1] > 1]
    other = [r for r in rows if r["odds"][1] <= 1]
    inside = {key: sum(r[key][1] <= r["odds"][0] <= r[key][2] for r in rows)
              for key in ("volume_ratio", "flux_ratio", "capacity_ratio")}
    text = (f"Upstairs the generalized edge (stabilizer dimension 8 in GL(4)) is hit before the generalized "
            f"triangle (dimension 4) with odds above 1 at 95 % in {len(won)} of {len(rows)} races. ")
    if other:
        text += "Not in " + "; ".join(
            f"{r['edge']} {r['regime']} eps {r['eps']:g} (odds {fmt_interval(r['odds'])}, Haar-volume ratio "
            f"{fmt_interval(r['volume_ratio'])})" for r in other)
        text += (": there the Haar-volume ratio's interval reaches 1 too: the odds follow the volume, not the "
                 "dimension count. " if all(r["volume_ratio"][1] <= 1 for r in other) else ". ")
    text += (f"The odds lie inside the interval of the Haar-volume ratio in {inside['volume_ratio']} of {len(rows)} "
             f"races, of the flux law in {inside['flux_ratio']} and of the capacity law in {inside['capacity_ratio']}. ")
    down = summary["downstairs"]
    tri = down["generalized triangle"]
    edges = {k: down[k] for k in summary["edges"]}
    same_dim = all(v["gl2_dimension"] == tri["gl2_dimension"] for v in edges.values())
    fewer = all(v["vertices"] < tri["vertices"] for v in edges.values())
    dims = ", ".join(str(v["gl2_dimension"]) for v in edges.values())
    text += (f"Downstairs the GL(2) stabilizer dimensions are {dims} (edges) and {tri['gl2_dimension']} (triangle)"
             + (": the bigger upstairs stabilizer does not draw a more symmetric region" if same_dim else "")
             + "; the edges' regions have " + ", ".join(f"{k} {v['vertices']}" for k, v in edges.items()) + " vertices "
             f"against the triangle's {tri['vertices']}"
             + (", so layer 2 draws the simpler region first where it draws the edge." if fewer else "."))
    return text


def render(summary: dict, out) -> None:
    plot_downstairs(summary, Path(out) / "downstairs.png")
    plot_odds(summary, Path(out) / "odds.png")
    write_report(out, report(summary))


def report(summary: dict) -> str:
    s = summary["settings"]
    lines = common.report_head(NAME, SUMMARY, __doc__) + [
             f"{summary['chains']} chains per race, budget {summary['max_steps']} steps; volume curve "
             f"{s['curve_runs']} runs x {s['curve_live']} live points; flux law {s['volume_samples']} Haar samples.",
             "", "## Dimensions", "",
             "| figure | GL(4) stabilizer dim (upstairs) | sweep downstairs | vertices | GL(2) dim (downstairs) |",
             "|---|---|---|---|---|"]
    down = summary["downstairs"]
    for edge in summary["edges"]:
        lines.append(f"| edge ({edge}) | 8 | {', '.join(down[edge]['kinds'])} | {down[edge]['vertices']} | "
                     f"{down[edge]['gl2_dimension']} |")
    tri = down["generalized triangle"]
    lines.append(f"| generalized triangle | 4 | {', '.join(tri['kinds'])} | {tri['vertices']} | {tri['gl2_dimension']} |")
    lines += ["", "Tube slopes of the volume curve against the codimensions 16 - dim = 8 and 12 (at these eps the tubes "
              "are not thin yet, so the slopes fall short, the triangle's most):", ""]
    for edge, info in summary["per_edge"].items():
        lines.append(f"- {edge}: edge {fmt_interval(info['slope']['edge'])}, triangle "
                     f"{fmt_interval(info['slope']['triangle'])} over eps {info['slope_fit'][0]:g}..{info['slope_fit'][1]:g}"
                     + (f" (warnings: {'; '.join(info['curve_warnings'])})" if info["curve_warnings"] else ""))
    lines += ["", "## Races", "",
              "| edge | regime | eps | edge / triangle / tie / censored | P(edge first) | odds edge:triangle | "
              "Haar-volume ratio | flux law | capacity law |", "|---|---|---|---|---|---|---|---|---|"]
    for r in summary["races"]:
        c = r["counts"]
        lines.append(f"| {r['edge']} | {r['regime']} | {r['eps']:g} | {c['edge']} / {c['triangle']} / {c['tie']} / "
                     f"{c['censored'] + c['escaped'] + c['diverged']} | {fmt_interval(r['p_edge'])} | "
                     f"{fmt_interval(r['odds'])} | {fmt_interval(r['volume_ratio'])} | {fmt_interval(r['flux_ratio'])} | "
                     f"{fmt_interval(r['capacity_ratio'])} |")
    lines += ["", "![odds](odds.png)", "", "## Downstairs: what layer 2 draws", "",
              "Top row: the sweeps of the figures upstairs. Below: g . f mapped down at the hit (colour) over f "
              "(grey) for up to two chains per race target (first race of each edge). At the hit g . f is within eps "
              "of f, not on it, so its segments' lines are no longer concurrent or parallel: the sweep downstairs "
              "bends (its lines envelope a parabola).", "", "![downstairs](downstairs.png)", "",
              "## Verdict", "", summary["verdict"], ""]
    return "\n".join(lines)


def _draw_sweep(ax, points4, closed, color, alpha=0.5, ms=1.0):
    pts = np.asarray(points4, float)
    if closed:
        pts = np.concatenate([pts, pts[:1]])
    dense = sim.moduli.sweep(pts, 61, 31)
    ax.plot(dense[:, 0], dense[:, 1], ".", ms=ms, color=color, alpha=alpha)


def plot_downstairs(summary: dict, path) -> None:
    edges = list(summary["edges"])
    firsts = {}
    for label in summary["hits"]:
        firsts.setdefault(label.split("-")[0], label)
    n_rows = 1 + len(firsts)
    fig, axes = figure(n_rows, 4, figsize=(10, 2.6 * n_rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    for col, edge in enumerate(edges):
        _draw_sweep(axes[0, col], summary["edges"][edge], False, "C0")
        for part in sim.moduli.outline(*summary["edges"][edge]):
            closed = np.concatenate([part, part[:1]])
            axes[0, col].plot(closed[:, 0], closed[:, 1], "k-", lw=0.8)
        axes[0, col].set_title(f"edge: {edge} (GL(4) dim 8)", fontsize=7)
    _draw_sweep(axes[0, 3], summary["triangle"], True, "C1")
    axes[0, 3].set_title("generalized triangle (dim 4)", fontsize=7)
    for ax in axes[0, len(edges):3]:
        ax.axis("off")
    for row, (edge, label) in enumerate(firsts.items(), start=1):
        P, Q = (np.array(p) for p in summary["edges"][edge])
        tri = np.array(summary["triangle"])
        col = 0
        for name, positions in summary["hits"][label].items():
            for g in positions[:2]:
                g = np.array(g)
                ax = axes[row, col]
                if name == "edge":      # the figure itself in grey, g . f at the hit in colour
                    _draw_sweep(ax, [P, Q], False, "0.75", 0.5)
                    _draw_sweep(ax, [g @ P, g @ Q], False, "C0", 0.6, 0.6)
                else:
                    _draw_sweep(ax, tri, True, "0.75", 0.5)
                    _draw_sweep(ax, tri @ g.T, True, "C1", 0.6, 0.6)
                ax.set_title(f"{label}: hit {name}", fontsize=6)
                col += 1
        for ax in axes[row, col:]:
            ax.axis("off")
    save(fig, path)


def plot_odds(summary: dict, path) -> None:
    rows = summary["races"]
    fig, ax = figure(1, 1, figsize=(max(7.0, 0.75 * len(rows)), 4.2))
    x = np.arange(len(rows))
    for offset, key, label in [(-0.2, "odds", "odds (races)"), (-0.07, "volume_ratio", "Haar-volume ratio"),
                               (0.07, "flux_ratio", "flux law"), (0.2, "capacity_ratio", "capacity law")]:
        v = np.array([r[key] for r in rows], float)
        ok = np.isfinite(v[:, 0]) & (v[:, 0] > 0)
        low = np.clip(v[:, 0] - v[:, 1], 0, None)
        high = np.where(np.isfinite(v[:, 2]), v[:, 2] - v[:, 0], 0)
        ax.errorbar(x[ok] + offset, v[ok, 0], yerr=[low[ok], high[ok]], fmt="o", ms=4, label=label)
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{r['edge']} {r['regime']} {r['eps']:g}" for r in rows], fontsize=6, rotation=35,
                       ha="right")
    ax.set_ylabel("edge : triangle")
    ax.axhline(1, color="0.6", lw=0.8)
    ax.legend(fontsize=7)
    save(fig, path)


if __name__ == "__main__":
    cli.run_scenario_script(NAME)

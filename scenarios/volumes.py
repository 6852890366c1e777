"""Volumes: how fast does the volume of {loss <= eps} vanish, and does SGLD's lambda_hat agree?

Question. The volume argument says a learner lands where the near-zero-loss set is big. Near a
singularity that volume scales as V(eps) ~ c eps^lambda (-ln eps)^(m-1): the codimension for a smooth
set, the learning coefficient lambda of singular learning theory in general. Here nested sampling
(``sim.volume_curve``) measures the whole curve ln V(eps) down to 1e-15 and below, its exponent is
put next to the exact one, and, for the losses, next to the local learning coefficient that localized
SGLD estimates (``sim.learning_coefficient``, devinterp's estimator).

Cases (each with an exact exponent):
* ``tube``: distance to a 2-plane in R^10 under N(0, I): V = chi2_cdf(eps^2, 8), exponent 8 in eps;
* ``sum-of-powers``: w1^2 + w2^4 + w3^6 on [-1, 1]^3: V = C eps^(11/12) exactly, lambda = 11/12;
* ``normal-crossing``: w1^2 w2^2 w3^4 on [-1, 1]^3: exact tail, lambda = 1/4 (m = 1);
* ``reduced-rank``: ||B A - C0||_F^2, B 2x2, A 2x3, true rank 1, on [-2, 2]^10: lambda = 5/2 by
  Aoyagi & Watanabe (2005), against d/2 = 5 for a regular model.

Run alone: ``python scenarios/volumes.py --set quick=true``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import jax.numpy as jnp
import numpy as np
from scipy import integrate, stats as st
from scipy.special import gamma

import simulator as sim
from simulator import cli
from simulator.io.plots import figure, save
from simulator.theory import exact

from scenarios import common
from scenarios.common import check_values, finish, finite_or_none, fmt_interval, setting, write_report

NAME = "volumes"
SUMMARY = "Volume curves by nested sampling: exponents vs exact codimensions and learning coefficients, and SGLD"
CASES = ("tube", "sum-of-powers", "normal-crossing", "reduced-rank")


RRR = (3, 2, 2, 1)      # M, H, N, r


def _rrr_parts(w):
    M, H, N, _ = RRR
    return w[:N * H].reshape(N, H), w[N * H:].reshape(H, M)


def _rrr_truth():
    M, H, N, _ = RRR
    B0, A0 = np.zeros((N, H)), np.zeros((H, M))
    B0[0, 0] = A0[0, 0] = 1.0
    return B0, A0


def _crossing_tail(e):
    s, G = -math.log(e), st.gamma(2, scale=2)
    return G.sf(s) + integrate.quad(lambda g: G.pdf(g) * math.exp(-(s - g) / 4), 0, s)[0]


def case(name: str) -> dict:
    """target residual, space, eps grid, fit range, exact exponent, exact V (or None), SGLD loss (or None)."""
    if name == "tube":
        eps = np.geomspace(2.0, 0.03, 12)
        return dict(residual=lambda x: jnp.linalg.norm(x[2:]), space=sim.space.gaussian(10), eps=eps,
                    fit=(0.03, 0.1), exponent=8.0, exact=st.chi2.cdf(eps ** 2, 8), kind="codimension")
    if name == "sum-of-powers":
        eps = np.geomspace(1.0, 1e-10, 11)
        C = gamma(1.5) * gamma(1.25) * gamma(7 / 6) / gamma(23 / 12)
        return dict(residual=lambda w: w[0] ** 2 + w[1] ** 4 + w[2] ** 6, space=sim.space.box([-1.0] * 3, [1.0] * 3),
                    eps=eps, fit=(1e-10, 1e-2), exponent=11 / 12, exact=C * eps ** (11 / 12), kind="lambda",
                    sgld=dict(center=np.zeros(3), step_size=1e-5))
    if name == "normal-crossing":
        eps = np.geomspace(1e-2, 1e-40, 10)
        return dict(residual=lambda w: w[0] ** 2 * w[1] ** 2 * w[2] ** 4, space=sim.space.box([-1.0] * 3, [1.0] * 3),
                    eps=eps, fit=(1e-40, 1e-20), exponent=0.25, exact=np.array([_crossing_tail(e) for e in eps]),
                    kind="lambda")
    if name == "reduced-rank":
        B0, A0 = _rrr_truth()
        C0 = jnp.asarray(B0 @ A0)

        def K(w):
            B, A = _rrr_parts(w)
            return jnp.sum((B @ A - C0) ** 2)
        M, H, N, _ = RRR
        return dict(residual=K, space=sim.space.box([-2.0] * (H * (M + N)), [2.0] * (H * (M + N))),
                    eps=np.geomspace(1e-1, 1e-12, 12), fit=(1e-12, 1e-6), exponent=exact.reduced_rank_learning_coefficient(*RRR), exact=None,
                    kind="lambda", sgld=dict(center=np.concatenate([B0.ravel(), A0.ravel()]), step_size=1e-5))
    raise ValueError(f"unknown case {name!r}")


def _sgld_loss(name, residual):
    """A data loss whose population version is the case's residual: the residual itself (sum of powers), or
    the regression loss 1/2 mean |y - B A x|^2 with y = C0 x (reduced rank, K = 2 E[L - L*])."""
    if name == "reduced-rank":
        B0, A0 = _rrr_truth()

        def loss(w, batch):
            B, A = _rrr_parts(w)
            x = batch
            return 0.5 * jnp.mean(jnp.sum((x @ (B @ A - jnp.asarray(B0 @ A0)).T) ** 2, axis=1))
        return loss
    return lambda w, batch: residual(w) + 0.0 * jnp.mean(batch)


@dataclass(frozen=True)
class Settings(common.Settings):
    cases: tuple[str, ...] = setting(CASES, "cases: tube, sum-of-powers, normal-crossing, reduced-rank")
    n_live: int = setting(400, "live points per nested-sampling run")
    n_runs: int = setting(20, "independent nested-sampling runs per curve")
    sgld_chains: int = setting(16, "SGLD chains of lambda_hat")
    sgld_steps: int = setting(20_000, "SGLD steps per chain")
    sgld_examples: int = setting(10_000, "examples n of the SGLD loss (beta = 1/ln n)")
    localization: float = setting(1.0, "devinterp's gamma of the SGLD estimator")

    QUICK: ClassVar[dict] = {"n_live": 100, "n_runs": 5, "sgld_chains": 8, "sgld_steps": 5000}

    def check(self):
        check_values("cases", self.cases, allowed=CASES)
        for name in ("n_live", "n_runs", "sgld_chains", "sgld_steps", "sgld_examples", "localization"):
            check_values(name, (getattr(self, name),), low=0)
        if self.n_runs < 2 or self.sgld_chains < 2 or self.n_live < 2:
            raise ValueError("settings n_runs, n_live and sgld_chains must be >= 2 (intervals come from spreads)")
        if self.sgld_examples < 2:
            raise ValueError(f"setting sgld_examples must be >= 2 (beta = 1/ln n), got {self.sgld_examples}")


def run(settings: Settings, *, chains: int, steps: int, seed: int, out, progress=True, precision="float32") -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in settings.cases:
        c = case(name)
        curve = sim.volume_curve([sim.Target(name, c["residual"])], c["space"], c["eps"], n_live=settings.n_live,
                                 n_runs=settings.n_runs, seed=seed, progress=progress)
        slope = curve.exponent(name, fit=c["fit"])
        low, high = curve.band(name)
        row = {"case": name, "kind": c["kind"], "eps": c["eps"].tolist(),
               "volume": [list(curve.volume(name, e)) for e in c["eps"]], "log_band": [low.tolist(), high.tolist()],
               "exact_volume": None if c["exact"] is None else np.asarray(c["exact"]).tolist(),
               "fit": list(c["fit"]), "exponent": list(slope), "exact_exponent": c["exponent"],
               "evaluations": curve.work["per_target"][name]["evaluations"], "warnings": curve.warnings,
               "spread": finite_or_none(curve.spread(name)[-1]), "spread_limit": curve.spread_limit()}
        if c["exact"] is not None:
            z = [(v[0] - x) / max(common_se(v), 1e-300) for v, x in zip(row["volume"], row["exact_volume"])]
            row["max_abs_z"] = float(np.max(np.abs(z)))
        if "sgld" in c:
            rng = np.random.default_rng(seed)
            data = rng.normal(size=(settings.sgld_examples, RRR[0])) if name == "reduced-rank" else \
                np.zeros((settings.sgld_examples, 1))
            lc = sim.learning_coefficient(_sgld_loss(name, c["residual"]), data, c["sgld"]["center"],
                                          n_chains=settings.sgld_chains, n_steps=settings.sgld_steps,
                                          step_size=c["sgld"]["step_size"], localization=settings.localization,
                                          seed=seed, precision="float64")
            row["sgld"] = {"lambda_hat": list(lc.estimate), "beta": lc.beta, "n": lc.n, **lc.settings}
        rows.append(row)
    summary = {"scenario": NAME, "seed": seed, "settings": settings.as_dict(), "rows": rows}
    return finish(out, summary, {}, render)


def common_se(estimate) -> float:
    return sim.stats.standard_error(sim.Estimate(*estimate))


def render(summary: dict, out) -> None:
    plot(summary, Path(out) / "volume_curves.png")
    write_report(out, report(summary))


def verdict(summary) -> str:
    parts = []
    for r in summary["rows"]:
        v, lo, hi = r["exponent"]
        inside = lo <= r["exact_exponent"] <= hi
        text = (f"{r['case']}: exponent {v:.3f} [{lo:.3f}, {hi:.3f}] vs exact {r['exact_exponent']:.4g} "
                f"({'inside' if inside else 'outside'} the interval)")
        if "sgld" in r:
            s = r["sgld"]["lambda_hat"]
            text += f", SGLD lambda_hat {s[0]:.3f} [{s[1]:.3f}, {s[2]:.3f}]"
        parts.append(text)
    return "; ".join(parts) + "."


def report(summary: dict) -> str:
    st_ = summary["settings"]
    lines = common.report_head(NAME, SUMMARY, __doc__) + [
             f"Nested sampling: {st_['n_runs']} runs x {st_['n_live']} live points per curve; volumes are means over "
             "runs [95 % t-interval]; exponents are least-squares slopes of ln V on ln eps over the fit range, "
             "intervals from resampled whole curves. SGLD: "
             f"{st_['sgld_chains']} chains x {st_['sgld_steps']} steps, n = {st_['sgld_examples']}, beta = 1/ln n, "
             f"gamma = {st_['localization']}; interval across chains. Spread: the runs' SD of ln V over the SD "
             "independent replacements would give (about 1 when the moves decorrelate; above the limit, a warning).",
             "",
             "| case | exponent of | fit eps | measured [95%] | exact | SGLD lambda_hat [95%] | smallest V [95%] | "
             "exact V there | max abs z over the curve | spread of ln V there (limit) | residual evaluations |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        sgld = fmt_interval(r["sgld"]["lambda_hat"], 3) if "sgld" in r else "—"
        exact_v = "—" if r["exact_volume"] is None else f"{r['exact_volume'][-1]:.3g}"
        z = f"{r['max_abs_z']:.1f}" if "max_abs_z" in r else "—"
        spread = "—" if r.get("spread") is None else f"{r['spread']:.2f} ({r['spread_limit']:.2f})"
        lines.append(f"| {r['case']} | {r['kind']} | {r['fit'][0]:g}..{r['fit'][1]:g} | {fmt_interval(r['exponent'], 3)} "
                     f"| {r['exact_exponent']:.4g} | {sgld} | {fmt_interval(r['volume'][-1], 3)} | {exact_v} | {z} "
                     f"| {spread} | {r['evaluations']:.3g} |")
    warn = [f"- {r['case']}: {w}" for r in summary["rows"] for w in r["warnings"]]
    lines += ["", "![volume curves](volume_curves.png)", "", "## Verdict", "", verdict(summary), ""]
    if warn:
        lines += ["## Warnings", ""] + warn + [""]
    return "\n".join(lines)


def plot(summary: dict, path) -> None:
    fig, axes = figure(1, len(summary["rows"]), figsize=(4.2 * len(summary["rows"]), 3.8), squeeze=False)
    for ax, r in zip(axes[0], summary["rows"]):
        eps = np.array(r["eps"])
        v = np.array([x[0] for x in r["volume"]])
        low, high = np.exp(np.array(r["log_band"]))
        ax.plot(eps, v, "o", label="nested sampling")
        ax.fill_between(eps, low, high, alpha=0.25, label="95 % band (resampled curves)")
        if r["exact_volume"] is not None:
            ax.plot(eps, r["exact_volume"], "k-", lw=1, label="exact")
        else:   # the exact exponent, drawn through the measured point at the smallest eps
            ax.plot(eps, v[-1] * (eps / eps[-1]) ** r["exact_exponent"], "k--", lw=1,
                    label=f"slope {r['exact_exponent']:.3g} (exact)")
        ax.set(xscale="log", yscale="log", xlabel="eps", ylabel="V(eps)",
               title=f"{r['case']}: slope {r['exponent'][0]:.3f} (exact {r['exact_exponent']:.3g})")
        ax.legend(fontsize=7)
    save(fig, path)


if __name__ == "__main__":
    cli.run_scenario_script(NAME)

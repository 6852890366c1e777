"""Double well: do Langevin, SGLD and SGD reproduce the exact committor, the escape time and the Gibbs mass?

Question. The learning dynamics of stabsim (``langevin``, ``sgld``, optax
``sgd`` with minibatch noise) are meant to be diffusions at a known
temperature. On a double well whose two minima have equal depth but different
width, every quantity has a reference:

* committor P_0(hit +1 before -1): the scale function (exact, 1-D);
* mean first-passage time from one minimum to the other: exact quadrature
  (1-D) and Eyring-Kramers (1-D and 2-D);
* stationary mass of each minimum's sublevel set {V - V_min <= eps}: exact
  quadrature, the Laplace formula, and NUTS (numpyro) occupation.

Potentials. 1-D: V(x) = (x^2 - 1)^2 e^(c x): minima +-1 at level 0,
V''(+-1) = 8 e^(+-c), so the left well is wider and holds more Gibbs mass
(Laplace ratio e^c). 2-D: V(x, y) = V(x) + kappa(x) y^2 / 2 with
kappa(x) = 2 e^(-2 c x), so det H(+-1) = 16 e^(-+c) and the *right* well is
wider in 2-D: width is the full Hessian determinant, not one curvature.

Temperatures. Minibatch noise is made to be a known temperature: the loss is
loss(theta, d) = V(theta) + <d, theta> with centred data d of variance s^2, so
the full-data loss is V, and SGD at learning rate h with batch B is Langevin at
T_eff = h s^2 / (2 B) (``sim.dynamics.effective_temperature``). ``sgd`` gets
all of T from minibatches; ``sgld`` gets T/2 injected and T/2 from minibatches;
``langevin`` gets T injected (and the Brownian-bridge correction).

Run alone: ``python scenarios/double_well.py --set quick=true``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import simulator as sim
from simulator import cli, stats
from simulator.theory import exact
from simulator.theory.kramers import kramers_time
from simulator.theory.laplace import laplace_mass
from simulator.theory.nuts import nuts_occupation
from simulator.io.plots import figure, save

from scenarios import common
from scenarios.common import FAR, KERNELS, check_values, finish, fmt_interval, learning_kernel, setting, write_report

NAME = "double-well"
SUMMARY = "Langevin, SGLD and SGD on asymmetric double wells vs exact committor, MFPT, Kramers, Laplace and NUTS"
DEFAULT_CHAINS = 4000
DEFAULT_STEPS = 200_000


@dataclass(frozen=True)
class Settings(common.Settings):
    dims: tuple[int, ...] = setting((1, 2), "dimensions of the double well (1 and/or 2)")
    kernels: tuple[str, ...] = setting(KERNELS, "learning kernels: langevin, sgld, sgd")
    temperature: float = setting(0.3, "common temperature T (injected + minibatch)")
    step_size: float = setting(0.01, "step size h (learning rate of sgd)")
    tilt: float = setting(0.5, "tilt c of the asymmetric wells")
    batch_size: int = setting(8, "minibatch size of sgld and sgd")
    start: float = setting(0.0, "start x0, between the minima (-1, 1)")
    sublevel: float = setting(0.3, "sublevel eps of the stationary mass")
    relaxation_times: float = setting(8.0, "length of the stationary runs, in relaxation times")
    nuts_samples: int = setting(4000, "NUTS draws of the occupation reference")
    rare: bool = setting(False, "add the low-temperature committor by splitting (sim.splitting)")
    rare_temperature: float = setting(0.05, "temperature of the rare row")
    rare_start: float = setting(-0.9, "start of the rare row, just right of the left minimum")
    rare_replicas: int = setting(200, "splitting replicas per run of the rare row")
    rare_runs: int = setting(20, "independent splitting runs of the rare row")

    QUICK: ClassVar[dict] = {"dims": (1,), "chains": 400, "nuts_samples": 500, "relaxation_times": 3.0,
                             "rare_replicas": 100, "rare_runs": 10}

    def check(self):
        check_values("dims", self.dims, allowed=(1, 2))
        check_values("kernels", self.kernels, allowed=KERNELS)
        for name in ("temperature", "step_size", "tilt", "sublevel", "batch_size", "relaxation_times",
                     "nuts_samples"):
            check_values(name, (getattr(self, name),), low=0)
        if not -1 < self.start < 1:
            raise ValueError(f"setting start must lie between the minima (-1, 1), got {self.start}")
        if not isinstance(self.rare, bool):
            raise ValueError(f"setting rare must be true or false, got {self.rare!r}")
        check_values("rare_temperature", (self.rare_temperature,), low=0)
        if not -1 < self.rare_start < 1:
            raise ValueError(f"setting rare_start must lie between the minima (-1, 1), got {self.rare_start}")
        for name in ("rare_replicas", "rare_runs"):
            check_values(name, (getattr(self, name),), low=1)


# ---- the model ------------------------------------------------------------------
def potential(c: float, dim: int):
    """V on R^dim (dim 1 or 2), see the module docstring."""
    def v(theta):
        x = theta[0]
        base = (x * x - 1) ** 2 * jnp.exp(c * x)
        if dim == 1:
            return base
        return base + jnp.exp(-2 * c * x) * theta[1] ** 2
    return v


def well_1d(c: float):
    """The 1-D V in numpy (scalars or arrays), for the quadrature references."""
    return lambda x: (x * x - 1) ** 2 * np.exp(c * x)


def saddle(c: float) -> float:
    """Root of c x^2 + 4 x - c = 0 between the minima (V' = e^(cx) (x^2 - 1)(4x + c(x^2 - 1)))."""
    return (-4 + math.sqrt(16 + 4 * c * c)) / (2 * c)


def make_kernel(name: str, v, dim: int, h: float, T: float, batch: int, seed: int):
    """(kernel, injected T, minibatch T): langevin all injected, sgld half and half, sgd all minibatch."""
    injected = {"langevin": T, "sgld": T / 2, "sgd": 0.0}[name]
    return learning_kernel(name, v, dim, h, injected, T - injected, batch, seed)


# ---- references -----------------------------------------------------------------
def _grid(v, dim):
    if dim == 1:
        x = np.linspace(-3.0, 3.0, 240_001)
        return (x,), np.asarray(v(np.asarray(x)[None]), float), x[1] - x[0]
    x, y = np.meshgrid(np.linspace(-3.0, 3.0, 1501), np.linspace(-4.0, 4.0, 2001), indexing="ij")
    return (x, y), np.asarray(v(np.stack([x, y])), float), (x[1, 0] - x[0, 0]) * (y[0, 1] - y[0, 0])


def exact_sublevel_fractions(v, dim, c, T, eps) -> dict:
    """Gibbs mass of {V <= eps, x < saddle} and {V <= eps, x > saddle} by quadrature on a grid."""
    coords, values, cell = _grid(v, dim)
    w = np.exp(-(values - values.min()) / T)
    total = w.sum() * cell
    s = saddle(c)
    return {side: float((w * (values <= eps) * mask).sum() * cell / total)
            for side, mask in (("left", coords[0] < s), ("right", coords[0] > s))}


def laplace_sublevel_fractions(v, dim, T, eps) -> dict:
    """Laplace masses of both minima's sublevel sets, each over the sum of the two full Laplace masses."""
    full = {side: laplace_mass(v, T, point=np.eye(dim)[0] * sign) for side, sign in (("left", -1), ("right", 1))}
    part = {side: laplace_mass(v, T, point=np.eye(dim)[0] * sign, sublevel=eps)
            for side, sign in (("left", -1), ("right", 1))}
    z = full["left"].value + full["right"].value
    return {side: part[side].value / z for side in part}


def sublevel_targets(v, c, eps):
    s = saddle(c)
    return [sim.Target("left", lambda th: jnp.where(th[0] < s, v(th), FAR), eps=eps, distance=False),
            sim.Target("right", lambda th: jnp.where(th[0] > s, v(th), FAR), eps=eps, distance=False)]


# ---- the races ------------------------------------------------------------------
def _race(kernel, targets, start, chains, steps, seed, progress, precision, bridge=False, trace_every=None):
    return sim.race(kernel, targets, jnp.asarray(start), n_chains=chains, max_steps=steps, seed=seed,
                    progress=progress, precision=precision, bridge=bridge, trace_every=trace_every)


def committor_row(name, kernel, temps, c, x0, h, run):
    T = sum(temps)
    targets = [sim.Target("left", lambda th: th[0] + 1.0), sim.Target("right", lambda th: 1.0 - th[0])]
    result = run(kernel, targets, [x0], bridge=name == "langevin")
    p = exact.committor_1d(well_1d(c), -1.0, 1.0, x0, T)
    shift = exact.SIEGMUND_BETA * math.sqrt(2 * h * T)
    measured = result.probability("right")
    return {"kind": "committor", "kernel": name, "dim": 1, "T_injected": temps[0], "T_minibatch": temps[1],
            "measured": list(measured), "exact": p,
            "first_order_discrete": exact.committor_1d(well_1d(c), -1 - shift, 1 + shift, x0, T),
            "z": (measured.value - p) / math.sqrt(p * (1 - p) / result.n_chains), "counts": result.counts}


def rare_committor_row(c, T, h, x0, replicas, runs, seed, progress, precision):
    """P(x >= +1 before x <= -1) from x0 near the left minimum at low T, by splitting (Langevin).

    The score is ln of the exact committor (the ideal importance function; the estimate is unbiased for
    any score, the score only sets the variance). Beside it: the scale-function committor, its
    first-order discrete version, the Eyring-Kramers and exact mean times from -1 to +1, and the
    chain-steps a direct race would need for the same relative error."""
    v = potential(c, 1)
    kernel = sim.dynamics.langevin(v, h, T)
    grid, log_q = exact.log_committor_1d(well_1d(c), -1.0, 1.0, T)
    g, table = jnp.asarray(grid), jnp.asarray(log_q)
    result = sim.splitting(kernel, [sim.Target("right", lambda th: 1.0 - th[0])], jnp.asarray([x0]),
                           score=lambda th: jnp.interp(th[0], g, table), failure=lambda th: th[0] <= -1.0,
                           n_replicas=replicas, n_runs=runs, max_steps=10**8, seed=seed, progress=progress,
                           precision="float64")
    p = exact.committor_1d(well_1d(c), -1.0, 1.0, x0, T)
    shift = exact.SIEGMUND_BETA * math.sqrt(2 * h * T)
    measured = result.probability("right")
    se = stats.standard_error(measured)
    work = result.work["chain_steps"] + result.work["replay_steps"]
    rel = result.relative_error("right")
    return {"kind": "rare_committor", "kernel": "langevin", "method": "splitting", "dim": 1, "T": T, "start": x0,
            "measured": list(measured), "exact": p,
            "first_order_discrete": exact.committor_1d(well_1d(c), -1 - shift, 1 + shift, x0, T),
            "z": (measured.value - p) / se if se > 0 else math.nan,
            "kramers_time": kramers_time(v, -np.eye(1)[0], [saddle(c)], T),
            "exact_time": exact.mean_first_passage_1d(well_1d(c), -1.0, 1.0, T, lower=-3.0),
            "replicas": replicas, "runs": runs, "relative_se": rel, "work": work,
            "replay_fraction": result.work["replay_fraction"], "iterations": result.work["iterations"],
            "wall_seconds": result.work["wall_seconds"],
            "direct_chains_for_same_error": (1 - p) / (p * rel ** 2) if rel > 0 else math.nan}


def passage_row(name, kernel, temps, v, dim, c, h, run, exact_time):
    T = sum(temps)
    start = -np.eye(dim)[0]
    result = run(kernel, [sim.Target("right", lambda th: 1.0 - th[0])], start)
    times = result.stop_step[result.outcome == 0] * h
    measured = stats.mean_interval(times)
    se = stats.standard_error(measured)
    row = {"kind": "mean_first_passage", "kernel": name, "dim": dim, "T_injected": temps[0],
           "T_minibatch": temps[1], "measured": list(measured), "kramers": kramers_time(v, start, [saddle(c)] + [0.0] * (dim - 1), T),
           "exact": exact_time, "counts": result.counts}
    # z only against an exact reference; Kramers is a T -> 0 limit (its O(T) error shows in the ratio).
    row["z"] = (measured.value - exact_time) / se if exact_time is not None and se > 0 else math.nan
    row["measured_over_kramers"] = measured.value / row["kramers"]
    return row


def stationary_rows(name, kernel, temps, v, dim, c, eps, steps, x0, run, refs, traced):
    """Fraction of chains in each sublevel set after ``steps`` steps from x0 (a censored race).

    The race is traced (50 draws); R-hat and bulk ESS of the potential over the second half of the
    draws say whether the chains have forgotten their common start (``traced[label]`` keeps the result).
    """
    every = max(1, steps // 50)
    with warnings.catch_warnings():   # censored at the budget by design: a stationary run, not a race
        warnings.simplefilter("ignore", sim.RaceWarning)
        result = run(kernel, [sim.Target("never", lambda th: jnp.asarray(1.0, th.dtype))],
                     np.eye(dim)[0] * x0, steps=steps, trace_every=every)
    traced[f"stationary-{dim}d-{name}"] = result
    half = result.trace["potential"][:, result.trace_steps.size // 2:]
    mixing = _rhat_ess(half)
    theta = result.position
    values = np.asarray(jax.vmap(v)(jnp.asarray(theta)), float)
    rows = []
    for side, mask in (("left", theta[:, 0] < saddle(c)), ("right", theta[:, 0] > saddle(c))):
        measured = stats.proportion(int(np.sum(mask & (values <= eps))), len(theta))
        ex = refs["exact"][side]
        rows.append({"kind": "stationary_mass", "kernel": name, "dim": dim, "side": side,
                     "T_injected": temps[0], "T_minibatch": temps[1], "steps": steps,
                     "measured": list(measured), "exact": ex, "laplace": refs["laplace"][side],
                     "nuts": list(refs["nuts"][side]),
                     "z": (measured.value - ex) / math.sqrt(ex * (1 - ex) / len(theta)),
                     "counts": result.counts, **mixing})
    return rows


def _rhat_ess(draws) -> dict:
    """ArviZ rank-normalised R-hat and bulk ESS of one (chain, draw) array."""
    return {"rhat_potential": float(az.rhat(draws)), "ess_potential": float(az.ess(draws))}


def run(settings: Settings, *, chains: int, steps: int, seed: int, out, progress=True,
        precision="float32") -> dict:
    dims, kernels = settings.dims, settings.kernels
    T, h, c = settings.temperature, settings.step_size, settings.tilt
    batch, eps, x0 = settings.batch_size, settings.sublevel, settings.start
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    def race(kernel, targets, start, steps=steps, bridge=False, trace_every=None):
        return _race(kernel, targets, start, chains, steps, seed, progress, precision, bridge, trace_every)

    rows, references, stationary = [], {}, {}
    for dim in dims:
        v = potential(c, dim)
        s_point = [saddle(c)] + [0.0] * (dim - 1)
        kramers = {"left_to_right": kramers_time(v, -np.eye(dim)[0], s_point, T),
                   "right_to_left": kramers_time(v, np.eye(dim)[0], s_point, T)}
        mfpt = None
        if dim == 1:
            mirrored = lambda x: well_1d(c)(-x)  # noqa: E731
            mfpt = {"left_to_right": exact.mean_first_passage_1d(well_1d(c), -1.0, 1.0, T, lower=-3.0),
                    "right_to_left": exact.mean_first_passage_1d(mirrored, -1.0, 1.0, T, lower=-3.0)}
        times = mfpt or kramers
        relax = 1 / (1 / times["left_to_right"] + 1 / times["right_to_left"])
        stationary_steps = int(math.ceil(settings.relaxation_times * relax / h))
        init = np.zeros((4, dim))
        init[:, 0] = [-1, 1, -1, 1]
        occupation = nuts_occupation(v, sublevel_targets(v, c, eps), init, temperature=T,
                                     num_warmup=500, num_samples=settings.nuts_samples, seed=seed)
        refs = {"exact": exact_sublevel_fractions(v, dim, c, T, eps),
                "laplace": laplace_sublevel_fractions(v, dim, T, eps),
                "nuts": occupation.fraction}
        references[str(dim)] = {
            "mean_first_passage_exact": mfpt, "kramers": kramers, "relaxation_time": relax,
            "stationary_steps": stationary_steps, "stationary_exact": refs["exact"],
            "stationary_laplace": refs["laplace"],
            "nuts": {k: list(e) for k, e in occupation.fraction.items()},
            "nuts_ess": occupation.ess, "nuts_rhat": occupation.rhat,
            "laplace_mass_ratio_left_right": math.exp(c) if dim == 1 else math.exp(-c)}
        for name in kernels:
            kernel, t_injected, t_minibatch = make_kernel(name, v, dim, h, T, batch, seed + dim)
            temps = (t_injected, t_minibatch)
            if dim == 1:
                rows.append(committor_row(name, kernel, temps, c, x0, h, race))
            rows.append(passage_row(name, kernel, temps, v, dim, c, h, race,
                                    mfpt["left_to_right"] if mfpt else None))
            rows.extend(stationary_rows(name, kernel, temps, v, dim, c, eps, stationary_steps, x0, race, refs,
                                        stationary))
    if settings.rare:
        rows.append(rare_committor_row(c, settings.rare_temperature, h, settings.rare_start, settings.rare_replicas,
                                       settings.rare_runs, seed, progress, precision))
    summary = {"scenario": NAME, "chains": chains, "max_steps": steps, "seed": seed,
               "settings": settings.as_dict(), "references": references, "rows": rows}
    return finish(out, summary, stationary, render)


def render(summary: dict, out) -> None:
    """report.md and the plots, from the summary alone (``stabsim report DIR`` calls this)."""
    plot(summary, Path(out) / "double_well.png")
    write_report(out, report(summary))



def _temps(row):
    return f"{row['T_injected']:.3g} + {row['T_minibatch']:.3g}"


def verdict(summary) -> str:
    """One paragraph from the numbers: how many rows agree with their reference within 3 SE."""
    rows = summary["rows"]
    parts = []
    for kind, label in (("committor", "committor"), ("rare_committor", "low-temperature committor (splitting)"),
                        ("mean_first_passage", "mean first-passage time"),
                        ("stationary_mass", "stationary sublevel mass")):
        sel = [r for r in rows if r["kind"] == kind and math.isfinite(r["z"])]
        if not sel:
            continue
        ok = [r for r in sel if abs(r["z"]) <= 3]
        worst = max(sel, key=lambda r: abs(r["z"]))
        parts.append(f"{label}: {len(ok)} of {len(sel)} rows within 3 SE of the exact value "
                     f"(worst: {worst['kernel']}, {worst['dim']}-D, z = {worst['z']:+.1f})")
    text = "; ".join(parts) + "."
    kramers = [r for r in rows if r["kind"] == "mean_first_passage"]
    if kramers:
        ratios = [r["measured_over_kramers"] for r in kramers]
        text += (f" Measured mean first-passage times are {min(ratios):.2f}-{max(ratios):.2f} times the "
                 "Eyring-Kramers value, which is a T -> 0 limit")
        exact_rows = [r for r in kramers if r["exact"] is not None]
        text += (f" (the exact 1-D time is {exact_rows[0]['exact'] / exact_rows[0]['kramers']:.3f} times Kramers "
                 "at this T)." if exact_rows else ".")
    for dim, ref in summary["references"].items():
        ex = ref["stationary_exact"]
        wider = "left" if ex["left"] > ex["right"] else "right"
        text += (f" In {dim}-D the {wider} well holds more Gibbs mass (exact {ex['left']:.3f} vs {ex['right']:.3f}; "
                 f"Laplace mass ratio left/right {ref['laplace_mass_ratio_left_right']:.3f}).")
    text += " Euler discretisation adds an O(step_size) bias to every measured row."
    return text


def report(summary: dict) -> str:
    st = summary["settings"]
    lines = [f"# {NAME}", "", SUMMARY + ".", "",
             "Which well does a learning chain fall into, how long does it take, and where does it sit?",
             "A race measures first hits; the Gibbs mass measures where a chain sits in the long run.", "",
             f"T = {st['temperature']}, step size h = {st['step_size']}, tilt c = {st['tilt']}, batch {st['batch_size']}, "
             f"start x0 = {st['start']}, sublevel eps = {st['sublevel']}; {summary['chains']} chains per race, "
             f"budget {summary['max_steps']} steps, seed {summary['seed']}. Temperatures are written injected + minibatch.", "",
             "## Committor P(+1 before -1) from x0 (1-D)", "",
             "| kernel | T | measured [95%] | exact | first-order discrete | z | censored |", "|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        if r["kind"] == "committor":
            lines.append(f"| {r['kernel']} | {_temps(r)} | {fmt_interval(r['measured'], 4)} | {r['exact']:.4f} | "
                         f"{r['first_order_discrete']:.4f} | {r['z']:+.1f} | {r['counts']['censored']} |")
    rare = [r for r in summary["rows"] if r["kind"] == "rare_committor"]
    if rare:
        lines += ["", "## Rare: committor at low temperature, by splitting (`--set rare=true`)", "",
                  "Langevin from x0 just right of the left minimum: P(x >= +1 before x <= -1), estimated by "
                  "generalized AMS (`sim.splitting`, score = ln of the exact committor); a direct race would need "
                  "the chains in the last column for the same relative error.", "",
                  "| T | x0 | method | measured [95%] | exact | first-order discrete | z | Kramers time -1 -> +1 | "
                  "exact time | runs x replicas | chain-steps (replays) | direct chains for same error |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rare:
            lines.append(f"| {r['T']} | {r['start']} | {r['method']} | {fmt_interval(r['measured'], 3)} | "
                         f"{r['exact']:.3g} | {r['first_order_discrete']:.3g} | {r['z']:+.1f} | {r['kramers_time']:.3g} | "
                         f"{r['exact_time']:.3g} | {r['runs']} x {r['replicas']} | {r['work']:.3g} "
                         f"({100 * r['replay_fraction']:.0f} %) | {r['direct_chains_for_same_error']:.3g} |")
    lines += ["", "## Mean first-passage time from -1 to +1 (time units = steps x h)", "",
              "| dim | kernel | T | measured [95%] | exact | Kramers | measured / Kramers | z vs exact | censored |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        if r["kind"] == "mean_first_passage":
            ex = "—" if r["exact"] is None else f"{r['exact']:.4g}"
            lines.append(f"| {r['dim']} | {r['kernel']} | {_temps(r)} | {fmt_interval(r['measured'], 4)} | {ex} | "
                         f"{r['kramers']:.4g} | {r['measured_over_kramers']:.3f} | "
                         + ("—" if not math.isfinite(r["z"]) else f"{r['z']:+.1f}") + f" | {r['counts']['censored']} |")
    lines += ["", "## Stationary mass of each well's sublevel set {V <= eps}", "",
              "| dim | kernel | well | steps | measured [95%] | exact | Laplace | NUTS [95%] | z vs exact | R-hat / ESS |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        if r["kind"] == "stationary_mass":
            lines.append(f"| {r['dim']} | {r['kernel']} | {r['side']} | {r['steps']} | {fmt_interval(r['measured'], 4)} | "
                         f"{r['exact']:.4f} | {r['laplace']:.4f} | {fmt_interval(r['nuts'], 4)} | {r['z']:+.1f} | "
                         f"{r.get('rhat_potential', math.nan):.3f} / {r.get('ess_potential', math.nan):.0f} |")
    lines += ["", "R-hat / ESS: ArviZ rank-normalised R-hat and bulk ESS of the potential across the chains, over the "
              "second half of each stationary run's 50 trace draws (`trace.nc`); R-hat near 1 means the chains "
              "forgot their common start.", "", "NUTS diagnostics: " + "; ".join(
        f"{d}-D ESS " + ", ".join(f"{k} {v:.0f}" for k, v in ref["nuts_ess"].items())
        + f", max R-hat {max(ref['nuts_rhat'].values()):.3f}" for d, ref in summary["references"].items()),
        "", "![double well](double_well.png)", "", verdict(summary), ""]
    return "\n".join(lines)


def plot(summary: dict, path) -> None:

    kinds = [("committor", "P(+1 before -1)"), ("mean_first_passage", "mean first-passage time"),
             ("stationary_mass", "sublevel mass")]
    fig, axes = figure(1, 3, figsize=(15, 4.2))
    for ax, (kind, label) in zip(axes, kinds):
        rows = [r for r in summary["rows"] if r["kind"] == kind]
        names = [f"{r['dim']}D {r['kernel']}" + (f" {r['side']}" if "side" in r else "") for r in rows]
        x = np.arange(len(rows))
        v = np.array([r["measured"] for r in rows]).reshape(-1, 3)
        if len(rows):
            ax.errorbar(x, v[:, 0], yerr=[v[:, 0] - v[:, 1], v[:, 2] - v[:, 0]], fmt="o", label="measured (95%)")
            ex = [np.nan if r.get("exact") is None else r["exact"] for r in rows]
            ax.plot(x, ex, "k_", markersize=18, mew=2, label="exact")
            if kind == "mean_first_passage":
                ax.plot(x, [r["kramers"] for r in rows], "r_", markersize=18, mew=2, label="Kramers")
            if kind == "stationary_mass":
                ax.plot(x, [r["laplace"] for r in rows], "g_", markersize=18, mew=2, label="Laplace")
                ax.plot(x, [r["nuts"][0] for r in rows], "mx", label="NUTS")
        ax.set_xticks(x, names, rotation=60, ha="right", fontsize=8)
        ax.set_title(label)
        ax.legend(fontsize=8)
    save(fig, path)


if __name__ == "__main__":
    cli.run_scenario_script(NAME)

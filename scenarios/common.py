"""Helpers shared by the scenarios (not a scenario itself: it has no NAME).

Minibatch noise at a known temperature. With loss(theta, d) = V(theta) + <d, theta> and
centred data d of per-coordinate variance s^2, the full-data loss is V and a minibatch
of B examples (drawn with replacement) adds gradient noise of covariance s^2 / B, so
SGD at learning rate h is Langevin at T_eff = h s^2 / (2 B); hence s^2 = 2 B T_eff / h.
"""
from __future__ import annotations

import math
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import optax

import simulator as sim
from simulator.io.plots import save as save_figure  # noqa: F401  (re-exported for the scenarios)

N_DATA = 1024
KERNELS = ("langevin", "sgld", "sgd")


def apply_quick(settings: dict, chains: int, steps: int, quick: dict) -> tuple[dict, int, int]:
    """With ``settings["quick"]``: the scenario's QUICK overrides, chains and steps capped by QUICK's."""
    if not settings.get("quick"):
        return settings, chains, steps
    chains = min(chains, quick.get("chains", chains))
    steps = min(steps, quick.get("steps", steps))
    return {**settings, **{k: v for k, v in quick.items() if k not in ("chains", "steps")}}, chains, steps


def minibatch_data(dim: int, variance: float, seed: int, n: int = N_DATA) -> np.ndarray:
    """n centred points in R^dim with population variance exactly ``variance`` per coordinate."""
    d = np.random.default_rng(seed).normal(size=(n, dim))
    return (d - d.mean(axis=0)) / d.std(axis=0) * math.sqrt(variance)


def learning_kernel(name: str, v, dim: int, step_size: float, injected_T: float, minibatch_T: float,
                    batch_size: int, seed: int):
    """(kernel, injected T, minibatch T measured from the data) for ``name`` on the potential ``v``.

    langevin: injected only. sgld: injected + minibatch (full batch when minibatch_T = 0).
    sgd (optax.sgd(step_size)): minibatch only.
    """
    if name not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {name!r}")

    def loss(theta, d):
        return v(theta) + jnp.mean(d @ theta)
    if name == "langevin":
        if minibatch_T:
            raise ValueError("langevin has no minibatch noise: minibatch_T must be 0")
        return sim.dynamics.langevin(v, step_size, injected_T), injected_T, 0.0
    if name == "sgd" and injected_T:
        raise ValueError("sgd has no injected noise: injected_T must be 0")
    if name == "sgld" and minibatch_T == 0:   # full batch; zero data leave the loss equal to v
        return sim.dynamics.sgld(loss, np.zeros((1, dim)), step_size, injected_T), injected_T, 0.0
    data = minibatch_data(dim, 2 * batch_size * minibatch_T / step_size, seed)
    t_eff = sim.dynamics.effective_temperature(loss, data, jnp.zeros(dim), step_size, batch_size)
    if name == "sgld":
        return sim.dynamics.sgld(loss, data, step_size, injected_T, batch_size=batch_size), injected_T, t_eff
    return sim.dynamics.sgd(loss, data, optax.sgd(step_size), batch_size), 0.0, t_eff


def fmt_interval(triple, digits: int = 3) -> str:
    """'value [low, high]' for a (value, low, high) triple; '—' for None or a non-finite value."""
    if triple is None or not math.isfinite(triple[0]):
        return "—"
    v, lo, hi = triple
    return f"{v:.{digits}g} [{lo:.{digits}g}, {hi:.{digits}g}]"


def write_traces(out, results: dict) -> None:
    """One ``out/trace.nc`` for several races with the same number of chains.

    Race ``label``'s variables are named ``label.name`` (posterior: its traced
    observables, padded with NaN to the longest trace along ``draw``;
    sample_stats: its per-chain outcomes); ``constant_data`` holds each race's
    ``label.trace_step``. Races without a trace contribute their outcomes only.
    """
    import arviz as az
    import xarray as xr

    from simulator.io.arviz import sample_stats, write_netcdf
    first = next(iter(results.values()))
    n_draws = max((r.trace_steps.size for r in results.values() if r.trace is not None), default=0)
    posterior, stats, constant = {}, {}, {}
    for label, result in results.items():
        for name, var in sample_stats(result).data_vars.items():
            stats[f"{label}.{name}"] = var
        if result.trace is None:
            continue
        pad = n_draws - result.trace_steps.size
        for name, values in result.trace.items():
            values = np.pad(values, [(0, 0), (0, pad)] + [(0, 0)] * (values.ndim - 2), constant_values=np.nan)
            dims = ["chain", "draw"] + [f"{label}.{name}_dim_{i}" for i in range(values.ndim - 2)]
            posterior[f"{label}.{name}"] = (dims, values)
        constant[f"{label}.trace_step"] = (f"{label}.draw", result.trace_steps)
    groups = {"sample_stats": xr.Dataset(stats)}
    if posterior:
        groups["posterior"] = xr.Dataset(posterior, coords={"chain": np.arange(first.n_chains),
                                                            "draw": np.arange(n_draws)})
        groups["constant_data"] = xr.Dataset(constant)
    attrs = {"races": ",".join(results), "stabsim_version": sim.__version__,
             "jax_version": str(first.config.get("jax_version", "")), "device": str(first.config.get("device", ""))}
    write_netcdf(az.InferenceData(attrs=attrs, **groups), Path(out) / "trace.nc")


def race_plots(out, results: dict) -> list[str]:
    """``cif_<label>.png`` (cumulative incidence and hitting steps) per race; returns the file names."""
    from simulator.io.plots import race_figure
    names = []
    for label, result in results.items():
        name = f"cif_{label}.png"
        race_figure(result, Path(out) / name, title=label)
        names.append(name)
    return names

"""RaceResult <-> ArviZ InferenceData (arviz 0.23.x) and netCDF.

Groups of ``to_inference_data(result, kind)``:

* ``posterior``: by ``kind``, the traced paths (chain, draw = step[, position_dim_i];
  absent when the race was not traced), the final positions grouped by outcome,
  or the stationary draws of a run in which no chain stopped.
* ``sample_stats``: per chain (dim ``chain`` only): ``outcome`` (label),
  ``stop_step``, ``hit_step`` (-1 without a hit), ``diverged`` and, for
  Metropolis kernels, ``acceptance``.
* ``constant_data``: ``eps`` and ``distance`` per target (dim ``target``).
* root ``attrs``: kernel name and parameters (JSON), seed, precision, step
  size or scale, trace_every, stabsim and jax versions, device.

ESS and R-hat mean what they usually mean only for stationary runs (long
Langevin, NUTS): a race stops its chains at different times. By default a
stopped chain's later draws repeat its last one: the stopped process
X_min(t, tau), finite, so ``az.summary``, ``az.ess``, ``az.rhat`` and
``az.plot_trace`` work on it and describe that process (a chain absorbed in a
target stays there); ``after_stop="nan"`` keeps the paths as traced, NaN after
each stop (what ``trace.nc`` holds).
"""
from __future__ import annotations

import json
import warnings

import numpy as np

from .. import outcomes, trees
from ..version import __version__
from .files import atomic_path


def _labels(result) -> np.ndarray:
    names = result.labels
    return np.array([names[int(code)] for code in result.outcome], dtype=object)


def _attrs(result) -> dict:
    config = result.config
    kernel = dict(config.get("kernel", {}))
    attrs = {"kernel": kernel.pop("name", ""), "kernel_params": json.dumps(kernel, default=str),
             "seed": int(config.get("seed", 0)), "precision": str(config.get("precision", "")),
             "trace_every": int(config.get("trace_every") or 0), "stabsim_version": __version__,
             "jax_version": str(config.get("jax_version", "")), "device": str(config.get("device", "")),
             "n_chains": result.n_chains, "max_steps": int(config.get("max_steps", 0)),
             "config": json.dumps(config, default=str), "work": json.dumps(result.work, default=str),
             "target_names": json.dumps(list(result.target_names))}
    for key in ("step_size", "scale"):
        if key in kernel:
            attrs[key] = float(kernel[key])
    return attrs


def sample_stats(result):
    """Per-chain outcomes as an xarray Dataset over ``chain`` (the ``sample_stats`` group)."""
    import xarray as xr
    stats = {"outcome": ("chain", _labels(result).astype(str)), "stop_step": ("chain", result.stop_step),
             "hit_step": ("chain", result.hit_step), "diverged": ("chain", result.outcome == outcomes.DIVERGED)}
    acceptance = result.acceptance_rate
    if acceptance is not None:
        stats["acceptance"] = ("chain", acceptance)
    return xr.Dataset(stats, coords={"chain": np.arange(result.n_chains)})


KINDS = ("paths", "final", "stationary")
AFTER_STOP = ("hold", "nan")


def hold_after_stop(trace: dict, steps: np.ndarray, stop_step: np.ndarray) -> dict:
    """Each chain's draws after its stop replaced by its last draw at or before the stop (draw j, at step
    steps[j], is after the stop when steps[j] > stop_step): the stopped process X_min(t, tau)."""
    last = np.searchsorted(steps, stop_step, side="right") - 1          # steps[0] = 0 <= every stop
    index = np.minimum(np.arange(steps.size)[None, :], last[:, None])    # (chain, draw)
    out = {}
    for name, values in trace.items():
        full = index.reshape(index.shape + (1,) * (values.ndim - 2))
        out[name] = np.take_along_axis(values, np.broadcast_to(full, index.shape + values.shape[2:]), axis=1)
    return out


def to_inference_data(result, kind: str = "paths", burn_in: float = 0.0, outcome: str | None = None,
                      after_stop: str = "hold"):
    """An ``az.InferenceData`` of the race's draws, per-chain outcomes and settings.

    ``kind`` says what the posterior group holds:

    * "paths": the traced observables, (chain, draw = step); after each chain's stop its last draw
      repeated (``after_stop="hold"``: the stopped process, finite, so ArviZ's functions work) or NaN
      (``after_stop="nan"``: the paths as traced). Paths, not samples of one law: ESS and R-hat describe
      the stopped process;
    * "final": each chain's final position and stop step (at its hit, divergence or the budget) as one
      draw, with the chain's ``outcome`` as a coordinate; ``outcome="inner"`` keeps only the chains that
      ended there, so ``az.summary`` and ``az.plot_posterior`` describe where that target was entered;
    * "stationary": the traced draws of a run in which no chain stopped (every chain censored at
      max_steps), after dropping the first ``burn_in`` fraction of draws: samples, where ESS and R-hat
      mean what they usually do.
    """
    import arviz as az
    import xarray as xr

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if outcome is not None and kind != "final":
        raise ValueError(f"outcome selects chains of kind='final' only, not kind={kind!r}")
    if not 0 <= burn_in < 1:
        raise ValueError(f"burn_in must be a fraction in [0, 1), got {burn_in!r}")
    if after_stop not in AFTER_STOP:
        raise ValueError(f"after_stop must be one of {', '.join(AFTER_STOP)}, got {after_stop!r}")
    groups = {}
    if kind == "final":
        groups["posterior"] = _final_positions(result, outcome)
    elif result.trace is not None:
        trace, steps = dict(result.trace), np.asarray(result.trace_steps)
        if kind == "stationary":
            stopped = int(np.sum(result.outcome != outcomes.CENSORED))
            if stopped:
                raise ValueError(f"kind='stationary' needs a run in which no chain stopped; {stopped} of "
                                 f"{result.n_chains} did (use kind='paths' or 'final'; sim.sample runs chains "
                                 "that never stop)")
            first = int(burn_in * steps.size)
            trace, steps = {k: v[:, first:] for k, v in trace.items()}, steps[first:]
        elif after_stop == "hold":
            trace = hold_after_stop(trace, steps, np.asarray(result.stop_step))
        dims = {name: [f"{name}_dim_{i}" for i in range(np.ndim(v) - 2)] for name, v in trace.items()}
        with warnings.catch_warnings():   # races often have more chains than draws: that is fine here
            warnings.filterwarnings("ignore", message="More chains .* than draws")
            groups["posterior"] = az.dict_to_dataset(
                trace, coords={"chain": np.arange(result.n_chains), "draw": steps}, dims=dims)
    elif kind == "stationary":
        raise ValueError("kind='stationary' needs a traced race (race(..., trace_every=K))")
    groups["sample_stats"] = sample_stats(result)
    targets = result.config.get("targets", [{"name": n} for n in result.target_names])
    groups["constant_data"] = xr.Dataset(
        {"eps": ("target", np.array([t.get("eps", np.nan) for t in targets], float)),
         "distance": ("target", np.array([bool(t.get("distance", False)) for t in targets]))},
        coords={"target": list(result.target_names)})
    return az.InferenceData(attrs={**_attrs(result), "kind": kind, "after_stop": after_stop}, **groups)


def _final_positions(result, outcome: str | None):
    """Final positions (a variable per leaf of a pytree position) and stop steps over (chain = 0,
    draw = race chain), with an ``outcome`` coordinate on ``draw``; only ``outcome``'s chains if given."""
    import xarray as xr
    chains = np.arange(result.n_chains) if outcome is None else np.flatnonzero(result.outcome == result._code(outcome))
    leaves = {name or "position": v for name, v in trees.position_leaves(result.state).items()}
    data = {"stop_step": (["chain", "draw"], result.stop_step[chains][None])}
    for name, leaf in leaves.items():
        values = np.asarray(leaf, float)[chains][None]
        data[name] = (["chain", "draw"] + [f"{name}_dim_{i}" for i in range(values.ndim - 2)], values)
    return xr.Dataset(data, coords={"chain": [0], "draw": chains,
                                    "outcome": ("draw", _labels(result)[chains].astype(str))})


def trace_from_inference_data(idata) -> tuple[dict | None, np.ndarray | None]:
    """(trace dict, trace steps) back from ``to_inference_data``'s posterior; (None, None) if untraced."""
    if "posterior" not in idata.groups():
        return None, None
    post = idata.posterior
    return {name: np.asarray(post[name].values) for name in post.data_vars}, np.asarray(post["draw"].values)


def read_trace(path) -> tuple[dict | None, np.ndarray | None]:
    """(trace dict, trace steps) of a ``trace.nc`` written by ``RaceResult.save``."""
    import arviz as az
    return trace_from_inference_data(az.from_netcdf(path))


def write_netcdf(idata, path) -> None:
    """``idata.to_netcdf`` (h5netcdf) to a temporary file, then an atomic rename over ``path``."""
    with atomic_path(path) as tmp:
        idata.to_netcdf(tmp, engine="h5netcdf")

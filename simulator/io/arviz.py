"""RaceResult <-> ArviZ InferenceData (arviz 0.23.x) and netCDF.

Groups of ``to_inference_data(result)``:

* ``posterior``: the traced observables (``race(trace_every=K)``), dims
  (chain, draw[, position_dim_i]); the ``draw`` coordinate is the step number.
  Absent when the race was not traced.
* ``sample_stats``: per chain (dim ``chain`` only): ``outcome`` (label),
  ``stop_step``, ``hit_step`` (-1 without a hit), ``diverged`` and, for
  Metropolis kernels, ``acceptance``.
* ``constant_data``: ``eps`` and ``distance`` per target (dim ``target``).
* root ``attrs``: kernel name and parameters (JSON), seed, precision, step
  size or scale, trace_every, stabsim and jax versions, device.

ESS and R-hat mean what they usually mean only for stationary runs (long
Langevin, NUTS): a race stops its chains at different times, and the NaN draws
after a stop are not samples.
"""
from __future__ import annotations

import json
import warnings

import numpy as np

from .. import outcomes
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


def to_inference_data(result):
    """An ``az.InferenceData`` holding the race's traces, per-chain outcomes and settings."""
    import arviz as az
    import xarray as xr

    chain = np.arange(result.n_chains)
    groups = {}
    if result.trace is not None:
        dims = {name: [f"{name}_dim_{i}" for i in range(np.ndim(v) - 2)] for name, v in result.trace.items()}
        with warnings.catch_warnings():   # races often have more chains than draws: that is fine here
            warnings.filterwarnings("ignore", message="More chains .* than draws")
            groups["posterior"] = az.dict_to_dataset(
                dict(result.trace), coords={"chain": chain, "draw": np.asarray(result.trace_steps)}, dims=dims)
    groups["sample_stats"] = sample_stats(result)
    targets = result.config.get("targets", [{"name": n} for n in result.target_names])
    groups["constant_data"] = xr.Dataset(
        {"eps": ("target", np.array([t.get("eps", np.nan) for t in targets], float)),
         "distance": ("target", np.array([bool(t.get("distance", False)) for t in targets]))},
        coords={"target": list(result.target_names)})
    return az.InferenceData(attrs=_attrs(result), **groups)


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

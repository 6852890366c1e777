"""Helpers shared by the scenarios (not a scenario itself: it has no NAME).

Minibatch noise at a known temperature. With loss(theta, d) = V(theta) + <d, theta> and
centred data d of per-coordinate variance s^2, the full-data loss is V and a minibatch
of B examples (drawn with replacement) adds gradient noise of covariance s^2 / B, so
SGD at learning rate h is Langevin at T_eff = h s^2 / (2 B); hence s^2 = 2 B T_eff / h.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar, get_args, get_origin, get_type_hints

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr

import simulator as sim
from simulator.io.arviz import sample_stats, write_netcdf
from simulator.io.files import atomic_write
from simulator.io.plots import race_figure

N_DATA = 1024
# Residual of a target outside its own region: large but finite (a non-finite residual means diverged).
FAR = 1e30
KERNELS = ("langevin", "sgld", "sgd")


def setting(default, help: str):
    """A settings field with its one-line help (shown by ``stabsim run SCENARIO --help``)."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Base of a scenario's settings: typed fields with defaults, checked in ``__post_init__``.

    A scenario subclasses it, adds its fields with ``setting(default, help)``, lists in
    ``QUICK`` the values of its quick mode (plus caps on ``chains`` and ``steps``), and
    refuses bad values in ``check``. Tuples are written ``a,b,c`` on the command line.
    """

    quick: bool = setting(False, "small grid and budget: about a minute on 2 cores")
    trace_every: int = setting(0, "> 0: record every race every K steps into trace.nc (0: no trace)")

    QUICK: ClassVar[dict] = {}

    def __post_init__(self):
        if self.trace_every < 0:
            raise ValueError(f"trace_every must be >= 0, got {self.trace_every}")
        self.check()

    def check(self) -> None:
        """Refuse values the scenario cannot run (a ValueError naming the setting)."""

    @classmethod
    def describe(cls) -> list[tuple[str, str, str, str]]:
        """(name, type, default, help) of every setting."""
        hints = get_type_hints(cls)
        return [(f.name, _type_name(hints[f.name]), _format(f.default), f.metadata.get("help", ""))
                for f in fields(cls)]

    @classmethod
    def parse(cls, text: dict[str, str]) -> dict:
        """{name: value} from ``--set name=text`` strings, typed by the fields (unknown names refused)."""
        hints = get_type_hints(cls)
        names = [f.name for f in fields(cls)]
        out = {}
        for name, value in text.items():
            if name not in names:
                raise ValueError(f"unknown setting {name!r}; known: {', '.join(names)}")
            out[name] = _parse(name, value, hints[name])
        return out

    @classmethod
    def resolve(cls, given: dict, chains: int, steps: int) -> tuple["Settings", int, int]:
        """(settings, chains, steps): ``given`` over the defaults; quick mode fills only what is not given."""
        values = dict(given)
        if values.get("quick"):
            for name, value in cls.QUICK.items():
                if name not in ("chains", "steps"):
                    values.setdefault(name, value)
            chains = min(chains, cls.QUICK.get("chains", chains))
            steps = min(steps, cls.QUICK.get("steps", steps))
        return cls(**values), chains, steps

    def as_dict(self) -> dict:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}


def _type_name(hint) -> str:
    if get_origin(hint) is tuple:
        return f"{get_args(hint)[0].__name__},..."
    return hint.__name__


def _format(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _parse(name: str, text: str, hint):
    """One value of type ``hint`` (bool, int, float, str or tuple of one of them) from text."""
    if get_origin(hint) is tuple:
        return tuple(_parse(name, part.strip(), get_args(hint)[0]) for part in text.split(",") if part.strip())
    try:
        if hint is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        value = hint(text)
    except ValueError:
        raise ValueError(f"setting {name} expects {_type_name(hint)}, got {text!r}") from None
    if hint is float and not math.isfinite(value):    # inf and nan were refused only after 25-58 s of work
        raise ValueError(f"setting {name} must be finite, got {text!r}")
    return value


def check_values(name: str, values: tuple, allowed=None, low=None, high=None, at_least: int = 1) -> None:
    """Refuse a tuple setting with fewer than ``at_least`` values, or values outside ``allowed`` / (low, high)."""
    if len(values) < at_least:
        raise ValueError(f"setting {name} needs at least {at_least} value(s), got {values!r}")
    for v in values:
        if allowed is not None and v not in allowed:
            raise ValueError(f"setting {name}: {v!r} is not one of {', '.join(map(str, allowed))}")
        if (low is not None and not v > low) or (high is not None and not v < high):
            raise ValueError(f"setting {name}: values must lie in ({low}, {high}), got {v!r}")


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


def batched(residual):
    """A jitted residual over a batch of positions (host arrays in, float32)."""
    fn = jax.jit(jax.vmap(residual))
    return lambda g: fn(np.asarray(g, np.float32))


def start_outside(ball, residuals, eps: float, n: int, seed: int) -> np.ndarray:
    """n Haar-uniform points of ``ball`` that lie outside every tube {residual <= eps}."""
    found, batch = [], 0
    while sum(map(len, found)) < n:
        g = ball.group.sample(ball, 2 * n, seed=seed + 7919 * batch)
        outside = np.all([np.asarray(r(g)) > eps for r in residuals], axis=0)
        found.append(g[outside])
        batch += 1
    return np.concatenate(found)[:n]


def finite_or_none(x):
    """float(x), or None where x is nan or infinite (JSON has no nan)."""
    return float(x) if np.isfinite(x) else None


def fmt_interval(triple, digits: int = 3) -> str:
    """'value [low, high]' for a (value, low, high) triple; '—' for None or a non-finite value."""
    if triple is None or not math.isfinite(triple[0]):
        return "—"
    v, lo, hi = triple
    return f"{v:.{digits}g} [{lo:.{digits}g}, {hi:.{digits}g}]"


def _plain(value):
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_summary(out, summary: dict) -> None:
    """``out/result.json`` (numpy scalars and arrays as plain JSON), written atomically."""
    text = json.dumps(summary, indent=2, default=_plain)
    atomic_write(Path(out) / "result.json", lambda f: f.write(text.encode()))


def report_head(name: str, summary: str, doc: str) -> list[str]:
    """A report's first lines: the title, the one-line summary and the question (the module doc's second
    paragraph, on one line)."""
    return [f"# {name}", "", summary + ".", "", doc.split("\n\n")[1].replace("\n", " "), ""]


def write_report(out, text: str) -> None:
    """``out/report.md``, written atomically."""
    atomic_write(Path(out) / "report.md", lambda f: f.write(text.encode()))


def finish(out, summary: dict, traced: dict, render) -> dict:
    """The end of every scenario's run: result.json, the combined trace.nc of ``traced`` races (if any),
    then ``render(summary, out)`` (report.md and plots, which ``stabsim report DIR`` rebuilds alone)."""
    write_summary(out, summary)
    if traced:
        write_traces(out, traced)
    render(summary, out)
    return summary


def write_traces(out, results: dict) -> None:
    """One ``out/trace.nc`` for several races with the same number of chains.

    Race ``label``'s variables are named ``label.name`` (posterior: its traced
    observables, padded with NaN to the longest trace along ``draw``;
    sample_stats: its per-chain outcomes); ``constant_data`` holds each race's
    ``label.trace_step``. Races without a trace contribute their outcomes only.
    """
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
    names = []
    for label, result in results.items():
        name = f"cif_{label}.png"
        race_figure(result, Path(out) / name, title=label)
        names.append(name)
    return names

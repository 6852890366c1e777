"""The kernel interface shared by all dynamics.

A kernel is a pair of pure functions over one chain (BlackJAX/Optax style):

    init(position) -> state          # state: a NamedTuple with a ``position`` field
    step(key, state) -> state        # one transition, key a typed PRNG key

plus metadata the engine and the reports use. ``noise_variance`` is the
per-coordinate variance of the Gaussian increment of one step (used by the
Brownian-bridge crossing correction; None where it does not apply). A state with an ``n_accepted`` field
reports a Metropolis acceptance rate. ``potential``, where the dynamics have one, is
what traces record as the potential (or full-data loss).
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax


class Kernel(NamedTuple):
    init: Callable[[jax.Array], NamedTuple]
    step: Callable[[jax.Array, NamedTuple], NamedTuple]
    name: str
    params: dict
    noise_variance: float | None
    potential: Callable | None = None   # V(position) (the full-data loss for sgd/sgld), traced as "potential"


def positive(name: str, value) -> float:
    """``float(value)``, or a ValueError/TypeError naming ``name`` unless it is finite and > 0."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def scalar_function(name: str, fn) -> Callable:
    """Refuse a non-callable potential (shape checks happen in the engine, before compiling)."""
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    return fn


class LangevinParams(NamedTuple):
    """Checked parameters shared by the Langevin-type kernels."""

    potential: Callable
    step_size: float
    temperature: float
    noise_scale: float      # sqrt(2 * step_size * temperature)

    def as_dict(self) -> dict:
        return {"potential": describe(self.potential), "step_size": self.step_size,
                "temperature": self.temperature}


def langevin_params(potential, step_size, temperature) -> LangevinParams:
    """Refuse a non-callable potential or a step size / temperature that is not > 0."""
    potential = scalar_function("potential", potential)
    step_size = positive("step_size", step_size)
    temperature = positive("temperature", temperature)
    return LangevinParams(potential, step_size, temperature, math.sqrt(2 * step_size * temperature))


def describe(fn) -> str:
    """A readable name for a user function, for result metadata."""
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)

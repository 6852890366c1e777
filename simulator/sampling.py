"""Stationary sampling: chains that never stop, traced for ArviZ (``sim.sample``).

A race with no target: every chain runs ``n_steps`` steps and is recorded every ``trace_every``. The
engine races against one target that cannot be entered; it is left out of the trace, and the
result's ``warnings`` do not count the chains that reach ``n_steps`` as censored (that is the plan).
``result.to_inference_data(kind="stationary", burn_in=0.5)`` is then a set of samples, where ESS and
R-hat mean what they usually do.
"""
from __future__ import annotations

import dataclasses
import warnings

import jax
import jax.numpy as jnp

from .engine.race import RaceWarning, race
from .targets import Target

UNREACHABLE = "unreachable"     # the engine's one target: a residual of 1 with eps 0, never entered


def sample(kernel, start, *, n_chains: int, n_steps: int, trace_every: int, seed: int = 0,
           observables: dict | None = None, trace_position: bool | None = None, precision: str = "float32",
           progress: bool | None = None, start_batched: bool | None = None, checkpoint=None, resume: bool = False):
    """Run ``n_chains`` chains of ``kernel`` for ``n_steps`` steps each, tracing every ``trace_every``
    steps (the residual-free trace: potential or loss where the kernel has one, |x|, x when small or with
    ``trace_position``, and ``observables``); a ``RaceResult`` whose chains end ``censored`` at n_steps
    (or ``diverged``). Arguments as for ``sim.race``."""
    never = Target(UNREACHABLE, lambda x: jnp.ones((), jax.tree.leaves(x)[0].dtype), eps=0.0, distance=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*censored at max_steps", category=RaceWarning)
        result = race(kernel, [never], start, n_chains=n_chains, max_steps=n_steps, seed=seed,
                      trace_every=trace_every, observables=observables, trace_position=trace_position,
                      precision=precision, progress=progress, start_batched=start_batched, checkpoint=checkpoint,
                      resume=resume)
    trace = {k: v for k, v in result.trace.items() if k != f"residual_{UNREACHABLE}"}
    return dataclasses.replace(result, trace=trace, config={**result.config, "sampling": True})

"""One lane of a race: start a chain, and advance it by one step.

A lane holds one chain (or none). ``fresh`` starts chain c from its start position
with its own random streams; ``advance`` moves a running chain by one step and
classifies the new position. A finished chain (or an empty lane) stays as it is.
Randomness comes from per-chain streams (``streams``), so a chain's trajectory
depends only on (seed, chain index). The loop over lanes and blocks is
``engine.program``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..outcomes import RUNNING
from . import streams
from .bridge import crossing_probability
from .classify import classifier, residual_function


class RunArgs(NamedTuple):
    """Per-race values of a compiled program (arguments, never compiled-in constants)."""

    start: jax.Array          # one position, or (capacity, ...) positions (arrays or pytrees)
    seed: jax.Array           # uint32
    max_steps: jax.Array      # int32
    first_chain: jax.Array    # int32: global index of this race's chain 0 (multi-host shares)
    n_chains: jax.Array       # int32: chains of this call, all settings together
    n_per_setting: jax.Array  # int32: chain c is chain c % n_per_setting of setting c // n_per_setting
    eps: jax.Array            # (n_settings, n_targets) tolerances
    sweep: dict               # kernel-factory argument -> (n_settings,) values (empty without a sweep)


class Lanes(NamedTuple):
    """Device state of the batch; every field has the lane axis first."""

    chain: jax.Array        # chain index in [0, n_chains), -1 for an empty lane
    setting: jax.Array      # the chain's setting of a sweep (0 without one)
    key: jax.Array          # raw key data, kernel stream
    bridge_key: jax.Array   # raw key data, bridge stream
    state: NamedTuple       # the kernel's state
    residual: jax.Array     # (lanes, n_targets) residuals at the current position
    status: jax.Array       # outcome code; RUNNING while the chain runs
    steps: jax.Array        # steps taken


class LaneFunctions(NamedTuple):
    fresh: Callable      # (chain, run) -> (Lanes row without chain, draw 0 of the trace or None)
    advance: Callable    # (run, lane) -> (lane, draw, record): one step of one lane


def build_lane_functions(kernel, targets, *, batched, bridge, dtype, domain=None, trace=None,
                         factory=None) -> LaneFunctions:
    """The pure per-lane functions of a race. With a sweep, ``factory(**values)`` builds each lane's
    kernel from its setting's values (``run.sweep``)."""
    bridged = np.array([bridge and t.distance for t in targets])
    use_bridge = bool(bridged.any())
    residuals = residual_function(targets, dtype)
    classify = classifier(domain)

    def kernel_of(setting, run):
        return kernel if factory is None else factory(**{k: v[setting] for k, v in run.sweep.items()})

    def observe(x, r, chosen):
        return None if trace is None else trace.observe(x, r, chosen.potential)

    def fresh(chain, run):
        setting, member = chain // run.n_per_setting, chain % run.n_per_setting
        x = jax.tree.map(lambda a: a[member], run.start) if batched else run.start
        r = residuals(x)
        chosen = kernel_of(setting, run)
        index = member + run.first_chain
        key = jax.random.key_data(streams.chain_keys(run.seed, streams.KERNEL_STREAM, index))
        # Without the bridge the bridge key is never read; a copy saves compiling a second hash.
        bridge_key = (jax.random.key_data(streams.chain_keys(run.seed, streams.BRIDGE_STREAM, index))
                      if use_bridge else key)
        status = classify(x, r, r <= run.eps[setting].astype(dtype))
        lane = Lanes(chain, setting, key, bridge_key, chosen.init(x), r, status, jnp.zeros((), jnp.int32))
        return lane, observe(x, r, chosen)

    def advance(run, lane: Lanes):
        active = (lane.status == RUNNING) & (lane.steps < run.max_steps)
        t = lane.steps + 1
        chosen = kernel_of(lane.setting, run)
        eps = run.eps[lane.setting].astype(dtype)
        new = chosen.step(streams.step_key(jax.random.wrap_key_data(lane.key), t), lane.state)
        r = residuals(new.position)
        entered = r <= eps
        if use_bridge:
            u = jax.random.uniform(streams.step_key(jax.random.wrap_key_data(lane.bridge_key), t),
                                   r.shape, dtype)
            crossed = u < crossing_probability(lane.residual - eps, r - eps, chosen.noise_variance)
            entered = entered | (jnp.asarray(bridged) & crossed)
        code = classify(new.position, r, entered)

        def keep(a, b):
            return jnp.where(active, a, b)

        moved = lane._replace(state=jax.tree.map(keep, new, lane.state), residual=keep(r, lane.residual),
                              status=keep(code, lane.status), steps=keep(t, lane.steps))
        record = active if trace is None else active & (t % trace.every == 0)
        return moved, observe(new.position, r, chosen), record

    return LaneFunctions(fresh, advance)

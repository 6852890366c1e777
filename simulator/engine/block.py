"""The compiled block: refill lanes with new chains, then advance every lane by n steps.

One jitted call advances every lane by a block of steps (``vmap`` over lanes
inside a ``lax.fori_loop``); a finished chain stays frozen (masked) until the
block ends. Randomness comes from per-chain streams (``streams``), so a chain's
trajectory depends only on (seed, chain index).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..outcomes import EMPTY, RUNNING
from . import streams
from .bridge import crossing_probability
from .classify import classifier, residual_function

# Orders for a lane at the start of a block, besides a chain index >= 0 (start that chain).
KEEP = -1
CLEAR = -2


class RunArgs(NamedTuple):
    """Per-race inputs of the compiled block."""

    start: jax.Array        # one position, or (n_chains, ...) positions (arrays or pytrees)
    seed: jax.Array         # uint32
    max_steps: jax.Array    # int32
    first_chain: jax.Array  # int32: global index of this race's chain 0 (multi-host shares)
    eps: jax.Array          # (n_settings, n_targets) tolerances
    sweep: dict             # kernel-factory argument -> (n_settings,) values (empty without a sweep)


class Lanes(NamedTuple):
    """Device state of the batch; every field has the lane axis first."""

    chain: jax.Array        # chain index in [0, n_settings * n_chains), -1 for an empty lane
    setting: jax.Array      # the chain's setting of a sweep (0 without one)
    key: jax.Array          # raw key data, kernel stream
    bridge_key: jax.Array   # raw key data, bridge stream
    state: NamedTuple       # the kernel's state
    residual: jax.Array     # (lanes, n_targets) residuals at the current position
    status: jax.Array       # outcome code; RUNNING while the chain runs
    steps: jax.Array        # steps taken
    trace: jax.Array | None = None   # (lanes, slots, width): the draws recorded in the last block


def build_block(kernel, targets, *, batched, bridge, dtype, domain=None, trace=None, factory=None,
                n_per_setting=None):
    """Return ``block(lanes, order, run, n_steps) -> lanes``: refill lanes per ``order``, then step.

    ``run`` (a ``RunArgs``) holds what varies between races of the same shape, so
    that it is an argument rather than a compiled-in constant: start, seed, budget,
    tolerances and a sweep's values. With a sweep, ``factory(**values)`` builds each
    lane's kernel from its setting's values, and chain c is chain c % n_per_setting
    of setting c // n_per_setting (``n_per_setting=None``: no sweep).
    """
    bridged = np.array([bridge and t.distance for t in targets])
    use_bridge = bool(bridged.any())

    residuals = residual_function(targets, dtype)
    classify = classifier(domain)

    def kernel_of(setting, run):
        """The kernel of one setting (the fixed kernel without a sweep)."""
        return kernel if factory is None else factory(**{k: v[setting] for k, v in run.sweep.items()})

    def fresh(chain, run):
        if n_per_setting is None:
            setting, member = jnp.zeros_like(chain), chain
        else:
            setting, member = chain // n_per_setting, chain % n_per_setting
        x = jax.tree.map(lambda a: a[member], run.start) if batched else run.start
        seed = run.seed
        r = residuals(x)
        eps = run.eps[setting].astype(dtype)
        chosen = kernel_of(setting, run)
        index = member + run.first_chain
        key = jax.random.key_data(streams.chain_keys(seed, streams.KERNEL_STREAM, index))
        # Without the bridge the bridge key is never read; a copy saves compiling a second hash.
        bridge_key = (jax.random.key_data(streams.chain_keys(seed, streams.BRIDGE_STREAM, index))
                      if use_bridge else key)
        obs = None if trace is None else trace.observe(x, r, chosen.potential)   # draw 0: the start
        return chosen.init(x), r, classify(x, r, r <= eps), key, bridge_key, obs, setting

    def refill(lanes, order, run):
        state, r, status, key, bridge_key, obs, setting = jax.vmap(fresh, (0, None))(jnp.maximum(order, 0), run)
        new = order >= 0

        def pick(a, b):
            return jnp.where(new.reshape(new.shape + (1,) * (a.ndim - 1)), a, b)

        cleared = order == CLEAR
        return Lanes(
            chain=jnp.where(new, order, jnp.where(cleared, -1, lanes.chain)),
            setting=jnp.where(new, setting, lanes.setting),
            key=pick(key, lanes.key),
            bridge_key=pick(bridge_key, lanes.bridge_key),
            state=jax.tree.map(pick, state, lanes.state),
            residual=pick(r, lanes.residual),
            status=jnp.where(new, status, jnp.where(cleared, EMPTY, lanes.status)),
            steps=jnp.where(new | cleared, 0, lanes.steps),
            # The block's draws start empty; a new chain's draw 0 goes to slot 0.
            trace=None if trace is None else jnp.full((order.size, slots, trace.width), jnp.nan, dtype)
            .at[:, 0].set(jnp.where(new[:, None], obs, jnp.nan)),
        )

    def advance(run, first, lane: Lanes) -> Lanes:
        """One step of one lane; a lane whose chain has stopped (or never started) stays as it is."""
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

        row = lane.trace
        if trace is not None:   # draw t // K, at slot t // K - first, when t is a multiple of K
            slot = jnp.clip(t // trace.every - first, 0, slots - 1)
            record = active & (t % trace.every == 0)
            row = row.at[slot].set(jnp.where(record, trace.observe(new.position, r, chosen.potential), row[slot]))
        return lane._replace(state=jax.tree.map(keep, new, lane.state), residual=keep(r, lane.residual),
                             status=keep(code, lane.status), steps=keep(t, lane.steps), trace=row)

    def block(lanes, order, run, n_steps):
        lanes = refill(lanes, order, run)
        # First draw number each lane can record in this block (slot 0): 0 for a new chain, else
        # the draw after the last one recorded, floor(steps / K) + 1.
        first = (jnp.where(order >= 0, -1, lanes.steps) // trace.every + 1) if trace is not None else lanes.steps
        step_all = jax.vmap(advance, (None, 0, 0))
        return jax.lax.fori_loop(0, n_steps, lambda _, lanes: step_all(run, first, lanes), lanes)

    slots = 0 if trace is None else trace.slots

    def empty(n_lanes, run):
        """Lanes that hold no chain, with the right shapes and dtypes."""
        shapes = jax.eval_shape(lambda: jax.vmap(fresh, (0, None))(jnp.zeros(n_lanes, jnp.int32), run))
        state, r, _, key, bridge_key, _, setting = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
        rows = None if trace is None else jnp.zeros((n_lanes, slots, trace.width), dtype)
        return Lanes(jnp.full(n_lanes, -1, jnp.int32), setting, key, bridge_key, state, r,
                     jnp.full(n_lanes, EMPTY, jnp.int32), jnp.zeros(n_lanes, jnp.int32), rows)

    return jax.jit(block, donate_argnums=0), empty

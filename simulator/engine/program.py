"""The race program: many blocks of many lanes in one device dispatch.

One call of ``run(carry, run_args, limits)`` is a ``lax.while_loop`` over blocks.
Each iteration

1. refills the empty lanes with the next chains of a device-side counter
   (``counters.next_chain``);
2. advances every lane by ``counters.length`` steps (``vmap`` over lanes in a
   ``fori_loop``), writing trace draws straight into the per-chain trace buffer;
3. harvests: a chain that stopped (hit, tie, divergence, escape) or spent
   ``max_steps`` writes its outcome, stop step, final kernel state and stop label
   into per-chain device buffers (``Buffers``) at its chain index, and frees its lane;
4. adapts the block length (``policy.next_block_length``).

It returns when every chain has an outcome, when this dispatch has spent its
budget of lane-steps (``limits.budget``: the driver sizes it so that a dispatch
lasts about its poll interval), or, once every chain has started, when the running
chains fit in ``limits.compact_at`` lanes, so that the driver can move them to a
narrower program (``compact``: an on-device permutation of the busy lanes to the
front). Nothing reaches the host inside a dispatch; the driver reads the
``Counters`` after it and the buffers once at the end.

Design decisions, measured:

* Buffers are indexed by chain, sized ``policy.capacity(n_chains)`` (at most
  12.5 % above n_chains, so calls with nearby chain counts share a program).
  Device memory is capacity x (8 bytes + one kernel state + the stop label +
  the trace row); at 10^7 chains of a 4-D walk that is 10^7 x 24 bytes = 240 MB.
* The trace is one device buffer (capacity, max_steps // K + 1, width), written
  in place; it is bounded (``traces.trace_bytes``) and refused above the limit
  before anything compiles. Streaming it to the host per dispatch would trade
  that memory for one transfer per dispatch; no study here has needed it.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..outcomes import CENSORED, EMPTY, RUNNING
from . import policy
from .block import Lanes, LaneFunctions, RunArgs


class Buffers(NamedTuple):
    """Per-chain results on the device, chain index first (``capacity`` rows)."""

    outcome: jax.Array        # int32 outcome code, RUNNING until the chain stops
    stop_step: jax.Array      # int32
    state: NamedTuple         # the kernel state at the stop
    label: jax.Array | None   # race(stop_label=fn)'s fn(position) at the stop
    trace: jax.Array | None   # (capacity, n_draws, width)


class Counters(NamedTuple):
    """Scalars of the device loop (int32)."""

    next_chain: jax.Array     # the next chain to start
    finished: jax.Array       # chains with an outcome
    running: jax.Array        # occupied lanes after the last harvest
    blocks: jax.Array         # blocks run, all dispatches together
    drain_blocks: jax.Array   # blocks run since the last chain started
    length: jax.Array         # steps of the next block
    chunk_steps: jax.Array    # chunk-steps of this dispatch: per block, busy chunks x steps (the driver resets
                              # it; lane-steps are chunk width x chunk_steps, the width fixed within a dispatch)


class Carry(NamedTuple):
    lanes: Lanes
    buffers: Buffers
    counters: Counters


class Limits(NamedTuple):
    budget: jax.Array         # int32: chunk-steps within which this dispatch may start blocks
    compact_at: jax.Array     # int32: return once all chains started and at most this many lanes run (-1: never)


class RaceProgram(NamedTuple):
    empty: Callable           # (run_args, width, capacity) -> Carry of empty lanes and buffers (NumPy, host)
    run: Callable             # (carry, run_args, limits) -> carry
    compact: Callable         # (carry, width) -> carry with the busy lanes first, ``width`` lanes


def build_race_program(lane: LaneFunctions, *, block_size: int, stop_label=None, trace=None,
                       chunked: bool = True) -> RaceProgram:
    """The pure functions of the race program (``engine.programs`` compiles and caches them). ``chunked``:
    step the busy lanes a chunk of ``policy.chunk_width`` lanes at a time (else all lanes every block)."""
    fresh_all = jax.vmap(lane.fresh, (0, None))
    advance_all = jax.vmap(lane.advance, (None, 0))

    def refill(carry: Carry, run: RunArgs) -> Carry:
        lanes, buffers, counters = carry
        free = lanes.chain < 0
        chain = counters.next_chain + jnp.cumsum(free, dtype=jnp.int32) - 1
        new = free & (chain < run.n_chains)

        def start(args):
            lanes, trace_rows = args
            started, draw = fresh_all(jnp.where(new, chain, 0), run)
            pick = where_rows(new)
            lanes = jax.tree.map(pick, started, lanes)
            if trace_rows is not None:
                rows = jnp.where(new, chain, trace_rows.shape[0])
                trace_rows = trace_rows.at[rows, 0].set(draw, mode="drop")
            return lanes, trace_rows

        lanes, trace_rows = jax.lax.cond(new.any(), start, lambda args: args, (lanes, buffers.trace))
        counters = counters._replace(next_chain=counters.next_chain + new.sum(dtype=jnp.int32))
        return Carry(lanes, buffers._replace(trace=trace_rows), counters)

    def steps(carry: Carry, run: RunArgs) -> Carry:
        """``length`` steps of the busy lanes, a chunk of lanes at a time (the busy lanes are the first ones)."""
        width = carry.lanes.chain.shape[0]
        size = policy.chunk_width(width, chunked)
        busy = (carry.lanes.chain >= 0).sum(dtype=jnp.int32)
        n_chunks = (busy + size - 1) // size

        def one(_, state):
            lanes, trace_rows = state
            lanes, draw, record = advance_all(run, lanes)
            if trace_rows is not None:
                rows = jnp.where(record, lanes.chain, trace_rows.shape[0])
                trace_rows = trace_rows.at[rows, lanes.steps // trace.every].set(draw, mode="drop")
            return lanes, trace_rows

        def whole(state):
            return jax.lax.fori_loop(0, carry.counters.length, one, state)

        def chunks(state):
            return over_chunks(whole, *state, n_chunks=n_chunks, size=size)

        state = (carry.lanes, carry.buffers.trace)
        if size == width:
            lanes, trace_rows = whole(state)
        else:   # all lanes at once while more than half run (slicing costs more than it saves there)
            n_chunks = jnp.where(2 * busy > width, width // size, n_chunks)
            lanes, trace_rows = jax.lax.cond(2 * busy > width, whole, chunks, state)
        counters = carry.counters._replace(chunk_steps=carry.counters.chunk_steps + n_chunks * carry.counters.length)
        return Carry(lanes, carry.buffers._replace(trace=trace_rows), counters)

    def harvest(carry: Carry, run: RunArgs) -> Carry:
        lanes, buffers, counters = carry
        occupied = lanes.chain >= 0
        done = occupied & ((lanes.status != RUNNING) | (lanes.steps >= run.max_steps))
        rows = jnp.where(done, lanes.chain, buffers.outcome.shape[0])     # out of range: dropped

        def put(buffer, values):
            return buffer.at[rows].set(values, mode="drop")

        label = buffers.label
        if stop_label is not None:
            label = jax.lax.cond(done.any(), lambda: put(label, jax.vmap(stop_label)(lanes.state.position)),
                                 lambda: label)
        buffers = buffers._replace(
            outcome=put(buffers.outcome, jnp.where(lanes.status == RUNNING, CENSORED, lanes.status)),
            stop_step=put(buffers.stop_step, lanes.steps), state=jax.tree.map(put, buffers.state, lanes.state),
            label=label)
        lanes = lanes._replace(chain=jnp.where(done, -1, lanes.chain), status=jnp.where(done, EMPTY, lanes.status))
        if policy.chunk_width(lanes.chain.shape[0], chunked) < lanes.chain.shape[0]:
            lanes = _busy_first(lanes)
        n_done, n_occupied = done.sum(dtype=jnp.int32), occupied.sum(dtype=jnp.int32)
        stopped = n_done / jnp.maximum(1, n_occupied)
        counters = counters._replace(
            finished=counters.finished + n_done, running=n_occupied - n_done, blocks=counters.blocks + 1,
            drain_blocks=counters.drain_blocks + (counters.next_chain >= run.n_chains),
            length=policy.next_block_length(counters.length, stopped, block_size, jnp))
        return Carry(lanes, buffers, counters)

    def run(carry: Carry, args: RunArgs, limits: Limits) -> Carry:
        def going(carry):
            c = carry.counters
            compact = (c.next_chain >= args.n_chains) & (c.running <= limits.compact_at)
            return (c.finished < args.n_chains) & (c.chunk_steps < limits.budget) & ~compact

        def block(carry):
            return harvest(steps(refill(carry, args), args), args)

        return jax.lax.while_loop(going, block, carry)

    def empty(args: RunArgs, width: int, capacity: int) -> Carry:
        return _empty_carry(fresh_all, args, width, capacity, block_size, stop_label, trace)

    def compact(carry: Carry, width: int) -> Carry:
        return carry._replace(lanes=_busy_first(carry.lanes, width))

    return RaceProgram(empty, run, compact)


def _empty_carry(fresh_all, args: RunArgs, width: int, capacity: int, block_size: int, stop_label, trace) -> Carry:
    """``width`` empty lanes and ``capacity`` rows of per-chain buffers, as NumPy arrays (built on the host:
    nothing to compile), with the shapes and dtypes ``fresh_all`` gives."""
    lanes, draw = jax.eval_shape(lambda: fresh_all(jnp.zeros(width, jnp.int32), args))
    lanes = jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), lanes)
    lanes = lanes._replace(chain=np.full(width, -1, np.int32), status=np.full(width, EMPTY, np.int32))
    label = None if stop_label is None else jax.eval_shape(jax.vmap(stop_label), lanes.state.position)
    buffers = Buffers(
        outcome=np.full(capacity, RUNNING, np.int32), stop_step=np.zeros(capacity, np.int32),
        state=jax.tree.map(lambda a: np.zeros((capacity,) + a.shape[1:], a.dtype), lanes.state),
        label=None if label is None else np.zeros((capacity,) + label.shape[1:], label.dtype),
        trace=None if trace is None else np.full((capacity, trace.n_draws, trace.width), np.nan, draw.dtype))
    zero = np.zeros((), np.int32)
    counters = Counters(zero, zero, zero, zero, zero, np.asarray(block_size, np.int32), zero)
    return Carry(lanes, buffers, counters)


def _busy_first(lanes: Lanes, width: int | None = None) -> Lanes:
    """The lanes permuted so that the busy ones come first, in lane order; the first ``width`` of them."""
    order = jnp.argsort(lanes.chain < 0, stable=True)[:width]
    return jax.tree.map(lambda a: a[order], lanes)


def over_chunks(fn, lanes, extra, *, n_chunks, size):
    """``fn((part, extra)) -> (part, extra)`` on the lanes [c size, (c + 1) size) for c < ``n_chunks``, each
    part written back in place (a pytree, lane axis first); ``extra`` is carried through whole."""
    def chunk(c, state):
        lanes, extra = state
        part = jax.tree.map(lambda a: jax.lax.dynamic_slice_in_dim(a, c * size, size), lanes)
        part, extra = fn((part, extra))
        return jax.tree.map(lambda a, b: jax.lax.dynamic_update_slice_in_dim(a, b, c * size, 0), lanes, part), extra
    return jax.lax.fori_loop(0, n_chunks, chunk, (lanes, extra))


def in_passes(todo, width: int, body, state):
    """``body(state, index, valid) -> state`` on the lanes in ``todo`` (bool, lane axis), ``width`` at a time:
    ``index`` are the next ``width`` lanes, those still to do first in lane order, ``valid`` which of them
    are to do (a pass gathers them, steps them and scatters them back)."""
    def step(c):
        todo, state = c
        index = jnp.argsort(~todo, stable=True)[:width]
        return todo.at[index].set(False), body(state, index, todo[index])
    return jax.lax.while_loop(lambda c: jnp.any(c[0]), step, (todo, state))[1]


def where_rows(mask):
    """``pick(a, b)``: rows of ``a`` where ``mask``, else of ``b`` (mask over the leading axis)."""
    def pick(a, b):
        return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)
    return pick


class ProgramSet:
    """A race program's functions jitted for a placement, under one structure ``key`` (``engine.programs``):
    the lanes are split over the devices' "chains" axis, buffers and counters replicated."""

    def __init__(self, key, program: RaceProgram, place, chunked: bool):
        self.key, self.program, self.place, self.chunked = (key, place.key, chunked), program, place, chunked

    @property
    def n_devices(self) -> int:
        return self.place.n

    def jitted(self, name: str):
        fn = getattr(self.program, name)
        static = {"run": (), "compact": (1,)}[name]
        if self.place.n == 1:
            return jax.jit(fn, static_argnums=static)
        split, whole = self.place.split, self.place.whole
        carry = Carry(split, whole, whole)
        ins = {"run": (carry, whole, whole), "compact": (carry,)}[name]
        return jax.jit(fn, static_argnums=static, in_shardings=ins, out_shardings=carry)

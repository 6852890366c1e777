"""What a traced race records: observables every K steps, per chain, in bounded memory.

A race with ``trace_every=K`` records, at steps 0, K, 2K, ... <= max_steps of
every chain, a vector of observables:

* ``residual_<target>``: each target's residual;
* ``potential``: the kernel's potential (or full-data loss), where it has one;
* ``norm``: |theta| (Frobenius for matrices);
* ``position``: theta itself, when it has at most ``POSITION_SIZE_LIMIT``
  entries or ``trace_position=True``; a pytree position is recorded leaf by
  leaf, each under its path (``W1``, ``b1``; ``simulator.trees``);
* user observables: ``observables={"name": fn}``, fn(position) -> scalar.

Draws after a chain stops stay NaN (they are never written); the chain's
outcome and stop step say why. The race program writes each draw in place into
one (capacity, max_steps // K + 1, width) device buffer (capacity =
``policy.capacity(n_chains)``), which the host reads once at the end. Memory, the
device buffer and its host copy:

    bytes = 2 * capacity * (max_steps // K + 1) * width * itemsize,

width = the number of scalar observables (position counts its size), never
O(n_chains * max_steps * D). A request above ``memory_limit`` (default
``DEFAULT_MEMORY_LIMIT``) is refused before anything compiles.
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from .. import trees
from . import policy

DEFAULT_MEMORY_LIMIT = 4 * 2**30     # 4 GiB
POSITION_SIZE_LIMIT = 16


class TraceSpec(NamedTuple):
    every: int
    n_draws: int
    names: tuple            # observable names, in buffer order
    sizes: tuple            # entries of each (1 for a scalar, the size of a position leaf)
    shapes: tuple           # shape of each: () for a scalar, a position leaf's shape
    observe: Callable       # (position, residuals, potential) -> (width,) vector
    width: int
    functions: tuple        # the user's observable functions (the program cache keys on them)

    @property
    def steps(self):
        return [self.every * d for d in range(self.n_draws)]


def trace_bytes(n_chains: int, n_draws: int, width: int, itemsize: int) -> int:
    """The bound in the module docstring."""
    return 2 * policy.capacity(n_chains) * n_draws * width * itemsize


def build_trace(trace_every, observables, trace_position, *, kernel, targets, position, max_steps: int,
                n_chains: int, memory_limit) -> TraceSpec | None:
    """Check the trace arguments (on shapes only) and return the spec, or None without tracing."""
    if trace_every is None:
        if observables or trace_position:
            raise ValueError("observables / trace_position need trace_every (record every K steps)")
        return None
    if isinstance(trace_every, bool) or not isinstance(trace_every, numbers.Integral) or trace_every <= 0:
        raise ValueError(f"trace_every must be a positive int or None, got {trace_every!r}")
    observables = dict(observables or {})
    for name, fn in observables.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"observables: names must be non-empty strings, got {name!r}")
        if not callable(fn):
            raise TypeError(f"observables[{name!r}] must be a function of the position")
        out = jax.eval_shape(fn, position)
        if getattr(out, "shape", None) != ():
            raise ValueError(f"observables[{name!r}] must return a scalar, got shape {getattr(out, 'shape', out)}")
    leaves = jax.tree.leaves(position)
    size = sum(math.prod(leaf.shape) for leaf in leaves)
    if trace_position is None:
        trace_position = size <= POSITION_SIZE_LIMIT
    names = [f"residual_{t.name}" for t in targets]
    fns = []
    if kernel.potential is not None:   # the lane's own kernel's potential (a sweep may change it)
        names.append("potential")
        fns.append("potential")
    names.append("norm")
    fns.append(lambda x: jnp.sqrt(sum(jnp.sum(a * a) for a in jax.tree.leaves(x))))
    for name, fn in observables.items():
        names.append(name)
        fns.append(fn)
    if len(set(names)) != len(names) or "position" in observables:
        raise ValueError(f"observables: names clash with the built-in ones {names}")
    sizes, shapes = [1] * len(names), [()] * len(names)
    if trace_position:    # an array position is "position"; a pytree's leaves are named by their paths
        leaf_names = [n if n not in names else f"position.{n}" for n in trees.leaf_names(position)]
        names += ["position"] if leaf_names == [""] else leaf_names
        sizes += [math.prod(leaf.shape) for leaf in leaves]
        shapes += [leaf.shape for leaf in leaves]
    width = sum(sizes)
    n_draws = int(max_steps) // int(trace_every) + 1
    limit = DEFAULT_MEMORY_LIMIT if memory_limit is None else memory_limit
    need = trace_bytes(n_chains, n_draws, width, jnp.dtype(leaves[0].dtype).itemsize)
    if need > limit:
        raise ValueError(f"trace_every={trace_every}: the trace would take {need / 2**30:.2f} GiB "
                         f"({n_chains} chains x {n_draws} draws x {width} values), above the limit of "
                         f"{limit / 2**30:.2f} GiB; record less often or raise trace_memory_limit")

    def observe(x, r, potential):
        dtype = jax.tree.leaves(x)[0].dtype
        parts = [r.astype(dtype)] + [jnp.reshape((potential if fn == "potential" else fn)(x), (1,)).astype(dtype)
                                     for fn in fns]
        if trace_position:
            parts += [leaf.ravel() for leaf in jax.tree.leaves(x)]
        return jnp.concatenate(parts)

    return TraceSpec(int(trace_every), n_draws, tuple(names), tuple(sizes), tuple(shapes), observe, width,
                     tuple(observables.values()))


def split(buffer, spec: TraceSpec) -> dict:
    """(n_chains, n_draws, width) buffer -> {name: (n_chains, n_draws[, *shape])}."""
    out, start = {}, 0
    for name, size, shape in zip(spec.names, spec.sizes, spec.shapes):
        block = buffer[:, :, start:start + size]
        out[name] = block.reshape(block.shape[:2] + tuple(shape))
        start += size
    return out

"""Minibatch training with any optax optimizer: the ``sgd`` kernel.

``sgd(loss, data, optimizer, batch_size)``: theta <- theta + u, where
(u, opt_state) = optimizer.update(grad L_B(theta), opt_state, theta), L_B the
mean loss over a with-replacement minibatch (``minibatch``). Its only noise is
the minibatch noise, unless the optimizer adds its own.

Randomness: optax transformations that carry their own key (``optax.add_noise``,
``optax.noisy_sgd``) are given a fresh key derived from the chain's step key at
every step, so chains get independent noise; the key they were built with is
ignored. (optax.noisy_sgd(lr, eta=2 T / lr, gamma=0) is Langevin at temperature T.)
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .base import Kernel, data_digest, describe
from .minibatch import check_batch_size, check_data, flatten_loss, full_loss, minibatch_gradient


class SGDState(NamedTuple):
    position: jax.Array
    opt_state: Any            # the optax state (keys stored as raw uint32 data)


def _has_key(node) -> bool:
    return hasattr(node, "_fields") and "rng_key" in node._fields


def _store_keys(opt_state):
    """Typed PRNG keys inside optax states -> raw key data, so the engine can batch and save them."""
    def raw(node):
        if _has_key(node) and jax.dtypes.issubdtype(jnp.asarray(node.rng_key).dtype, jax.dtypes.prng_key):
            return node._replace(rng_key=jax.random.key_data(node.rng_key))
        return node
    return jax.tree.map(raw, opt_state, is_leaf=_has_key)


def _fresh_keys(opt_state, key):
    """Give every optax sub-state with an ``rng_key`` its own key derived from ``key``."""
    nodes = jax.tree.leaves(opt_state, is_leaf=_has_key)
    counter = iter(range(len(nodes)))

    def reseed(node):
        return node._replace(rng_key=jax.random.fold_in(key, next(counter))) if _has_key(node) else node
    return jax.tree.map(reseed, opt_state, is_leaf=_has_key)


def describe_optimizer(optimizer) -> str:
    """An optax transformation as its constructors and hyperparameters, read from its closures.

    ``optax.adam(1e-2)`` gives ``chain(scale_by_adam(b1=0.9, b2=0.999, eps=1e-08, ...),
    scale(step_size=-0.01))``: plain values only, never a memory address, so it is the same in every
    process and serves as the checkpoint identity. Values that are not scalars (arrays, objects) are
    left out; pass ``sgd(..., description=...)`` where they matter.
    """
    def value(v, depth):
        if isinstance(v, jax.core.Tracer):     # a swept value, built inside the compiled block
            return "<swept>"
        if v is None or isinstance(v, (bool, int, float, str)):
            return repr(v)
        if isinstance(v, (np.ndarray, np.generic, jax.Array)) and np.size(v) == 1:
            return repr(float(np.asarray(v)))
        if isinstance(v, dict):
            items = [(k, value(x, depth)) for k, x in v.items()]
            return "{" + ", ".join(f"{k}={x}" for k, x in items if x is not None) + "}"
        if hasattr(v, "init") and hasattr(v, "update"):
            return function(v.update, depth + 1)
        if isinstance(v, (tuple, list)) and v and all(callable(t) for t in v):
            return "[" + ", ".join(function(t, depth + 1) for t in v) + "]"
        return function(v, depth + 1) if callable(v) else None

    def function(f, depth):
        name = getattr(f, "__qualname__", type(f).__name__).replace(".<locals>", "")
        name = name.removesuffix(".update_fn").removesuffix(".update")
        if depth > 12 or not hasattr(f, "__code__"):
            return name
        parts = []
        for var, cell in zip(f.__code__.co_freevars, f.__closure__ or ()):
            try:
                text = value(cell.cell_contents, depth)
            except ValueError:      # an empty cell
                continue
            if text is not None:
                parts.append(f"{var}={text}")
        if name == "with_extra_args_support" and len(parts) == 1:     # optax's wrapper: show what it wraps
            return parts[0].split("=", 1)[1]
        if name == "chain" and len(parts) == 1:
            return f"chain({parts[0].split('=', 1)[1][1:-1]})"
        return f"{name}({', '.join(parts)})" if parts else name

    return function(optimizer.update, 0)


def sgd(loss, data, optimizer, batch_size: int | None, *, params_like=None, description: str | None = None) -> Kernel:
    """Minibatch training with any optax ``GradientTransformation``; the optax state is the chain's.

    Args:
        loss: ``loss(theta, batch) -> scalar`` mean loss over ``batch``.
        data: pytree of arrays, leading axis = examples.
        optimizer: e.g. ``optax.sgd(0.1)``, ``optax.adam(1e-3)``, ``optax.noisy_sgd(...)``.
        batch_size: examples per step, drawn with replacement; None = full batch.
        params_like: pytree of the parameters' shape when ``loss`` takes a pytree.
        description: how results and checkpoints record the optimizer (default:
            ``describe_optimizer``, its constructors and scalar hyperparameters).
    """
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(f"optimizer must be an optax.GradientTransformation, got {type(optimizer).__name__}")
    n_examples = check_data(data)
    digest = data_digest(data)               # of the data as given: inside a sweep's trace jnp.asarray makes tracers
    data = jax.tree.map(jnp.asarray, data)   # on the device once, shared by the gradient and the potential
    batch_size = check_batch_size(batch_size)
    flat_loss = flatten_loss(loss, params_like)
    gradient = minibatch_gradient(flat_loss, data, n_examples, batch_size)

    def init(position):
        return SGDState(position, _store_keys(optimizer.init(position)))

    def step(key, state):
        batch_key, optimizer_key = jax.random.split(key)
        g = gradient(batch_key, state.position)
        updates, opt_state = optimizer.update(g, _fresh_keys(state.opt_state, optimizer_key),
                                              state.position)
        return SGDState(optax.apply_updates(state.position, updates), _store_keys(opt_state))

    if description is not None and not isinstance(description, str):
        raise TypeError(f"description must be a str, got {type(description).__name__}")
    params = {"loss": describe(loss), "optimizer": description or describe_optimizer(optimizer),
              "batch_size": batch_size, "n_examples": n_examples, "data": digest}
    return Kernel(init, step, "sgd", params, None, full_loss(flat_loss, data))

"""Minibatches shared by the learning kernels (``sgd``, ``sgld``).

* ``loss(theta, batch)`` is the *mean* loss over the examples in ``batch``;
  L(theta) = loss(theta, data) is the full-data loss, the potential V = L.
* A minibatch B is ``batch_size`` examples drawn uniformly *with replacement*
  (so E grad L_B = grad L exactly), fresh at every step and per chain.
* SGD at learning rate lr has minibatch noise lr^2 C / B per step (C the
  per-example gradient covariance): Langevin at T_eff = lr tr(C) / (2 B D)
  (``effective_temperature``).

Parameters that are pytrees: start the race from the pytree itself and ``loss``
receives it (every kernel works on pytree positions). For a flat start, pass
``params_like`` (a pytree of the parameters' shape) and ``loss`` receives the
unflattened pytree of each flat vector (``jax.flatten_util.ravel_pytree``).
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..validate import positive_int, scalar_function


def check_data(data) -> int:
    """Number of examples: every leaf of ``data`` must be an array with the same leading length."""
    leaves = jax.tree.leaves(data)
    if not leaves:
        raise ValueError("data must hold at least one array (leading axis = examples)")
    lengths = set()
    for leaf in leaves:
        shape = np.shape(leaf)
        if len(shape) == 0:
            raise ValueError("data: every array needs a leading axis of examples, got a scalar")
        lengths.add(shape[0])
    if len(lengths) != 1:
        raise ValueError(f"data: arrays disagree on the number of examples: {sorted(lengths)}")
    n = lengths.pop()
    if n == 0:
        raise ValueError("data must contain at least one example")
    return int(n)


def check_batch_size(batch_size) -> int | None:
    """None (full batch) or ``validate.positive_int``."""
    return None if batch_size is None else positive_int("batch_size", batch_size)


def flatten_loss(loss, params_like) -> Callable:
    """loss on the flat parameter vector (identity when ``params_like`` is None)."""
    loss = scalar_function("loss", loss)
    if params_like is None:
        return loss
    _, unravel = ravel_pytree(params_like)
    return lambda theta, batch: loss(unravel(theta), batch)


def full_loss(loss, data):
    """theta -> loss(theta, all data): the potential that sgd/sgld traces report."""
    return lambda theta: loss(theta, data)


def minibatch_gradient(loss, data, n_examples, batch_size):
    """(key, theta) -> grad of the mean loss over a with-replacement minibatch (full batch if None)."""
    grad = jax.grad(loss)
    if batch_size is None:
        return lambda key, theta: grad(theta, data)

    def minibatch(key, theta):
        index = jax.random.randint(key, (batch_size,), 0, n_examples)
        return grad(theta, jax.tree.map(lambda a: a[index], data))
    return minibatch


def effective_temperature(loss, data, theta, learning_rate: float, batch_size: int) -> float:
    """T_eff = lr tr(C) / (2 B D) of plain SGD at ``theta``: C the per-example gradient covariance.

    Matching lr^2 C / B (minibatch noise per step) to 2 lr T I (Langevin at
    step size lr) in trace. Exact for loss = V(theta) + <d, theta> with
    centred data d, where C = Cov(d) does not depend on theta.
    """
    theta = jnp.asarray(theta)
    n = check_data(data)
    per_example = jax.vmap(lambda example: jax.grad(loss)(theta, jax.tree.map(lambda a: a[None], example)))
    grads = np.asarray(per_example(data)).reshape(n, -1)
    variance = float(np.sum(np.var(grads, axis=0)))
    return learning_rate * variance / (2 * batch_size * grads.shape[1])

"""Minibatch learning dynamics: optax SGD and stochastic-gradient Langevin (SGLD).

Conventions (one chain, parameters theta in R^D, data = N examples):

* ``loss(theta, batch)`` is the *mean* loss over the examples in ``batch``;
  L(theta) = loss(theta, data) is the full-data loss, the potential V = L.
* A minibatch B is ``batch_size`` examples drawn uniformly *with replacement*
  (so E grad L_B = grad L exactly), fresh at every step and per chain.
* ``sgd(loss, data, optimizer, batch_size)``: theta <- theta + u, where
  (u, opt_state) = optimizer.update(grad L_B(theta), opt_state, theta). Its
  only noise is the minibatch noise. For optax.sgd(lr), near a point where the
  per-example gradients have covariance C, that noise is lr grad-noise of
  covariance lr^2 C / B per step, i.e. Langevin at the effective temperature
  T_eff = lr tr(C) / (2 B D)  (``effective_temperature``).
* ``sgld(loss, data, step_size, temperature, batch_size, localization, center)``:

      theta <- theta - h (grad L_B(theta) + gamma (theta - center)) + sqrt(2 h T) xi

  (Welling & Teh 2011 with the mean loss: the injected noise targets exp(-L/T),
  the minibatch adds T_eff on top). With ``batch_size=None`` (full batch) it is
  the unadjusted Langevin kernel on L + gamma |theta - center|^2 / 2 and draws
  the same noise from the same key, so the paths agree to float rounding.

Parameters that are pytrees are flattened at the edge: pass ``params_like`` (a
pytree of the parameters' shape) and ``loss`` receives the unflattened pytree;
the chain's position is the flat vector (``jax.flatten_util.ravel_pytree``).

Randomness: optax transformations that carry their own key (``optax.add_noise``,
``optax.noisy_sgd``) are given a fresh key derived from the chain's step key at
every step, so chains get independent noise; the key they were built with is
ignored. (optax.noisy_sgd(lr, eta=2 T / lr, gamma=0) is Langevin at temperature T.)
"""
from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from . import noise
from .base import Kernel, describe, positive, scalar_function


class SGDState(NamedTuple):
    position: jax.Array
    opt_state: Any            # the optax state (keys stored as raw uint32 data)


class SGLDState(NamedTuple):
    position: jax.Array


def _check_data(data) -> int:
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


def _check_batch_size(batch_size) -> int | None:
    """None (full batch) or ``inputs.positive_int``."""
    from ..inputs import positive_int   # at call time: simulator.inputs imports this package
    return None if batch_size is None else positive_int("batch_size", batch_size)


def _flat_loss(loss, params_like) -> Callable:
    """loss on the flat parameter vector (identity when ``params_like`` is None)."""
    loss = scalar_function("loss", loss)
    if params_like is None:
        return loss
    _, unravel = ravel_pytree(params_like)
    return lambda theta, batch: loss(unravel(theta), batch)


def _full_loss(loss, data):
    """theta -> loss(theta, all data): the potential that sgd/sgld traces report."""
    return lambda theta: loss(theta, data)


def _minibatch_gradient(loss, data, n_examples, batch_size):
    """(key, theta) -> grad of the mean loss over a with-replacement minibatch (full batch if None)."""
    grad = jax.grad(loss)
    if batch_size is None:
        return lambda key, theta: grad(theta, data)

    def minibatch(key, theta):
        index = jax.random.randint(key, (batch_size,), 0, n_examples)
        return grad(theta, jax.tree.map(lambda a: a[index], data))
    return minibatch


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


def sgd(loss, data, optimizer, batch_size: int | None, *, params_like=None) -> Kernel:
    """Minibatch training with any optax ``GradientTransformation``; the optax state is the chain's.

    Args:
        loss: ``loss(theta, batch) -> scalar`` mean loss over ``batch``.
        data: pytree of arrays, leading axis = examples.
        optimizer: e.g. ``optax.sgd(0.1)``, ``optax.adam(1e-3)``, ``optax.noisy_sgd(...)``.
        batch_size: examples per step, drawn with replacement; None = full batch.
        params_like: pytree of the parameters' shape when ``loss`` takes a pytree.
    """
    import optax
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(f"optimizer must be an optax.GradientTransformation, got {type(optimizer).__name__}")
    n_examples = _check_data(data)
    data = jax.tree.map(jnp.asarray, data)   # on the device once, shared by the gradient and the potential
    batch_size = _check_batch_size(batch_size)
    flat_loss = _flat_loss(loss, params_like)
    gradient = _minibatch_gradient(flat_loss, data, n_examples, batch_size)

    def init(position):
        return SGDState(position, _store_keys(optimizer.init(position)))

    def step(key, state):
        batch_key, optimizer_key = jax.random.split(key)
        g = gradient(batch_key, state.position)
        updates, opt_state = optimizer.update(g, _fresh_keys(state.opt_state, optimizer_key),
                                              state.position)
        return SGDState(optax.apply_updates(state.position, updates), _store_keys(opt_state))

    params = {"loss": describe(loss), "optimizer": describe(optimizer), "batch_size": batch_size,
              "n_examples": n_examples}
    return Kernel(init, step, "sgd", params, None, _full_loss(flat_loss, data))


def sgld(loss, data, step_size: float, temperature: float = 1.0, batch_size: int | None = None,
         localization: float = 0.0, center=None, *, params_like=None) -> Kernel:
    """Stochastic-gradient Langevin dynamics (formula in the module docstring).

    Args:
        loss, data, batch_size, params_like: as for ``sgd``.
        step_size: h > 0, the time of one step.
        temperature: T > 0 of the injected noise.
        localization: gamma >= 0, strength of the pull towards ``center``.
        center: flat parameter vector (required when localization > 0).
    """
    step_size = positive("step_size", step_size)
    temperature = positive("temperature", temperature)
    localization = float(localization)
    if not math.isfinite(localization) or localization < 0:
        raise ValueError(f"localization must be finite and >= 0, got {localization}")
    if localization > 0 and center is None:
        raise ValueError("center is required when localization > 0")
    center = None if center is None else jnp.asarray(center)
    n_examples = _check_data(data)
    data = jax.tree.map(jnp.asarray, data)   # on the device once, shared by the gradient and the potential
    batch_size = _check_batch_size(batch_size)
    flat_loss = _flat_loss(loss, params_like)
    gradient = _minibatch_gradient(flat_loss, data, n_examples, batch_size)
    noise_scale = math.sqrt(2 * step_size * temperature)

    def init(position):
        return SGLDState(position)

    def step(key, state):
        x = state.position
        # Full batch: the noise comes from `key` itself, exactly as in `langevin`.
        batch_key, noise_key = (key, key) if batch_size is None else jax.random.split(key)
        drift = gradient(batch_key, x)
        if localization > 0:
            drift = drift + localization * (x - center.astype(x.dtype))
        xi = noise.normal(noise_key, x.shape, x.dtype)
        return SGLDState(x - step_size * drift + noise_scale * xi)

    params = {"loss": describe(loss), "step_size": step_size, "temperature": temperature,
              "batch_size": batch_size, "n_examples": n_examples, "localization": localization}
    # The bridge correction needs Gaussian increments: true only without minibatch noise.
    return Kernel(init, step, "sgld", params, noise_scale**2 if batch_size is None else None,
                  _full_loss(flat_loss, data))


def effective_temperature(loss, data, theta, learning_rate: float, batch_size: int) -> float:
    """T_eff = lr tr(C) / (2 B D) of plain SGD at ``theta``: C the per-example gradient covariance.

    Matching lr^2 C / B (minibatch noise per step) to 2 lr T I (Langevin at
    step size lr) in trace. Exact for loss = V(theta) + <d, theta> with
    centred data d, where C = Cov(d) does not depend on theta.
    """
    theta = jnp.asarray(theta)
    n = _check_data(data)
    per_example = jax.vmap(lambda example: jax.grad(loss)(theta, jax.tree.map(lambda a: a[None], example)))
    grads = np.asarray(per_example(data)).reshape(n, -1)
    variance = float(np.sum(np.var(grads, axis=0)))
    return learning_rate * variance / (2 * batch_size * grads.shape[1])

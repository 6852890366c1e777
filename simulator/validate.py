"""Argument checks shared by the whole package: each raises a ValueError or TypeError naming the argument.

Shape checks run on shapes (jax.eval_shape), before any compilation."""
from __future__ import annotations

import math
import numbers
from typing import Callable

import jax
import numpy as np

MAX_STEPS_LIMIT = 2**31 - 2  # step counters are int32


def positive_int(name: str, value, upper: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if upper is not None and value > upper:
        raise ValueError(f"{name} must be <= {upper}, got {value}")
    return value


def real(name: str, value) -> float:
    """``float(value)``, or a ValueError/TypeError naming ``name`` unless it is a finite real number
    (not a bool, and not a string: "0.1" is refused rather than guessed)."""
    if isinstance(value, (bool, str, bytes)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def positive(name: str, value) -> float:
    """A finite real number > 0 (see ``real``)."""
    value = real(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def non_negative(name: str, value) -> float:
    """A finite real number >= 0 (see ``real``)."""
    value = real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value}")
    return value


def choice(name: str, value, allowed: tuple):
    """``value`` if it is one of ``allowed`` (compared by type and value), else a ValueError naming ``name``."""
    if not any(type(value) is type(a) and value == a for a in allowed):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def scalar_function(name: str, fn) -> Callable:
    """Refuse a non-callable potential (shape checks happen in the engine, before compiling)."""
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    return fn


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    return int(seed)


def resolve_start(start, n_chains: int, start_batched: bool | None, dtype) -> tuple[np.ndarray, bool]:
    """Return ``(start as a host array, batched)``.

    ``start`` is one position shared by all chains, or a batch whose leading
    axis has length ``n_chains``. Rule for ``start_batched=None``: the start
    is a batch exactly when ``start.ndim >= 1`` and ``start.shape[0] ==
    n_chains``. A shared position whose first axis happens to equal
    n_chains (say a 3x3 matrix with n_chains=3) needs ``start_batched=False``.
    """
    try:
        array = np.asarray(start, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"start must be an array of real numbers: {err}") from None
    if not np.all(np.isfinite(array)):
        raise ValueError("start contains non-finite values (nan or inf)")
    if start_batched is None:
        start_batched = array.ndim >= 1 and array.shape[0] == n_chains
    elif start_batched and (array.ndim == 0 or array.shape[0] != n_chains):
        raise ValueError(f"start_batched=True needs start.shape[0] == n_chains={n_chains}, "
                         f"got start.shape={array.shape}")
    return array, bool(start_batched)


def check_shapes(kernel, targets, position: jax.ShapeDtypeStruct) -> None:
    """Trace (not compile) init, step and every residual on one chain's position."""
    for target in targets:
        try:
            out = jax.eval_shape(target.residual, position)
        except Exception as err:  # the user's function failed on this shape
            raise ValueError(f"start: a position of shape {position.shape} does not fit target "
                             f"{target.name!r}'s residual: {type(err).__name__}: {err}") from err
        if not isinstance(out, jax.ShapeDtypeStruct) or out.shape != ():
            shape = getattr(out, "shape", type(out).__name__)
            raise ValueError(f"residual of target {target.name!r} must return a scalar for one "
                             f"position of shape {position.shape}, got shape {shape}")
        if not jax.numpy.issubdtype(out.dtype, jax.numpy.floating):
            raise ValueError(f"residual of target {target.name!r} returns {out.dtype}, not a floating-point "
                             "distance: a bool or integer residual is <= eps at once, so every chain would "
                             "'hit' at step 0")
    try:
        state = jax.eval_shape(kernel.init, position)
        new = jax.eval_shape(kernel.step, jax.eval_shape(lambda: jax.random.key(0)), state)
    except Exception as err:
        raise ValueError(f"start: kernel {kernel.name!r} cannot step a position of shape "
                         f"{position.shape}: {type(err).__name__}: {err}") from err
    if new.position.shape != position.shape:
        raise ValueError(f"kernel {kernel.name!r} changed the position shape from {position.shape} "
                         f"to {new.position.shape}; check the potential")


def check_predicate(name: str, fn, position: jax.ShapeDtypeStruct) -> None:
    """``fn(position)`` must trace to a scalar (bool or number)."""
    try:
        out = jax.eval_shape(fn, position)
    except Exception as err:
        raise ValueError(f"{name} cannot be evaluated on a position of shape {position.shape}: "
                         f"{type(err).__name__}: {err}") from err
    if getattr(out, "shape", None) != ():
        raise ValueError(f"{name} must return a scalar for one position, got shape "
                         f"{getattr(out, 'shape', type(out).__name__)}")

"""Argument checks shared by the whole package: each raises a ValueError or TypeError naming the argument.

Shape checks run on shapes (jax.eval_shape), before any compilation."""
from __future__ import annotations

import math
import numbers
from typing import Callable

import jax
import jax.numpy as jnp
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
    (not a bool, and not a string: "0.1" is refused rather than guessed). A traced value (a sweep
    builds its kernels inside the compiled block) passes as it is: its values were checked before."""
    if isinstance(value, jax.core.Tracer):
        return value
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
    if not isinstance(value, jax.core.Tracer) and value <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def non_negative(name: str, value) -> float:
    """A finite real number >= 0 (see ``real``)."""
    value = real(name, value)
    if not isinstance(value, jax.core.Tracer) and value < 0:
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


def is_pytree_position(start) -> bool:
    """A position that is a pytree of arrays (dict, NamedTuple, Flax/Equinox parameters...) rather than
    one array: anything but an array, a number, or a plain list/tuple of numbers."""
    if isinstance(start, (np.ndarray, jax.Array, numbers.Number)) or type(start) in (list, tuple):
        return False
    return bool(jax.tree.leaves(start))


def resolve_start(start, n_chains: int, start_batched: bool | None, dtype) -> tuple[object, bool]:
    """Return ``(start as a host array, or a pytree of host arrays, batched)``.

    ``start`` is one position shared by all chains, or a batch whose leading
    axis has length ``n_chains``; for a pytree, every leaf has that leading axis.
    Rule for ``start_batched=None``: the start is a batch exactly when every
    leaf has ``ndim >= 1`` and ``shape[0] == n_chains``. A shared position whose
    first axis happens to equal n_chains (say a 3x3 matrix with n_chains=3)
    needs ``start_batched=False``.
    """
    def host(leaf):
        try:
            array = np.asarray(leaf, dtype=dtype)
        except (TypeError, ValueError) as err:
            hint = ("; a model with functions or other objects among its leaves (an Equinox module) races by its "
                    "arrays: start=eqx.partition(model, eqx.is_array)[0], with eqx.combine(params, static) in the "
                    "loss" if callable(leaf) or not hasattr(leaf, "__array__") and not isinstance(leaf, (int, float))
                    else "")
            raise TypeError(f"start must be an array (or a pytree of arrays) of real numbers: {err}{hint}") from None
        if not np.all(np.isfinite(array)):
            raise ValueError("start contains non-finite values (nan or inf)")
        return array

    tree = is_pytree_position(start)
    array = jax.tree.map(host, start) if tree else host(start)
    leaves = jax.tree.leaves(array)
    leading = all(a.ndim >= 1 and a.shape[0] == n_chains for a in leaves)
    if start_batched is None:
        _refuse_ambiguous_start(array, tree, n_chains)
        start_batched = leading
    elif start_batched and not leading:
        raise ValueError(f"start_batched=True needs every start leaf's shape[0] == n_chains={n_chains}, "
                         f"got shapes {[a.shape for a in leaves]}")
    return array, bool(start_batched)


def _refuse_ambiguous_start(array, tree: bool, n_chains: int) -> None:
    """A start that is neither clearly one position nor clearly a batch: a pytree with some leaves batched
    (n_chains first) and some not, or an array with more rows than any other axis but not n_chains of them
    (a (7, 2) start with n_chains = 10 raced one shared 7x2 matrix). ``start_batched`` settles either."""
    if tree:
        paths = jax.tree_util.tree_flatten_with_path(array)[0]
        batched = [a.ndim >= 1 and a.shape[0] == n_chains for _, a in paths]
        if any(batched) and not all(batched):
            name = jax.tree_util.keystr(paths[batched.index(False)][0])
            raise ValueError(f"start: leaf {name} has shape {paths[batched.index(False)][1].shape} while other "
                             f"leaves have n_chains={n_chains} rows; batch every leaf, or pass "
                             "start_batched=False to share one position")
    elif array.ndim >= 2 and array.shape[0] != n_chains and array.shape[0] > max(array.shape[1:]):
        raise ValueError(f"start has shape {array.shape}: a batch needs shape[0] == n_chains={n_chains}; pass "
                         f"start_batched=False to share one {'x'.join(map(str, array.shape))} position")


def position_shapes(start, batched: bool, dtype):
    """One chain's position as ``jax.ShapeDtypeStruct`` leaves, in the start's structure."""
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:] if batched else a.shape, dtype), start)


def describe_shape(position) -> str:
    """``(3,)`` for an array position, ``{'W': (4, 2), 'b': (2,)}``-like for a pytree."""
    return str(jax.tree.map(lambda s: s.shape, position))


def check_shapes(kernel, targets, position) -> None:
    """Trace (not compile) init, step and every residual on one chain's position (shape leaves)."""
    shape = describe_shape(position)
    for target in targets:
        try:
            out = jax.eval_shape(target.residual, position)
        except Exception as err:  # the user's function failed on this shape
            raise ValueError(f"start: a position of shape {shape} does not fit target "
                             f"{target.name!r}'s residual: {type(err).__name__}: {err}") from err
        if not isinstance(out, jax.ShapeDtypeStruct) or out.shape != ():
            got = getattr(out, "shape", type(out).__name__)
            raise ValueError(f"residual of target {target.name!r} must return a scalar for one "
                             f"position of shape {shape}, got shape {got}")
        if not jax.numpy.issubdtype(out.dtype, jax.numpy.floating):
            raise ValueError(f"residual of target {target.name!r} returns {out.dtype}, not a floating-point "
                             "distance: a bool or integer residual is <= eps at once, so every chain would "
                             "'hit' at step 0")
    try:
        state = jax.eval_shape(kernel.init, position)
        new = jax.eval_shape(kernel.step, jax.eval_shape(lambda: jax.random.key(0)), state)
    except Exception as err:
        raise ValueError(f"start: kernel {kernel.name!r} cannot step a position of shape "
                         f"{shape}: {type(err).__name__}: {err}") from err
    if describe_shape(new.position) != shape or jax.tree.structure(new.position) != jax.tree.structure(position):
        raise ValueError(f"kernel {kernel.name!r} changed the position shape from {shape} "
                         f"to {describe_shape(new.position)}; check the potential")


def check_predicate(name: str, fn, position: jax.ShapeDtypeStruct) -> jax.ShapeDtypeStruct:
    """``fn(position)`` must trace (not compile) to a scalar (bool or number); returns its shape and dtype.
    A ValueError names ``name`` (e.g. "domain", "score", "space: target 't''s residual") otherwise."""
    try:
        out = jax.eval_shape(fn, position)
    except Exception as err:
        raise ValueError(f"{name} cannot be evaluated on a position of shape {describe_shape(position)}: "
                         f"{type(err).__name__}: {err}") from err
    if getattr(out, "shape", None) != ():
        raise ValueError(f"{name} must return a scalar for one position, got shape "
                         f"{getattr(out, 'shape', type(out).__name__)}")
    return out


def check_set(name: str, fn, position: jax.ShapeDtypeStruct) -> None:
    """A set given as ``fn(position) -> bool`` (True inside): a number is refused, since "nonzero is inside"
    would silently turn ``x[0] - 4.5`` into almost everywhere."""
    out = check_predicate(name, fn, position)
    if out.dtype != jnp.bool_:
        raise TypeError(f"{name} must return a bool (True inside) for one position, got {out.dtype}; write a "
                        "comparison such as `x[0] <= 4.5`")


def check_stop_label(fn, position: jax.ShapeDtypeStruct):
    """``stop_label(position)`` must trace to a fixed-shape integer or bool array; returns its shape and dtype."""
    if fn is None:
        return None
    if not callable(fn):
        raise TypeError(f"stop_label must be a function position -> integer array, got {type(fn).__name__}")
    try:
        out = jax.eval_shape(fn, position)
    except Exception as err:
        raise ValueError(f"stop_label cannot be evaluated on a position of shape {describe_shape(position)}: "
                         f"{type(err).__name__}: {err}") from err
    dtype = getattr(out, "dtype", None)
    if dtype is None or not (np.issubdtype(dtype, np.integer) or dtype == np.bool_):
        raise TypeError(f"stop_label must return integers or bools (a discrete label), got {dtype}")
    return out


def check_domain(domain):
    """A callable position -> bool, from a Frobenius ball or a function; None stays None."""
    if domain is None or callable(domain):
        return domain
    if hasattr(domain, "contains") and getattr(domain, "kind", None) == "frobenius":
        return domain.contains
    raise TypeError("domain must be a Frobenius ball or a function position -> bool, "
                    f"got {type(domain).__name__}")


def describe_domain(domain):
    """The domain as plain data for a result's config."""
    if domain is None:
        return None
    return domain.describe() if hasattr(domain, "describe") else getattr(domain, "__name__", repr(domain))

"""Gaussian and uniform draws that use every bit of the threefry hash.

With JAX's default (partitionable) threefry, ``jax.random.normal(key, (d,))``
hashes one 2x32-bit block per 32-bit value and keeps half of it. Here each
block gives two 32-bit words (``jax.extend.random.threefry_2x32`` over the
counters 0..n-1, as Random123 intends), so a step of a d-dimensional walk
costs ceil(d/2) blocks instead of d; on a 2-core CPU the hash is most of a
step's cost. Words become uniforms as JAX does it (23 mantissa bits, or 52
from two words in float64) and normals as sqrt(2) * erfinv(u), u in (-1, 1).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.extend.random import threefry_2x32


def _words(key, n: int) -> jax.Array:
    """n pseudo-random uint32 words from ceil(n/2) threefry blocks of ``key``."""
    count = jnp.arange(n + (n % 2), dtype=jnp.uint32)
    return threefry_2x32(jax.random.key_data(key), count)[:n]


def _unit(words, dtype) -> jax.Array:
    """Uniforms in [0, 1) from words: one word per value (float32) or two (float64)."""
    if jnp.dtype(dtype) == jnp.float64:
        hi, lo = words[0::2].astype(jnp.uint64), words[1::2].astype(jnp.uint64)
        bits = ((hi << 32) | lo) >> 12 | jnp.uint64(0x3FF0000000000000)
        return lax.bitcast_convert_type(bits, jnp.float64) - 1.0
    bits = (words >> 9) | jnp.uint32(0x3F800000)
    return lax.bitcast_convert_type(bits, jnp.float32) - 1.0


def _per_value(dtype) -> int:
    return 2 if jnp.dtype(dtype) == jnp.float64 else 1


def _normal_from_unit(u, dtype):
    low = jnp.nextafter(jnp.asarray(-1.0, dtype), jnp.asarray(0.0, dtype))
    return math.sqrt(2) * lax.erf_inv(low + (1 - low) * u)


def normal(key, shape, dtype=jnp.float32) -> jax.Array:
    """Standard normal array of ``shape``."""
    n = math.prod(shape)
    u = _unit(_words(key, n * _per_value(dtype)), dtype)
    return _normal_from_unit(u, dtype).reshape(shape)


def normal_and_uniform(key, shape, dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
    """A standard normal array of ``shape`` and one independent uniform in [0, 1), from one key."""
    n = math.prod(shape)
    u = _unit(_words(key, (n + 1) * _per_value(dtype)), dtype)
    return _normal_from_unit(u[:n], dtype).reshape(shape), u[n]


def _split_like(flat, tree):
    """The entries of ``flat`` laid out as the leaves of ``tree`` (in ``jax.tree.leaves`` order)."""
    leaves, treedef = jax.tree.flatten(tree)
    out, start = [], 0
    for leaf in leaves:
        out.append(flat[start:start + leaf.size].reshape(leaf.shape))
        start += leaf.size
    return jax.tree.unflatten(treedef, out)


def normal_like(key, tree):
    """Standard normals shaped like ``tree`` (an array or a pytree of arrays of one dtype); for an
    array, exactly ``normal(key, tree.shape, tree.dtype)``."""
    leaves = jax.tree.leaves(tree)
    n = sum(leaf.size for leaf in leaves)
    return _split_like(normal(key, (n,), leaves[0].dtype), tree)


def normal_and_uniform_like(key, tree):
    """``normal_like`` and one independent uniform in [0, 1), from one key (as ``normal_and_uniform``)."""
    leaves = jax.tree.leaves(tree)
    n = sum(leaf.size for leaf in leaves)
    xi, u = normal_and_uniform(key, (n,), leaves[0].dtype)
    return _split_like(xi, tree), u

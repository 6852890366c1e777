"""Random walks on matrix groups.

* ``group_walk(G, scale)``: g <- g . exp(scale * Z), Z = sum_i xi_i B_i a
  standard Gaussian in the Lie algebra (orthonormal basis B). Right
  multiplication by a symmetric (Z ~ -Z) step distribution makes it reversible
  with respect to left Haar measure on a unimodular group, which it leaves
  invariant; on Aff(n) it is not Haar-invariant.
* ``entry_walk(group, scale)``: g <- g + scale * Z with Z a standard
  Gaussian in the free matrix entries (for Aff(n): the top n rows). It leaves
  Lebesgue measure on the entries invariant, NOT Haar measure, and can cross
  det = 0; it is offered as the contrast the paper's volume argument ignores.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..groups.lie import MatrixGroup
from . import noise
from ..validate import positive
from .base import Kernel


class GroupWalkState(NamedTuple):
    position: jax.Array


def group_walk(group: MatrixGroup, scale: float) -> Kernel:
    """Left-invariant walk g <- g exp(scale Z), Z standard Gaussian in the Lie algebra."""
    if not isinstance(group, MatrixGroup):
        raise TypeError(f"group must be a sim.groups group, got {type(group).__name__}")
    scale = positive("scale", scale)
    basis = np.asarray(group.basis)

    def init(position):
        return GroupWalkState(position)

    def step(key, state):
        g = state.position
        xi = noise.normal(key, (group.dim,), g.dtype)
        Z = jnp.tensordot(xi, jnp.asarray(basis, g.dtype), 1)
        return GroupWalkState(g @ group.exp(scale * Z))

    # noise_variance=None: increments are not Gaussian in entry coordinates, so no bridge.
    return Kernel(init, step, "group_walk", {"group": group.name, "scale": scale}, None)


def entry_walk(group: MatrixGroup | None = None, scale: float | None = None) -> Kernel:
    """Additive walk in matrix entries (Lebesgue-invariant, not Haar-invariant).

    ``group`` only decides the free entries (Aff(n): the top n rows; None: all).
    The old order ``entry_walk(scale, group=None)`` still works, with a DeprecationWarning.
    """
    if group is not None and not isinstance(group, MatrixGroup):
        warnings.warn("entry_walk(scale, group) is now entry_walk(group, scale), like group_walk",
                      DeprecationWarning, stacklevel=2)
        group, scale = scale, group
    if group is not None and not isinstance(group, MatrixGroup):
        raise TypeError(f"group must be a sim.groups group or None, got {type(group).__name__}")
    scale = positive("scale", scale)
    n_free_rows = group.n if group is not None and group.kind == "Aff" else None

    def init(position):
        return GroupWalkState(position)

    def step(key, state):
        g = state.position
        z = noise.normal(key, g.shape, g.dtype)
        if n_free_rows is not None:
            z = z.at[n_free_rows:].set(0.0)
        return GroupWalkState(g + scale * z)

    params = {"scale": scale, "group": None if group is None else group.name}
    return Kernel(init, step, "entry_walk", params, scale**2)


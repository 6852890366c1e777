"""Langevin dynamics on a matrix group, targeting exp(-V/T) dHaar.

In Lie form (left-trivialised gradient, orthonormal algebra basis B_i):

    G(g) = sum_i <g^T grad V(g), B_i>_F B_i        (d/dt V(g exp(tX)) = <G, X>)
    g <- g exp(-h G(g) + sqrt(2 T h) Z),            Z standard Gaussian in the algebra

* ``group_langevin``: the step above (Euler in exponential coordinates); its
  stationary law is exp(-V/T) dHaar up to O(h). On a unimodular group the
  left-invariant Laplacian is sum_i B_i^2, so no extra drift is needed. Aff(n)
  is not unimodular and is refused.
* ``group_mala``: the same proposal, g' = g exp(Y), Y = -h G(g) + sqrt(2Th) Z,
  accepted with probability min(1, exp(-(V(g') - V(g))/T) N(Z') / N(Z)),
  where Z' = (-Y + h G(g')) / sqrt(2Th) is the noise of the reverse move
  g = g' exp(-Y). The exponential-coordinate Jacobians of Y and -Y cancel on a
  unimodular group (det phi(-ad Y) = e^(tr ad Y) det phi(ad Y)), so the chain
  leaves exp(-V/T) dHaar exactly invariant while exp is injective on the steps taken.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..groups.lie import MatrixGroup
from . import noise
from .base import Kernel
from .langevin import langevin_params
from .group_walk import GroupWalkState


class GroupMALAState(NamedTuple):
    position: jax.Array
    potential: jax.Array
    lie_gradient: jax.Array   # coordinates of G(position)
    n_accepted: jax.Array


def _checked_group(group) -> MatrixGroup:
    if not isinstance(group, MatrixGroup):
        raise TypeError(f"group must be a sim.groups group, got {type(group).__name__}")
    if not group.unimodular:
        raise ValueError(f"group: {group.name} is not unimodular; group Langevin needs a modular "
                         "drift correction that stabsim does not implement")
    return group


def _lie_value_and_grad(group, potential):
    """g -> (V(g), coordinates of G(g) = proj_algebra(g^T grad V(g)))."""
    value_and_grad = jax.value_and_grad(potential)

    def fn(g):
        v, grad = value_and_grad(g)
        return v, group.coordinates(g.T @ grad)
    return fn


class _Setup(NamedTuple):
    group: MatrixGroup
    params: object          # base.LangevinParams
    lie_grad: object        # g -> (V(g), G(g) coordinates)
    basis: np.ndarray

    def describe(self) -> dict:
        return {"group": self.group.name, **self.params.as_dict()}


def _setup(group, potential, step_size, temperature) -> _Setup:
    """Checked group and parameters shared by both kernels (errors name the argument)."""
    group = _checked_group(group)
    p = langevin_params(potential, step_size, temperature)
    return _Setup(group, p, _lie_value_and_grad(group, p.potential), np.asarray(group.basis))


def group_langevin(group: MatrixGroup, potential, step_size: float, temperature: float = 1.0) -> Kernel:
    """Unadjusted Langevin on the group: g <- g exp(-h G(g) + sqrt(2Th) Z)."""
    s = _setup(group, potential, step_size, temperature)
    group, p, lie_grad, basis = s

    def init(position):
        return GroupWalkState(position)

    def step(key, state):
        g = state.position
        B = jnp.asarray(basis, g.dtype)
        _, grad = lie_grad(g)
        z = noise.normal(key, (group.dim,), g.dtype)
        Y = jnp.tensordot(-p.step_size * grad + p.noise_scale * z, B, 1)
        return GroupWalkState(g @ group.exp(Y))

    return Kernel(init, step, "group_langevin", s.describe(), None, s.params.potential)


def group_mala(group: MatrixGroup, potential, step_size: float, temperature: float = 1.0) -> Kernel:
    """Metropolis-adjusted group Langevin: exact for exp(-V/T) dHaar (see module doc)."""
    s = _setup(group, potential, step_size, temperature)
    group, p, lie_grad, basis = s

    def init(position):
        v, grad = lie_grad(position)
        return GroupMALAState(position, v, grad, jnp.zeros((), jnp.int32))

    def step(key, state):
        g = state.position
        B = jnp.asarray(basis, g.dtype)
        z, u = noise.normal_and_uniform(key, (group.dim,), g.dtype)
        y = -p.step_size * state.lie_gradient + p.noise_scale * z          # algebra coordinates
        proposal = g @ group.exp(jnp.tensordot(y, B, 1))
        v_new, grad_new = lie_grad(proposal)
        z_back = (-y + p.step_size * grad_new) / p.noise_scale
        log_ratio = (state.potential - v_new) / p.temperature + (jnp.sum(z * z) - jnp.sum(z_back * z_back)) / 2
        accept = jnp.log(u) < log_ratio
        keep = lambda new, old: jnp.where(accept, new, old)  # noqa: E731
        return GroupMALAState(keep(proposal, g), keep(v_new, state.potential),
                              keep(grad_new, state.lie_gradient), state.n_accepted + accept.astype(jnp.int32))

    return Kernel(init, step, "group_mala", s.describe(), None, s.params.potential)

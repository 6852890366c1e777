"""Balls in a matrix group (Haar-uniform sampling inside them: ``sampling``).

Both kinds are left translates of a neighbourhood of the identity, so every
centre gives the same (left) Haar volume:

* Frobenius ball  {g : ||g0^-1 g - I||_F <= r},  r < 1;
* log ball        g0 . exp{X in the Lie algebra : ||X||_F <= r}.

Sampling draws proposals h near I with a known density and weights them by
the left Haar density there (importance sampling); ``sample`` turns the
weights into exact Haar-uniform draws by rejection.

* GL(n), Aff(n), Frobenius ball: h = I + X, X uniform in the ball of the
  free entries; weight = Haar density of h in entry coordinates.
* exponential coordinates (log balls, and Frobenius balls of SL, SO, O):
  h = exp(X), X uniform in an algebra ball; weight = |det phi(ad_X)| with
  phi(z) = (1 - e^(-z))/z, the left Haar density in exponential coordinates
  (for gl(n): prod_{i<j} [sinh(d_ij/2)/(d_ij/2)]^2 over eigenvalue
  differences d_ij). A Frobenius ball of radius r lies inside the log ball of
  radius -log(1 - r), since ||log(I + Y)|| <= -log(1 - ||Y||).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from . import sampling
from .lie import MatrixGroup


@dataclass(frozen=True, eq=False)
class Ball:
    group: MatrixGroup
    radius: float
    center: np.ndarray = field(repr=False)
    kind: str                      # "frobenius" or "log"

    def contains(self, g):
        """Membership of one matrix g (JAX, usable inside kernels). Frobenius balls only."""
        if self.kind != "frobenius":
            raise ValueError("contains() is implemented for Frobenius balls only")
        inverse = jnp.asarray(np.linalg.inv(self.center), g.dtype)
        return jnp.linalg.norm(inverse @ g - jnp.eye(self.group.size, dtype=g.dtype)) <= self.radius

    def describe(self) -> dict:
        return {"kind": self.kind, "radius": self.radius, "group": self.group.name,
                "center": self.center.tolist()}

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n Haar-uniform elements of the ball (``sampling.sample``)."""
        return sampling.sample(self, n, seed)


def _ball(group, radius, center, kind, max_radius=math.inf) -> Ball:
    if not isinstance(group, MatrixGroup):
        raise TypeError(f"group must be a sim.groups group, got {type(group).__name__}")
    radius = float(radius)
    if not 0 < radius < max_radius:
        raise ValueError(f"radius must be in (0, {max_radius}), got {radius}")
    center = np.eye(group.size) if center is None else np.asarray(center, dtype=float)
    if center.shape != (group.size, group.size) or not group.contains(center, tol=1e-4):
        raise ValueError(f"center must be an element of {group.name} of shape "
                         f"{(group.size, group.size)}")
    return Ball(group, radius, center, kind)


def frobenius_ball(group: MatrixGroup, radius: float, center=None) -> Ball:
    """{g : ||center^-1 g - I||_F <= radius}, radius < 1 (identity centre by default)."""
    return _ball(group, radius, center, "frobenius", max_radius=1.0)


def log_ball(group: MatrixGroup, radius: float, center=None) -> Ball:
    """center . exp{X : ||X||_F <= radius} (identity centre by default)."""
    return _ball(group, radius, center, "log")

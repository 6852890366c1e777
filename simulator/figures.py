"""Figures in R^n and their residuals r_f(g) = distance(g . f, f) >= 0.

A residual is zero exactly on the stabilizer S_f = {g : g . f = f}. All are
sup-type (Hausdorff-like) distances; mean-squared (Chamfer) distances would be
degenerate for thin sets and one-sided distances have the wrong zero set.

Closed forms for the linear action of g (n x n):
* segment [-v, v]: the exact Hausdorff distance of g[-v, v] and [-v, v],
  max(d(g v, [-v, v]), d(v, g[-v, v])) (distance to a convex set is convex
  along a segment, so endpoints suffice; the action is odd, so +v suffices).
* line R v, restricted to the unit disc: sin of the angle between v and g v,
  |v x g v| / |g v|, the Hausdorff distance of the two diameters.
* circle S^1: max_i |sigma_i(g) - 1|, the Hausdorff distance of g S^1 and S^1.
* ellipse A S^1: max_i |sigma_i(A^-1 g A) - 1|: the circle residual in the
  frame where the ellipse is a circle. It is not the Hausdorff distance d_H but
  d_H / ||A|| <= r <= ||A^-1|| d_H.
* sphere S^2: max_i |sigma_i(g) - 1|.
Every other figure (and every figure under an affine action) uses the
symmetric Hausdorff distance between dense point clouds on g . f and f,
sampled so that the figure's own symmetries map the cloud onto itself.

For the stabilizer's Lie algebra (``simulator.stabilizers``) a figure also
lists tangency constraints (points x with the normal nu there: nu . X x = 0)
and points every stabilizer element fixes (endpoints, vertices: X x = 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True, eq=False)
class Figure:
    name: str
    n: int                                  # ambient dimension
    points: np.ndarray = field(repr=False)  # (m, n) point cloud on the figure
    linear_residual: Callable | None = field(default=None, repr=False)  # closed form, linear g
    tangents: tuple = field(default=(), repr=False)   # (points (k, n), normals (k, n))
    fixed: np.ndarray | None = field(default=None, repr=False)        # (j, n) fixed points

    def residual_for(self, group=None) -> Callable:
        """The residual g -> d(g . f, f) for elements of ``group`` (linear GL-type by default)."""
        affine = group is not None and group.kind == "Aff"
        if group is not None and group.n != self.n:
            raise ValueError(f"figure {self.name!r} lives in R^{self.n}, {group.name} acts on R^{group.n}")
        if self.linear_residual is not None and not affine:
            return self.linear_residual
        cloud = jnp.asarray(self.points)

        def residual(g):
            moved = cloud @ g[: self.n, : self.n].T
            if affine:
                moved = moved + g[: self.n, self.n]
            return hausdorff(moved, cloud.astype(moved.dtype))
        return residual


def hausdorff(a, b):
    """Symmetric Hausdorff distance of two point clouds (m, n) and (k, n)."""
    d = jnp.sqrt(jnp.maximum(jnp.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1), 0.0))
    return jnp.maximum(jnp.max(jnp.min(d, axis=1)), jnp.max(jnp.min(d, axis=0)))


def _point_to_segment(p, a, b):
    ab = b - a
    t = jnp.clip(jnp.dot(p - a, ab) / jnp.dot(ab, ab), 0.0, 1.0)
    return jnp.linalg.norm(p - a - t * ab)


def singular_values_2x2(g):
    """(sigma_max, sigma_min) from ||g||_F^2 = s1^2 + s2^2 and |det g| = s1 s2."""
    s = jnp.sum(g * g)
    d = jnp.abs(g[0, 0] * g[1, 1] - g[0, 1] * g[1, 0])
    plus, minus = jnp.sqrt(s + 2 * d), jnp.sqrt(jnp.maximum(s - 2 * d, 0.0))
    return (plus + minus) / 2, (plus - minus) / 2


def _sigma_residual(g):
    if g.shape[-1] == 2:
        s1, s2 = singular_values_2x2(g)
        return jnp.maximum(jnp.abs(s1 - 1), jnp.abs(s2 - 1))
    return jnp.max(jnp.abs(jnp.linalg.svd(g, compute_uv=False) - 1))


def _polyline(vertices, per_edge, closed):
    v = np.asarray(vertices, dtype=float)
    ends = np.roll(v, -1, axis=0) if closed else v[1:]
    starts = v if closed else v[:-1]
    t = np.arange(per_edge) / per_edge
    pts = [s + t[:, None] * (e - s) for s, e in zip(starts, ends)]
    if not closed:
        pts.append(v[-1:])
    return np.concatenate(pts)


def _perp(v):
    return np.array([-v[1], v[0]])


def segment(v=(1.0, 0.0), n_points: int = 65) -> Figure:
    """The segment [-v, v] through the origin."""
    v = np.asarray(v, dtype=float)
    vj = jnp.asarray(v)

    def residual(g):
        gv = g @ vj.astype(g.dtype)
        return jnp.maximum(_point_to_segment(gv, -vj, vj), _point_to_segment(vj, -gv, gv))

    t = np.linspace(-1, 1, n_points)[:, None]
    return Figure("segment", 2, t * v, residual, tangents=(v[None], _perp(v)[None]), fixed=np.stack([v, -v]))


def line(v=(1.0, 0.0), n_points: int = 65) -> Figure:
    """The line R v (residual measured inside the unit disc)."""
    v = np.asarray(v, dtype=float) / np.linalg.norm(v)
    vj = jnp.asarray(v)

    def residual(g):
        gv = g @ vj.astype(g.dtype)
        return jnp.abs(vj[0] * gv[1] - vj[1] * gv[0]) / jnp.linalg.norm(gv)

    t = np.linspace(-1, 1, n_points)[:, None]
    ts = np.array([[-1.0], [0.0], [1.0]])
    return Figure("line", 2, t * v, residual, tangents=(ts * v, np.tile(_perp(v), (3, 1))))


def ellipse(a: float = 2.0, b: float = 1.0, n_points: int = 256) -> Figure:
    """The ellipse A S^1, A = diag(a, b); a = b = 1 is the circle."""
    A = np.diag([float(a), float(b)])
    theta = 2 * np.pi * np.arange(n_points) / n_points
    unit = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    if a == b == 1.0:
        sub = unit[:: n_points // 8]
        return Figure("circle", 2, unit, _sigma_residual, tangents=(sub, sub))
    Aj, Ainv = jnp.asarray(A), jnp.asarray(np.linalg.inv(A))

    def residual(g):
        return _sigma_residual(Ainv.astype(g.dtype) @ g @ Aj.astype(g.dtype))

    sub = unit[:: n_points // 8]
    return Figure(f"ellipse({a:g},{b:g})", 2, unit @ A.T, residual,
                  tangents=(sub @ A.T, sub @ np.linalg.inv(A)))


def circle(n_points: int = 256) -> Figure:
    """The unit circle S^1."""
    return ellipse(1.0, 1.0, n_points)


def rectangle(a: float = 2.0, b: float = 1.0, per_edge: int = 32) -> Figure:
    """Outline of [-a/2, a/2] x [-b/2, b/2]; a = b gives the square."""
    v = np.array([[a, b], [-a, b], [-a, -b], [a, -b]]) / 2
    name = "square" if a == b else f"rectangle({a:g},{b:g})"
    return Figure(name, 2, _polyline(v, per_edge, closed=True), fixed=v)


def square(side: float = 2.0, per_edge: int = 32) -> Figure:
    """Outline of the square [-side/2, side/2]^2."""
    return rectangle(side, side, per_edge)


def l_shape(a: float = 1.0, b: float = 1.0, per_edge: int = 32) -> Figure:
    """Two segments meeting at a right angle: (a, 0) - (0, 0) - (0, b)."""
    v = np.array([[a, 0.0], [0.0, 0.0], [0.0, b]])
    return Figure("L-shape", 2, _polyline(v, per_edge, closed=False), fixed=v)


def cross(per_arm: int = 16) -> Figure:
    """Two crossing segments [-e1, e1] and [-e2, e2]."""
    t = np.linspace(-1, 1, 2 * per_arm + 1)[:, None]
    pts = np.concatenate([t * [1.0, 0.0], t * [0.0, 1.0]])
    ends = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    return Figure("cross", 2, pts, fixed=ends)


def points(xy) -> Figure:
    """A finite set of points (each one fixed by the identity component)."""
    xy = np.asarray(xy, dtype=float)
    if xy.ndim != 2 or xy.shape[0] == 0:
        raise ValueError(f"xy must be a non-empty (m, n) array, got shape {xy.shape}")
    return Figure(f"points({len(xy)})", xy.shape[1], xy, fixed=xy)


def sphere(n_points: int = 400) -> Figure:
    """The unit sphere S^2 in R^3 (Fibonacci point cloud for drawing)."""
    i = np.arange(n_points) + 0.5
    phi, theta = np.arccos(1 - 2 * i / n_points), np.pi * (1 + 5**0.5) * i
    pts = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], axis=1)
    return Figure("sphere", 3, pts, _sigma_residual, tangents=(pts[:24], pts[:24]))


def cube(per_edge: int = 8) -> Figure:
    """The edges of the cube [-1, 1]^3."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
    t = np.arange(per_edge)[:, None] / per_edge
    edges = [a + t * (b - a) for a in corners for b in corners
             if np.sum(np.abs(a - b)) == 2 and tuple(a) < tuple(b)]
    return Figure("cube", 3, np.concatenate(edges + [corners]), fixed=corners)

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
* polygonal figures (square, rectangle, L-shape, cross, cube edges), under
  any action: max over sample points x of the figure (vertices included) of
  max(d(g x, f), d(x, g f)), with exact point-to-edge distances. This is the
  Hausdorff distance with its sup taken over the samples; it is exact to first
  order near the stabilizer (there the distance is |affine| along each edge and
  peaks at a vertex) and never exceeds the true d_H.
Finite point sets (and the closed-form figures under an affine action) use
the symmetric Hausdorff distance between point clouds on g . f and f,
sampled so that the figure's own symmetries map the cloud onto itself.

For the stabilizer's Lie algebra (``simulator.stabilizers.algebra``) a figure also
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
    edges: np.ndarray | None = field(default=None, repr=False)        # (E, 2, n) for polylines
    symmetries: np.ndarray | None = field(default=None, repr=False)   # (s, n, n) known elements of a finite S_f

    def residual_for(self, group=None) -> Callable:
        """The residual g -> d(g . f, f) for elements of ``group`` (linear GL-type by default)."""
        affine = group is not None and group.kind == "Aff"
        if group is not None and group.n != self.n:
            raise ValueError(f"figure {self.name!r} lives in R^{self.n}, {group.name} acts on R^{group.n}")
        if self.linear_residual is not None and not affine:
            return self.linear_residual
        cloud = jnp.asarray(self.points)
        if self.edges is not None:
            edges = jnp.asarray(self.edges)

            def polyline_residual(g):
                act = (lambda x: x @ g[: self.n, : self.n].T + g[: self.n, self.n]) if affine else \
                      (lambda x: x @ g.T)
                c, e = cloud.astype(g.dtype), edges.astype(g.dtype)
                return jnp.maximum(distance_to_edges(act(c), e), distance_to_edges(c, act(e)))
            return polyline_residual

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


def distance_to_edges(points, edges):
    """max over points (m, n) of the distance to the union of segments edges (E, 2, n)."""
    a, b = edges[:, 0], edges[:, 1]
    ab = b - a
    p = points[:, None, :]
    t = jnp.clip(jnp.sum((p - a) * ab, -1) / jnp.sum(ab * ab, -1), 0.0, 1.0)
    d = jnp.sum((p - a - t[..., None] * ab) ** 2, -1)
    return jnp.sqrt(jnp.max(jnp.min(d, axis=1)))


def _point_to_segment(p, a, b):
    ab = b - a
    t = jnp.clip(jnp.dot(p - a, ab) / jnp.dot(ab, ab), 0.0, 1.0)
    return jnp.linalg.norm(p - a - t * ab)


def singular_values_2x2(g):
    """(sigma_max, sigma_min) of [[a, b], [c, d]] without cancellation: sigma_1 +- sigma_2 are
    hypot(a + d, b - c) and hypot(a - d, b + c) (the larger is the sum)."""
    a, b, c, d = g[0, 0], g[0, 1], g[1, 0], g[1, 1]
    p, q = jnp.hypot(a + d, b - c), jnp.hypot(a - d, b + c)
    plus, minus = jnp.maximum(p, q), jnp.minimum(p, q)
    return (plus + minus) / 2, (plus - minus) / 2


def _sigma_residual(g):
    if g.shape[-1] == 2:
        s1, s2 = singular_values_2x2(g)
        return jnp.maximum(jnp.abs(s1 - 1), jnp.abs(s2 - 1))
    return jnp.max(jnp.abs(jnp.linalg.svd(g, compute_uv=False) - 1))


def _polyline(vertices, per_edge, closed):
    """(points, edges) of the polyline through the vertices; points include every vertex."""
    v = np.asarray(vertices, dtype=float)
    ends = np.roll(v, -1, axis=0) if closed else v[1:]
    starts = v if closed else v[:-1]
    t = np.arange(per_edge) / per_edge
    pts = [s + t[:, None] * (e - s) for s, e in zip(starts, ends)]
    if not closed:
        pts.append(v[-1:])
    return np.concatenate(pts), np.stack([starts, ends], axis=1)


def _dihedral(m: int, reflect: bool = True) -> np.ndarray:
    """The rotations by 2 pi j / m (and the reflections across the x axis composed with them)."""
    out = []
    for j in range(m):
        c, s = np.cos(2 * np.pi * j / m), np.sin(2 * np.pi * j / m)
        rot = np.array([[c, -s], [s, c]])
        out.append(rot)
        if reflect:
            out.append(rot @ np.diag([1.0, -1.0]))
    return np.round(np.array(out), 12)


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


def rectangle(a: float = 2.0, b: float = 1.0, per_edge: int = 8) -> Figure:
    """Outline of [-a/2, a/2] x [-b/2, b/2]; a = b gives the square."""
    v = np.array([[a, b], [-a, b], [-a, -b], [a, -b]]) / 2
    name = "square" if a == b else f"rectangle({a:g},{b:g})"
    sym = _dihedral(4) if a == b else np.array([np.diag([sx, sy]) for sx in (1., -1.) for sy in (1., -1.)])
    pts, edges = _polyline(v, per_edge, closed=True)
    return Figure(name, 2, pts, fixed=v, edges=edges, symmetries=sym)


def square(side: float = 2.0, per_edge: int = 8) -> Figure:
    """Outline of the square [-side/2, side/2]^2."""
    return rectangle(side, side, per_edge)


def l_shape(a: float = 1.0, b: float = 1.0, per_edge: int = 8) -> Figure:
    """Two segments meeting at a right angle: (a, 0) - (0, 0) - (0, b)."""
    v = np.array([[a, 0.0], [0.0, 0.0], [0.0, b]])
    pts, edges = _polyline(v, per_edge, closed=False)
    sym = np.array([np.eye(2), [[0.0, 1.0], [1.0, 0.0]]]) if a == b else np.eye(2)[None]
    return Figure("L-shape", 2, pts, fixed=v, edges=edges, symmetries=sym)


def cross(per_arm: int = 16) -> Figure:
    """Two crossing segments [-e1, e1] and [-e2, e2]."""
    t = np.linspace(-1, 1, 2 * per_arm + 1)[:, None]
    pts = np.concatenate([t * [1.0, 0.0], t * [0.0, 1.0]])
    ends = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    edges = np.array([[[-1.0, 0], [1, 0]], [[0, -1.0], [0, 1]]])
    return Figure("cross", 2, pts, fixed=ends, edges=edges, symmetries=_dihedral(4))


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
    pairs = [(a, b) for a in corners for b in corners if np.sum(np.abs(a - b)) == 2 and tuple(a) < tuple(b)]
    pts = np.concatenate([a + t * (b - a) for a, b in pairs] + [corners])
    return Figure("cube", 3, pts, fixed=corners, edges=np.array([[a, b] for a, b in pairs]))

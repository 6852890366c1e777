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
* k-dimensional subspace U = span(B) of R^n (B orthonormal rows), restricted to
  its unit ball: the sine of the largest principal angle between g U and U,
  ||(I - B^T B) Q||_2 with Q an orthonormal basis of g U (for a projection lands
  in the ball, so this is the exact Hausdorff distance of the two unit balls);
  the line is k = 1, |g v - (v . g v) v| / |g v|.
* k-sphere S in a (k+1)-plane P of R^n (P orthonormal columns): with
  A = P^T g P and C = (I - P P^T) g P, r = max(||C||_2, max_i |sigma_i(A) - 1|).
  It vanishes exactly when g P = P and A is orthogonal, i.e. on S_f; it equals
  d_H when g keeps the plane and r <= d_H <= 2 r + O(r^2) otherwise (tested).
* ellipsoid A S^(n-1): the sphere residual of A^-1 g A (as the ellipse).
* unions of subspaces: max(max_i min_j s_ij, max_j min_i s_ij), s_ij the
  Hausdorff distance of the unit balls of g U_i and U_j: an upper bound of
  d_H of the unions that vanishes exactly on the stabilizer.
* polygonal figures (square, rectangle, L-shape, cross, cube edges, polygons
  and simplices in R^n, unions of these), under
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

import math
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
    subspace: np.ndarray | None = field(default=None, repr=False)     # (k, n) orthonormal basis (subspaces)

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


def _vector(name: str, v) -> np.ndarray:
    """A nonzero finite vector of R^n, n >= 2, or a ValueError naming the argument."""
    try:
        v = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a vector of numbers, got {v!r}") from None
    if v.ndim != 1 or v.size < 2 or not np.all(np.isfinite(v)) or not np.any(v):
        raise ValueError(f"{name} must be a finite nonzero vector of length >= 2, got {v.tolist()!r}")
    return v


def _frame(name: str, rows, n: int | None = None) -> np.ndarray:
    """Orthonormal rows (k, n) spanning the rows of ``rows`` (independent, finite, k < n unless n given)."""
    try:
        m = np.atleast_2d(np.asarray(rows, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (k, n) array of numbers, got {rows!r}") from None
    if m.ndim != 2 or m.shape[1] < 2 or not np.all(np.isfinite(m)):
        raise ValueError(f"{name} must be a finite (k, n) array with n >= 2, got shape {m.shape}")
    if n is not None and m.shape[1] != n:
        raise ValueError(f"{name} must have rows of length n = {n}, got shape {m.shape}")
    q, r = np.linalg.qr(m.T)
    if m.shape[0] > m.shape[1] or np.min(np.abs(np.diag(r))) < 1e-9 * max(1.0, np.abs(r).max()):
        raise ValueError(f"{name} must have linearly independent rows, got {m.tolist()!r}")
    return q.T


def _complement(frame: np.ndarray) -> np.ndarray:
    """Orthonormal rows spanning the orthogonal complement of the rows of ``frame``."""
    n = frame.shape[1]
    u, _, _ = np.linalg.svd(np.eye(n) - frame.T @ frame)
    return u[:, : n - frame.shape[0]].T


def _positive(name: str, x) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not x > 0 \
            or not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number > 0, got {x!r}")
    return float(x)


def segment(v=(1.0, 0.0), n_points: int = 65) -> Figure:
    """The segment [-v, v] through the origin of R^n, n = len(v)."""
    v = _vector("v", v)
    vj = jnp.asarray(v)

    def residual(g):
        gv = g @ vj.astype(g.dtype)
        return jnp.maximum(_point_to_segment(gv, -vj, vj), _point_to_segment(vj, -gv, gv))

    t = np.linspace(-1, 1, n_points)[:, None]
    normals = _perp(v)[None] if v.size == 2 else _complement(v[None] / np.linalg.norm(v))
    return Figure("segment", v.size, t * v, residual, tangents=(np.tile(v, (len(normals), 1)), normals),
                  fixed=np.stack([v, -v]))


def line(v=(1.0, 0.0), n_points: int = 65) -> Figure:
    """The line R v of R^n (residual measured inside the unit ball)."""
    v = _vector("v", v)
    if v.size > 2:
        return subspace(v[None], n_points, name="line")
    v = v / np.linalg.norm(v)
    vj = jnp.asarray(v)

    def residual(g):
        gv = g @ vj.astype(g.dtype)
        return jnp.abs(vj[0] * gv[1] - vj[1] * gv[0]) / jnp.linalg.norm(gv)

    t = np.linspace(-1, 1, n_points)[:, None]
    ts = np.array([[-1.0], [0.0], [1.0]])
    return Figure("line", 2, t * v, residual, tangents=(ts * v, np.tile(_perp(v), (3, 1))), subspace=v[None])


def _subspace_distance(q, b):
    """Hausdorff distance of the unit balls of span(q) and span(b) (orthonormal columns / rows)."""
    out = q - b.T @ (b @ q)                                   # g U's frame off U
    back = b.T - q @ (q.T @ b.T)                              # U's frame off g U
    return jnp.maximum(jnp.linalg.norm(out, 2), jnp.linalg.norm(back, 2))


def subspace(basis, n_points: int = 33, name: str | None = None) -> Figure:
    """The k-dimensional subspace spanned by the rows of ``basis`` (k, n), 1 <= k < n, in its unit ball."""
    b = _frame("basis", basis)
    k, n = b.shape
    if k >= n:
        raise ValueError(f"basis must span a proper subspace (k < n), got k = {k} rows in R^{n}")
    bj = jnp.asarray(b)

    def residual(g):
        q, _ = jnp.linalg.qr(g @ bj.T.astype(g.dtype))
        return _subspace_distance(q, bj.astype(g.dtype))

    t = np.linspace(-1, 1, n_points)[:, None]
    cloud = np.concatenate([t * row for row in b])
    normals = _complement(b)
    pts = np.concatenate([np.zeros((1, n)), b])                # the origin gives Aff's translations
    tangents = (np.repeat(pts, len(normals), 0), np.tile(normals, (len(pts), 1)))
    return Figure(name or ("line" if k == 1 else f"subspace({k} in R^{n})"), n, cloud, residual,
                  tangents=tangents, subspace=b)


def ellipsoid(axes, n_points: int = 256) -> Figure:
    """The ellipsoid A S^(n-1), A = diag(axes); all axes 1 is the sphere."""
    axes = _vector("axes", axes)
    if np.any(axes <= 0):
        raise ValueError(f"axes must be > 0, got {axes.tolist()!r}")
    n = axes.size
    A = np.diag(axes)
    unit = _sphere_points(n - 1, n_points, np.eye(n))
    Aj, Ainv = jnp.asarray(A), jnp.asarray(np.linalg.inv(A))

    def residual(g):
        return _sigma_residual(Ainv.astype(g.dtype) @ g @ Aj.astype(g.dtype))

    sub = unit[:: max(1, n_points // (8 * (n - 1)))]
    name = f"ellipse({axes[0]:g},{axes[1]:g})" if n == 2 else "ellipsoid(" + ",".join(f"{a:g}" for a in axes) + ")"
    return Figure(name, n, unit @ A.T, residual, tangents=(sub @ A.T, sub @ np.linalg.inv(A)))


def ellipse(a: float = 2.0, b: float = 1.0, n_points: int = 256) -> Figure:
    """The ellipse A S^1, A = diag(a, b); a = b = 1 is the circle."""
    a, b = _positive("a", a), _positive("b", b)
    if a == b == 1.0:
        return sphere(k=1, n_points=n_points)
    return ellipsoid((a, b), n_points)


def circle(n_points: int = 256) -> Figure:
    """The unit circle S^1."""
    return sphere(k=1, n_points=n_points)


def _sphere_points(k: int, m: int, frame: np.ndarray) -> np.ndarray:
    """m points on the unit k-sphere of span(frame rows) (k + 1 rows): evenly spaced for k = 1,
    Fibonacci for k = 2, a seeded Gaussian cloud beyond."""
    if k == 1:
        theta = 2 * np.pi * np.arange(m) / m
        u = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    elif k == 2:
        i = np.arange(m) + 0.5
        phi, theta = np.arccos(1 - 2 * i / m), np.pi * (1 + 5**0.5) * i
        u = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], axis=1)
    else:
        u = np.random.default_rng(k).normal(size=(m, k + 1))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
    return u @ frame


def sphere(n_points: int = 400, *, k: int = 2, n: int | None = None, plane=None) -> Figure:
    """The unit k-sphere in a (k+1)-plane of R^n (``plane``: k+1 rows spanning it; default the first
    k+1 axes; n defaults to k+1). ``sphere()`` is S^2 in R^3, ``sphere(k=1, n=3)`` a circle in the
    xy-plane of R^3."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    if plane is None:
        n = k + 1 if n is None else n
        if isinstance(n, bool) or not isinstance(n, int) or n < k + 1:
            raise ValueError(f"n must be an int >= k + 1 = {k + 1}, got {n!r}")
        frame = np.eye(n)[: k + 1]
    else:
        frame = _frame("plane", plane, n)
        if frame.shape[0] != k + 1:
            raise ValueError(f"plane must have k + 1 = {k + 1} rows for a {k}-sphere, got {frame.shape[0]}")
        n = frame.shape[1]
    pts = _sphere_points(k, n_points, frame)
    sub = pts[:: max(1, n_points // 24)]
    normals = _complement(frame) if k + 1 < n else np.zeros((0, n))
    tangents = (np.concatenate([sub, np.repeat(sub, len(normals), 0)]),
                np.concatenate([sub, np.tile(normals, (len(sub), 1))]))
    name = {1: "circle", 2: "sphere"}.get(k, f"{k}-sphere")
    if k + 1 == n:
        return Figure(name, n, pts, _sigma_residual, tangents=tangents)
    P = jnp.asarray(frame.T)

    def residual(g):
        Pg = P.astype(g.dtype)
        gP = g @ Pg
        inside = Pg.T @ gP
        off = gP - Pg @ inside
        return jnp.maximum(jnp.linalg.norm(off, 2), jnp.max(jnp.abs(jnp.linalg.svd(inside, compute_uv=False) - 1)))
    return Figure(name, n, pts, residual, tangents=tangents)


def rectangle(a: float = 2.0, b: float = 1.0, per_edge: int = 8) -> Figure:
    """Outline of [-a/2, a/2] x [-b/2, b/2]; a = b gives the square."""
    a, b = _positive("a", a), _positive("b", b)
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
    a, b = _positive("a", a), _positive("b", b)
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


def cube(per_edge: int = 8) -> Figure:
    """The edges of the cube [-1, 1]^3."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
    t = np.arange(per_edge)[:, None] / per_edge
    pairs = [(a, b) for a in corners for b in corners if np.sum(np.abs(a - b)) == 2 and tuple(a) < tuple(b)]
    pts = np.concatenate([a + t * (b - a) for a, b in pairs] + [corners])
    return Figure("cube", 3, pts, fixed=corners, edges=np.array([[a, b] for a, b in pairs]))


def _vertices(name: str, vertices, minimum: int) -> np.ndarray:
    try:
        v = np.asarray(vertices, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an (m, n) array of numbers, got {vertices!r}") from None
    if v.ndim != 2 or v.shape[0] < minimum or v.shape[1] < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a finite (m, n) array with m >= {minimum} points and n >= 2, "
                         f"got shape {v.shape}")
    if len(np.unique(v, axis=0)) < len(v):
        raise ValueError(f"{name} has repeated points")
    return v


def polygon(vertices, closed: bool | None = None, per_edge: int = 8, name: str | None = None) -> Figure:
    """The polyline through ``vertices`` (m, n) in R^n, closed (a polygon) by default when m >= 3;
    two vertices give a segment [P, Q] anywhere in R^n. Every vertex is fixed by the identity component."""
    v = _vertices("vertices", vertices, 2)
    closed = len(v) >= 3 if closed is None else bool(closed)
    pts, edges = _polyline(v, per_edge, closed)
    default = "edge" if len(v) == 2 else f"polygon({len(v)})" if closed else f"polyline({len(v)})"
    return Figure(name or default, v.shape[1], pts, fixed=v, edges=edges)


def simplex(vertices, per_edge: int = 8, name: str | None = None) -> Figure:
    """The edges (1-skeleton) of the simplex on ``vertices`` (m, n): all m(m-1)/2 segments between them."""
    v = _vertices("vertices", vertices, 2)
    pairs = [(i, j) for i in range(len(v)) for j in range(i + 1, len(v))]
    t = np.arange(per_edge)[:, None] / per_edge
    pts = np.concatenate([v[i] + t * (v[j] - v[i]) for i, j in pairs] + [v])
    return Figure(name or f"simplex({len(v) - 1})", v.shape[1], pts, fixed=v,
                  edges=np.array([[v[i], v[j]] for i, j in pairs]))


def union(*members: Figure, name: str | None = None) -> Figure:
    """The union of figures in one R^n: of subspaces (lines, planes), or of polygonal figures.

    Its stabilizer's identity component keeps every member in place, so the Lie-algebra conditions
    are the members' together. Residual: see the module doc (subspaces); polygonal members use the
    edge distance of their joined edges."""
    if len(members) < 2 or not all(isinstance(m, Figure) for m in members):
        raise ValueError("union needs two or more sim.shapes figures")
    n = members[0].n
    if any(m.n != n for m in members):
        raise ValueError(f"members live in different spaces: {[m.n for m in members]}")
    label = name or " + ".join(m.name for m in members)
    tangents = ()
    if any(m.tangents for m in members):
        with_t = [m.tangents for m in members if m.tangents]
        tangents = (np.concatenate([t[0] for t in with_t]), np.concatenate([t[1] for t in with_t]))
    fixed = [m.fixed for m in members if m.fixed is not None]
    fixed = np.concatenate(fixed) if fixed else None
    points = np.concatenate([m.points for m in members])
    if all(m.subspace is not None for m in members):
        frames = [jnp.asarray(m.subspace) for m in members]

        def residual(g):
            qs = [jnp.linalg.qr(g @ b.T.astype(g.dtype))[0] for b in frames]
            s = jnp.stack([jnp.stack([_subspace_distance(q, b.astype(g.dtype)) for b in frames]) for q in qs])
            return jnp.maximum(jnp.max(jnp.min(s, axis=1)), jnp.max(jnp.min(s, axis=0)))
        return Figure(label, n, points, residual, tangents=tangents, fixed=fixed)
    if all(m.edges is not None for m in members):
        return Figure(label, n, points, tangents=tangents, fixed=fixed,
                      edges=np.concatenate([m.edges for m in members]))
    raise ValueError("union: members must all be subspaces (line, subspace) or all polygonal "
                     f"(polygon, simplex, square, ...), got {[m.name for m in members]}")

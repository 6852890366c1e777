"""The moduli space of plane segments (Paul & Venkatasubramanian 2015, section 5.2).

A point P = (a, b) of R^4 is the segment [a, b] of the plane (a, b in R^2): the edges of R^2 form R^4, and
a layer that learns figures over the previous layer's edges learns figures in R^4. A figure upstairs maps
downstairs to the union of the segments of its points. The segment [P, Q] of R^4, a "generalized edge",
sweeps {(1 - u) a(s) + u b(s) : s, u in [0, 1]}, a(s) = (1 - s) a_P + s a_Q and b(s) likewise:

* a trapezoid when [a_P, b_P] and [a_Q, b_Q] are parallel: vertices a_P, b_P, b_Q, a_Q;
* a quadrilateral a_P, b_P, b_Q, a_Q when the segments' lines all meet in one point outside them;
* a triangle when the two segments share an endpoint;
* a butterfly (two triangles meeting at one point, the waist) when every segment of the sweep passes
  through one point strictly inside them.

Otherwise the moving lines envelope a curve (a parabolic arc) and the region is not a polygon:
``sweep_kind`` says "curved" and ``outline`` refuses.
"""
from __future__ import annotations

import numpy as np

from .shapes import polygon, union

KINDS = ("trapezoid", "quadrilateral", "triangle", "butterfly", "curved")


def segments(P) -> np.ndarray:
    """Points of R^4, shape (..., 4), to plane segments (..., 2, 2): [[a_x, a_y], [b_x, b_y]]."""
    P = np.asarray(P, dtype=float)
    if P.shape[-1:] != (4,):
        raise ValueError(f"P must have a last axis of length 4 (a_x, a_y, b_x, b_y), got shape {P.shape}")
    return P.reshape(P.shape[:-1] + (2, 2))


def sweep(points, n_s: int = 41, n_u: int = 41) -> np.ndarray:
    """Dense points (m * n_s * n_u, 2) of the region swept by the polyline through ``points`` (m, 4)
    upstairs (m = 1: one segment downstairs); for drawing."""
    pts = np.atleast_2d(np.asarray(points, dtype=float))
    if len(pts) == 1:
        pts = np.concatenate([pts, pts])
    s = np.linspace(0, 1, n_s)[:, None]
    path = np.concatenate([(1 - s) * p + s * q for p, q in zip(pts[:-1], pts[1:])])   # points of R^4
    seg = segments(path)
    u = np.linspace(0, 1, n_u)[None, :, None]
    return ((1 - u) * seg[:, None, 0] + u * seg[:, None, 1]).reshape(-1, 2)


def _cross(a, b) -> float:
    return float(a[0] * b[1] - a[1] * b[0])


def _intersection(p, r, q, s):
    """(t, w) with p + t r = q + w s, or None for parallel lines."""
    d = _cross(r, s)
    if abs(d) < 1e-12:
        return None
    return _cross(q - p, s) / d, _cross(q - p, r) / d


def sweep_kind(P, Q, tol: float = 1e-9) -> str:
    """One of ``KINDS``: the shape that [P, Q] of R^4 sweeps in the plane."""
    (aP, bP), (aQ, bQ) = segments(P), segments(Q)
    if min(np.linalg.norm(aP - aQ), np.linalg.norm(bP - bQ)) < tol:
        return "triangle"
    if abs(_cross(bP - aP, bQ - aQ)) < tol:
        return "trapezoid"
    hit = _intersection(aP, bP - aP, aQ, bQ - aQ)
    if hit is not None:
        x = aP + hit[0] * (bP - aP)
        aM, bM = (aP + aQ) / 2, (bP + bQ) / 2          # concurrent: the middle segment's line meets x too
        if abs(_cross(bM - aM, x - aM)) < tol * max(1.0, np.linalg.norm(bM - aM)):
            inside = [tol < t < 1 - tol for t in hit]
            if all(inside):
                return "butterfly"
            if not any(inside):
                return "quadrilateral"
    return "curved"


def outline(P, Q) -> list[np.ndarray]:
    """The swept region of [P, Q] as polygons (vertex arrays (k, 2)): one for the trapezoid and the
    triangle, two triangles meeting at the waist for the butterfly."""
    kind = sweep_kind(P, Q)
    (aP, bP), (aQ, bQ) = segments(P), segments(Q)
    if kind == "triangle":
        apex, (p, q) = (aP, (bP, bQ)) if np.allclose(aP, aQ) else (bP, (aP, aQ))
        return [np.array([apex, p, q])]
    if kind in ("trapezoid", "quadrilateral"):
        return [np.array([aP, bP, bQ, aQ])]
    if kind == "butterfly":
        t, _ = _intersection(aP, bP - aP, aQ, bQ - aQ)
        x = aP + t * (bP - aP)
        return [np.array([aP, aQ, x]), np.array([bP, bQ, x])]
    raise ValueError("P, Q: the segments of [P, Q] envelope a curve; the swept region is not a polygon")


def vertex_count(P, Q) -> int:
    """Distinct vertices of the swept region (trapezoid 4, triangle 3, butterfly 5 with its waist)."""
    return len(np.unique(np.round(np.concatenate(outline(P, Q)), 12), axis=0))


def downstairs(P, Q):
    """The swept region's outline as a plane figure. Its vertices are fixed by the identity component of
    any linear map that keeps it, so ``stabilizer_dimension(GL(2), ...)`` measures its symmetry."""
    parts, name = outline(P, Q), f"{sweep_kind(P, Q)} downstairs"
    if len(parts) == 1:
        return polygon(parts[0], closed=True, name=name)
    return union(*(polygon(v, closed=True) for v in parts), name=name)

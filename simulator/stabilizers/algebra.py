"""Stabilizer targets and stabilizer dimensions.

``stabilizer(figure, eps)`` is the target S_f^eps = {g : r_f(g) <= eps}.

``stabilizer_dimension(group, figure)`` is the dimension of the Lie algebra
of S_f: the X in the group's algebra whose flow keeps f in place, i.e.
nu(x) . X x = 0 at points x of f with normal nu (X x tangent to f) and
X x = 0 at the points every stabilizer element fixes (endpoints, vertices).
These are linear conditions on X's coordinates; the dimension is dim G minus
the rank of the constraint matrix (SVD, relative tolerance 1e-9). By the
orbit-stabilizer relation, dim O_f = dim G - dim S_f.
"""
from __future__ import annotations

import numpy as np

from ..groups.lie import MatrixGroup
from ..targets import Target
from .shapes import Figure


def stabilizer(figure: Figure, eps: float, group: MatrixGroup | None = None) -> Target:
    """The target {g : d(g . f, f) <= eps}, named after the figure."""
    _check_figure(figure)
    if group is not None:
        _check_group(group)
    return Target(figure.name, figure.residual_for(group), eps=eps, distance=False)


def _check_figure(figure) -> None:
    if not isinstance(figure, Figure):
        raise TypeError(f"figure must be a sim.shapes figure, got {type(figure).__name__}")


def _check_group(group) -> None:
    if not isinstance(group, MatrixGroup):
        raise TypeError(f"group must be a sim.groups group, got {type(group).__name__}")


def _vector_fields(group: MatrixGroup, x: np.ndarray) -> np.ndarray:
    """(dim, m, n): B_k acting on the points x (affinely for Aff)."""
    n = group.n
    xt = np.concatenate([x, np.ones((len(x), 1))], axis=1) if group.kind == "Aff" else x
    return np.einsum("kab,mb->kma", group.basis, xt)[:, :, :n]


def constraint_matrix(group: MatrixGroup, figure: Figure) -> np.ndarray:
    """Rows: linear conditions on algebra coordinates for X to stabilize the figure."""
    _check_group(group)
    _check_figure(figure)
    if figure.n != group.n:
        raise ValueError(f"figure {figure.name!r} lives in R^{figure.n}, {group.name} acts on R^{group.n}")
    rows = []
    if figure.tangents:
        pts, normals = figure.tangents
        fields = _vector_fields(group, np.asarray(pts, float))
        rows.append(np.einsum("kma,ma->mk", fields, np.asarray(normals, float)))
    if figure.fixed is not None:
        fields = _vector_fields(group, np.asarray(figure.fixed, float))
        rows.append(fields.reshape(group.dim, -1).T)
    return np.concatenate(rows) if rows else np.zeros((0, group.dim))


def stabilizer_algebra(group: MatrixGroup, figure: Figure) -> np.ndarray:
    """Orthonormal basis (k, size, size) of the stabilizer's Lie algebra: the null space of
    the constraint matrix, mapped back from algebra coordinates."""
    m = constraint_matrix(group, figure)
    if m.size == 0:
        return np.array(group.basis)
    _, s, vt = np.linalg.svd(m)
    rank = int(np.sum(s > 1e-9 * max(1.0, s[0])))
    null = vt[rank:]                                   # (k, dim), orthonormal rows
    return np.einsum("ki,iab->kab", null, group.basis)


def stabilizer_dimension(group: MatrixGroup, figure: Figure) -> int:
    """dim of the stabilizer's Lie algebra, from the constraint matrix's null space."""
    return int(stabilizer_algebra(group, figure).shape[0])


def orbit_dimension(group: MatrixGroup, figure: Figure) -> int:
    """dim O_f = dim G - dim S_f."""
    return group.dim - stabilizer_dimension(group, figure)

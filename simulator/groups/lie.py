"""Matrix Lie groups GL(n), SL(n), SO(n), O(n) and Aff(n), with their Lie algebras.

Elements are (size, size) matrices: size = n, or n + 1 for Aff(n), whose
elements [[A, b], [0, 1]] act on R^n by x -> A x + b. Each group carries an
orthonormal basis (Frobenius inner product) of its Lie algebra, so a standard
Gaussian in the algebra is sum_i xi_i B_i.

Haar measure in entry coordinates (for the groups that are open in their
matrix space): GL(n) has density |det g|^(-n), left and right alike. Aff(n)
is not unimodular: the left Haar density in the coordinates (A, b) is
|det A|^(-(n+1)) and the right one |det A|^(-n). stabsim uses the LEFT Haar
measure throughout (balls are left translates, walks multiply on the right).
SL(n), SO(n), O(n) are submanifolds: their Haar measure is reached through
exponential coordinates (``simulator.groups.balls``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True, eq=False)
class MatrixGroup:
    """A matrix Lie group with an orthonormal basis of its Lie algebra."""

    name: str
    kind: str                 # "GL", "SL", "SO", "O", "Aff"
    n: int                    # dimension of the space it acts on
    size: int                 # matrix size
    basis: np.ndarray = field(repr=False)   # (dim, size, size), Frobenius-orthonormal
    unimodular: bool = True
    compact: bool = False

    @property
    def dim(self) -> int:
        return int(self.basis.shape[0])

    def identity(self, dtype=jnp.float32):
        return jnp.eye(self.size, dtype=dtype)

    def algebra(self, coefficients):
        """sum_i c_i B_i for coefficients of shape (..., dim)."""
        return jnp.tensordot(coefficients, jnp.asarray(self.basis, jnp.result_type(coefficients)), 1)

    def coordinates(self, X):
        """Coefficients of the orthogonal projection of X onto the algebra."""
        return jnp.tensordot(X, jnp.asarray(self.basis, X.dtype), ((-2, -1), (1, 2)))

    def exp(self, X):
        """Matrix exponential; closed form for 2x2 (the hot case), expm otherwise."""
        if X.shape[-1] == 2:
            return expm_2x2(X)
        return jax.scipy.linalg.expm(X)

    def log_haar_density(self, g, side: str = "left"):
        """log of the Haar density in entry coordinates (GL: -n log|det g|; Aff: see module doc)."""
        if self.kind == "GL":
            return -self.n * jnp.log(jnp.abs(jnp.linalg.det(g)))
        if self.kind == "Aff":
            power = {"left": self.n + 1, "right": self.n}
            if side not in power:
                raise ValueError(f"side must be 'left' or 'right', got {side!r}")
            return -power[side] * jnp.log(jnp.abs(jnp.linalg.det(g[..., : self.n, : self.n])))
        raise ValueError(f"{self.name} is a submanifold of its matrix space: its Haar measure has no "
                         "density in entry coordinates; use a log_ball (exponential coordinates)")

    def act(self, g, points):
        """g . x for points of shape (m, n): linear, or affine for Aff(n)."""
        if self.kind == "Aff":
            return points @ g[: self.n, : self.n].T + g[: self.n, self.n]
        return points @ g.T

    def sample(self, ball, n: int, seed: int = 0) -> np.ndarray:
        """n Haar-uniform elements of ``ball``, a ball in this group (same as ``ball.sample(n, seed)``)."""
        if ball.group is not self and ball.group.name != self.name:
            raise ValueError(f"ball is in {ball.group.name}, not in {self.name}")
        return ball.sample(n, seed)

    def contains(self, g, tol: float = 1e-5) -> np.ndarray:
        """Whether each matrix of g (..., size, size) lies in the group, to ``tol``."""
        g = np.asarray(g, dtype=float)
        n = self.n
        det = np.linalg.det(g if self.kind != "Aff" else g[..., :n, :n])
        ok = np.abs(det) > tol
        if self.kind == "SL":
            ok &= np.abs(det - 1) <= tol
        if self.kind in ("SO", "O"):
            gram = np.swapaxes(g, -1, -2) @ g
            ok &= np.all(np.abs(gram - np.eye(n)) <= tol, axis=(-2, -1))
            if self.kind == "SO":
                ok &= det > 0
        if self.kind == "Aff":
            last = np.zeros(n + 1)
            last[-1] = 1
            ok &= np.all(np.abs(g[..., n, :] - last) <= tol, axis=-1)
        return ok


def expm_2x2(X):
    """exp of 2x2 matrices: X = (t/2) I + Y with Y traceless, Y^2 = -det(Y) I = q I, so
    exp X = e^(t/2) (C(q) I + S(q) Y), C = cosh sqrt(q), S = sinh sqrt(q)/sqrt(q) (cos/sin for q < 0)."""
    t = X[..., 0, 0] + X[..., 1, 1]
    eye = jnp.eye(2, dtype=X.dtype)
    Y = X - (t / 2)[..., None, None] * eye
    q = -(Y[..., 0, 0] * Y[..., 1, 1] - Y[..., 0, 1] * Y[..., 1, 0])
    s = jnp.sqrt(jnp.abs(q))
    small = s < 1e-3
    s_safe = jnp.where(small, 1.0, s)
    c = jnp.where(q >= 0, jnp.cosh(s), jnp.cos(s))
    sh = jnp.where(q >= 0, jnp.sinh(s_safe), jnp.sin(s_safe)) / s_safe
    c = jnp.where(small, 1 + q / 2 + q * q / 24, c)
    sh = jnp.where(small, 1 + q / 6 + q * q / 120, sh)
    return jnp.exp(t / 2)[..., None, None] * (c[..., None, None] * eye + sh[..., None, None] * Y)


def _orthonormal(matrices) -> np.ndarray:
    """Gram-Schmidt (by QR) on flattened matrices; keeps a basis of their span."""
    m = np.asarray(matrices, dtype=float)
    flat = m.reshape(len(m), -1).T
    q, r = np.linalg.qr(flat)
    keep = np.abs(np.diag(r)) > 1e-10
    return q[:, keep].T.reshape(-1, *m.shape[1:])


def _units(size, entries):
    out = []
    for i, j in entries:
        e = np.zeros((size, size))
        e[i, j] = 1.0
        out.append(e)
    return np.array(out)


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    return n


def GL(n: int) -> MatrixGroup:
    """General linear group: all invertible n x n matrices (dim n^2)."""
    n = _check_n(n)
    return MatrixGroup(f"GL({n})", "GL", n, n, _units(n, [(i, j) for i in range(n) for j in range(n)]))


def SL(n: int) -> MatrixGroup:
    """Special linear group det g = 1 (dim n^2 - 1); algebra: traceless matrices."""
    n = _check_n(n)
    off = _units(n, [(i, j) for i in range(n) for j in range(n) if i != j])
    diag = [np.diag(np.eye(n)[i] - np.eye(n)[i + 1]) for i in range(n - 1)]
    basis = _orthonormal(list(off) + diag) if n > 1 else np.zeros((0, 1, 1))
    return MatrixGroup(f"SL({n})", "SL", n, n, basis)


def _skew(n):
    return np.array([(e - e.T) / math.sqrt(2) for e in _units(n, [(i, j) for i in range(n)
                                                                   for j in range(i + 1, n)])]
                    ).reshape(-1, n, n)


def SO(n: int) -> MatrixGroup:
    """Rotations (dim n(n-1)/2); algebra: skew-symmetric matrices."""
    n = _check_n(n)
    return MatrixGroup(f"SO({n})", "SO", n, n, _skew(n), compact=True)


def O(n: int) -> MatrixGroup:  # noqa: E743
    """Orthogonal group; same algebra as SO(n), two components."""
    n = _check_n(n)
    return MatrixGroup(f"O({n})", "O", n, n, _skew(n), compact=True)


def Aff(n: int) -> MatrixGroup:
    """Affine group x -> A x + b as (n+1) x (n+1) matrices (dim n^2 + n); not unimodular."""
    n = _check_n(n)
    basis = _units(n + 1, [(i, j) for i in range(n) for j in range(n + 1)])
    return MatrixGroup(f"Aff({n})", "Aff", n, n + 1, basis, unimodular=False)

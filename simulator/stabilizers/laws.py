"""Theory for races between thin stabilizer tubes: tube law, capacity law, flux law.

Near a point g of M = S_f (dimension k, codimension c = D - k) the tube
{r <= eps} is, to first order, g + eps K(g) with the cross-section
K(g) = {nu normal to M at g : r'(g; nu) <= 1}. K is star-shaped with radial
function rho(u) = 1 / r'(g; u) on unit normals u, so
vol_c K(g) = V_c E_u[rho(u)^c] (u uniform on the unit sphere, V_c the volume
of the unit c-ball). ``tube_geometry`` estimates these along M ∩ B.

* Tube law:      vol(S^eps ∩ B) ≈ eps^c ∫_{M∩B} vol_c K(g) dvol_k(g).
* Capacity law (diffusive walks, step << eps): the walk forgets its start
  before it finds a thin tube, so P(f first) ≈ Cap_f / (Cap_f + Cap_h) with
  Cap = ∫_{M∩B} cap_c(eps K(g)) dvol_k. The cross-section's capacity is taken
  as that of the c-ball of equal volume, radius a = eps (E_u rho^c)^(1/c)
  (Polya-Szego: a lower bound; exact for round sections):
      c >= 3: (c - 2) |S^(c-1)| a^(c-2);   c = 2: 2 pi / log(R / a);   c = 1: 2 / R,
  with the ball radius R as the outer scale. Only the eps-scaling is exact:
  eps^(c-2), 1/log(1/eps), O(1).
* Flux law (jump walks, step >> eps): at stationarity a step lands in a small
  set A with probability ∫_A pi(y) K(y, B) dy, pi the walk's invariant measure
  and K(y, B) the chance that a step from y stays in the ball (the acceptance
  of the confined walk). The odds are the ratio of these fluxes: see
  ``acceptance_weight`` and ``volumes.tube_volumes(weight_fn=...)``;
  ``first_step_flux`` is the exact first-step form (landing outside the other
  tubes too), with importance sampling for tubes too thin for B's samples.

Metrics: "haar" is the left-invariant metric <V, W>_g = tr((g^-1 V)^T g^-1 W),
whose volume is the Haar measure (the group walk's generator is its
Laplacian); "entry" is the Frobenius metric on matrix entries, with Lebesgue
volume (the entry walk's).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..groups.balls import Ball
from ..groups.lie import MatrixGroup
from ..groups.sampling import exp_jacobian, lebesgue_ball_volume
from ..stats import Estimate
from ..targets import check_targets
from .shapes import Figure
from .algebra import stabilizer_algebra
from .volumes import mean_estimate, tube_volumes

METRICS = ("haar", "entry")
WALK_MEASURES = {"group": "haar", "entry": "lebesgue"}    # the invariant measure of each walk confined to a ball


@dataclass(frozen=True)
class TubeGeometry:
    """Samples of M ∩ B with their volume weights and cross-section moments.

    Points i are the proposals that fell in B, out of ``n_proposals`` (at most ``n_points`` of them, a random
    subset whose weights are scaled by (landed / kept), which keeps the sum unbiased and makes its
    interval conservative): ∫_{M∩B} f dvol_k ≈ scale * sum_i weight[i] f_i / n_proposals.
    ``moment[i]`` = E_u[rho^c].
    """

    name: str
    k: int
    c: int
    metric: str
    outer_radius: float
    scale: float
    weight: np.ndarray
    moment: np.ndarray
    n_proposals: int

    def _integral(self, values) -> Estimate:
        a = self.weight * values
        return mean_estimate(a.sum(), (a * a).sum(), self.n_proposals, self.scale)

    def manifold_volume(self) -> Estimate:
        """vol_k(M ∩ B) (a count of points when k = 0)."""
        return self._integral(np.ones_like(self.weight))

    def tube_volume(self, eps: float) -> Estimate:
        """eps^c ∫ V_c E_u[rho^c] dvol_k: the tube law."""
        return self._integral(eps**self.c * lebesgue_ball_volume(self.c, 1.0) * self.moment)

    def capacity(self, eps: float) -> Estimate:
        """∫ cap_c(ball of radius a(g)) dvol_k, a = eps (E rho^c)^(1/c) (see module doc)."""
        c, R = self.c, self.outer_radius
        a = eps * self.moment ** (1.0 / c)
        if c >= 3:
            sphere = 2 * math.pi ** (c / 2) / math.gamma(c / 2)
            return self._integral((c - 2) * sphere * a ** (c - 2))
        if c == 2:
            return self._integral(2 * math.pi / np.log(R / np.minimum(a, R / 2)))
        return self._integral(np.full_like(a, 2.0 / R))


def capacity_exponent(c: int) -> str:
    """How the capacity of a codimension-c tube scales with eps."""
    return {1: "O(1)", 2: "1/log(1/eps)"}.get(c, f"eps^{c - 2}")


def _ball_contains(ball: Ball, g: np.ndarray) -> np.ndarray:
    h = np.linalg.solve(ball.center, g)
    return np.linalg.norm(h - np.eye(ball.group.size), axis=(-2, -1)) <= ball.radius


def _orthonormal_complement(span: np.ndarray, ambient: np.ndarray) -> np.ndarray:
    """Orthonormal basis (flattened) of ambient ⊖ span; rows are vectors."""
    if len(span):
        q_span = np.linalg.qr(span.T)[0].T
        ambient = ambient - (ambient @ q_span.T) @ q_span
    u, s, _ = np.linalg.svd(ambient.T, full_matrices=False)
    return u[:, s > 1e-9].T


def _manifold_points(group, figure, ball, basis, n_points, rng, max_proposals=2**22):
    """Points of M ∩ B (identity component times known symmetries) with vol_k weights.

    Exponential coordinates z uniform in the k-ball of radius R that contains log(M ∩ B);
    weight = Haar density of S_f in those coordinates. Proposals are drawn in batches until
    n_points land in B. Returns (points, weights, scale, n_proposals).
    """
    k = len(basis)
    symmetries = figure.symmetries if figure.symmetries is not None else np.eye(group.n)[None]
    reps = []
    for s in np.asarray(symmetries, float):
        rep = np.eye(group.size)
        rep[: group.n, : group.n] = s
        reps.append(rep)
    if k == 0:
        g = np.array(reps)
        inside = _ball_contains(ball, g)
        return g[inside], np.ones(int(inside.sum())), 1.0, 1
    reach = (np.linalg.norm(ball.center - np.eye(group.size))
             + np.linalg.norm(ball.center, 2) * ball.radius)       # ||g0 (h - I)||_F <= ||g0||_2 r
    if reach >= 1:
        raise ValueError(f"ball reaches {reach:.2f} >= 1 from the identity in Frobenius norm: "
                         "exponential coordinates of the stabilizer are not controlled there")
    R = -math.log1p(-reach)                        # ||log g|| <= -log(1 - ||g - I||)
    points, weights, n_total = [], [], 0
    while sum(map(len, points)) < n_points and n_total < max_proposals:
        m = 2**14
        z = rng.standard_normal((m, k))
        z *= (R * rng.random(m) ** (1 / k) / np.linalg.norm(z, axis=1))[:, None]
        e = np.asarray(group.exp(jnp.asarray(np.einsum("ni,iab->nab", z, basis))), float)
        g = np.concatenate([rep @ e for rep in reps])
        inside = _ball_contains(ball, g)
        points.append(g[inside])
        weights.append(np.tile(exp_jacobian(basis, z), len(reps))[inside])
        n_total += m
    return np.concatenate(points), np.concatenate(weights), lebesgue_ball_volume(k, R) * len(reps), n_total


def tube_geometry(group: MatrixGroup, figure: Figure, ball: Ball, metric: str = "haar",
                  n_points: int = 4000, n_directions: int = 256, seed: int = 0,
                  step: float = 1e-5) -> TubeGeometry:
    """Sample M ∩ B and the cross-sections K(g) of {r_f <= eps} (see module doc).

    r'(g; u) is the one-sided difference r(g exp(step U)) / step ("haar") or
    r(g + step U) / step ("entry") in float64, for n_directions random unit normals per point.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if metric == "entry" and group.kind not in ("GL", "Aff"):
        raise ValueError("metric='entry' needs GL(n) or Aff(n), where entries are coordinates")
    rng = np.random.default_rng(seed)
    basis = stabilizer_algebra(group, figure)
    k, D = len(basis), group.dim
    c = D - k
    g, w, scale, n_total = _manifold_points(group, figure, ball, basis, n_points, rng)
    if len(g) > n_points:   # a batch can land far more than n_points in B: keep a random n_points, each
        keep = rng.choice(len(g), n_points, replace=False)     # standing for len(g) / n_points of them
        g, w = g[keep], w[keep] * (len(g) / n_points)
    residual = figure.residual_for(group)
    valid = np.arange(len(g))
    moment = np.zeros(len(g))
    if len(valid) == 0:
        return TubeGeometry(figure.name, k, c, metric, ball.radius, scale, w, moment, n_total)
    n_dir = max(n_directions, 2**16 // len(valid))       # a lone point gets many directions
    gv = g[valid]
    # isotropic Gaussian directions in the normal space, normalised: uniform on its sphere
    v = np.einsum("ndi,ia->nda", rng.standard_normal((len(valid), n_dir, D)), group.basis.reshape(D, -1))
    if metric == "haar":            # normal space: algebra ⊖ s_f, applied as g exp(step U)
        flat = basis.reshape(k, group.size**2)
        v -= (v @ flat.T) @ flat
    else:                           # normal space: free entries ⊖ g s_f (Frobenius)
        tangent = np.einsum("nab,kbc->nkac", gv, basis).reshape(len(valid), k, group.size**2)
        if k:
            q = np.linalg.qr(np.swapaxes(tangent, 1, 2))[0]            # (N, size^2, k)
            v -= (v @ q) @ np.swapaxes(q, 1, 2)
            w[valid] *= np.sqrt(np.abs(np.linalg.det(tangent @ np.swapaxes(tangent, 1, 2))))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    U = step * v.reshape(len(valid), n_dir, group.size, group.size)
    with jax.enable_x64(True):
        if metric == "haar":
            moved = gv[:, None] @ np.asarray(group.exp(jnp.asarray(U)))
        else:
            moved = gv[:, None] + U
        slope = np.asarray(jax.jit(jax.vmap(jax.vmap(residual)))(jnp.asarray(moved))) / step
    moment[valid] = np.mean(slope ** (-float(c)), axis=1)
    return TubeGeometry(figure.name, k, c, metric, ball.radius, scale, w, moment, n_total)


def acceptance_weight(kind: str, scale: float, ball: Ball, group: MatrixGroup | None = None):
    """weight_fn(g, rng) for ``tube_volumes``: 1 if one step of the walk from g stays in the
    ball, else 0 (an unbiased draw of the acceptance K(g, B) of the confined walk)."""
    return landing_weight(kind, scale, ball, group=group)


def landing_weight(kind: str, scale: float, ball: Ball, avoid=(), eps: float = 0.0,
                   group: MatrixGroup | None = None):
    """weight_fn(g, rng) for ``tube_volumes``: 1 if g is in the ball and one step of the walk from g
    lands in the ball outside every eps-tube of the residuals ``avoid``, else 0 (an unbiased draw of
    1{g in B} K(g, B minus the tubes)). Steps: g exp(scale Z) ("group"), g + scale Z ("entry")."""
    if kind not in WALK_MEASURES:
        raise ValueError(f"kind must be 'group' or 'entry', got {kind!r}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < math.inf:
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    G = ball.group if group is None else group
    residuals = jax.jit(jax.vmap(lambda g: jnp.stack([r(g) for r in avoid]))) if avoid else None

    def weight(g, rng):
        if kind == "group":
            xi = rng.standard_normal((len(g), G.dim))
            step = np.asarray(G.exp(jnp.asarray(scale * np.einsum("ni,iab->nab", xi, G.basis))))
            moved = g @ step
        else:
            z = rng.standard_normal(g.shape)
            if G.kind == "Aff":
                z[:, G.n:] = 0.0
            moved = g + scale * z
        ok = _ball_contains(ball, g) & _ball_contains(ball, moved)
        if residuals is not None:
            with jax.default_matmul_precision("highest"):
                r = np.asarray(residuals(jnp.asarray(moved, jnp.float32)), dtype=float)
            ok &= np.all(r > eps, axis=1)
        return ok.astype(float)
    return weight


def first_step_flux(ball: Ball, targets, eps: float, kind: str, scale: float, n_samples: int, *,
                    near: dict | None = None, seed: int = 0, level: float = 0.95) -> dict:
    """Flux of the confined walk into each target's exclusive tube E_i = S_i^eps minus the others:

        Phi_i = mu(B) P_pi(X_0 outside every tube, X_1 in E_i)
              = integral over E_i ∩ B of dmu(y) P(a step from y lands in B outside every tube),

    pi = mu / mu(B) the walk's invariant law (Haar for "group", Lebesgue for "entry"); the two forms
    agree because the proposal is symmetric under mu and moves that leave B are rejected. A walk that
    started from pi outside the tubes ends its first step in E_i with probability Phi_i / mu(B minus the
    tubes); when each step nearly forgets where it began (the jump regime, scale >> eps) every later
    step repeats that draw, so P(i first) / P(j first) -> Phi_i / Phi_j, the i.i.d. limit.

    Each target gets its own samples (seed + i), so the fluxes are independent. ``near={name: ball}``
    draws a target's samples in that ball instead of B (importance sampling for a tube too rare for B's
    samples); it must hold the tube's part in B, which the caller checks. Returns {name: Estimate}.
    """
    targets = check_targets(targets)
    near = {} if near is None else dict(near)
    unknown = set(near) - {t.name for t in targets}
    if unknown:
        raise ValueError(f"near names no target: {sorted(unknown)}")
    weight = landing_weight(kind, scale, ball, [t.residual for t in targets], eps)     # checks kind and scale
    return {t.name: tube_volumes(near.get(t.name, ball), targets, [eps], n_samples, seed + i,
                                 measure=WALK_MEASURES[kind],
                                 weight_fn=weight, level=level)["exclusive_volume"][t.name][0]
            for i, t in enumerate(targets)}

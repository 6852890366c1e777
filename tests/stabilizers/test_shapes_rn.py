"""Figures in R^n: residuals against dense Hausdorff distances, stabilizer dimensions derived by hand in
GL(n), SL(n), SO(n) and Aff(n) for n = 2, 3, 4, tube slopes in GL(3), and bad arguments."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.distance import directed_hausdorff
from scipy.stats import ortho_group

import simulator as sim
from simulator import groups
from simulator.stabilizers import shapes, volumes

RNG = np.random.default_rng(20261123)


def _residual(fig, g, group=None):
    with jax.enable_x64(True):
        return np.asarray(jax.vmap(fig.residual_for(group))(jnp.asarray(np.asarray(g, float))))


def _hausdorff(a, b):
    return max(directed_hausdorff(a, b)[0], directed_hausdorff(b, a)[0])


def _disc(frame, m):
    """Dense cloud of the unit ball of span(frame rows) (k = 1 or 2)."""
    if frame.shape[0] == 1:
        return np.linspace(-1, 1, m)[:, None] * frame[0]
    u = np.linspace(-1, 1, m)
    uu = np.array([(a, b) for a in u for b in u if a * a + b * b <= 1])
    return uu @ frame


# Dimensions of the stabilizer's Lie algebra, derived by hand.
#
# k-dimensional subspace U of R^n: X must map U into U: for a basis b_i of U and a basis nu_j of U^perp,
#   nu_j . X b_i = 0, k (n - k) independent conditions: GL(n): n^2 - k(n - k). SL(n): the algebra contains the
#   identity (trace n != 0), so tr X = 0 is one more independent condition: n^2 - k(n - k) - 1. SO(n): skew X
#   keeping U keeps U^perp: so(k) + so(n - k), k(k-1)/2 + (n-k)(n-k-1)/2. Aff(n): x -> X x + t keeps U iff
#   X U in U and t in U: n^2 + n - k(n - k) - (n - k) = n^2 - k(n - k) + k.
# Centred segment [-v, v]: g v = +-v, so X v = 0 (n conditions): GL n^2 - n, SL n^2 - n - 1 (the solutions
#   of X v = 0 include X = w w^T with w . v = 0, of trace |w|^2 != 0, so tr X = 0 cuts one more), SO(n):
#   rotations fixing v, so(n - 1) = (n-1)(n-2)/2, Aff(n): X v + t = 0 and -X v + t = 0 give t = 0, X v = 0: n^2 - n.
# k-sphere in a (k+1)-plane P of R^n (p = k + 1): g P = P and g|P orthogonal: in a basis (P, P^perp)
#   X = [[skew p x p, any p x (n-p)], [0, any (n-p) x (n-p)]]: GL p(p-1)/2 + p(n-p) + (n-p)^2; SL one less when
#   p < n (tr X = tr of the free block), none when p = n (skew is traceless); SO so(p) + so(n - p);
#   Aff: t . x = 0 for x on the sphere (radial tangency) and nu . t = 0 (normals off the plane): t = 0, as GL.
def _subspace_dims(n, k):
    return {"GL": n * n - k * (n - k), "SL": n * n - k * (n - k) - 1,
            "SO": k * (k - 1) // 2 + (n - k) * (n - k - 1) // 2, "Aff": n * n - k * (n - k) + k}


def _segment_dims(n):
    return {"GL": n * n - n, "SL": n * n - n - 1, "SO": (n - 1) * (n - 2) // 2, "Aff": n * n - n}


def _sphere_dims(n, k):
    p = k + 1
    gl = p * (p - 1) // 2 + p * (n - p) + (n - p) ** 2
    return {"GL": gl, "SL": gl - 1 if p < n else gl, "SO": p * (p - 1) // 2 + (n - p) * (n - p - 1) // 2, "Aff": gl}


CASES = ([(f"subspace k={k} in R^{n}", n, lambda n=n, k=k: shapes.subspace(np.eye(n)[:k]), _subspace_dims(n, k))
          for n in (2, 3, 4) for k in range(1, n)]
         + [(f"segment in R^{n}", n, lambda n=n: shapes.segment(np.arange(1.0, n + 1)), _segment_dims(n))
            for n in (2, 3, 4)]
         + [(f"{k}-sphere in R^{n}", n, lambda n=n, k=k: shapes.sphere(k=k, n=n), _sphere_dims(n, k))
            for n in (2, 3, 4) for k in range(1, n)])


@pytest.mark.parametrize("label, n, make, dims", CASES, ids=[c[0] for c in CASES])
def test_stabilizer_dimensions_derived_by_hand(label, n, make, dims):
    fig = make()
    for kind, dim in dims.items():
        group = getattr(groups, kind)(n)
        assert sim.stabilizer_dimension(group, fig) == dim, (label, kind)


def test_dimensions_of_polygons_simplices_and_unions():
    # Vertices fixed: X v_i = 0 for each vertex. A segment [P, Q] of R^4 off the origin (P, Q independent):
    # 16 - 8 = 8. A triangle P, Q, R (independent): 16 - 12 = 4. A simplex on 4 independent vertices: 0.
    # Two orthogonal lines in R^3 (e1, e2): X e1 in R e1 and X e2 in R e2: 9 - 2 - 2 = 5. The two axes of the
    # xy-plane and the z axis: each X e_i in R e_i: diagonal, 3.
    P, Q, R, S = np.eye(4) + 0.1
    G4, G3 = groups.GL(4), groups.GL(3)
    assert sim.stabilizer_dimension(G4, shapes.polygon([P, Q])) == 8
    assert sim.stabilizer_dimension(G4, shapes.polygon([P, Q, R])) == 4
    assert sim.stabilizer_dimension(G4, shapes.simplex([P, Q, R, S])) == 0
    e = np.eye(3)
    assert sim.stabilizer_dimension(G3, shapes.union(shapes.line(e[0]), shapes.line(e[1]))) == 5
    assert sim.stabilizer_dimension(G3, shapes.union(*(shapes.line(v) for v in e))) == 3


def _stabilizer_element(fig_name, n, rng):
    """A random element of the stabilizer of e1 (segment, line), span(e1, e2) (plane) or the circle of the
    xy-plane, in GL(n): block-triangular with the right diagonal blocks."""
    g = np.eye(n) + 0.3 * rng.normal(size=(n, n))
    if fig_name == "segment":           # g e1 = e1: first column e1
        g[:, 0] = np.eye(n)[0]
    if fig_name == "line":              # g e1 in R e1
        g[1:, 0] = 0
    if fig_name in ("plane", "circle"):   # g keeps span(e1, e2)
        g[2:, :2] = 0
    if fig_name == "circle":              # and is orthogonal on it
        g[:2, :2] = ortho_group.rvs(2, random_state=rng)
    return g


@pytest.mark.parametrize("name, n, make", [
    ("segment", 3, lambda: shapes.segment((1.0, 0, 0))), ("line", 4, lambda: shapes.line((1.0, 0, 0, 0))),
    ("plane", 4, lambda: shapes.subspace(np.eye(4)[:2])), ("circle", 3, lambda: shapes.sphere(k=1, n=3)),
    ("circle", 4, lambda: shapes.sphere(k=1, n=4)),
])
def test_residual_vanishes_on_the_stabilizer_and_not_off_it(name, n, make):
    fig = make()
    on = np.array([_stabilizer_element(name, n, RNG) for _ in range(20)])
    assert np.all(_residual(fig, on) < 1e-9)
    off = on + 0.05 * RNG.normal(size=on.shape)
    assert np.all(_residual(fig, off) > 1e-4)


def test_subspace_residual_is_the_hausdorff_distance_of_the_unit_balls():
    # Dense clouds of the unit discs (spacing h): |r - d_H(clouds)| <= (1 + ||g||) h as in the plane.
    for n, k, m in [(3, 1, 4001), (4, 2, 121)]:
        frame = np.eye(n)[:k]
        fig, dense = shapes.subspace(frame), _disc(frame, m)
        h = 2 / (m - 1) * np.sqrt(k)
        for _ in range(6):
            g = np.eye(n) + 0.3 * RNG.normal(size=(n, n))
            q = np.linalg.qr(g @ frame.T)[0].T
            d = _hausdorff(_disc(q, m), dense)
            assert abs(_residual(fig, g[None])[0] - d) <= 2 * h, (n, k)


def test_segment_in_r3_matches_dense_hausdorff():
    v = np.array([1.0, 0.5, -0.5])
    dense = shapes.segment(v, n_points=4001)
    for _ in range(10):
        g = np.eye(3) + 0.3 * RNG.normal(size=(3, 3))
        d = _hausdorff(dense.points @ g.T, dense.points)
        spacing = 2 * np.linalg.norm(v) / 4000
        assert abs(_residual(shapes.segment(v), g[None])[0] - d) <= (1 + np.linalg.norm(g, 2)) * spacing


def test_circle_in_a_plane_of_r3_is_within_its_bounds_of_hausdorff():
    # Documented: r <= d_H <= 2 r + O(r^2) (here g = I + 0.1 Z, so O(r^2) <= 0.05 r is allowed), up to the
    # dense cloud's spacing (2 pi / 4096 per point, times 1 + ||g||).
    fig, dense = shapes.sphere(k=1, n=3), shapes.sphere(4096, k=1, n=3)
    for _ in range(15):
        g = np.eye(3) + 0.1 * RNG.normal(size=(3, 3))
        r, d = _residual(fig, g[None])[0], _hausdorff(dense.points @ g.T, dense.points)
        slack = (1 + np.linalg.norm(g, 2)) * 2 * np.pi / 4096
        assert r - slack <= d <= 2.05 * r + slack, (r, d)


def test_polygon_in_r4_never_exceeds_dense_hausdorff_and_vanishes_on_its_symmetries():
    P, Q, R = np.array([[1.0, 0, 0.5, 0], [0, 1.0, 0, 0.5], [0.3, 0.2, 1.0, 1.0]])
    fig, dense = shapes.polygon([P, Q, R]), shapes.polygon([P, Q, R], per_edge=2000)
    for _ in range(10):
        g = np.eye(4) + 0.1 * RNG.normal(size=(4, 4))
        r, d = _residual(fig, g[None])[0], _hausdorff(dense.points @ g.T, dense.points)
        assert r <= d + (1 + np.linalg.norm(g, 2)) * 2 / 2000 and r > 0.2 * d
    # the cyclic permutation of the vertices extends to a linear map of R^4 that keeps the triangle
    V = np.stack([P, Q, R, [0, 0, 0, 1.0]], axis=1)
    W = np.stack([Q, R, P, [0, 0, 0, 1.0]], axis=1)
    assert _residual(fig, (W @ np.linalg.inv(V))[None])[0] < 1e-9


def test_union_of_two_lines_vanishes_on_the_swap_and_is_a_hausdorff_upper_bound():
    e = np.eye(3)
    fig = shapes.union(shapes.line(e[0]), shapes.line(e[1]))
    swap = np.array([[0, 2.0, 0], [0.5, 0, 0], [0, 0, 3.0]])            # e1 -> R e2, e2 -> R e1
    assert _residual(fig, swap[None])[0] < 1e-9
    t = np.linspace(-1, 1, 2001)[:, None]
    for _ in range(10):
        g = np.eye(3) + 0.2 * RNG.normal(size=(3, 3))
        u = [g @ e[i] / np.linalg.norm(g @ e[i]) for i in range(2)]
        moved, cloud = np.concatenate([t * u[0], t * u[1]]), np.concatenate([t * e[0], t * e[1]])
        assert _residual(fig, g[None])[0] >= _hausdorff(moved, cloud) - 2e-3


def test_tube_slopes_in_gl3():
    # GL(3), dim 9: codimensions 9 - dim S_f = 2 (line), 3 (segment), 5 (circle in the xy-plane).
    # Line and segment by plain Monte Carlo at eps 0.01..0.04 (2^20 Haar samples, ball radius 0.3 around I):
    # the slope's 95 % interval widened by 0.1 for the tubes' O(eps) curvature (measured 1.963 [1.946, 1.981]
    # and 3.015 [2.954, 3.076]). The circle's tube is too thin for Monte Carlo there: its slope comes from the
    # volume curve at eps 1e-3..5e-3, within 4 SE (measured 4.854 [4.721, 5.060]).
    G = groups.GL(3)
    ball = groups.frobenius_ball(G, 0.3)
    figs = {"line": shapes.line((1.0, 0, 0)), "segment": shapes.segment((1.0, 0, 0))}
    eps = [0.04, 0.02, 0.01]
    tubes = volumes.tube_volumes(ball, [sim.stabilizer(f, 0.1) for f in figs.values()], eps, 2**20, seed=3)
    for name, fig in figs.items():
        codim = G.dim - sim.stabilizer_dimension(G, fig)
        slope = volumes.fit_power(eps, tubes["volume"][name])
        assert slope.low - 0.1 <= codim <= slope.high + 0.1, (name, slope)
    circle = shapes.sphere(k=1, n=3)
    curve = sim.volume_curve([sim.stabilizer(circle, 0.1)], sim.space.group_ball(ball),
                             [0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001], n_live=100, n_runs=8, seed=0)
    slope = curve.exponent("circle", fit=(1e-3, 5e-3))
    assert G.dim - sim.stabilizer_dimension(G, circle) == 5
    assert abs(slope.value - 5) <= 4 * (slope.high - slope.low) / (2 * 1.96), slope


@pytest.mark.parametrize("build, words", [
    (lambda: shapes.segment(v=(1.0,)), "v must"),
    (lambda: shapes.segment(v=(0.0, 0.0, 0.0)), "v must"),
    (lambda: shapes.line(v="x"), "v must"),
    (lambda: shapes.subspace([[1.0, 0, 0], [2.0, 0, 0]]), "basis must have linearly independent"),
    (lambda: shapes.subspace(np.eye(3)), r"basis must span a proper subspace"),
    (lambda: shapes.sphere(k=2, n=2), "n must"),
    (lambda: shapes.sphere(k=1, plane=[[1.0, 0, 0]]), "plane must have k \\+ 1"),
    (lambda: shapes.sphere(k=1, n=4, plane=np.eye(3)[:2]), "plane must have rows of length n = 4"),
    (lambda: shapes.ellipse(a=(1.0, 2.0, 3.0)), "a must"),
    (lambda: shapes.rectangle(b=-1.0), "b must"),
    (lambda: shapes.ellipsoid((1.0, -2.0, 1.0)), "axes must"),
    (lambda: shapes.polygon([[0.0, 0.0]]), "vertices must"),
    (lambda: shapes.polygon([[0.0, 1.0], [0.0, 1.0]]), "vertices has repeated"),
    (lambda: shapes.union(shapes.line((1.0, 0, 0)), shapes.line((1.0, 0))), "different spaces"),
    (lambda: shapes.union(shapes.line((1.0, 0)), shapes.circle()), "union: members"),
])
def test_bad_arguments_are_named_when_the_figure_is_built(build, words):
    with pytest.raises(ValueError, match=words):
        build()

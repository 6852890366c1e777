"""Figures, residuals, stabilizer dimensions (both ways), tube volumes and the tube law."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.distance import directed_hausdorff

import simulator as sim
from simulator import groups
from simulator.stabilizers import laws as predictions, shapes as figures, volumes

GL2 = groups.GL(2)
RNG = np.random.default_rng(20261122)


def _residual(fig, g, group=None):
    with jax.enable_x64(True):
        return np.asarray(jax.vmap(fig.residual_for(group))(jnp.asarray(np.asarray(g, float))))


def _rot(t):
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def _stabilizer_elements(name, m=25):
    """Known elements of S_f, drawn at random from the closed-form families."""
    b, d, t = RNG.normal(size=m), RNG.uniform(0.3, 2, m), RNG.uniform(0, 2 * np.pi, m)
    sign = RNG.choice([-1.0, 1.0], m)
    if name == "segment":      # g e1 = +-e1, second column free
        return np.array([[[s, bi], [0, di]] for s, bi, di in zip(sign, b, d)])
    if name == "line":         # g e1 parallel to e1
        return np.array([[[s * di, bi], [0, 1 / di]] for s, bi, di in zip(sign, b, d)])
    if name == "circle":       # O(2)
        return np.array([_rot(ti) @ np.diag([1, s]) for ti, s in zip(t, sign)])
    if name == "ellipse":      # A O(2) A^-1
        A = np.diag([2.0, 1.0])
        return np.array([A @ _rot(ti) @ np.diag([1, s]) @ np.linalg.inv(A) for ti, s in zip(t, sign)])
    raise KeyError(name)


FIGS = {"segment": figures.segment(), "line": figures.line(), "circle": figures.circle(),
        "ellipse": figures.ellipse(2.0, 1.0)}


@pytest.mark.parametrize("name", sorted(FIGS))
def test_residual_vanishes_on_the_stabilizer_and_not_off_it(name):
    fig = FIGS[name]
    on = _stabilizer_elements(name)
    assert np.max(_residual(fig, on)) < 1e-9
    # off: move each element by exp(0.05 X), X a unit direction normal to the stabilizer algebra
    basis = sim.stabilizers.algebra.stabilizer_algebra(GL2, fig).reshape(-1, 4)
    x = RNG.normal(size=(len(on), 4))
    x -= (x @ basis.T) @ basis
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    off = on @ np.asarray(GL2.exp(jnp.asarray(0.05 * x.reshape(-1, 2, 2))))
    assert np.min(_residual(fig, off)) > 1e-4


@pytest.mark.parametrize("fig", [figures.square(), figures.rectangle(), figures.l_shape(), figures.cross()],
                         ids=lambda f: f.name)
def test_finite_stabilizers_are_exact_zeros(fig):
    """The listed symmetries give residual 0; a small rotation does not."""
    assert np.max(_residual(fig, fig.symmetries)) < 1e-9
    assert np.min(_residual(fig, np.array([_rot(0.02), _rot(-0.02)]))) > 1e-3


def test_point_cloud_hausdorff_matches_scipy():
    a, b = RNG.normal(size=(50, 2)), RNG.normal(size=(70, 2))
    assert float(figures.hausdorff(jnp.asarray(a), jnp.asarray(b))) == pytest.approx(_hausdorff(a, b), rel=1e-5)


def test_three_dimensional_figures():
    G = groups.GL(3)
    q, _ = np.linalg.qr(RNG.normal(size=(3, 3)))
    assert _residual(figures.sphere(), q[None])[0] < 1e-9
    perm = np.array([[0, -1.0, 0], [0, 0, 1], [1, 0, 0]])          # a symmetry of the cube
    assert _residual(figures.cube(), perm[None], G)[0] < 1e-9
    assert _residual(figures.cube(), (np.eye(3) * 1.01)[None], G)[0] > 5e-3


def _hausdorff(a, b):
    """Symmetric Hausdorff distance of two clouds (scipy's exact early-break algorithm)."""
    return max(directed_hausdorff(a, b)[0], directed_hausdorff(b, a)[0])


def _dense_hausdorff(fig_dense, g):
    return _hausdorff(fig_dense.points @ np.asarray(g).T, fig_dense.points)


@pytest.mark.parametrize("name, dense, spacing", [
    ("segment", figures.segment(n_points=4001), 2 / 4000),
    ("circle", figures.circle(n_points=4096), 2 * np.pi / 4096),
    ("square", figures.square(per_edge=500), 2 / 500),
])
def test_residual_matches_dense_hausdorff(name, dense, spacing):
    """|r - d_H(dense clouds)| <= (1 + ||g||) * spacing: each cloud is within spacing/2 of
    its figure, and moving it by g stretches that by at most ||g||."""
    fig = {"segment": figures.segment(), "circle": figures.circle(), "square": figures.square()}[name]
    for _ in range(15):
        g = np.eye(2) + RNG.uniform(0.01, 0.3) * RNG.normal(size=(2, 2))
        r = _residual(fig, g[None])[0]
        assert abs(r - _dense_hausdorff(dense, g)) <= (1 + np.linalg.norm(g, 2)) * spacing


def test_line_residual_is_the_hausdorff_distance_of_the_unit_diameters():
    t = np.linspace(-1, 1, 4001)[:, None]
    for _ in range(10):
        g = np.eye(2) + 0.4 * RNG.normal(size=(2, 2))
        u = g @ [1.0, 0.0]
        u /= np.linalg.norm(u)
        d = _hausdorff(t * u, t * np.array([1.0, 0.0]))
        assert abs(_residual(figures.line(), g[None])[0] - d) <= 1e-3


def test_ellipse_residual_is_within_its_documented_bounds_of_hausdorff():
    """d_H / ||A|| <= r <= ||A^-1|| d_H with A = diag(2, 1), up to the cloud spacing."""
    dense = figures.ellipse(2.0, 1.0, n_points=8192)
    for _ in range(15):
        g = np.eye(2) + 0.2 * RNG.normal(size=(2, 2))
        r, d = _residual(figures.ellipse(2.0, 1.0), g[None])[0], _dense_hausdorff(dense, g)
        slack = 4 * np.pi / 8192 * 3
        assert d / 2 - slack <= r <= 1 * d + slack


@pytest.mark.parametrize("group, fig, dim", [
    (GL2, figures.line(), 3), (GL2, figures.segment(), 2), (GL2, figures.circle(), 1),
    (GL2, figures.ellipse(), 1), (GL2, figures.square(), 0), (GL2, figures.l_shape(), 0),
    (GL2, figures.cross(), 0), (groups.SL(2), figures.segment(), 1), (groups.SL(2), figures.circle(), 1),
    (groups.Aff(2), figures.segment(), 2), (groups.Aff(2), figures.circle(), 1),
    (groups.GL(3), figures.sphere(), 3), (groups.GL(3), figures.cube(), 0),
])
def test_analytic_stabilizer_dimension(group, fig, dim):
    assert sim.stabilizer_dimension(group, fig) == dim
    assert sim.orbit_dimension(group, fig) == group.dim - dim


@pytest.fixture(scope="module")
def identity_tubes():
    """Haar volumes of the tubes in the ball of radius 0.3 around I (all stabilizers pass I)."""
    ball = groups.frobenius_ball(GL2, 0.3)
    names = ["segment", "circle", "line", "square"]
    targets = [sim.stabilizer(getattr(figures, n)(), 0.1) for n in names]
    eps = [0.08, 0.04, 0.02]
    return names, eps, volumes.tube_volumes(ball, targets, eps, 2**19, seed=3)


def test_numeric_stabilizer_dimension_agrees_with_the_lie_algebra(identity_tubes):
    """k = 4 - slope of log vol against log eps. Tolerance: the slope's 95% interval widened by
    0.1 for the O(eps) curvature of the tubes (eps <= 0.08 in a ball of radius 0.3)."""
    names, eps, tubes = identity_tubes
    for name in names:
        slope = volumes.fit_power(eps, tubes["volume"][name])
        k = sim.stabilizer_dimension(GL2, getattr(figures, name)())
        assert 4 - slope.high - 0.1 <= k <= 4 - slope.low + 0.1, (name, slope)


def test_segment_over_circle_volume_ratio_scales_like_one_over_eps(identity_tubes):
    """The issue's check: the ratio exponent for segment vs circle is -1 +- 0.1."""
    _, eps, tubes = identity_tubes
    slope = volumes.fit_power(eps, tubes["ratio"][("segment", "circle")])
    assert abs(slope.value + 1) <= 0.1, slope


@pytest.mark.parametrize("name", ["segment", "circle"])
def test_tube_law_matches_monte_carlo_volume(name):
    """eps^c ∫ vol_c K dvol_k (predictions) vs the Monte Carlo Haar volume at eps = 0.05 in a
    ball around g0 != I. Tolerance: both 95% intervals (combined in quadrature) plus 5% for the
    O(eps) curvature and ball-boundary terms the tube law leaves out."""
    ball = groups.frobenius_ball(GL2, 0.5, center=np.array([[1.2, 0.2], [0.1, 0.9]]))
    fig = getattr(figures, name)()
    law = predictions.tube_geometry(GL2, fig, ball, n_points=2000, seed=1).tube_volume(0.05)
    mc = sim.haar_volume(ball, sim.stabilizer(fig, 0.05), n_samples=2**19, seed=2)
    half = math.hypot(law.high - law.value, mc.high - mc.value)
    assert abs(law.value - mc.value) <= half + 0.05 * mc.value, (law, mc)


def test_capacity_follows_its_eps_scaling():
    ball = groups.frobenius_ball(GL2, 0.5, center=np.array([[1.2, 0.2], [0.1, 0.9]]))
    circle = predictions.tube_geometry(GL2, figures.circle(), ball, n_points=300, seed=0)
    segment = predictions.tube_geometry(GL2, figures.segment(), ball, n_points=300, seed=0)
    line = predictions.tube_geometry(GL2, figures.line(), ball, n_points=300, seed=0)
    assert (circle.c, segment.c, line.c) == (3, 2, 1)
    assert circle.capacity(0.05).value == pytest.approx(circle.capacity(0.1).value / 2, rel=1e-12)
    assert line.capacity(0.05).value == pytest.approx(line.capacity(0.1).value, rel=1e-12)
    ratio = segment.capacity(0.01).value / segment.capacity(0.0001).value    # ~ log(R/a) ratio
    assert 1.5 < ratio < 2.5


def test_lebesgue_measure_of_a_translated_ball():
    """Entry-coordinate volume of g0 . B_r(I) is |det g0|^2 V_4(r) (exact: the weights are constant)."""
    g0 = np.array([[1.2, 0.2], [0.1, 0.9]])
    ball = groups.frobenius_ball(GL2, 0.5, center=g0)
    vol = volumes.tube_volumes(ball, [sim.stabilizer(figures.circle(), 0.1)], [0.1], 1000,
                               measure="lebesgue")["ball_volume"]
    assert vol.value == pytest.approx(np.linalg.det(g0) ** 2 * groups.lebesgue_ball_volume(4, 0.5), rel=1e-12)
    with pytest.raises(ValueError, match="measure"):
        volumes.tube_volumes(ball, [sim.stabilizer(figures.circle(), 0.1)], [0.1], 10, measure="counting")


def test_confined_walk_never_leaves_its_ball():
    ball = groups.frobenius_ball(GL2, 0.3)
    start = GL2.sample(ball, 500, seed=4)
    never = [sim.Target("never", lambda g: 1.0 + 0.0 * jnp.sum(g))]
    for inner in (sim.dynamics.group_walk(GL2, 0.2), sim.dynamics.entry_walk(None, 0.2)):
        end = sim.race(sim.dynamics.confine(inner, ball), never, start, n_chains=500, max_steps=50,
                       seed=1, progress=False).position
        assert np.all(np.linalg.norm(end - np.eye(2), axis=(1, 2)) <= 0.3 + 1e-6)
        assert not np.allclose(end, start)                           # and it does move


def test_stabilizer_refuses_bad_figure_and_mismatched_group():
    with pytest.raises(TypeError, match="figure"):
        sim.stabilizer("circle", 0.1)
    with pytest.raises(ValueError, match="R\\^2"):
        sim.stabilizer(figures.circle(), 0.1, group=groups.GL(3))
    with pytest.raises(ValueError, match="eps"):
        sim.stabilizer(figures.circle(), -0.1)


def test_old_argument_orders_still_work_with_a_deprecation_warning():
    """entry_walk(scale) and haar_volume(group, ball, ...) give what the new orders give."""
    ball = groups.frobenius_ball(GL2, 0.5)
    target = sim.stabilizer(figures.segment(), 0.1)
    new = sim.haar_volume(ball, target, n_samples=4096, seed=1)
    with pytest.warns(DeprecationWarning, match="ball holds its group"):
        assert sim.haar_volume(GL2, ball, target, n_samples=4096, seed=1) == new
    with pytest.warns(DeprecationWarning, match="entry_walk"):
        assert sim.dynamics.entry_walk(0.2).params == sim.dynamics.entry_walk(None, 0.2).params
    with pytest.raises(ValueError, match="not in SL"):
        with pytest.warns(DeprecationWarning):
            sim.haar_volume(groups.SL(2), ball, target, n_samples=16)
